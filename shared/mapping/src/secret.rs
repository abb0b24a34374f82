//! A value that must never be printed: passwords, client secrets, tokens, private keys.
//!
//! Every [`Secret`] made in this process (read from the settings, minted by a login, built
//! for an `Authorization` header) is also remembered in a small process-wide list, so that the
//! log scrubber (`engine::redact`) can remove it from every log line, error text and
//! transaction-log payload without each caller having to hand it over.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::sync::Mutex;

/// Holds a secret string. `Debug` and `Display` print `[redacted]`; read it with
/// [`Secret::expose`] only where it goes on the wire. Serialises transparently (it is stored
/// in Secrets Manager / the embedded store as the plain string, never logged).
#[derive(Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Secrets shorter than this are not remembered (too likely to be an ordinary word).
pub const MIN_REMEMBERED_LEN: usize = 3;
/// How many distinct secrets are remembered; the least recently seen is forgotten first
/// (settings secrets are seen again whenever the settings are read, tokens come and go).
pub const REMEMBERED_CAPACITY: usize = 256;

struct Known {
    /// Least recently seen first.
    values: Vec<String>,
    /// Bumped whenever the set changes, so scrubbers can cache what they build from it.
    generation: u64,
}

static KNOWN: Mutex<Known> = Mutex::new(Known {
    values: Vec::new(),
    generation: 0,
});

fn remember(value: &str) {
    if value.len() < MIN_REMEMBERED_LEN {
        return;
    }
    let mut k = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(pos) = k.values.iter().position(|v| v == value) {
        let v = k.values.remove(pos);
        k.values.push(v); // seen again: the set is unchanged
        return;
    }
    k.values.push(value.to_owned());
    if k.values.len() > REMEMBERED_CAPACITY {
        k.values.remove(0);
    }
    k.generation += 1;
}

/// The generation of the remembered set (changes whenever a secret is added or forgotten).
pub fn known_generation() -> u64 {
    KNOWN.lock().unwrap_or_else(|p| p.into_inner()).generation
}

/// Every secret value this process remembers, with the set's generation.
pub fn known_secrets() -> (u64, Vec<String>) {
    let k = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    (k.generation, k.values.clone())
}

impl Secret {
    /// Wraps `value` and remembers it for the log scrubber.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Secret(value)
    }
    /// Remember this value again (call where long-lived secrets are read, so that a burst of
    /// short-lived ones cannot push them out of the remembered set).
    pub fn touch(&self) {
        remember(&self.0);
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2-p@ss");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        let wrapped = format!("{:?}", Some(vec![s.clone()]));
        assert!(!wrapped.contains("hunter2"), "{wrapped}");
        assert_eq!(s.expose(), "hunter2-p@ss");
    }

    #[test]
    fn every_secret_made_or_read_is_remembered_for_the_scrubber() {
        let _ = Secret::new("remembered-when-made-1");
        let _: Secret = serde_json::from_str(r#""remembered-when-read-2""#).unwrap();
        let (g, known) = known_secrets();
        assert!(known.iter().any(|v| v == "remembered-when-made-1"));
        assert!(known.iter().any(|v| v == "remembered-when-read-2"));
        let _ = Secret::new("ab"); // too short to scrub safely
        let _ = Secret::new("remembered-when-made-1"); // seen again: no new generation
        assert!(!known_secrets().1.iter().any(|v| v == "ab"));
        assert!(known_generation() >= g);
        // bounded, and what is seen again stays (one test: the set is process-wide)
        let kept = Secret::new("kept-by-being-seen-again");
        for n in 0..REMEMBERED_CAPACITY * 2 {
            let _ = Secret::new(format!("short-lived-token-{n}"));
            kept.touch();
        }
        let (_, known) = known_secrets();
        assert!(known.len() <= REMEMBERED_CAPACITY);
        assert!(known.iter().any(|v| v == "kept-by-being-seen-again"));
        assert!(!known.iter().any(|v| v == "short-lived-token-0"));
    }
}
