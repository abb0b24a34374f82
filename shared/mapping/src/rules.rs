//! The connector's value rules as pure functions (R9, R13, R14, R15, R16), so each has a
//! table test. The planner ([`crate::plan`]) turns their errors into [`crate::RuleError`]s
//! naming the record and the field.
//!
//! Picklist values are matched ignoring case and surrounding whitespace (the guide itself
//! writes both "Specify value now" and "Specify Value Now"); the FNO enum names
//! (`DEFINE_NOW`, `MONTHS`, `CUSTOMER`, …) are accepted too, for fields remapped to a
//! non-picklist field. Anything else is an error naming the value.

use crate::config::PostConditionState;
use crate::fno::{AccountType, DurationUnit, Expiration, StartDateOption, State};
use chrono::NaiveDate;

/// A rule failure on one FNO attribute (the planner maps the attribute to its Salesforce
/// field through the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// FNO attribute name (`startDate`, `expirationDateOption`, …).
    pub attribute: &'static str,
    pub message: String,
}

fn verr(attribute: &'static str, message: impl Into<String>) -> ValueError {
    ValueError {
        attribute,
        message: message.into(),
    }
}

fn is(s: &str, v: &str) -> bool {
    s.trim().eq_ignore_ascii_case(v)
}

/// R9: Account Type picklist → FNO account type. Unset → CUSTOMER (an account synced
/// from Salesforce is an end user unless marked as a channel partner).
pub fn account_type(value: Option<&str>) -> Result<AccountType, String> {
    let Some(v) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(AccountType::Customer);
    };
    if is(v, "End User") || is(v, "CUSTOMER") || is(v, "Customer") {
        Ok(AccountType::Customer)
    } else if is(v, "Channel Partner") || is(v, "CHANNEL_PARTNER") {
        Ok(AccountType::ChannelPartner)
    } else if is(v, "SELF_REGISTERED") || is(v, "Self Registered") {
        Ok(AccountType::SelfRegistered)
    } else if is(v, "PUBLISHER") {
        Ok(AccountType::Publisher)
    } else {
        Err(format!(
            "Account Type '{v}' is not one of 'End User' or 'Channel Partner'"
        ))
    }
}

/// R13: the resulting entitlement state (guide table 3-2): the Opportunity's Entitlement
/// State if set, else the Filters post-condition.
pub fn entitlement_state(
    opportunity_state: Option<&str>,
    post_condition: PostConditionState,
) -> Result<State, String> {
    match opportunity_state.filter(|v| !v.trim().is_empty()) {
        None => Ok(post_condition.fno()),
        Some(v) if is(v, "Draft") => Ok(State::Draft),
        Some(v) if is(v, "Deployed") => Ok(State::Deployed),
        Some(v) => Err(format!(
            "Entitlement State '{v}' is not one of 'Draft' or 'Deployed'"
        )),
    }
}

/// R14: Start Date Option + Start Date → FNO `startDateOption` + `startDate`.
///
/// Picklist → enum, decided from the guide's table 2-6 descriptions:
/// * `Specify Value Now` → `DEFINE_NOW` ("The start date was specified at the time of the
///   entitlement's creation"); requires a Start Date.
/// * `Use First Activation Date` → `DEFINE_ACTDATE_AT_FIRST_ACTIVATION`: "Use first
///   activation date—The date of the first activation is used as the start date", as
///   opposed to "Specify at first activation—The user is prompted to specify a start date
///   when first activating" (= `DEFINE_AT_FIRST_ACTIVATION`, the user *defines* it). FNO's
///   `ACTDATE` variants are the ones that take the activation date itself.
/// * `Use Each Activation Date` → `DEFINE_ACTDATE_AT_EACH_ACTIVATION` ("Every time the line
///   item is activated, the activation date is used as the start date").
///
/// Both "Use …" options forbid a Start Date. With no option, a Start Date alone means
/// `DEFINE_NOW` with that date (FNO only uses a start date with DEFINE_NOW), and nothing at
/// all sends neither (FNO's default applies).
pub fn start_date(
    option: Option<&str>,
    date: Option<NaiveDate>,
) -> Result<(Option<StartDateOption>, Option<NaiveDate>), ValueError> {
    let Some(opt) = option.filter(|v| !v.trim().is_empty()) else {
        return Ok(match date {
            Some(d) => (Some(StartDateOption::DefineNow), Some(d)),
            None => (None, None),
        });
    };
    let parsed = if is(opt, "Specify Value Now") || is(opt, "DEFINE_NOW") {
        StartDateOption::DefineNow
    } else if is(opt, "Use First Activation Date") || is(opt, "DEFINE_ACTDATE_AT_FIRST_ACTIVATION")
    {
        StartDateOption::DefineActdateAtFirstActivation
    } else if is(opt, "Use Each Activation Date") || is(opt, "DEFINE_ACTDATE_AT_EACH_ACTIVATION") {
        StartDateOption::DefineActdateAtEachActivation
    } else if is(opt, "Specify At First Activation") || is(opt, "DEFINE_AT_FIRST_ACTIVATION") {
        StartDateOption::DefineAtFirstActivation
    } else if is(opt, "Specify At Each Activation") || is(opt, "DEFINE_AT_EACH_ACTIVATION") {
        StartDateOption::DefineAtEachActivation
    } else {
        return Err(verr(
            "startDateOption",
            format!("Start Date Option '{opt}' is not one of 'Specify Value Now', 'Use First Activation Date' or 'Use Each Activation Date'"),
        ));
    };
    match (parsed, date) {
        (StartDateOption::DefineNow, Some(d)) => Ok((Some(parsed), Some(d))),
        (StartDateOption::DefineNow, None) => Err(verr(
            "startDate",
            format!("Start Date Option '{opt}' requires a Start Date, but none is set"),
        )),
        (_, Some(d)) => Err(verr(
            "startDate",
            format!("Start Date Option '{opt}' does not allow a Start Date, but {d} is set"),
        )),
        (_, None) => Ok((Some(parsed), None)),
    }
}

