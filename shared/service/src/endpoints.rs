//! Where the stored credentials may go (house rule "secrets stay put", R25): the checks that
//! `PUT /settings/connection` makes before anything is sent or stored, and the client
//! configurations the [`Connector`](crate::connection::Connector) builds from saved settings.
//!
//! - **https only.** Plain `http://` and self-signed certificates exist only for the simulators
//!   on loopback, behind [`EndpointPolicy::allow_loopback`] — a switch set in code by tests and
//!   the local runner, never read from the environment or the stored settings.
//! - **Allow-listed hosts.** Salesforce: `*.salesforce.com`, `*.force.com`,
//!   `*.my.salesforce.com`, `*.cloudforce.com`, `*.salesforce.mil`; FNO:
//!   `*.flexnetoperations.com`, `*.flexnetoperations.eu`; plus the deployment's
//!   `EXTRA_ALLOWED_HOSTS` (template parameter `ExtraAllowedHosts`) for private domains.
//! - **A new destination needs the secret again.** A body that changes where or as whom a
//!   side logs in (URL, flow, client id, username) must carry that side's secret: the stored
//!   one is never sent to a destination the caller just chose.
//! - **Bounds** on every number and every string.

use crate::connection::{ConnectionSettings, FlexnetSettings};
use crate::http::ApiError;
use aws_adapters::ConfigError;
use flexnet::FlexnetConfig;
use mapping::endpoint::{self, HostPattern};
use salesforce::{SalesforceAuth, SalesforceConfig};
use serde_json::Value;
use std::time::Duration;

/// `EXTRA_ALLOWED_HOSTS` (optional): comma-separated hosts or `*.domain` patterns that both
/// sides may use besides Salesforce's and FNO's own domains (template `ExtraAllowedHosts`).
pub const EXTRA_HOSTS_VAR: &str = "EXTRA_ALLOWED_HOSTS";

/// Per-request timeouts (seconds) and retries the settings may ask for.
pub const TIMEOUT_SECS: std::ops::RangeInclusive<u64> = 1..=300;
pub const MAX_RETRIES: std::ops::RangeInclusive<u32> = 0..=10;
/// Longest URL, id or user name; longest secret (a 4096-bit PEM key is ~3.3 kB).
pub const MAX_TEXT: usize = 2048;
pub const MAX_SECRET: usize = 16 * 1024;

#[derive(Debug, Clone, Default)]
pub struct EndpointPolicy {
    /// The deployment's private domains, for both sides.
    pub extra_hosts: Vec<HostPattern>,
    /// Code only: the simulators on 127.0.0.1 (plain http, self-signed certificates).
    pub allow_loopback: bool,
}

