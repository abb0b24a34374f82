//! The scheduled sync's EventBridge Scheduler schedule (R21): show it, pause, resume,
//! reschedule. [`ScheduleControl`] is the small trait the admin API is written against;
//! [`EventBridgeSchedule`] is the AWS implementation (GetSchedule / UpdateSchedule) and
//! [`MemorySchedule`] the in-memory one for tests and the local runner.

use async_trait::async_trait;
use aws_sdk_scheduler::types::ScheduleState;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "schedule expression {expression:?} is not valid: use rate(…), cron(…) or at(…) (R21)"
    )]
    InvalidExpression { expression: String },
    #[error("schedule {name} does not exist")]
    NotFound { name: String },
    #[error("EventBridge Scheduler {operation} on schedule {name} failed")]
    Backend {
        operation: &'static str,
        name: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What the admin sees of the schedule (R21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleStatus {
    pub name: String,
    /// `rate(1 day)`, `cron(0 2 * * ? *)`, `at(2026-01-01T00:00:00)`.
    pub expression: String,
    /// IANA time zone of a cron expression; None = UTC.
    pub timezone: Option<String>,
    pub paused: bool,
    pub start_date: Option<DateTime<Utc>>,
}

impl ScheduleStatus {
    /// R21 "next run": the next fire time after `now`, when it can be worked out here:
    /// `rate(N minutes|hours|days)` counted from `last_fire` (or the start date), daily
    /// `cron(M H * * ? *)` in UTC, and `at(…)` in UTC. None when paused or not computable.
    pub fn next_run(
        &self,
        now: DateTime<Utc>,
        last_fire: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        if self.paused {
            return None;
        }
        let utc = self
            .timezone
            .as_deref()
            .is_none_or(|tz| tz.eq_ignore_ascii_case("UTC") || tz == "Etc/UTC");
        let expr = self.expression.trim();
        if let Some(inner) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            let period = parse_rate(inner)?;
            let anchor = last_fire.or(self.start_date)?;
            if anchor > now {
                return Some(anchor);
            }
            let periods = (now - anchor).num_seconds() / period.num_seconds() + 1;
            return Some(anchor + period * i32::try_from(periods).ok()?);
        }
        if !utc {
            return None;
        }
        if let Some(inner) = expr.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
            let f: Vec<&str> = inner.split_whitespace().collect();
            // daily: minute hour * * ? *  (or ? in day-of-month and * in day-of-week)
            if f.len() == 6 && f[2..] == ["*", "*", "?", "*"]
                || f.len() == 6 && f[2..] == ["?", "*", "*", "*"]
            {
                let t = NaiveTime::from_hms_opt(f[1].parse().ok()?, f[0].parse().ok()?, 0)?;
                let today = Utc.from_utc_datetime(&now.date_naive().and_time(t));
                return Some(if today > now {
                    today
                } else {
                    today + Duration::days(1)
                });
            }
            return None;
        }
        if let Some(inner) = expr.strip_prefix("at(").and_then(|r| r.strip_suffix(')')) {
            let at = chrono::NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M:%S").ok()?;
            let at = Utc.from_utc_datetime(&at);
            return (at > now).then_some(at);
        }
        None
    }
}

fn parse_rate(inner: &str) -> Option<Duration> {
    let mut parts = inner.split_whitespace();
    let value: i64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?;
    if value <= 0 || parts.next().is_some() {
        return None;
    }
    match unit.trim_end_matches('s') {
        "minute" => Some(Duration::minutes(value)),
        "hour" => Some(Duration::hours(value)),
        "day" => Some(Duration::days(value)),
        _ => None,
    }
}

/// Cheap syntax check before a reschedule reaches AWS (which checks fully).
pub fn check_expression(expression: &str) -> Result<(), ScheduleError> {
    let e = expression.trim();
    let ok =
        (e.starts_with("rate(") && e.ends_with(')') && parse_rate(&e[5..e.len() - 1]).is_some())
            || (e.starts_with("cron(")
                && e.ends_with(')')
                && e[5..e.len() - 1].split_whitespace().count() == 6)
            || (e.starts_with("at(")
                && e.ends_with(')')
                && chrono::NaiveDateTime::parse_from_str(&e[3..e.len() - 1], "%Y-%m-%dT%H:%M:%S")
                    .is_ok());
    if ok {
        Ok(())
    } else {
        Err(ScheduleError::InvalidExpression {
            expression: expression.to_owned(),
        })
    }
}

