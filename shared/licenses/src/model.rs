//! The license records (R26–R32): what an ingest captured, what an admin entered by hand, kept
//! apart (R27), money and payment frequencies for the annual spend. Pure: no IO.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The four kinds of Salesforce license flexbridge captures (R26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseKind {
    /// `UserLicense`, one per profile license type; usage = active users by profile.
    UserLicense,
    /// `PermissionSetLicense`; usage = `PermissionSetLicenseAssign` rows of active users.
    PermissionSetLicense,
    /// `PackageLicense` (managed package seats); usage = `UserPackageLicense` of active users.
    PackageLicense,
    /// A feature license: a `UserPermissions…` flag on User; usage = active users with it set.
    FeatureLicense,
}

impl LicenseKind {
    pub const ALL: [LicenseKind; 4] = [
        LicenseKind::UserLicense,
        LicenseKind::PermissionSetLicense,
        LicenseKind::PackageLicense,
        LicenseKind::FeatureLicense,
    ];

    /// Short label for tables and log messages.
    pub fn label(self) -> &'static str {
        match self {
            LicenseKind::UserLicense => "user",
            LicenseKind::PermissionSetLicense => "permission set",
            LicenseKind::PackageLicense => "package",
            LicenseKind::FeatureLicense => "feature",
        }
    }

    /// The sObject the license itself is read from.
    pub fn sobject(self) -> &'static str {
        match self {
            LicenseKind::UserLicense => "UserLicense",
            LicenseKind::PermissionSetLicense => "PermissionSetLicense",
            LicenseKind::PackageLicense => "PackageLicense",
            LicenseKind::FeatureLicense => "User",
        }
    }
}

impl fmt::Display for LicenseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} license", self.label())
    }
}

/// One license as Salesforce shows it now (the output of a capture, before merging).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Unique id: the Salesforce record Id; `feature:<User field>` for feature licenses.
    pub id: String,
    pub kind: LicenseKind,
    pub name: String,
    /// LicenseDefinitionKey / PermissionSetLicenseKey / NamespacePrefix / permission field.
    pub key: Option<String>,
    /// Purchased quantity; `None` for feature licenses (Salesforce has no total for them) and
    /// site-wide package licenses (`AllowedLicenses = -1`).
    pub total: Option<i64>,
    /// Used quantity as Salesforce counts it.
    pub used: i64,
    /// Salesforce's Status value (`Active`, `Disabled`, `Expired`, `Free`, `Trial`…).
    pub status: String,
    pub active: bool,
    pub expiration: Option<NaiveDate>,
    /// R30: distinct active users assigned; 0 for an inactive license; `None` when the
    /// assignments could not be read this time (the stored count is then kept).
    pub active_users: Option<u64>,
}

/// The captured part of a stored license: written only by an ingest, never by an admin (R27).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedLicense {
    pub id: String,
    pub kind: LicenseKind,
    /// The name in Salesforce (a local name lives in [`ManualFields::name`], R31).
    pub name: String,
    pub key: Option<String>,
    pub total: Option<i64>,
    pub used: i64,
    pub status: String,
    /// Active in Salesforce; false when Salesforce says so or the license is gone.
    pub active: bool,
    pub expiration: Option<NaiveDate>,
    /// R30: distinct active users assigned (0 while the license is inactive).
    pub active_users: u64,
    /// The ingest that first saw it.
    pub first_seen: DateTime<Utc>,
    /// The ingest that first saw it active (R28 defaults the effective date then).
    pub first_active: Option<DateTime<Utc>>,
    /// The last ingest that saw it in Salesforce.
    pub last_seen: DateTime<Utc>,
    /// Set when a later ingest no longer found it: marked inactive, never deleted.
    pub missing_since: Option<DateTime<Utc>>,
}

impl CapturedLicense {
    /// Remaining = total − used (as Salesforce's setup page shows it); `None` without a total.
    pub fn remaining(&self) -> Option<i64> {
        self.total.map(|t| t - self.used)
    }
}

