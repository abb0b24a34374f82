//! The scheduled sync's EventBridge Scheduler schedule (R21): show it, pause, resume,
//! reschedule, delete. [`ScheduleControl`] is the small trait the admin API is written
//! against; [`EventBridgeSchedule`] is the AWS implementation (GetSchedule / UpdateSchedule /
//! DeleteSchedule / CreateSchedule) and [`MemorySchedule`] the in-memory one for tests and the
//! local runner.
//!
//! Deleting keeps a way back: the schedule's full definition ([`ScheduleDefinition`]) is saved
//! in the state store under [`SCHEDULE_DEFINITION_KEY`] before DeleteSchedule, `status()` then
//! reports `deleted: true`, and a later pause/resume/reschedule recreates the schedule from it.

use async_trait::async_trait;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, ScheduleState, Target,
};
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use engine::ports::{StateStore, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// State-store configuration key of a deleted schedule's saved definition (R21).
pub const SCHEDULE_DEFINITION_KEY: &str = "schedule-definition";

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
    /// Saving or reading the definition kept for recreating a deleted schedule failed.
    #[error("the saved definition of schedule {name} could not be {action}")]
    Definition {
        name: String,
        action: &'static str,
        #[source]
        source: StoreError,
    },
    /// The definition has parts a recreation would not restore: refuse to delete it.
    #[error("schedule {name} is not deleted: a recreation would not restore {part} (R21)")]
    Unrestorable { name: String, part: &'static str },
    /// CreateSchedule refused the saved definition (e.g. its end date has passed).
    #[error("schedule {name} could not be recreated from its saved definition")]
    Recreate {
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
    /// R21 "deleted": DeleteSchedule removed it; a PUT (pause/resume/reschedule) recreates it
    /// from the saved definition. `expression`/`timezone`/`paused` are the saved ones.
    #[serde(default)]
    pub deleted: bool,
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
        if self.paused || self.deleted {
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

/// Pause, resume, reschedule and delete the scheduled sync (R21).
#[async_trait]
pub trait ScheduleControl: Send + Sync {
    /// The schedule as it is; a deleted one reports `deleted: true` (and no next run).
    async fn status(&self) -> Result<ScheduleStatus, ScheduleError>;
    /// Pause or resume; on a deleted schedule this recreates it in that state.
    async fn set_paused(&self, paused: bool) -> Result<ScheduleStatus, ScheduleError>;
    /// New expression (and time zone for cron); the paused/enabled state is kept. On a deleted
    /// schedule this recreates it with the new expression.
    async fn reschedule(
        &self,
        expression: &str,
        timezone: Option<&str>,
    ) -> Result<ScheduleStatus, ScheduleError>;
    /// Delete the schedule, keeping its definition so a later PUT can recreate it. Deleting a
    /// deleted schedule changes nothing and reports it deleted (idempotent).
    async fn delete(&self) -> Result<ScheduleStatus, ScheduleError>;
}

/// Everything CreateSchedule needs to bring a deleted schedule back (R21): read with
/// GetSchedule before DeleteSchedule and saved under [`SCHEDULE_DEFINITION_KEY`]. Holds names,
/// ARNs and the target's input (no secrets: the input is the scheduler's context template).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleDefinition {
    pub name: String,
    pub group: String,
    pub expression: String,
    pub timezone: Option<String>,
    pub paused: bool,
    pub description: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    pub kms_key_arn: Option<String>,
    pub action_after_completion: Option<String>,
    /// Flexible time window in minutes; None = mode OFF.
    pub flexible_window_minutes: Option<i32>,
    pub target_arn: String,
    pub role_arn: String,
    pub input: Option<String>,
    pub maximum_retry_attempts: Option<i32>,
    pub maximum_event_age_in_seconds: Option<i32>,
    pub dead_letter_arn: Option<String>,
}

impl ScheduleDefinition {
    /// What `status()` shows of a deleted schedule.
    fn deleted_status(&self) -> ScheduleStatus {
        ScheduleStatus {
            name: self.name.clone(),
            expression: self.expression.clone(),
            timezone: self.timezone.clone(),
            paused: self.paused,
            start_date: self.start_date,
            deleted: true,
        }
    }
}

fn smithy_time(t: DateTime<Utc>) -> aws_sdk_scheduler::primitives::DateTime {
    aws_sdk_scheduler::primitives::DateTime::from_secs_and_nanos(
        t.timestamp(),
        t.timestamp_subsec_nanos(),
    )
}

fn chrono_time(t: &aws_sdk_scheduler::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The schedule in EventBridge Scheduler; `definitions` keeps a deleted one's definition.
#[derive(Clone)]
pub struct EventBridgeSchedule {
    client: aws_sdk_scheduler::Client,
    name: String,
    group: String,
    definitions: Arc<dyn StateStore>,
}

impl std::fmt::Debug for EventBridgeSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBridgeSchedule")
            .field("name", &self.name)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// The schedule as GetSchedule finds it, or the definition saved when it was deleted.
enum Current {
    Live(Box<GetScheduleOutput>),
    Deleted(Box<ScheduleDefinition>),
}

impl EventBridgeSchedule {
    pub fn new(
        client: aws_sdk_scheduler::Client,
        name: impl Into<String>,
        group: impl Into<String>,
        definitions: Arc<dyn StateStore>,
    ) -> Self {
        EventBridgeSchedule {
            client,
            name: name.into(),
            group: group.into(),
            definitions,
        }
    }

    async fn get(&self) -> Result<GetScheduleOutput, ScheduleError> {
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

    /// GetSchedule; when Scheduler does not know the schedule, the definition saved by
    /// [`ScheduleControl::delete`] (if it is this schedule's) says it was deleted.
    async fn current(&self) -> Result<Current, ScheduleError> {
        match self.get().await {
            Ok(out) => Ok(Current::Live(Box::new(out))),
            Err(ScheduleError::NotFound { name }) => match self.saved().await? {
                Some(def) => Ok(Current::Deleted(Box::new(def))),
                None => Err(ScheduleError::NotFound { name }),
            },
            Err(e) => Err(e),
        }
    }

    async fn saved(&self) -> Result<Option<ScheduleDefinition>, ScheduleError> {
        let err = |action, source| ScheduleError::Definition {
            name: self.name.clone(),
            action,
            source,
        };
        let Some(doc) = self
            .definitions
            .get_config(SCHEDULE_DEFINITION_KEY)
            .await
            .map_err(|e| err("read", e))?
        else {
            return Ok(None);
        };
        let def: ScheduleDefinition = serde_json::from_value(doc).map_err(|e| {
            err(
                "read",
                StoreError::Corrupt {
                    key: SCHEDULE_DEFINITION_KEY.to_owned(),
                    detail: e.to_string(),
                },
            )
        })?;
        // a definition saved for another schedule (renamed stack) does not describe this one
        Ok((def.name == self.name && def.group == self.group).then_some(def))
    }

    fn to_status(&self, out: &GetScheduleOutput) -> ScheduleStatus {
        ScheduleStatus {
            name: out.name.clone().unwrap_or_else(|| self.name.clone()),
            expression: out.schedule_expression.clone().unwrap_or_default(),
            timezone: out.schedule_expression_timezone.clone(),
            paused: out.state == Some(ScheduleState::Disabled),
            start_date: out.start_date.as_ref().and_then(chrono_time),
            deleted: false,
        }
    }

    /// The definition to save before DeleteSchedule; refuses targets whose extra parameters
    /// would not be restored (never a silent loss).
    fn definition(&self, out: &GetScheduleOutput) -> Result<ScheduleDefinition, ScheduleError> {
        let unrestorable = |part| ScheduleError::Unrestorable {
            name: self.name.clone(),
            part,
        };
        let target = out
            .target
            .as_ref()
            .ok_or_else(|| unrestorable("a schedule without a target"))?;
        for (present, part) in [
            (
                target.ecs_parameters.is_some(),
                "the target's EcsParameters",
            ),
            (
                target.event_bridge_parameters.is_some(),
                "the target's EventBridgeParameters",
            ),
            (
                target.kinesis_parameters.is_some(),
                "the target's KinesisParameters",
            ),
            (
                target.sage_maker_pipeline_parameters.is_some(),
                "the target's SageMakerPipelineParameters",
            ),
            (
                target.sqs_parameters.is_some(),
                "the target's SqsParameters",
            ),
        ] {
            if present {
                return Err(unrestorable(part));
            }
        }
        let window = out.flexible_time_window.as_ref();
        Ok(ScheduleDefinition {
            name: self.name.clone(),
            group: self.group.clone(),
            expression: out.schedule_expression.clone().unwrap_or_default(),
            timezone: out.schedule_expression_timezone.clone(),
            paused: out.state == Some(ScheduleState::Disabled),
            description: out.description.clone(),
            start_date: out.start_date.as_ref().and_then(chrono_time),
            end_date: out.end_date.as_ref().and_then(chrono_time),
            kms_key_arn: out.kms_key_arn.clone(),
            action_after_completion: out
                .action_after_completion
                .as_ref()
                .map(|a| a.as_str().to_owned()),
            flexible_window_minutes: window
                .filter(|w| w.mode == FlexibleTimeWindowMode::Flexible)
                .and_then(|w| w.maximum_window_in_minutes),
            target_arn: target.arn.clone(),
            role_arn: target.role_arn.clone(),
            input: target.input.clone(),
            maximum_retry_attempts: target
                .retry_policy
                .as_ref()
                .and_then(|r| r.maximum_retry_attempts),
            maximum_event_age_in_seconds: target
                .retry_policy
                .as_ref()
                .and_then(|r| r.maximum_event_age_in_seconds),
            dead_letter_arn: target
                .dead_letter_config
                .as_ref()
                .and_then(|d| d.arn.clone()),
        })
    }

    /// UpdateSchedule replaces the whole definition: copy everything, change what is asked.
    async fn update(
        &self,
        cur: &GetScheduleOutput,
        state: Option<ScheduleState>,
        expression: Option<(&str, Option<&str>)>,
    ) -> Result<ScheduleStatus, ScheduleError> {
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

    /// CreateSchedule from the saved definition (R21), with `paused` and/or a new expression.
    /// A start date that has passed is left out: Scheduler refuses one earlier than a few
    /// minutes ago, and a recurring schedule that had started is simply running again.
    async fn recreate(
        &self,
        def: &ScheduleDefinition,
        paused: Option<bool>,
        expression: Option<(&str, Option<&str>)>,
    ) -> Result<ScheduleStatus, ScheduleError> {
        let build_err = |e: aws_sdk_scheduler::error::BuildError| ScheduleError::Recreate {
            name: self.name.clone(),
            source: Box::new(e),
        };
        let window = match def.flexible_window_minutes {
            Some(m) => FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Flexible)
                .maximum_window_in_minutes(m),
            None => FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off),
        }
        .build()
        .map_err(build_err)?;
        let retry = (def.maximum_retry_attempts.is_some()
            || def.maximum_event_age_in_seconds.is_some())
        .then(|| {
            RetryPolicy::builder()
                .set_maximum_retry_attempts(def.maximum_retry_attempts)
                .set_maximum_event_age_in_seconds(def.maximum_event_age_in_seconds)
                .build()
        });
        let target = Target::builder()
            .arn(&def.target_arn)
            .role_arn(&def.role_arn)
            .set_input(def.input.clone())
            .set_retry_policy(retry)
            .set_dead_letter_config(
                def.dead_letter_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            .build()
            .map_err(build_err)?;
        let (expr, tz) = match expression {
            Some((e, tz)) => (e.to_owned(), tz.map(str::to_owned)),
            None => (def.expression.clone(), def.timezone.clone()),
        };
        let asked = paused;
        let paused = paused.unwrap_or(def.paused);
        let now = Utc::now();
        let req = self
            .client
            .create_schedule()
            .name(&self.name)
            .group_name(&self.group)
            .schedule_expression(expr)
            .set_schedule_expression_timezone(tz)
            .set_start_date(def.start_date.filter(|d| *d > now).map(smithy_time))
            .set_end_date(def.end_date.map(smithy_time))
            .set_description(def.description.clone())
            .set_state(paused_state(Some(paused)))
            .set_kms_key_arn(def.kms_key_arn.clone())
            .set_action_after_completion(
                def.action_after_completion
                    .as_deref()
                    .map(ActionAfterCompletion::from),
            )
            .flexible_time_window(window)
            .target(target);
        if let Err(e) = req.send().await {
            if e.as_service_error()
                .is_some_and(|se| se.is_conflict_exception())
            {
                // recreated meanwhile (another admin's PUT): change the live one
                let cur = self.get().await?;
                let state = paused_state(asked);
                return self.update(&cur, state, expression).await;
            }
            return Err(ScheduleError::Recreate {
                name: self.name.clone(),
                source: Box::new(e),
            });
        }
        tracing::info!(schedule = %self.name, "schedule recreated from its saved definition (R21)");
        let after = self.get().await?;
        Ok(self.to_status(&after))
    }
}

fn paused_state(paused: Option<bool>) -> Option<ScheduleState> {
    paused.map(|p| {
        if p {
            ScheduleState::Disabled
        } else {
            ScheduleState::Enabled
        }
    })
}

#[async_trait]
impl ScheduleControl for EventBridgeSchedule {
    async fn status(&self) -> Result<ScheduleStatus, ScheduleError> {
        Ok(match self.current().await? {
            Current::Live(out) => self.to_status(&out),
            Current::Deleted(def) => def.deleted_status(),
        })
    }

    async fn set_paused(&self, paused: bool) -> Result<ScheduleStatus, ScheduleError> {
        match self.current().await? {
            Current::Live(cur) => self.update(&cur, paused_state(Some(paused)), None).await,
            Current::Deleted(def) => self.recreate(&def, Some(paused), None).await,
        }
    }

    async fn reschedule(
        &self,
        expression: &str,
        timezone: Option<&str>,
    ) -> Result<ScheduleStatus, ScheduleError> {
        check_expression(expression)?;
        let expression = Some((expression.trim(), timezone));
        match self.current().await? {
            Current::Live(cur) => self.update(&cur, None, expression).await,
            Current::Deleted(def) => self.recreate(&def, None, expression).await,
        }
    }

    async fn delete(&self) -> Result<ScheduleStatus, ScheduleError> {
        let cur = match self.current().await? {
            Current::Live(cur) => cur,
            Current::Deleted(def) => return Ok(def.deleted_status()),
        };
        // saved first: a schedule is only deleted once it can be recreated
        let def = self.definition(&cur)?;
        let doc = serde_json::to_value(&def).map_err(|e| ScheduleError::Definition {
            name: self.name.clone(),
            action: "saved",
            source: StoreError::backend("encode schedule definition", e),
        })?;
        self.definitions
            .put_config(SCHEDULE_DEFINITION_KEY, &doc)
            .await
            .map_err(|source| ScheduleError::Definition {
                name: self.name.clone(),
                action: "saved",
                source,
            })?;
        let deleted = self
            .client
            .delete_schedule()
            .name(&self.name)
            .group_name(&self.group)
            .send()
            .await;
        match deleted {
            Ok(_) => {}
            // deleted meanwhile: the outcome asked for
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_not_found_exception()) => {}
            Err(e) => {
                return Err(ScheduleError::Backend {
                    operation: "DeleteSchedule",
                    name: self.name.clone(),
                    source: Box::new(e),
                })
            }
        }
        tracing::info!(schedule = %self.name, "schedule deleted; definition kept for recreation (R21)");
        Ok(def.deleted_status())
    }
}

/// An in-memory schedule (tests, local runner); a deleted one keeps its definition in place.
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
            s.deleted = false; // recreated (R21)
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
            s.deleted = false; // recreated (R21)
            s.clone()
        }))
    }

    async fn delete(&self) -> Result<ScheduleStatus, ScheduleError> {
        Ok(self.with(|s| {
            s.deleted = true;
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
            deleted: false,
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

    #[tokio::test]
    async fn r21_memory_schedule_delete_is_idempotent_and_a_put_recreates_it() {
        let m = MemorySchedule::new(status("cron(0 2 * * ? *)"));
        let st = m.delete().await.unwrap();
        assert!(st.deleted);
        assert_eq!(
            st.next_run(t("2026-03-01T01:00:00Z"), None),
            None,
            "a deleted schedule has no next run"
        );
        assert!(m.status().await.unwrap().deleted);
        assert!(m.delete().await.unwrap().deleted, "deleting again is fine");
        // reschedule recreates it with the new expression
        let st = m.reschedule("rate(6 hours)", None).await.unwrap();
        assert_eq!(
            (st.deleted, st.expression.as_str()),
            (false, "rate(6 hours)")
        );
        // resume recreates it too, with the expression it had
        m.delete().await.unwrap();
        let st = m.set_paused(false).await.unwrap();
        assert_eq!(
            (st.deleted, st.paused, st.expression.as_str()),
            (false, false, "rate(6 hours)")
        );
        assert!(!m.status().await.unwrap().deleted);
    }

    #[test]
    fn r21_status_without_deleted_reads_as_not_deleted() {
        let st: ScheduleStatus = serde_json::from_value(serde_json::json!({
            "name": "s", "expression": "rate(1 day)", "timezone": null,
            "paused": false, "start_date": null
        }))
        .unwrap();
        assert!(!st.deleted);
    }
}
