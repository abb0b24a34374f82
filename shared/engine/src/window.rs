//! R22: the immediate sync's window, given as a date range (`{"start","end"}`) or as the last N
//! hours (`{"hours"}`). Bad bodies are 400s that name the field.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

/// Longest window an immediate sync accepts (a year): longer catch-ups are a scheduled re-run.
pub const MAX_HOURS: i64 = 24 * 366;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowBody {
    start: Option<String>,
    end: Option<String>,
    hours: Option<serde_json::Value>,
    /// `POST /sync {"outstanding": true}`: retry every outstanding order now.
    outstanding: Option<bool>,
    /// `POST /sync {"dry_run": true}`: what the run would do, nothing done (issue 14); read
    /// as any JSON value so a wrong one is refused naming this field.
    dry_run: Option<serde_json::Value>,
}

/// A window the admin gave that cannot be used: the body field at fault and why (R22).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WindowError {
    pub field: String,
    pub message: String,
}

impl WindowError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        WindowError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// `[from, to)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// What `POST /sync` asks for: a window (R22), the outstanding orders, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncRequest {
    pub window: Option<Window>,
    /// Re-plan every outstanding order and account now, due or not.
    pub outstanding: bool,
    /// Plan and map only: report what the run would do, write nothing (issue 14).
    pub dry_run: bool,
}

/// Parse the body of `POST /sync` at instant `now` (R22).
pub fn parse_window(body: Option<&str>, now: DateTime<Utc>) -> Result<Window, WindowError> {
    window_of(read_body(body)?, now)
}