/// The manual part of a stored license (R27): entered by an admin, never written by an ingest
/// except the R28 default effective date at first discovery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManualFields {
    /// A local name; survives every ingest because records match by id (R31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// "# of items allowed": required by hand for feature licenses (Salesforce has no total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// ISO 4217 code, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_frequency: Option<PaymentFrequency>,
    /// When an admin last changed these fields (`None`: only the R28 default so far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

/// A stored license: the captured part and the manual part, kept apart (R27).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseRecord {
    pub captured: CapturedLicense,
    pub manual: ManualFields,
}

impl LicenseRecord {
    pub fn id(&self) -> &str {
        &self.captured.id
    }
}

/// Org-wide usage of the last ingest (R32).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgUsage {
    pub captured_at: DateTime<Utc>,
    /// Users with `IsActive = true`.
    pub active_users: u64,
    /// Users with `IsActive = false` (left out of every count, R30).
    pub inactive_users: u64,
    /// R32: active users who can log in (active, and their user license is active).
    pub users_can_log_in: u64,
    /// R32: unexpired AuthSession rows of active users (`LastModifiedDate + NumSecondsValid`
    /// after now); `None` when AuthSession could not be read.
    pub active_sessions: Option<u64>,
    /// Distinct active users holding at least one such session.
    pub users_with_sessions: Option<u64>,
}

// ------------------------------------------------------------------------------------- money

/// A non-negative amount of money in hundredths (exact; no floating point). JSON: a string
/// `"1234.50"`; input also accepts a JSON number with at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub i64);

impl Amount {
    pub fn from_cents(cents: i64) -> Self {
        Amount(cents)
    }
    pub fn cents(self) -> i64 {
        self.0
    }

    /// Parses `"1234"`, `"1234.5"`, `"1234.50"`; refuses signs, exponents, more than two
    /// decimals and more than 13 integer digits, saying which.
    pub fn parse(text: &str) -> Result<Amount, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("an amount is a number such as 1200 or 1200.50".into());
        }
        if t.starts_with('-') {
            return Err(format!("{t} is negative; an amount is 0 or more"));
        }
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || (t.contains('.') && frac.is_empty()) {
            return Err(format!(
                "{t:?} is not an amount; write digits with an optional '.' and up to two decimals"
            ));
        }
        if frac.len() > 2 {
            return Err(format!("{t} has more than two decimals"));
        }
        if int.trim_start_matches('0').len() > 13 {
            return Err(format!("{t} is too large"));
        }
        let whole: i64 = int.parse().map_err(|_| format!("{t:?} is not an amount"))?;
        let mut cents: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse()
                .map_err(|_| format!("{t:?} is not an amount"))?
        };
        if frac.len() == 1 {
            cents *= 10;
        }
        Ok(Amount(whole * 100 + cents))
    }

    pub fn checked_mul(self, n: i64) -> Option<Amount> {
        self.0.checked_mul(n).map(Amount)
    }
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Amount::from_json(&v).map_err(serde::de::Error::custom)
    }
}

impl Amount {
    /// From a JSON string or number.
    pub fn from_json(v: &serde_json::Value) -> Result<Amount, String> {
        match v {
            serde_json::Value::String(s) => Amount::parse(s),
            serde_json::Value::Number(n) => Amount::parse(&n.to_string()),
            other => Err(format!(
                "expected a number or a string such as \"1200.50\", got {other}"
            )),
        }
    }
}

/// How often the amount is paid (R27); the annual spend multiplies by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentFrequency {
    Monthly,
    Quarterly,
    SemiAnnual,
    Annual,
    OneTime,
}

impl PaymentFrequency {
    pub const NAMES: [&'static str; 5] =
        ["monthly", "quarterly", "semi_annual", "annual", "one_time"];

    /// Lenient: case, `-`, `_` and spaces ignored; `yearly` = annual, `once` = one time.
    pub fn parse(text: &str) -> Option<PaymentFrequency> {
        let t: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match t.as_str() {
            "monthly" => PaymentFrequency::Monthly,
            "quarterly" => PaymentFrequency::Quarterly,
            "semiannual" | "semiannually" | "halfyearly" => PaymentFrequency::SemiAnnual,
            "annual" | "annually" | "yearly" => PaymentFrequency::Annual,
            "onetime" | "once" => PaymentFrequency::OneTime,
            _ => return None,
        })
    }

