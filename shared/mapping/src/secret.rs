//! A value that must never be printed: passwords, client secrets, tokens, private keys.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Holds a secret string. `Debug` and `Display` print `[redacted]`; read it with
/// [`Secret::expose`] only where it goes on the wire. Serialises transparently (it is stored
/// in Secrets Manager / the embedded store as the plain string, never logged).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
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
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
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
}