/// Parse the body of `POST /sync`: `{"hours"}` or `{"start","end"}` (R22), optionally with
/// `"outstanding": true`; `{"outstanding": true}` alone retries the outstanding orders only.
pub fn parse_sync_request(
    body: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SyncRequest, WindowError> {
    let mut parsed = read_body(body)?;
    let outstanding = parsed.outstanding.unwrap_or(false);
    let dry_run = match parsed.dry_run.take() {
        None | Some(serde_json::Value::Bool(false)) => false,
        Some(serde_json::Value::Bool(true)) => true,
        Some(other) => {
            let shown: String = other.to_string().chars().take(40).collect();
            return Err(WindowError::new(
                "dry_run",
                format!("must be true or false, got {shown}"),
            ));
        }
    };
    if outstanding && parsed.hours.is_none() && parsed.start.is_none() && parsed.end.is_none() {
        return Ok(SyncRequest {
            window: None,
            outstanding,
            dry_run,
        });
    }
    Ok(SyncRequest {
        window: Some(window_of(parsed, now)?),
        outstanding,
        dry_run,
    })
}

fn read_body(body: Option<&str>) -> Result<WindowBody, WindowError> {
    let body = body.filter(|b| !b.trim().is_empty()).ok_or_else(|| {
        WindowError::new(
            "body",
            r#"give {"hours": N}, {"start": "...", "end": "..."} or {"outstanding": true} (R22)"#,
        )
    })?;
    serde_json::from_str(body).map_err(|e| {
        let text = e.to_string();
        let field = text.split('`').nth(1).unwrap_or("body").to_owned();
        WindowError {
            field,
            message: text,
        }
    })
}

fn window_of(parsed: WindowBody, now: DateTime<Utc>) -> Result<Window, WindowError> {
    match (parsed.hours, parsed.start, parsed.end) {
        (Some(hours), None, None) => {
            let hours = hours.as_i64().filter(|h| (1..=MAX_HOURS).contains(h)).ok_or_else(|| {
                WindowError::new(
                    "hours",
                    format!("must be a whole number of hours from 1 to {MAX_HOURS}, got {hours} (R22)"),
                )
            })?;
            Ok(Window {
                from: now - chrono::Duration::hours(hours),
                to: now,
            })
        }
        (None, Some(start), Some(end)) => {
            let from = parse_instant("start", &start, false)?;
            let to = parse_instant("end", &end, true)?.min(now);
            if from >= to {
                return Err(WindowError::new(
                    "end",
                    format!("end ({end}) must be after start ({start}) and start must be in the past (R22)"),
                ));
            }
            if (to - from).num_hours() > MAX_HOURS {
                return Err(WindowError::new(
                    "start",
                    format!("the window may span at most {MAX_HOURS} hours (R22)"),
                ));
            }
            Ok(Window { from, to })
        }
        (Some(_), _, _) => Err(WindowError::new(
            "hours",
            "give either hours or start and end, not both (R22)",
        )),
        (None, Some(_), None) => Err(WindowError::new("end", "end is required with start (R22)")),
        (None, None, Some(_)) => Err(WindowError::new(
            "start",
            "start is required with end (R22)",
        )),
        (None, None, None) => Err(WindowError::new(
            "hours",
            r#"give {"hours": N} or {"start","end"} (R22)"#,
        )),
    }
}

/// RFC 3339 date-time, or a `YYYY-MM-DD` date (a start date means its midnight, an end date the
/// end of that day, so `{"start":"2025-06-01","end":"2025-06-01"}` is that whole day).
fn parse_instant(field: &str, value: &str, end_of_day: bool) -> Result<DateTime<Utc>, WindowError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let day = if end_of_day {
            d.succ_opt().unwrap_or(d)
        } else {
            d
        };
        if let Some(t) = day.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(WindowError::new(
        field,
        format!("'{value}' is not a date (YYYY-MM-DD) or an RFC 3339 date-time (R22)"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2025-06-04T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn outstanding_alone_or_with_a_window() {
        let r = parse_sync_request(Some(r#"{"outstanding": true}"#), now()).unwrap();
        assert_eq!(
            r,
            SyncRequest {
                window: None,
                outstanding: true,
                dry_run: false,
            }
        );
        let r = parse_sync_request(Some(r#"{"hours": 2, "outstanding": true}"#), now()).unwrap();
        assert!(r.outstanding);
        assert_eq!(r.window.unwrap().to, now());
        let r = parse_sync_request(Some(r#"{"hours": 2}"#), now()).unwrap();
        assert!(!r.outstanding && r.window.is_some());
        // outstanding false alone is not a window
        let e = parse_sync_request(Some(r#"{"outstanding": false}"#), now()).unwrap_err();
        assert_eq!(e.field, "hours");
        let e = parse_sync_request(Some(r#"{"outstanding": "yes"}"#), now()).unwrap_err();
        assert!(e.message.contains("boolean"), "{e}");
    }

    #[test]
    fn dry_run_is_a_boolean_beside_the_window() {
        let r = parse_sync_request(Some(r#"{"hours": 2, "dry_run": true}"#), now()).unwrap();
        assert!(r.dry_run && r.window.is_some());
        let r = parse_sync_request(Some(r#"{"outstanding": true, "dry_run": true}"#), now());
        assert!(r.unwrap().dry_run);
        let r = parse_sync_request(Some(r#"{"hours": 2, "dry_run": false}"#), now()).unwrap();
        assert!(!r.dry_run);
        for bad in [r#""yes""#, "1", "[true]"] {
            let body = format!(r#"{{"hours": 2, "dry_run": {bad}}}"#);
            let e = parse_sync_request(Some(&body), now()).unwrap_err();
            assert_eq!(e.field, "dry_run", "{body}: {e}");
        }
        // a dry run still needs something to run
        let e = parse_sync_request(Some(r#"{"dry_run": true}"#), now()).unwrap_err();
        assert_eq!(e.field, "hours");
    }

    fn field_of(e: WindowError) -> String {
        e.field
    }

    #[test]
    fn r22_last_n_hours() {
        let w = parse_window(Some(r#"{"hours": 6}"#), now()).unwrap();
        assert_eq!(w.to, now());
        assert_eq!(
            w.from,
            "2025-06-04T06:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn r22_date_range_covers_whole_days_and_stops_at_now() {
        let w = parse_window(Some(r#"{"start":"2025-06-01","end":"2025-06-02"}"#), now()).unwrap();
        assert_eq!(
            w.from,
            "2025-06-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            w.to,
            "2025-06-03T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let w = parse_window(
            Some(r#"{"start":"2025-06-04T10:00:00+02:00","end":"2030-01-01"}"#),
            now(),
        )
        .unwrap();
        assert_eq!(
            w.from,
            "2025-06-04T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(w.to, now(), "a future end is clamped to now");
    }

    #[test]
    fn r22_bad_bodies_name_the_field() {
        let cases = [
            (r#"{"hours": 0}"#, "hours"),
            (r#"{"hours": -3}"#, "hours"),
            (r#"{"hours": "six"}"#, "hours"),
            (r#"{"hours": 2.5}"#, "hours"),
            (r#"{"hours": 99999}"#, "hours"),
            (r#"{"start": "yesterday", "end": "2025-06-02"}"#, "start"),
            (r#"{"start": "2025-06-02", "end": "2025-13-01"}"#, "end"),
            (r#"{"start": "2025-06-03", "end": "2025-06-01"}"#, "end"),
            (r#"{"start": "2025-06-03"}"#, "end"),
            (r#"{"end": "2025-06-03"}"#, "start"),
            (r#"{"hours": 3, "start": "2025-06-03"}"#, "hours"),
            (r#"{"hourz": 3}"#, "hourz"),
            (r#"{}"#, "hours"),
            (r#"not json"#, "body"),
        ];
        for (body, field) in cases {
            assert_eq!(
                field_of(parse_window(Some(body), now()).unwrap_err()),
                field,
                "{body}"
            );
        }
        assert_eq!(field_of(parse_window(None, now()).unwrap_err()), "body");
    }
}
