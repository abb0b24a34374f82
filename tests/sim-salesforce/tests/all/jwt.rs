//! JWT bearer flow: RS256 assertions verified with the fixture certificate's public key.

use crate::common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sim_salesforce::{RunningSim, SalesforceSim, SimOptions};

const KEY: &str = include_str!("../keys/jwt_key.pem");
const OTHER_KEY: &str = include_str!("../keys/other_key.pem");

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn assertion(key: &str, claims: Value) -> String {
    encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(key.as_bytes()).expect("key"),
    )
    .expect("sign")
}

async fn exchange(sim: &RunningSim, assertion: &str) -> (u16, Value) {
    let r = http()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ])
        .send()
        .await
        .expect("send");
    let (s, _, v) = split(r).await;
    (s, v)
}

fn claims(aud: &str) -> Value {
    json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": aud, "exp": now() + 170})
}

#[tokio::test]
async fn a_valid_assertion_gets_a_working_token() {
    let sim = start(SimOptions::default()).await;
    for aud in [
        sim.base_url().to_owned(),
        "https://login.salesforce.com".to_owned(),
        "https://test.salesforce.com/".to_owned(),
    ] {
        let (s, v) = exchange(&sim, &assertion(KEY, claims(&aud))).await;
        assert_eq!(s, 200, "{aud}: {v}");
        assert_eq!(v["instance_url"], sim.base_url());
        assert_eq!(v["token_type"], "Bearer");
        let tok = v["access_token"].as_str().expect("token");
        let (s, _) = query(&sim, tok, "SELECT Id FROM Account").await;
        assert_eq!(s, 200);
    }
}

#[tokio::test]
async fn bad_assertions_get_salesforce_oauth_errors() {
    let sim = start(SimOptions::default()).await;
    let base = sim.base_url().to_owned();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            assertion(OTHER_KEY, claims(&base)),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            assertion(
                KEY,
                json!({"iss": "someone-else", "sub": USERNAME, "aud": base, "exp": now() + 100}),
            ),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            assertion(
                KEY,
                json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": "https://evil.example", "exp": now() + 100}),
            ),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            assertion(
                KEY,
                json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": base, "exp": now() - 5}),
            ),
            "invalid_grant",
            "expired authorization code",
        ),
        (
            assertion(
                KEY,
                json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": base, "exp": now() + 3600}),
            ),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            assertion(
                KEY,
                json!({"iss": CLIENT_ID, "sub": "someone@else.example", "aud": base, "exp": now() + 100}),
            ),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (
            encode(
                &Header::new(Algorithm::HS256),
                &claims(&base),
                &EncodingKey::from_secret(b"shared"),
            )
            .expect("sign"),
            "invalid_grant",
            "invalid assertion",
        ),
        ("not-a-jwt".to_owned(), "invalid_grant", "invalid assertion"),
    ];
    for (a, code, desc) in cases {
        let (s, v) = exchange(&sim, &a).await;
        assert_eq!(s, 400);
        assert_eq!(
            v,
            json!({"error": code, "error_description": desc}),
            "{desc}"
        );
    }
}

#[tokio::test]
async fn without_a_certificate_jwt_is_refused_and_a_public_key_also_works() {
    // default credentials: no certificate
    let sim = SalesforceSim::start(
        &json!({"salesforce": {"Account": []}}),
        SimOptions::default(),
    )
    .await
    .expect("start");
    let a = assertion(
        KEY,
        json!({"iss": "flexbridge-demo", "sub": "integration@flexbridge.example",
               "aud": sim.base_url(), "exp": now() + 100}),
    );
    let (s, v) = exchange(&sim, &a).await;
    assert_eq!((s, v["error"].clone()), (400, json!("invalid_grant")));

    let fx = json!({"salesforce": {"credentials": {"clientId": CLIENT_ID, "username": USERNAME,
                    "publicKey": include_str!("../keys/jwt_pub.pem")}}});
    let sim = SalesforceSim::start(&fx, SimOptions::default())
        .await
        .expect("start");
    let (s, v) = exchange(&sim, &assertion(KEY, claims(sim.base_url()))).await;
    assert_eq!(s, 200, "{v}");
}

#[test]
fn certificate_public_key_extraction() {
    let der = sim_salesforce::jwt::pem_block(include_str!("../keys/jwt_cert.pem"), "CERTIFICATE")
        .expect("pem");
    let key = sim_salesforce::jwt::rsa_key_from_cert_der(&der).expect("rsa key");
    assert_eq!(key[0], 0x30, "PKCS#1 RSAPublicKey is a SEQUENCE");
    assert!(sim_salesforce::jwt::rsa_key_from_cert_der(&der[..40]).is_err());
}