    /// Months between two payments; `None` for one-time.
    pub fn months(self) -> Option<u32> {
        match self {
            PaymentFrequency::Monthly => Some(1),
            PaymentFrequency::Quarterly => Some(3),
            PaymentFrequency::SemiAnnual => Some(6),
            PaymentFrequency::Annual => Some(12),
            PaymentFrequency::OneTime => None,
        }
    }
}

// ------------------------------------------------------------------------------ annual spend

/// The spend of one license in one calendar year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    pub amount: Amount,
    pub currency: String,
    pub year: i32,
    /// Payments counted in the year.
    pub payments: u32,
}

/// Annual spend: the amount × the number of payments that fall in `year` within the effective
/// period. Payments fall on the effective date and then every 1/3/6/12 months after it (a
/// full year of monthly payments = ×12, quarterly ×4, semi-annual ×2, annual ×1); a one-time
/// payment counts only in the year of the effective date. Nothing is counted after the ending
/// date (inclusive) or when amount, currency, frequency or effective date is missing (R27/R28:
/// the calculation relies on the entered dates).
pub fn annual_spend(manual: &ManualFields, year: i32) -> Option<Spend> {
    let amount = manual.amount?;
    let currency = manual.currency.clone()?;
    let frequency = manual.payment_frequency?;
    let start = manual.effective_date?;
    let payments = payments_in_year(start, manual.ending_date, frequency, year);
    Some(Spend {
        amount: amount.checked_mul(i64::from(payments))?,
        currency,
        year,
        payments,
    })
}