impl EndpointPolicy {
    /// The Lambda way: `EXTRA_ALLOWED_HOSTS` from the environment; loopback never allowed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let extra_hosts = endpoint::parse_host_list(&lookup(EXTRA_HOSTS_VAR).unwrap_or_default())
            .map_err(|detail| ConfigError::Invalid {
            name: EXTRA_HOSTS_VAR,
            detail,
        })?;
        Ok(EndpointPolicy {
            extra_hosts,
            allow_loopback: false,
        })
    }

    /// Tests and the local runner: the simulators on loopback are reachable too.
    pub fn loopback_simulators() -> Self {
        EndpointPolicy {
            extra_hosts: Vec::new(),
            allow_loopback: true,
        }
    }

    fn hosts(&self, domains: &[&str]) -> Vec<HostPattern> {
        let mut v = endpoint::builtin(domains);
        v.extend(self.extra_hosts.iter().cloned());
        v
    }

    /// The Salesforce client's configuration for saved settings (https, allowed hosts for the
    /// login and the instance URL, the loopback switch only when set in code).
    pub fn salesforce_config(&self, s: &SalesforceConfig) -> SalesforceConfig {
        let mut c = s.clone();
        c.allow_loopback_http = self.allow_loopback;
        c.accept_invalid_certs = false;
        c.allowed_hosts = Some(self.hosts(&endpoint::SALESFORCE_DOMAINS));
        c
    }

    /// The FNO client's configuration for saved settings.
    pub fn flexnet_config(&self, s: &FlexnetSettings) -> FlexnetConfig {
        let mut c = FlexnetConfig::new(s.base_url.trim(), s.username.clone(), s.password.clone());
        c.timeout = Duration::from_secs(s.timeout_secs.max(1));
        c.max_retries = s.max_retries;
        c.allow_loopback_http = self.allow_loopback;
        c
    }

    /// Every check that needs no network: hosts, schemes, bounds, lengths. The error names
    /// the field; nothing has been sent anywhere when it is returned.
    pub fn check(&self, s: &ConnectionSettings) -> Result<(), ApiError> {
        let sf = &s.salesforce;
        self.check_url(
            "salesforce.login_url",
            &sf.login_url,
            &endpoint::SALESFORCE_DOMAINS,
        )?;
        self.check_url(
            "flexnet.base_url",
            &s.flexnet.base_url,
            &endpoint::FLEXNET_DOMAINS,
        )?;
        check_number("salesforce.timeout_secs", sf.timeout_secs, &TIMEOUT_SECS)?;
        check_number("salesforce.max_retries", sf.max_retries, &MAX_RETRIES)?;
        check_number(
            "flexnet.timeout_secs",
            s.flexnet.timeout_secs,
            &TIMEOUT_SECS,
        )?;
        check_number("flexnet.max_retries", s.flexnet.max_retries, &MAX_RETRIES)?;
        if let Some(n) = sf.batch_size {
            check_number("salesforce.batch_size", n, &salesforce::BATCH_SIZE_RANGE)?;
        }
        for (field, text, max) in texts(s) {
            if text.len() > max {
                return Err(ApiError::bad_request(
                    field,
                    format!("is longer than {max} bytes (R25)"),
                ));
            }
            if text.chars().any(char::is_control) && field != "salesforce.auth.private_key_pem" {
                return Err(ApiError::bad_request(
                    field,
                    "must not contain control characters (R25)",
                ));
            }
        }
        Ok(())
    }

    fn check_url(&self, field: &str, raw: &str, domains: &[&str]) -> Result<(), ApiError> {
        let hosts = self.hosts(domains);
        salesforce::check_endpoint(field, raw, self.allow_loopback, Some(&hosts))
            .map(|_| ())
            .map_err(|message| ApiError::bad_request(field, message))
    }
}

fn check_number<T: PartialOrd + std::fmt::Display>(
    field: &str,
    v: T,
    range: &std::ops::RangeInclusive<T>,
) -> Result<(), ApiError> {
    if range.contains(&v) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        field,
        format!("must be from {} to {} (R25)", range.start(), range.end()),
    ))
}

/// Every string of the settings with its field name and length limit.
fn texts(s: &ConnectionSettings) -> Vec<(&'static str, &str, usize)> {
    let sf = &s.salesforce;
    let mut v = vec![
        ("salesforce.login_url", sf.login_url.as_str(), MAX_TEXT),
        ("salesforce.api_version", sf.api_version.as_str(), 16),
        ("flexnet.base_url", s.flexnet.base_url.as_str(), MAX_TEXT),
        ("flexnet.username", s.flexnet.username.as_str(), 256),
        ("flexnet.password", s.flexnet.password.expose(), MAX_SECRET),
    ];
    match &sf.auth {
        SalesforceAuth::ClientCredentials {
            client_id,
            client_secret,
        } => {
            v.push(("salesforce.auth.client_id", client_id, 256));
            v.push((
                "salesforce.auth.client_secret",
                client_secret.expose(),
                MAX_SECRET,
            ));
        }
        SalesforceAuth::JwtBearer {
            client_id,
            username,
            private_key_pem,
            audience,
        } => {
            v.push(("salesforce.auth.client_id", client_id, 256));
            v.push(("salesforce.auth.username", username, 256));
            v.push((
                "salesforce.auth.private_key_pem",
                private_key_pem.expose(),
                MAX_SECRET,
            ));
            if let Some(a) = audience {
                v.push(("salesforce.auth.audience", a, MAX_TEXT));
            }
        }
    }
    v
}