/// R15 term unit picklist.
pub fn duration_unit(value: &str) -> Option<DurationUnit> {
    [
        ("Days", DurationUnit::Days),
        ("Weeks", DurationUnit::Weeks),
        ("Months", DurationUnit::Months),
        ("Years", DurationUnit::Years),
    ]
    .into_iter()
    .find(|(n, _)| is(value, n))
    .map(|(_, u)| u)
}

/// R15: Expiration Date Option + Expiration Date + Expiration Term + Term Option →
/// `isPermanent` / `term` / `expirationDate`. Returns every problem found.
///
/// * `Specify Duration`: requires Term (a positive whole number) and Term Option
///   (Days|Weeks|Months|Years); forbids Expiration Date.
/// * `Permanent`: forbids all three.
/// * `Specify Expiration Date`: requires Expiration Date; forbids Term and Term Option.
/// * unset: nothing may be set (then nothing is sent and FNO's default applies).
pub fn expiration(
    option: Option<&str>,
    date: Option<NaiveDate>,
    term: Option<f64>,
    unit: Option<&str>,
) -> Result<Option<Expiration>, Vec<ValueError>> {
    let unit = unit.filter(|u| !u.trim().is_empty());
    let mut errs = Vec::new();
    let forbid = |errs: &mut Vec<ValueError>, opt: &str, date_ok: bool, term_ok: bool| {
        let why = if opt.is_empty() {
            "Expiration Date Option is not set, so it does not allow".to_string()
        } else {
            format!("Expiration Date Option '{opt}' does not allow")
        };
        if !date_ok {
            if let Some(d) = date {
                errs.push(verr(
                    "expirationDate",
                    format!("{why} an Expiration Date, but {d} is set"),
                ));
            }
        }
        if !term_ok {
            if let Some(t) = term {
                errs.push(verr(
                    "term",
                    format!("{why} an Expiration Term, but {t} is set"),
                ));
            }
            if let Some(u) = unit {
                errs.push(verr(
                    "durationUnit",
                    format!("{why} an Expiration Term Option, but '{u}' is set"),
                ));
            }
        }
    };
    let result = match option.filter(|v| !v.trim().is_empty()) {
        None => {
            forbid(&mut errs, "", false, false);
            None
        }
        Some(opt) if is(opt, "Permanent") => {
            forbid(&mut errs, opt, false, false);
            Some(Expiration::Permanent)
        }
        Some(opt) if is(opt, "Specify Expiration Date") => {
            forbid(&mut errs, opt, true, false);
            match date {
                Some(d) => Some(Expiration::Date { date: d }),
                None => {
                    errs.push(verr(
                        "expirationDate",
                        format!("Expiration Date Option '{opt}' requires an Expiration Date, but none is set"),
                    ));
                    None
                }
            }
        }
        Some(opt) if is(opt, "Specify Duration") => {
            forbid(&mut errs, opt, false, true);
            let n = match term {
                None => {
                    errs.push(verr(
                        "term",
                        format!("Expiration Date Option '{opt}' requires an Expiration Term, but none is set"),
                    ));
                    None
                }
                Some(t) if t.fract() != 0.0 || t < 1.0 || t > u32::MAX as f64 || !t.is_finite() => {
                    errs.push(verr(
                        "term",
                        format!("Expiration Term {t} is not a positive whole number"),
                    ));
                    None
                }
                Some(t) => Some(t as u32),
            };
            let u = match unit {
                None => {
                    errs.push(verr(
                        "durationUnit",
                        format!("Expiration Date Option '{opt}' requires an Expiration Term Option (Days, Weeks, Months or Years), but none is set"),
                    ));
                    None
                }
                Some(u) => match duration_unit(u) {
                    Some(x) => Some(x),
                    None => {
                        errs.push(verr(
                            "durationUnit",
                            format!("Expiration Term Option '{u}' is not one of Days, Weeks, Months or Years"),
                        ));
                        None
                    }
                },
            };
            match (n, u) {
                (Some(num_duration), Some(unit)) => Some(Expiration::Term { num_duration, unit }),
                _ => None,
            }
        }
        Some(opt) => {
            errs.push(verr(
                "expirationDateOption",
                format!("Expiration Date Option '{opt}' is not one of 'Specify Duration', 'Permanent' or 'Specify Expiration Date'"),
            ));
            None
        }
    };
    if errs.is_empty() {
        Ok(result)
    } else {
        Err(errs)
    }
}