fn payments_in_year(
    start: NaiveDate,
    end: Option<NaiveDate>,
    frequency: PaymentFrequency,
    year: i32,
) -> u32 {
    let within = |d: NaiveDate| end.is_none_or(|e| d <= e);
    let Some(step) = frequency.months() else {
        return u32::from(start.year() == year && within(start));
    };
    if start.year() > year {
        return 0;
    }
    // Jump close to the year instead of walking from a distant start.
    let years_before = (year - start.year()).max(1) - 1;
    let mut k: u32 = (years_before as u32).saturating_mul(12) / step;
    let mut count = 0;
    while let Some(d) = start.checked_add_months(Months::new(k.saturating_mul(step))) {
        if d.year() > year || !within(d) {
            break;
        }
        if d.year() == year {
            count += 1;
        }
        k += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn paid(amount: &str, freq: PaymentFrequency, from: &str, to: Option<&str>) -> ManualFields {
        ManualFields {
            amount: Some(Amount::parse(amount).unwrap()),
            currency: Some("USD".into()),
            payment_frequency: Some(freq),
            effective_date: Some(d(from)),
            ending_date: to.map(d),
            ..Default::default()
        }
    }

    #[test]
    fn r27_amount_parses_exactly_and_refuses_bad_text() {
        assert_eq!(Amount::parse("1200").unwrap().cents(), 120_000);
        assert_eq!(Amount::parse("1200.5").unwrap().cents(), 120_050);
        assert_eq!(Amount::parse("0.07").unwrap().cents(), 7);
        assert_eq!(Amount::parse("1200.50").unwrap().to_string(), "1200.50");
        for bad in ["", "-1", "1.234", "1e3", "abc", "1.", ".5", "12,5"] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Amount::parse("99999999999999")
            .unwrap_err()
            .contains("too large"));
        assert_eq!(
            Amount::from_json(&serde_json::json!(99.9)).unwrap().cents(),
            9990
        );
        assert!(Amount::from_json(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn r27_amount_display_and_parse_are_inverse() {
        for cents in (0..200_000)
            .step_by(7)
            .chain([i64::from(i32::MAX), 99_999_999_999_999])
        {
            let a = Amount::from_cents(cents);
            assert_eq!(Amount::parse(&a.to_string()), Ok(a), "{cents}");
        }
    }

    #[test]
    fn r27_amount_round_trips_as_a_string() {
        let a = Amount::parse("15.05").unwrap();
        let j = serde_json::to_value(a).unwrap();
        assert_eq!(j, serde_json::json!("15.05"));
        assert_eq!(serde_json::from_value::<Amount>(j).unwrap(), a);
    }

    #[test]
    fn r27_payment_frequency_is_parsed_leniently() {
        assert_eq!(
            PaymentFrequency::parse("One-Time"),
            Some(PaymentFrequency::OneTime)
        );
        assert_eq!(
            PaymentFrequency::parse("Semi annual"),
            Some(PaymentFrequency::SemiAnnual)
        );
        assert_eq!(
            PaymentFrequency::parse("yearly"),
            Some(PaymentFrequency::Annual)
        );
        assert_eq!(PaymentFrequency::parse("weekly"), None);
    }

    #[test]
    fn spend_full_year_multiplies_by_the_frequency() {
        use PaymentFrequency::*;
        for (f, n) in [(Monthly, 12), (Quarterly, 4), (SemiAnnual, 2), (Annual, 1)] {
            let s = annual_spend(&paid("100", f, "2025-01-01", None), 2026).unwrap();
            assert_eq!(s.payments, n, "{f:?}");
            assert_eq!(s.amount.cents(), 100 * 100 * i64::from(n));
            assert_eq!(s.currency, "USD");
        }
    }

    #[test]
    fn spend_counts_only_payments_within_the_effective_period() {
        use PaymentFrequency::*;
        // starts in July: six monthly payments in the first year
        let s = annual_spend(&paid("10", Monthly, "2026-07-15", None), 2026).unwrap();
        assert_eq!(s.payments, 6);
        // ends in March (inclusive): Jan, Feb, Mar
        let s = annual_spend(&paid("10", Monthly, "2020-01-01", Some("2026-03-01")), 2026).unwrap();
        assert_eq!(s.payments, 3);
        // ended before the year: nothing
        let s = annual_spend(&paid("10", Annual, "2020-01-01", Some("2025-12-31")), 2026).unwrap();
        assert_eq!(s.payments, 0);
        assert_eq!(s.amount.cents(), 0);
        // starts after the year: nothing
        let s = annual_spend(&paid("10", Quarterly, "2027-01-01", None), 2026).unwrap();
        assert_eq!(s.payments, 0);
        // month-end start clamps (Jan 31 → Feb 28) and still counts twelve
        let s = annual_spend(&paid("10", Monthly, "2026-01-31", None), 2026).unwrap();
        assert_eq!(s.payments, 12);
        // a start long ago still counts the full year
        let s = annual_spend(&paid("10", Quarterly, "1990-02-10", None), 2026).unwrap();
        assert_eq!(s.payments, 4);
    }

    #[test]
    fn spend_one_time_counts_only_in_its_year() {
        let m = paid("5000", PaymentFrequency::OneTime, "2026-03-01", None);
        assert_eq!(annual_spend(&m, 2026).unwrap().amount.cents(), 500_000);
        assert_eq!(annual_spend(&m, 2027).unwrap().payments, 0);
        assert_eq!(annual_spend(&m, 2025).unwrap().payments, 0);
    }

    #[test]
    fn r28_spend_needs_amount_currency_frequency_and_effective_date() {
        let full = paid("10", PaymentFrequency::Annual, "2026-01-01", None);
        assert!(annual_spend(&full, 2026).is_some());
        let mut m = full.clone();
        m.amount = None;
        assert!(annual_spend(&m, 2026).is_none());
        let mut m = full.clone();
        m.currency = None;
        assert!(annual_spend(&m, 2026).is_none());
        let mut m = full.clone();
        m.payment_frequency = None;
        assert!(annual_spend(&m, 2026).is_none());
        let mut m = full;
        m.effective_date = None;
        assert!(annual_spend(&m, 2026).is_none());
    }

    #[test]
    fn kinds_name_their_sobject() {
        assert_eq!(LicenseKind::UserLicense.sobject(), "UserLicense");
        assert_eq!(LicenseKind::FeatureLicense.sobject(), "User");
        assert_eq!(
            serde_json::to_value(LicenseKind::PermissionSetLicense).unwrap(),
            serde_json::json!("permission_set_license")
        );
    }
}