/// Keys that say where or as whom a side logs in, and the secret a change of one requires.
const DESTINATIONS: [(&str, &[&str]); 2] = [
    (
        "salesforce",
        &[
            "/salesforce/login_url",
            "/salesforce/auth/flow",
            "/salesforce/auth/client_id",
            "/salesforce/auth/username",
        ],
    ),
    ("flexnet", &["/flexnet/base_url", "/flexnet/username"]),
];

/// "A body that changes a host must carry the secret again" (house rules, R25): for each side
/// whose destination `patch` changes against `saved`, that side's secret must be in `patch`.
pub fn require_secret_with_destination(saved: &Value, patch: &Value) -> Result<(), ApiError> {
    for (side, keys) in DESTINATIONS {
        let Some(changed) = keys.iter().find(|k| {
            patch
                .pointer(k)
                .is_some_and(|v| Some(v) != saved.pointer(k))
        }) else {
            continue;
        };
        let (secret_field, present) = secret_in_patch(side, saved, patch);
        if !present {
            let changed = changed.trim_start_matches('/').replace('/', ".");
            return Err(ApiError::bad_request(
                &secret_field,
                format!(
                    "{changed} changes where or as whom flexbridge logs in: give {secret_field} in the same body (the stored secret is never sent to a new destination) (R25)"
                ),
            ));
        }
    }
    Ok(())
}

