//! Secrets never reach a transaction-log payload (R24, house rules): every request/response
//! value is scrubbed by key name (password, secret, token, authorization, …) and by value (the
//! configured secrets themselves, wherever they appear inside a string, e.g. in SOAP XML).

use serde_json::Value;

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

/// Scrubs payloads. Cheap to clone; holds the secret values to look for.
#[derive(Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.values.len())
    }
}

impl Redactor {
    /// `secrets`: the values to remove wherever they appear (empty ones are ignored).
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut values: Vec<String> = secrets
            .into_iter()
            .map(|s| s.as_ref().to_owned())
            .filter(|s| s.len() >= 3)
            .collect();
        // longest first, so a secret containing another is removed whole
        values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { values }
    }

    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 3 {
            self.values.push(secret.to_owned());
            self.values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// A scrubbed copy of `value`.
    pub fn scrub(&self, value: &Value) -> Value {
        match value {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let v = if is_secret_key(k) && !v.is_null() {
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

    /// A scrubbed copy of a text (error messages, XML).
    pub fn scrub_str(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), REDACTED);
            }
        }
        scrub_xml_elements(&out)
    }
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
}