/// R16: Quantity → `numberOfCopies` (a positive whole number).
pub fn number_of_copies(quantity: Option<f64>) -> Result<u32, String> {
    match quantity {
        None => Err("Quantity is required (it becomes numberOfCopies), but it is not set".into()),
        Some(q) if !q.is_finite() || q.fract() != 0.0 || q < 1.0 || q > u32::MAX as f64 => Err(
            format!("Quantity {q} is not a positive whole number of copies"),
        ),
        Some(q) => Ok(q as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fno::DurationUnit::*;
    use StartDateOption::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn r13_entitlement_state_table() {
        use PostConditionState as P;
        // guide table 3-2, row by row
        let table = [
            (None, P::Draft, State::Draft),
            (None, P::Deployed, State::Deployed),
            (Some("Deployed"), P::Draft, State::Deployed),
            (Some("Deployed"), P::Deployed, State::Deployed),
            (Some("Draft"), P::Draft, State::Draft),
            (Some("Draft"), P::Deployed, State::Draft),
            (Some(""), P::Deployed, State::Deployed),
        ];
        for (opp, post, want) in table {
            assert_eq!(entitlement_state(opp, post), Ok(want), "{opp:?} {post:?}");
        }
        let e = entitlement_state(Some("Active"), P::Draft).unwrap_err();
        assert!(e.contains("'Active'"), "{e}");
    }

    #[test]
    fn r14_start_date_option_table() {
        let day = d("2025-07-01");
        type Row = (
            Option<&'static str>,
            Option<NaiveDate>,
            Result<(Option<StartDateOption>, Option<NaiveDate>), &'static str>,
        );
        let table: Vec<Row> = vec![
            (
                Some("Specify Value Now"),
                Some(day),
                Ok((Some(DefineNow), Some(day))),
            ),
            (
                Some("Specify value now"),
                Some(day),
                Ok((Some(DefineNow), Some(day))),
            ),
            (Some("Specify Value Now"), None, Err("startDate")),
            (
                Some("Use First Activation Date"),
                None,
                Ok((Some(DefineActdateAtFirstActivation), None)),
            ),
            (
                Some("Use First Activation Date"),
                Some(day),
                Err("startDate"),
            ),
            (
                Some("Use Each Activation Date"),
                None,
                Ok((Some(DefineActdateAtEachActivation), None)),
            ),
            (
                Some("Use Each Activation Date"),
                Some(day),
                Err("startDate"),
            ),
            (None, None, Ok((None, None))),
            (None, Some(day), Ok((Some(DefineNow), Some(day)))),
            (Some("Tomorrow"), None, Err("startDateOption")),
        ];
        for (opt, date, want) in table {
            let got = start_date(opt, date);
            match want {
                Ok(w) => assert_eq!(got, Ok(w), "{opt:?} {date:?}"),
                Err(attr) => {
                    let e = got.unwrap_err();
                    assert_eq!(e.attribute, attr, "{opt:?} {date:?}: {}", e.message);
                }
            }
        }
        let e = start_date(Some("Tomorrow"), None).unwrap_err();
        assert!(e.message.contains("'Tomorrow'"), "{}", e.message);
    }

    #[test]
    fn r15_expiration_option_table() {
        let day = d("2026-01-31");
        type Row = (
            Option<&'static str>,
            Option<NaiveDate>,
            Option<f64>,
            Option<&'static str>,
            Result<Option<Expiration>, Vec<&'static str>>,
        );
        let table: Vec<Row> = vec![
            (
                Some("Specify Duration"),
                None,
                Some(1.0),
                Some("Months"),
                Ok(Some(Expiration::Term {
                    num_duration: 1,
                    unit: Months,
                })),
            ),
            (
                Some("Specify Duration"),
                None,
                Some(2.0),
                Some("years"),
                Ok(Some(Expiration::Term {
                    num_duration: 2,
                    unit: Years,
                })),
            ),
            (
                Some("Specify Duration"),
                None,
                None,
                Some("Days"),
                Err(vec!["term"]),
            ),
            (
                Some("Specify Duration"),
                None,
                Some(3.0),
                None,
                Err(vec!["durationUnit"]),
            ),
            (
                Some("Specify Duration"),
                Some(day),
                Some(3.0),
                Some("Weeks"),
                Err(vec!["expirationDate"]),
            ),
            (
                Some("Specify Duration"),
                None,
                Some(1.5),
                Some("Weeks"),
                Err(vec!["term"]),
            ),
            (
                Some("Specify Duration"),
                None,
                Some(0.0),
                Some("Weeks"),
                Err(vec!["term"]),
            ),
            (
                Some("Specify Duration"),
                None,
                Some(1.0),
                Some("Fortnights"),
                Err(vec!["durationUnit"]),
            ),
            (
                Some("Permanent"),
                None,
                None,
                None,
                Ok(Some(Expiration::Permanent)),
            ),
            (
                Some("Permanent"),
                Some(day),
                None,
                None,
                Err(vec!["expirationDate"]),
            ),
            (
                Some("Permanent"),
                None,
                Some(1.0),
                Some("Days"),
                Err(vec!["term", "durationUnit"]),
            ),
            (
                Some("Specify Expiration Date"),
                Some(day),
                None,
                None,
                Ok(Some(Expiration::Date { date: day })),
            ),
            (
                Some("Specify Expiration Date"),
                None,
                None,
                None,
                Err(vec!["expirationDate"]),
            ),
            (
                Some("Specify Expiration Date"),
                Some(day),
                Some(1.0),
                None,
                Err(vec!["term"]),
            ),
            (
                Some("Specify Expiration Date"),
                Some(day),
                None,
                Some("Days"),
                Err(vec!["durationUnit"]),
            ),
            (None, None, None, None, Ok(None)),
            (None, Some(day), None, None, Err(vec!["expirationDate"])),
            (
                Some("Forever"),
                None,
                None,
                None,
                Err(vec!["expirationDateOption"]),
            ),
        ];
        for (opt, date, term, unit, want) in table {
            let got = expiration(opt, date, term, unit);
            match want {
                Ok(w) => assert_eq!(got, Ok(w), "{opt:?} {date:?} {term:?} {unit:?}"),
                Err(attrs) => {
                    let errs = got.unwrap_err();
                    let got_attrs: Vec<_> = errs.iter().map(|e| e.attribute).collect();
                    assert_eq!(
                        got_attrs, attrs,
                        "{opt:?} {date:?} {term:?} {unit:?}: {errs:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn r9_account_type_picklist() {
        assert_eq!(account_type(Some("End User")), Ok(AccountType::Customer));
        assert_eq!(
            account_type(Some("Channel Partner")),
            Ok(AccountType::ChannelPartner)
        );
        assert_eq!(
            account_type(Some("CHANNEL_PARTNER")),
            Ok(AccountType::ChannelPartner)
        );
        assert_eq!(account_type(None), Ok(AccountType::Customer));
        let e = account_type(Some("Reseller")).unwrap_err();
        assert!(e.contains("'Reseller'"), "{e}");
        // UNKNOWN is only ever shown by FNO, never sent
        assert!(account_type(Some("UNKNOWN")).is_err());
    }

    #[test]
    fn r16_quantity_is_a_positive_whole_number() {
        assert_eq!(number_of_copies(Some(10.0)), Ok(10));
        assert!(number_of_copies(None).is_err());
        assert!(number_of_copies(Some(2.5)).is_err());
        assert!(number_of_copies(Some(0.0)).is_err());
        assert!(number_of_copies(Some(-3.0)).is_err());
        assert!(number_of_copies(Some(f64::NAN)).is_err());
    }
}
