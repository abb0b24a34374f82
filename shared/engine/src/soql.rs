//! SOQL text the engine builds. Values never go into a query unvalidated: ids are checked with
//! [`is_id`], strings are quoted and escaped with [`quote`], instants rendered by [`datetime`].

use chrono::{DateTime, SecondsFormat, Utc};

/// Salesforce id checks live with the record types in `mapping::sf` (the client uses them too).
pub use mapping::sf::{id18, is_id};

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
    fn quoting_escapes_injection_attempts() {
        assert_eq!(quote("Closed Won"), "'Closed Won'");
        assert_eq!(quote("x' OR Name != '"), "'x\\' OR Name != \\''");
        assert_eq!(quote("a\\b"), "'a\\\\b'");
        assert_eq!(in_list(&["a", "b'c"]), "('a', 'b\\'c')");
    }

    #[test]
    fn datetime_literal_is_utc_seconds() {
        let t = DateTime::parse_from_rfc3339("2026-11-20T09:00:00.123+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(datetime(t), "2026-11-20T07:00:00Z");
    }
}
