//! SOQL text the engine builds. Values never go into a query unvalidated: ids are checked with
//! [`is_id`], strings are quoted and escaped with [`quote`], instants rendered by [`datetime`].

use chrono::{DateTime, SecondsFormat, Utc};

/// A Salesforce record id: 15 or 18 ASCII letters and digits.
pub fn is_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The 18-character form of a Salesforce id: a 15-character id gets its case-checksum suffix
/// (one letter per 5-character chunk, bit i set when the chunk's i-th character is an
/// uppercase letter), so that ids compare equal whichever form a user typed (R23). Anything
/// else is returned as it is.
pub fn id18(id: &str) -> String {
    if id.len() != 15 || !is_id(id) {
        return id.to_owned();
    }
    const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut out = id.to_owned();
    for chunk in id.as_bytes().chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        out.push(char::from(SUFFIX[bits]));
    }
    out
}

/// A SOQL string literal: `'…'` with `\`, `'`, `"` and control characters escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `('a', 'b')`.
pub fn in_list<S: AsRef<str>>(values: &[S]) -> String {
    let parts: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
    format!("({})", parts.join(", "))
}

/// A SOQL date-time literal (unquoted), `2026-11-20T09:00:00Z`.
pub fn datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id18_adds_the_case_checksum_to_15_character_ids() {
        assert_eq!(id18("001Wk0000000001"), "001Wk0000000001IAA");
        assert_eq!(id18("001Dm0000000003"), "001Dm0000000003IAA");
        assert_eq!(id18("001AB000003XyZq"), "001AB000003XyZqYAK");
        assert_eq!(id18("001Wk0000000001IAA"), "001Wk0000000001IAA");
        assert_eq!(id18("not-an-id"), "not-an-id");
    }

    #[test]
    fn quoting_escapes_injection_attempts() {
        assert_eq!(quote("Closed Won"), "'Closed Won'");
        assert_eq!(quote("x' OR Name != '"), "'x\\' OR Name != \\''");
        assert_eq!(quote("a\\b"), "'a\\\\b'");
        assert_eq!(in_list(&["a", "b'c"]), "('a', 'b\\'c')");
    }

    #[test]
    fn ids_are_15_or_18_alphanumerics() {
        assert!(is_id("001Dm0000000001IAA"));
        assert!(is_id("001Dm0000000001"));
        assert!(!is_id("001Dm0000000001IA'"));
        assert!(!is_id("001' OR Id != '"));
        assert!(!is_id(""));
    }

    #[test]
    fn datetime_literal_is_utc_seconds() {
        let t = DateTime::parse_from_rfc3339("2026-11-20T09:00:00.123+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(datetime(t), "2026-11-20T07:00:00Z");
    }
}
