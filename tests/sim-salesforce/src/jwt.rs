//! JWT bearer flow: the assertion is verified (RS256) with the public key of the fixture's
//! X.509 certificate (`credentials.certificate`, PEM) — or a PEM public key
//! (`credentials.publicKey`) — then `iss`, `aud`, `sub`, `exp` are checked. Errors are
//! Salesforce's `{"error","error_description"}` pairs.
//!
//! No X.509 crate is in the workspace, so the certificate's SubjectPublicKeyInfo is found with
//! a few lines of DER walking (Certificate → tbsCertificate → 7th element).

use crate::org::Credentials;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// How far ahead `exp` may be (Salesforce: the assertion is valid for at most 3 minutes;
/// 30 s of slack for clock skew).
pub const MAX_EXP_AHEAD_SECS: i64 = 180 + 30;

pub type OAuthError = (&'static str, &'static str);

const INVALID_ASSERTION: OAuthError = ("invalid_grant", "invalid assertion");

fn tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *d.first()?;
    let l0 = *d.get(1)? as usize;
    let (len, hdr) = if l0 < 0x80 {
        (l0, 2)
    } else {
        let n = l0 & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *d.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    Some((tag, d.get(hdr..end)?, d.get(end..)?))
}

const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The PKCS#1 RSAPublicKey DER inside an X.509 certificate (DER).
pub fn rsa_key_from_cert_der(der: &[u8]) -> Result<Vec<u8>, String> {
    let (t, cert, _) = tlv(der).ok_or("certificate: not DER")?;
    if t != 0x30 {
        return Err("certificate: not a SEQUENCE".into());
    }
    let (_, mut tbs, _) = tlv(cert).ok_or("certificate: no tbsCertificate")?;
    let mut elems = Vec::new();
    while !tbs.is_empty() {
        let (tag, content, rest) = tlv(tbs).ok_or("certificate: truncated tbsCertificate")?;
        elems.push((tag, content));
        tbs = rest;
    }
    // skip the optional [0] version
    let skip = usize::from(elems.first().is_some_and(|e| e.0 == 0xa0));
    let (tag, spki) = *elems
        .get(skip + 5)
        .ok_or("certificate: no subjectPublicKeyInfo")?;
    if tag != 0x30 {
        return Err("certificate: bad subjectPublicKeyInfo".into());
    }
    let (_, alg, rest) = tlv(spki).ok_or("certificate: bad key algorithm")?;
    let (_, oid, _) = tlv(alg).ok_or("certificate: bad key algorithm")?;
    if oid != RSA_OID {
        return Err("certificate: the public key is not RSA (RS256 needs RSA)".into());
    }
    let (tag, bits, _) = tlv(rest).ok_or("certificate: no public key")?;
    if tag != 0x03 || bits.first() != Some(&0) {
        return Err("certificate: bad public key BIT STRING".into());
    }
    Ok(bits[1..].to_vec())
}

/// DER bytes of the first PEM block labelled `label`.
pub fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// The key that verifies assertions, from the credentials (certificate first).
pub fn decoding_key(creds: &Credentials) -> Result<DecodingKey, String> {
    if let Some(cert) = &creds.certificate {
        let der = pem_block(cert, "CERTIFICATE")
            .ok_or("credentials.certificate: no PEM CERTIFICATE block")?;
        let pkcs1 = rsa_key_from_cert_der(&der)?;
        return Ok(DecodingKey::from_rsa_der(&pkcs1));
    }
    if let Some(key) = &creds.public_key {
        return DecodingKey::from_rsa_pem(key.as_bytes())
            .map_err(|e| format!("credentials.publicKey: {e}"));
    }
    Err("no certificate configured for the JWT bearer flow".into())
}

fn aud_ok(aud: &Value, base_url: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
    let allowed = [
        norm(base_url),
        "https://login.salesforce.com".into(),
        "https://test.salesforce.com".into(),
    ];
    match aud {
        Value::String(s) => allowed.contains(&norm(s)),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .any(|s| allowed.contains(&norm(s))),
        _ => false,
    }
}

/// Verifies an assertion; `now` is Unix seconds (wall time: clients sign with real time).
/// Returns the user name on success.
pub fn verify(
    assertion: &str,
    creds: &Credentials,
    base_url: &str,
    now: i64,
) -> Result<String, OAuthError> {
    let key = decoding_key(creds).map_err(|e| {
        tracing::debug!(error = %e, "sim-salesforce: JWT bearer refused");
        INVALID_ASSERTION
    })?;
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| INVALID_ASSERTION)?;
    if header.alg != Algorithm::RS256 {
        return Err(INVALID_ASSERTION);
    }
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(assertion, &key, &v).map_err(|_| INVALID_ASSERTION)?;
    let c = data.claims;
    if c.get("iss").and_then(Value::as_str) != Some(creds.client_id.as_str()) {
        return Err(("invalid_client_id", "client identifier invalid"));
    }
    if !c.get("aud").is_some_and(|a| aud_ok(a, base_url)) {
        return Err(("invalid_grant", "audience is invalid"));
    }
    let exp = c
        .get("exp")
        .and_then(|e| e.as_i64().or_else(|| e.as_f64().map(|f| f as i64)))
        .ok_or(INVALID_ASSERTION)?;
    if exp <= now {
        return Err(("invalid_grant", "expired authorization code"));
    }
    if exp > now + MAX_EXP_AHEAD_SECS {
        return Err(INVALID_ASSERTION);
    }
    let sub = c.get("sub").and_then(Value::as_str).unwrap_or_default();
    if sub != creds.username {
        return Err(("invalid_grant", "user hasn't approved this consumer"));
    }
    Ok(sub.to_owned())
}
