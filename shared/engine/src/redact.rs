//! Secrets never reach a transaction-log payload, a log line or an error text (R24, house
//! rules). Payloads are scrubbed by key name (password, secret, token, authorization, …) and by
//! value: the configured secrets and every [`mapping::Secret`] this process has made (settings,
//! access tokens, JWT assertions, the FNO `Authorization` header), in every encoding they take
//! on the wire — as typed, JSON-escaped, XML-escaped, URL-encoded, base64.
//!
//! Log lines go through [`ScrubWriter`] (the functions' and the local runner's subscribers
//! write through it), so a secret inside an error chain logged with `tracing` is removed too.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use serde_json::Value;
use std::sync::{Arc, Mutex, OnceLock};

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

const SECRET_KEYS: [&str; 9] = [
    "password",
    "secret",
    "token",
    "authorization",
    "private_key",
    "privatekey",
    "client_secret",
    "assertion",
    "sessionid",
];

type Matcher = Option<Arc<AhoCorasick>>;

/// Scrubs payloads and texts. Cheap to clone; holds the secret values it was given and looks
/// for the process's remembered secrets as well.
#[derive(Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
    /// The matcher for `values` + the remembered secrets, by their generation.
    cache: Arc<Mutex<Option<(u64, Matcher)>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.values.len())
    }
}

/// The scrubber of log lines and API responses: the process's remembered secrets.
pub fn global() -> &'static Redactor {
    static GLOBAL: OnceLock<Redactor> = OnceLock::new();
    GLOBAL.get_or_init(Redactor::default)
}

impl Redactor {
    /// `secrets`: the values to remove wherever they appear (shorter than 3 are ignored).
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let values = secrets
            .into_iter()
            .map(|s| s.as_ref().to_owned())
            .filter(|s| s.len() >= mapping::secret::MIN_REMEMBERED_LEN)
            .collect();
        Redactor {
            values,
            cache: Arc::default(),
        }
    }

    pub fn add(&mut self, secret: &str) {
        if secret.len() >= mapping::secret::MIN_REMEMBERED_LEN {
            self.values.push(secret.to_owned());
            self.cache = Arc::default();
        }
    }

    fn matcher(&self) -> Matcher {
        let generation = mapping::secret::known_generation();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, m)) = cache.as_ref().filter(|(g, _)| *g == generation) {
            return m.clone();
        }
        let (generation, known) = mapping::secret::known_secrets();
        let mut patterns: Vec<String> = self
            .values
            .iter()
            .chain(&known)
            .flat_map(|v| encodings(v))
            .collect();
        patterns.sort();
        patterns.dedup();
        let m = (!patterns.is_empty())
            .then(|| {
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&patterns)
                    .ok()
            })
            .flatten()
            .map(Arc::new);
        *cache = Some((generation, m.clone()));
        m
    }

    /// A scrubbed copy of `value`.
    pub fn scrub(&self, value: &Value) -> Value {
        match value {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        // a flag (`passwordSet: true`) says nothing about the secret
                        let v = if is_secret_key(k) && !v.is_null() && !v.is_boolean() {
                            Value::String(REDACTED.into())
                        } else {
                            self.scrub(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.scrub(v)).collect()),
            Value::String(s) => Value::String(self.scrub_str(s)),
            other => other.clone(),
        }
    }

    /// A scrubbed copy of a text (error messages, XML, log lines).
    pub fn scrub_str(&self, s: &str) -> String {
        let out = match self.matcher() {
            Some(m) if m.is_match(s) => {
                let mut out = String::with_capacity(s.len());
                m.replace_all_with(s, &mut out, |_, _, dst| {
                    dst.push_str(REDACTED);
                    true
                });
                out
            }
            _ => s.to_owned(),
        };
        scrub_xml_elements(&out)
    }
}

/// The forms a secret takes on the wire and in logs: as typed, XML-escaped (three styles),
/// URL-encoded (form and path style, both hex cases), base64 (standard and URL-safe), and
/// each of those JSON-escaped.
pub fn encodings(secret: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let b64_trim = b64.trim_end_matches('=').to_owned();
    let forms = [
        secret.to_owned(),
        xml_escape(secret, "&apos;", "&quot;"),
        xml_escape(secret, "&#39;", "&#34;"),
        xml_escape(secret, "'", "\""),
        percent_encode(secret, true, false),
        percent_encode(secret, false, false),
        percent_encode(secret, false, true),
        b64,
        b64_trim,
        b64_url,
    ];
    let mut out: Vec<String> = Vec::with_capacity(forms.len() * 2);
    for f in forms {
        let json = serde_json::to_string(&f).unwrap_or_default();
        let json = json.trim_matches('"').to_owned();
        out.push(f);
        out.push(json);
    }
    out.retain(|f| f.len() >= mapping::secret::MIN_REMEMBERED_LEN);
    out.sort();
    out.dedup();
    out
}

fn xml_escape(s: &str, apos: &str, quot: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str(apos),
            '"' => out.push_str(quot),
            c => out.push(c),
        }
    }
    out
}