/// Pause, resume and reschedule the scheduled sync (R21).
#[async_trait]
pub trait ScheduleControl: Send + Sync {
    async fn status(&self) -> Result<ScheduleStatus, ScheduleError>;
    async fn set_paused(&self, paused: bool) -> Result<ScheduleStatus, ScheduleError>;
    /// New expression (and time zone for cron); the paused/enabled state is kept.
    async fn reschedule(
        &self,
        expression: &str,
        timezone: Option<&str>,
    ) -> Result<ScheduleStatus, ScheduleError>;
}

/// The schedule in EventBridge Scheduler.
#[derive(Debug, Clone)]
pub struct EventBridgeSchedule {
    client: aws_sdk_scheduler::Client,
    name: String,
    group: String,
}

impl EventBridgeSchedule {
    pub fn new(
        client: aws_sdk_scheduler::Client,
        name: impl Into<String>,
        group: impl Into<String>,
    ) -> Self {
        EventBridgeSchedule {
            client,
            name: name.into(),
            group: group.into(),
        }
    }

    async fn get(
        &self,
    ) -> Result<aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput, ScheduleError> {
        self.client
            .get_schedule()
            .name(&self.name)
            .group_name(&self.group)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception())
                {
                    ScheduleError::NotFound {
                        name: self.name.clone(),
                    }
                } else {
                    ScheduleError::Backend {
                        operation: "GetSchedule",
                        name: self.name.clone(),
                        source: Box::new(e),
                    }
                }
            })
    }

    fn to_status(
        &self,
        out: &aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput,
    ) -> ScheduleStatus {
        ScheduleStatus {
            name: out.name.clone().unwrap_or_else(|| self.name.clone()),
            expression: out.schedule_expression.clone().unwrap_or_default(),
            timezone: out.schedule_expression_timezone.clone(),
            paused: out.state == Some(ScheduleState::Disabled),
            start_date: out
                .start_date
                .and_then(|d| DateTime::from_timestamp(d.secs(), d.subsec_nanos())),
        }
    }

    /// UpdateSchedule replaces the whole definition: copy everything, change what is asked.
    async fn update(
        &self,
        state: Option<ScheduleState>,
        expression: Option<(&str, Option<&str>)>,
    ) -> Result<ScheduleStatus, ScheduleError> {
        let cur = self.get().await?;
        let mut req = self
            .client
            .update_schedule()
            .name(&self.name)
            .group_name(&self.group)
            .set_schedule_expression(cur.schedule_expression.clone())
            .set_schedule_expression_timezone(cur.schedule_expression_timezone.clone())
            .set_start_date(cur.start_date)
            .set_end_date(cur.end_date)
            .set_description(cur.description.clone())
            .set_state(cur.state.clone())
            .set_kms_key_arn(cur.kms_key_arn.clone())
            .set_target(cur.target.clone())
            .set_flexible_time_window(cur.flexible_time_window.clone())
            .set_action_after_completion(cur.action_after_completion.clone());
        if let Some(s) = state {
            req = req.state(s);
        }
        if let Some((expr, tz)) = expression {
            req = req
                .schedule_expression(expr)
                .set_schedule_expression_timezone(tz.map(str::to_owned));
        }
        req.send().await.map_err(|e| ScheduleError::Backend {
            operation: "UpdateSchedule",
            name: self.name.clone(),
            source: Box::new(e),
        })?;
        let after = self.get().await?;
        Ok(self.to_status(&after))
    }
}

#[async_trait]
impl ScheduleControl for EventBridgeSchedule {
    async fn status(&self) -> Result<ScheduleStatus, ScheduleError> {
        let out = self.get().await?;
        Ok(self.to_status(&out))
    }

    async fn set_paused(&self, paused: bool) -> Result<ScheduleStatus, ScheduleError> {
        self.update(
            Some(if paused {
                ScheduleState::Disabled
            } else {
                ScheduleState::Enabled
            }),
            None,
        )
        .await
    }