/// Which secret a side needs (for Salesforce, by the flow the merged settings will use) and
/// whether `patch` carries it as a non-empty string.
fn secret_in_patch(side: &str, saved: &Value, patch: &Value) -> (String, bool) {
    let pointer = if side == "flexnet" {
        "/flexnet/password"
    } else {
        let flow = patch
            .pointer("/salesforce/auth/flow")
            .or_else(|| saved.pointer("/salesforce/auth/flow"))
            .and_then(Value::as_str);
        if flow == Some("jwt_bearer") {
            "/salesforce/auth/private_key_pem"
        } else {
            "/salesforce/auth/client_secret"
        }
    };
    let present = patch
        .pointer(pointer)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    (pointer.trim_start_matches('/').replace('/', "."), present)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn saved() -> Value {
        json!({
            "salesforce": {"login_url": "https://acme.my.salesforce.com",
                           "auth": {"flow": "client_credentials", "client_id": "3MVG9", "client_secret": "sf-1"}},
            "flexnet": {"base_url": "https://acme-uat.flexnetoperations.com", "username": "fb", "password": "fno-1"}
        })
    }

    fn field_of(r: Result<(), ApiError>) -> String {
        match r {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn r25_a_new_destination_without_its_secret_is_refused_naming_the_secret() {
        let s = saved();
        let cases = [
            (
                json!({"flexnet": {"base_url": "https://evil.flexnetoperations.com"}}),
                "flexnet.password",
            ),
            (
                json!({"flexnet": {"username": "admin"}}),
                "flexnet.password",
            ),
            (
                json!({"salesforce": {"login_url": "https://evil.my.salesforce.com"}}),
                "salesforce.auth.client_secret",
            ),
            (
                json!({"salesforce": {"auth": {"client_id": "other"}}}),
                "salesforce.auth.client_secret",
            ),
            (
                json!({"salesforce": {"auth": {"flow": "jwt_bearer", "client_id": "3MVG9", "username": "u@x"}}}),
                "salesforce.auth.private_key_pem",
            ),
            // the other side's secret does not count
            (
                json!({"flexnet": {"base_url": "https://x.flexnetoperations.com"}, "salesforce": {"auth": {"client_secret": "s"}}}),
                "flexnet.password",
            ),
        ];
        for (patch, want) in cases {
            let e = require_secret_with_destination(&s, &patch);
            assert_eq!(field_of(e), want, "{patch}");
        }
        let ok = [
            json!({"flexnet": {"base_url": "https://x.flexnetoperations.com", "password": "p"}}),
            json!({"flexnet": {"base_url": "https://acme-uat.flexnetoperations.com"}}), // unchanged
            json!({"flexnet": {"timeout_secs": 5}, "salesforce": {"max_retries": 1}}),
            json!({"salesforce": {"login_url": "https://y.my.salesforce.com", "auth": {"client_secret": "s"}}}),
        ];
        for patch in ok {
            assert!(
                require_secret_with_destination(&s, &patch).is_ok(),
                "{patch}"
            );
        }
    }

    fn settings(sf_url: &str, fno_url: &str) -> ConnectionSettings {
        let mut v = saved();
        v["salesforce"]["login_url"] = json!(sf_url);
        v["flexnet"]["base_url"] = json!(fno_url);
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn r25_https_and_allow_listed_hosts_only_unless_extended_or_loopback_in_code() {
        let strict = EndpointPolicy::default();
        let fno = "https://acme.flexnetoperations.com";
        let sf = "https://acme.my.salesforce.com";
        assert!(strict.check(&settings(sf, fno)).is_ok());
        for (sf_url, fno_url, want) in [
            ("http://acme.my.salesforce.com", fno, "salesforce.login_url"),
            (sf, "http://acme.flexnetoperations.com", "flexnet.base_url"),
            ("https://evil.example", fno, "salesforce.login_url"),
            (
                sf,
                "https://flexnetoperations.com.evil.example",
                "flexnet.base_url",
            ),
            (sf, "https://acme.salesforce.com", "flexnet.base_url"),
            (sf, "http://127.0.0.1:8080", "flexnet.base_url"),
            (
                "https://u:p@acme.my.salesforce.com",
                fno,
                "salesforce.login_url",
            ),
        ] {
            assert_eq!(
                field_of(strict.check(&settings(sf_url, fno_url))),
                want,
                "{sf_url} {fno_url}"
            );
        }
        let extended = EndpointPolicy::from_lookup(|_| Some("*.corp.example".into())).unwrap();
        assert!(extended
            .check(&settings(
                "https://sf.corp.example",
                "https://fno.corp.example"
            ))
            .is_ok());
        let e = EndpointPolicy::from_lookup(|_| Some("*.com".into())).unwrap_err();
        assert!(e.to_string().contains(EXTRA_HOSTS_VAR), "{e}");
        let sim = EndpointPolicy::loopback_simulators();
        assert!(sim
            .check(&settings("http://127.0.0.1:1", "http://127.0.0.1:2"))
            .is_ok());
        assert!(sim.check(&settings("http://evil.example", fno)).is_err());
    }

    #[test]
    fn r25_numbers_and_strings_are_bounded() {
        let p = EndpointPolicy::default();
        let mut s = settings(
            "https://acme.my.salesforce.com",
            "https://acme.flexnetoperations.com",
        );
        s.salesforce.timeout_secs = 100_000;
        assert_eq!(field_of(p.check(&s)), "salesforce.timeout_secs");
        s.salesforce.timeout_secs = 30;
        s.flexnet.max_retries = 1000;
        assert_eq!(field_of(p.check(&s)), "flexnet.max_retries");
        s.flexnet.max_retries = 3;
        s.flexnet.timeout_secs = 0;
        assert_eq!(field_of(p.check(&s)), "flexnet.timeout_secs");
        s.flexnet.timeout_secs = 60;
        s.flexnet.username = "x".repeat(300);
        assert_eq!(field_of(p.check(&s)), "flexnet.username");
        s.flexnet.username = "a\u{0}b".into();
        assert_eq!(field_of(p.check(&s)), "flexnet.username");
    }
}