/// `form`: application/x-www-form-urlencoded (space → `+`, `*-._` kept); else RFC 3986
/// (space → `%20`, `-._~` kept). `lower`: lower-case hex digits.
fn percent_encode(s: &str, form: bool, lower: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_')
            || (form && b == b'*')
            || (!form && b == b'~');
        if keep {
            out.push(b as char);
        } else if form && b == b' ' {
            out.push('+');
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `std::io::Write` that scrubs each write — one formatted log line with `tracing-subscriber`
/// — with [`global`] before passing it on. The functions and the local runner log through it.
pub struct ScrubWriter<W: std::io::Write>(pub W);

impl<W: std::io::Write> std::io::Write for ScrubWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(global().scrub_str(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Standard output through the scrubber (a `MakeWriter` for `tracing-subscriber`).
pub fn scrubbed_stdout() -> ScrubWriter<std::io::Stdout> {
    ScrubWriter(std::io::stdout())
}

/// Standard error through the scrubber.
pub fn scrubbed_stderr() -> ScrubWriter<std::io::Stderr> {
    ScrubWriter(std::io::stderr())
}

fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase().replace(['-', '_'], "");
    SECRET_KEYS
        .iter()
        .any(|s| k.contains(&s.replace('_', "")) && !k.ends_with("count"))
}

/// Empties XML elements whose local name says they hold a secret (`<wsse:Password>…`).
fn scrub_xml_elements(s: &str) -> String {
    if !s.contains('<') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('>') else {
            out.push_str(after);
            return out;
        };
        let tag = &after[..=close];
        out.push_str(tag);
        rest = &after[close + 1..];
        let name = tag
            .trim_start_matches('<')
            .trim_end_matches('>')
            .split_whitespace()
            .next()
            .unwrap_or("");
        if name.starts_with('/') || name.ends_with('/') || name.starts_with('?') {
            continue;
        }
        let local = name.rsplit(':').next().unwrap_or(name);
        if is_secret_key(local) {
            if let Some(end) = rest.find("</") {
                if end > 0 {
                    out.push_str(REDACTED);
                }
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn r24_secrets_are_removed_by_key_and_by_value() {
        let r = Redactor::new(["s3cr3t-pass", "tok-abc123"]);
        let v = json!({
            "username": "admin",
            "password": "whatever",
            "nested": [{"client_secret": "x"}, {"note": "the token tok-abc123 leaked"}],
            "xml": "<soap:Header><wsse:Password Type=\"t\">s3cr3t-pass</wsse:Password></soap:Header>",
            "Authorization": "Bearer tok-abc123",
            "numberOfCopies": 10,
        });
        let s = r.scrub(&v);
        let text = s.to_string();
        assert!(!text.contains("s3cr3t-pass"), "{text}");
        assert!(!text.contains("tok-abc123"), "{text}");
        assert!(!text.contains("whatever"), "{text}");
        assert_eq!(s["username"], "admin");
        assert_eq!(s["numberOfCopies"], 10);
        assert_eq!(s["password"], REDACTED);
    }

    #[test]
    fn xml_password_elements_are_emptied_even_for_unknown_values() {
        let r = Redactor::default();
        let x = r.scrub_str("<a><urn:password>p@ss</urn:password><b>keep</b></a>");
        assert_eq!(
            x,
            "<a><urn:password>[redacted]</urn:password><b>keep</b></a>"
        );
    }

    const NASTY: &str = "p&<>\"'%+/= x;é";

    #[test]
    fn r24_a_secret_is_removed_in_every_encoding_it_takes() {
        let r = Redactor::new([NASTY]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(NASTY);
        let json = serde_json::to_string(NASTY).unwrap();
        let form = serde_json::json!({"client_secret_form": percent_encode(NASTY, true, false)});
        for shown in [
            NASTY.to_owned(),
            format!("<pw>{}</pw>", xml_escape(NASTY, "&apos;", "&quot;")),
            format!("attr='{}'", xml_escape(NASTY, "&#39;", "&#34;")),
            format!("<t>{}</t>", xml_escape(NASTY, "'", "\"")),
            format!(
                "grant_type=x&client_secret={}",
                percent_encode(NASTY, true, false)
            ),
            format!("q={}", percent_encode(NASTY, false, false)),
            format!("q={}", percent_encode(NASTY, false, true)),
            format!("Authorization: Basic {b64}"),
            format!(r#"{{"message":{json}}}"#),
            form.to_string(),
            format!("{NASTY:?}"),
        ] {
            let clean = r.scrub_str(&shown);
            assert!(clean.contains(REDACTED), "{shown} -> {clean}");
            for form in encodings(NASTY) {
                assert!(
                    !clean.contains(&form),
                    "{shown} -> {clean} still has {form}"
                );
            }
        }
    }

    #[test]
    fn r24_remembered_secrets_and_log_lines_are_scrubbed_without_being_handed_over() {
        let token = mapping::Secret::new("00Dxx!AQ.remembered-access-token");
        let mut buf = ScrubWriter(Vec::new());
        std::io::Write::write_all(
            &mut buf,
            format!("error=could not use {} (a chain)\n", token.expose()).as_bytes(),
        )
        .unwrap();
        let line = String::from_utf8(buf.0).unwrap();
        assert_eq!(line, "error=could not use [redacted] (a chain)\n");
        assert!(!Redactor::default()
            .scrub_str(&format!("Bearer {}", token.expose()))
            .contains("remembered-access-token"));
    }
}