    async fn reschedule(
        &self,
        expression: &str,
        timezone: Option<&str>,
    ) -> Result<ScheduleStatus, ScheduleError> {
        check_expression(expression)?;
        self.update(None, Some((expression.trim(), timezone))).await
    }
}

/// An in-memory schedule (tests, local runner).
#[derive(Debug)]
pub struct MemorySchedule(Mutex<ScheduleStatus>);

impl MemorySchedule {
    pub fn new(status: ScheduleStatus) -> Self {
        MemorySchedule(Mutex::new(status))
    }

    fn with<R>(&self, f: impl FnOnce(&mut ScheduleStatus) -> R) -> R {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[async_trait]
impl ScheduleControl for MemorySchedule {
    async fn status(&self) -> Result<ScheduleStatus, ScheduleError> {
        Ok(self.with(|s| s.clone()))
    }

    async fn set_paused(&self, paused: bool) -> Result<ScheduleStatus, ScheduleError> {
        Ok(self.with(|s| {
            s.paused = paused;
            s.clone()
        }))
    }

    async fn reschedule(
        &self,
        expression: &str,
        timezone: Option<&str>,
    ) -> Result<ScheduleStatus, ScheduleError> {
        check_expression(expression)?;
        Ok(self.with(|s| {
            s.expression = expression.trim().to_owned();
            s.timezone = timezone.map(str::to_owned);
            s.clone()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(expr: &str) -> ScheduleStatus {
        ScheduleStatus {
            name: "s".into(),
            expression: expr.into(),
            timezone: None,
            paused: false,
            start_date: None,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn r21_next_run_of_a_daily_cron() {
        let s = status("cron(30 2 * * ? *)");
        assert_eq!(
            s.next_run(t("2026-03-01T01:00:00Z"), None),
            Some(t("2026-03-01T02:30:00Z"))
        );
        assert_eq!(
            s.next_run(t("2026-03-01T02:30:00Z"), None),
            Some(t("2026-03-02T02:30:00Z"))
        );
    }

    #[test]
    fn r21_next_run_of_a_rate_counts_from_the_last_fire() {
        let s = status("rate(6 hours)");
        let last = t("2026-03-01T00:00:00Z");
        assert_eq!(
            s.next_run(t("2026-03-01T05:00:00Z"), Some(last)),
            Some(t("2026-03-01T06:00:00Z"))
        );
        assert_eq!(
            s.next_run(t("2026-03-01T13:00:00Z"), Some(last)),
            Some(t("2026-03-01T18:00:00Z"))
        );
        assert_eq!(s.next_run(t("2026-03-01T05:00:00Z"), None), None);
    }

    #[test]
    fn r21_a_paused_schedule_has_no_next_run() {
        let mut s = status("rate(1 day)");
        s.paused = true;
        assert_eq!(
            s.next_run(t("2026-03-01T05:00:00Z"), Some(t("2026-03-01T00:00:00Z"))),
            None
        );
    }

    #[test]
    fn r21_expressions_are_checked_before_reaching_aws() {
        for ok in [
            "rate(1 day)",
            "rate(15 minutes)",
            "cron(0 2 * * ? *)",
            "at(2026-01-01T00:00:00)",
        ] {
            assert!(check_expression(ok).is_ok(), "{ok}");
        }
        for bad in [
            "daily",
            "rate(0 days)",
            "rate(1 fortnight)",
            "cron(0 2 * *)",
            "at(tomorrow)",
        ] {
            assert!(
                matches!(
                    check_expression(bad),
                    Err(ScheduleError::InvalidExpression { .. })
                ),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn r21_memory_schedule_pauses_resumes_and_reschedules() {
        let m = MemorySchedule::new(status("rate(1 day)"));
        assert!(m.set_paused(true).await.unwrap().paused);
        assert!(!m.set_paused(false).await.unwrap().paused);
        assert_eq!(
            m.reschedule("cron(0 3 * * ? *)", None)
                .await
                .unwrap()
                .expression,
            "cron(0 3 * * ? *)"
        );
        assert!(m.reschedule("whenever", None).await.is_err());
    }
}
