//! Where stored credentials may be sent (house rule "secrets stay put"): the hosts of the
//! Salesforce and FNO clouds, plus the private domains a deployer names in the template's
//! `ExtraAllowedHosts` parameter. Pure string rules; the callers parse URLs and pass the host.

/// Salesforce's own domains (`*.` = any subdomain): login, My Domain, instances, Government
/// Cloud.
pub const SALESFORCE_DOMAINS: [&str; 5] = [
    "*.salesforce.com",
    "*.force.com",
    "*.my.salesforce.com",
    "*.cloudforce.com",
    "*.salesforce.mil",
];

/// FlexNet Operations tenants (`<siteID>[-uat].flexnetoperations.com`, EU data centre).
pub const FLEXNET_DOMAINS: [&str; 2] = ["*.flexnetoperations.com", "*.flexnetoperations.eu"];

/// One allow-list entry: `*.example.com` (any subdomain, not the bare domain) or
/// `host.example.com` (that host only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    /// Parses one entry; the error says what is wrong with it (never silently widened).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let p = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let body = p.strip_prefix("*.").unwrap_or(&p);
        let labels: Vec<&str> = body.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return Err(format!(
                "{raw:?} is not a host name or a *.domain pattern with at least two labels"
            ));
        }
        Ok(HostPattern(p))
    }

    /// Does `host` (as a URL parser gives it: lower case, no port) match?
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self.0.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.')),
            None => host == self.0,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a comma- or space-separated list (the `ExtraAllowedHosts` parameter); empty → none.
pub fn parse_host_list(raw: &str) -> Result<Vec<HostPattern>, String> {
    raw.split([',', ' ', '\n'])
        .filter(|s| !s.trim().is_empty())
        .map(HostPattern::parse)
        .collect()
}

/// The built-in patterns of one side.
pub fn builtin(domains: &[&str]) -> Vec<HostPattern> {
    domains
        .iter()
        .filter_map(|d| HostPattern::parse(d).ok())
        .collect()
}

/// 127.0.0.0/8, `::1` and `localhost`: where the simulators run (test-only code paths).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h == "::1"
        || h.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_subdomains_only_and_exact_entries_one_host() {
        let sf = builtin(&SALESFORCE_DOMAINS);
        let ok = |h: &str| sf.iter().any(|p| p.matches(h));
        assert!(ok("login.salesforce.com"));
        assert!(ok("acme.my.salesforce.com"));
        assert!(ok("acme--uat.sandbox.my.salesforce.com"));
        assert!(ok("acme.lightning.force.com"));
        assert!(ok("ACME.My.Salesforce.com."));
        assert!(ok("x.salesforce.mil"));
        assert!(!ok("salesforce.com"), "bare domain is not *.salesforce.com");
        assert!(!ok("evilsalesforce.com"));
        assert!(!ok("salesforce.com.evil.example"));
        assert!(!ok("127.0.0.1"));
        let fno = builtin(&FLEXNET_DOMAINS);
        assert!(fno
            .iter()
            .any(|p| p.matches("flex1234-uat.flexnetoperations.com")));
        assert!(fno.iter().any(|p| p.matches("acme.flexnetoperations.eu")));
        assert!(!fno
            .iter()
            .any(|p| p.matches("acme.flexnetoperations.com.evil.io")));
        let exact = HostPattern::parse("fno.corp.example").unwrap();
        assert!(exact.matches("fno.corp.example") && !exact.matches("x.fno.corp.example"));
    }

    #[test]
    fn extra_host_lists_are_checked_entry_by_entry() {
        let l = parse_host_list("*.corp.example, sf.internal.example").unwrap();
        assert_eq!(l.len(), 2);
        assert!(parse_host_list("").unwrap().is_empty());
        for bad in [
            "*",
            "*.com",
            "com",
            "a..b",
            "http://x.example",
            "*.x_y.example",
            "x.example/",
        ] {
            let e = parse_host_list(bad).unwrap_err();
            assert!(e.contains("not a host name"), "{bad}: {e}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "::1"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["10.0.0.1", "localhost.evil.example", "0.0.0.0"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
