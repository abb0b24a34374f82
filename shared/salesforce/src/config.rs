//! Connection settings, stored as JSON in Secrets Manager (R25: verified when saved).

use mapping::Secret;
use serde::{Deserialize, Serialize};

/// The API version used everywhere unless the settings say otherwise.
pub const DEFAULT_API_VERSION: &str = "v62.0";

/// How flexbridge obtains an access token (server-to-server OAuth 2.0 flows; neither returns a
/// refresh token or an expiry, so the client re-mints on a 401).
///
/// JSON: `{"flow":"client_credentials","client_id":…,"client_secret":…}` or
/// `{"flow":"jwt_bearer","client_id":…,"username":…,"private_key_pem":…,"audience":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case", deny_unknown_fields)]
pub enum SalesforceAuth {
    /// `grant_type=client_credentials` with `client_id`/`client_secret` form fields (the
    /// connected/external client app's run-as user). Needs a My Domain login URL.
    #[serde(rename_all = "snake_case")]
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 assertion
    /// (iss = client id, sub = username, aud = audience or the login URL, exp = now + 3 min).
    #[serde(rename_all = "snake_case")]
    JwtBearer {
        client_id: String,
        username: String,
        /// PEM RSA private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
        private_key_pem: Secret,
        /// `aud` claim; default the login URL (`https://login.salesforce.com`, `https://test…`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
    },
}

/// Everything the client needs to reach one org. `Debug` never shows a secret (they are
/// [`Secret`]s).
///
/// Unknown keys are refused (a typo such as `timeoutSec` must not be dropped silently).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct SalesforceConfig {
    /// Base of `POST /services/oauth2/token`: the My Domain URL (or a simulator's base URL).
    pub login_url: String,
    /// e.g. `v62.0`.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    pub auth: SalesforceAuth,
    /// Per-request timeout.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Extra attempts after a transient failure (5xx, 429, row lock, timeout/connection error),
    /// with the jittered backoff (ceiling 200 ms · 2^n, at most 10 s).
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// `Sforce-Query-Options: batchSize=N` (Salesforce honours 200..=2000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// Accept a self-signed certificate: for the TLS simulator only, never for a real org.
    /// Set in code only — never read from or written to the stored connection settings, so
    /// the secret cannot switch off certificate checks against a real org.
    #[serde(skip)]
    pub accept_invalid_certs: bool,
    /// Allow plain `http://` to a loopback host (the simulator). Code only, like
    /// `accept_invalid_certs`: the stored settings cannot switch https off.
    #[serde(skip)]
    pub allow_loopback_http: bool,
    /// Hosts the login URL and the `instance_url` Salesforce answers with must match (the
    /// service sets Salesforce's domains plus the deployer's extra hosts); `None` = any host
    /// (tests and the local runner, against simulators). Code only.
    #[serde(skip)]
    pub allowed_hosts: Option<Vec<mapping::endpoint::HostPattern>>,
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_max_retries() -> u32 {
    3
}

impl SalesforceConfig {
    /// Settings with the defaults (`v62.0`, 30 s timeout, 3 retries, no batch size).
    pub fn new(login_url: impl Into<String>, auth: SalesforceAuth) -> Self {
        SalesforceConfig {
            login_url: login_url.into(),
            api_version: default_api_version(),
            auth,
            timeout_secs: default_timeout_secs(),
            max_retries: default_max_retries(),
            batch_size: None,
            accept_invalid_certs: false,
            allow_loopback_http: false,
            allowed_hosts: None,
        }
    }

    /// The test-only switches for a simulator on 127.0.0.1 (plain http or a self-signed
    /// certificate). Never derived from stored settings.
    pub fn for_loopback_simulator(mut self) -> Self {
        self.allow_loopback_http = true;
        self.accept_invalid_certs = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_credentials_json_is_camel_case_with_a_flow_tag_and_defaults() {
        let c: SalesforceConfig = serde_json::from_value(json!({
            "login_url": "https://acme.my.salesforce.com",
            "auth": {"flow": "client_credentials", "client_id": "3MVG9", "client_secret": "s3cr3t"}
        }))
        .unwrap();
        assert_eq!(c.api_version, "v62.0");
        assert_eq!(c.timeout_secs, 30);
        assert_eq!(c.max_retries, 3);
        assert_eq!(c.batch_size, None);
        assert!(!c.accept_invalid_certs);
        assert_eq!(
            c.auth,
            SalesforceAuth::ClientCredentials {
                client_id: "3MVG9".into(),
                client_secret: Secret::new("s3cr3t"),
            }
        );
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["auth"]["flow"], "client_credentials");
        assert_eq!(
            back["auth"]["client_secret"], "s3cr3t",
            "stored as the plain string"
        );
        assert_eq!(back["login_url"], "https://acme.my.salesforce.com");
        assert_eq!(back["timeout_secs"], 30);
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn jwt_bearer_json_round_trips_and_debug_hides_the_key() {
        let v = json!({
            "login_url": "https://login.salesforce.com", "api_version": "v61.0",
            "auth": {"flow": "jwt_bearer", "client_id": "3MVG9", "username": "int@acme.example",
                     "private_key_pem": "-----BEGIN PRIVATE KEY-----\nMIIkey\n-----END PRIVATE KEY-----\n",
                     "audience": "https://test.salesforce.com"},
            "timeout_secs": 5, "max_retries": 1, "batch_size": 500
        });
        let c: SalesforceConfig = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&c).unwrap(), v);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("MIIkey"), "{dbg}");
        assert!(dbg.contains("int@acme.example"));
    }

    #[test]
    fn certificate_checks_cannot_be_switched_off_from_json_and_typos_are_refused() {
        let base = json!({
            "login_url": "https://acme.my.salesforce.com",
            "auth": {"flow": "client_credentials", "client_id": "a", "client_secret": "b"}
        });
        let mut insecure = base.clone();
        insecure["acceptInvalidCerts"] = json!(true);
        let e = serde_json::from_value::<SalesforceConfig>(insecure).unwrap_err();
        assert!(e.to_string().contains("acceptInvalidCerts"), "{e}");
        for key in ["allowLoopbackHttp", "allowedHosts"] {
            let mut insecure = base.clone();
            insecure[key] = json!(true);
            let e = serde_json::from_value::<SalesforceConfig>(insecure).unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
        let mut typo = base.clone();
        typo["timeoutSec"] = json!(5);
        let e = serde_json::from_value::<SalesforceConfig>(typo).unwrap_err();
        assert!(e.to_string().contains("timeoutSec"), "{e}");
        let mut c: SalesforceConfig = serde_json::from_value(base).unwrap();
        c.accept_invalid_certs = true;
        assert!(serde_json::to_value(&c)
            .unwrap()
            .get("acceptInvalidCerts")
            .is_none());
    }

    #[test]
    fn an_unknown_flow_is_refused() {
        let e = serde_json::from_value::<SalesforceConfig>(json!({
            "login_url": "https://x.example", "auth": {"flow": "password", "client_id": "a"}
        }))
        .unwrap_err();
        assert!(e.to_string().contains("password"), "{e}");
    }
}
