//! `GET /schedule`, `PUT /schedule` and `DELETE /schedule` (R21): the scheduled sync's
//! expression, paused or not, deleted or not, last batch fire time (the watermark) and next
//! run; pause, resume, reschedule, delete. A PUT on a deleted schedule recreates it from the
//! definition saved when it was deleted.

use crate::http::{parse_body, ApiError, ApiRequest, ApiResponse};
use aws_adapters::{ScheduleControl, ScheduleError, ScheduleStatus};
use chrono::{DateTime, Utc};
use engine::ports::{Clock, StateStore};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub struct ScheduleRoutes {
    pub schedule: Arc<dyn ScheduleControl>,
    pub state: Arc<dyn StateStore>,
    pub clock: Arc<dyn Clock>,
}

/// `PUT /schedule` body; at least one field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct ScheduleBody {
    /// true = pause, false = resume.
    paused: Option<bool>,
    /// `rate(…)`, `cron(…)` or `at(…)` (EventBridge Scheduler syntax).
    expression: Option<String>,
    /// IANA time zone of a cron expression (default UTC).
    timezone: Option<String>,
}

impl From<ScheduleError> for ApiError {
    fn from(e: ScheduleError) -> Self {
        match e {
            ScheduleError::InvalidExpression { .. } => {
                ApiError::bad_request("expression", e.to_string())
            }
            ScheduleError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            // the schedule stays as it is; the message names what would be lost
            ScheduleError::Unrestorable { .. } => ApiError::Conflict(e.to_string()),
            ScheduleError::Backend { .. } | ScheduleError::Recreate { .. } => {
                ApiError::internal("using EventBridge Scheduler", e)
            }
            ScheduleError::Definition { .. } => {
                ApiError::internal("keeping the deleted schedule's definition", e)
            }
        }
    }
}

impl ScheduleRoutes {
    pub async fn route(&self, req: &ApiRequest) -> Option<Result<ApiResponse, ApiError>> {
        match (req.method.as_str(), req.segments().as_slice()) {
            ("GET", ["schedule"]) => Some(self.get().await),
            ("PUT", ["schedule"]) => Some(self.put(req).await),
            ("DELETE", ["schedule"]) => Some(self.delete().await),
            _ => None,
        }
    }

    async fn get(&self) -> Result<ApiResponse, ApiError> {
        let status = self.schedule.status().await?;
        self.view(status).await
    }

    /// R21 "deleted": no more scheduled syncs until a PUT recreates it; idempotent.
    async fn delete(&self) -> Result<ApiResponse, ApiError> {
        let status = self.schedule.delete().await?;
        tracing::info!(schedule = %status.name, "schedule deleted");
        self.view(status).await
    }

    async fn put(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let body: ScheduleBody = parse_body(req)?;
        if body.paused.is_none() && body.expression.is_none() && body.timezone.is_none() {
            return Err(ApiError::bad_request(
                "body",
                r#"give "paused" (true/false) and/or "expression" (with an optional "timezone") (R21)"#,
            ));
        }
        if body.timezone.is_some() && body.expression.is_none() {
            return Err(ApiError::bad_request(
                "expression",
                "a timezone is given with the expression it applies to (R21)",
            ));
        }
        if let Some(tz) = body.timezone.as_deref() {
            let iana = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+');
            if tz.is_empty() || tz.len() > 64 || !tz.chars().all(iana) {
                return Err(ApiError::bad_request(
                    "timezone",
                    "is not an IANA time zone name such as Europe/Berlin (R21)",
                ));
            }
        }
        let mut status = None;
        // on a deleted schedule the first change below recreates it (R21)
        if let Some(expr) = body.expression.as_deref() {
            // checked before it reaches AWS; the paused state is kept
            status = Some(
                self.schedule
                    .reschedule(expr, body.timezone.as_deref())
                    .await?,
            );
        }
        if let Some(paused) = body.paused {
            status = Some(self.schedule.set_paused(paused).await?);
        }
        let status = match status {
            Some(s) => s,
            None => self.schedule.status().await?,
        };
        tracing::info!(
            paused = status.paused,
            deleted = status.deleted,
            expression = %status.expression,
            "schedule changed"
        );
        self.view(status).await
    }

    async fn view(&self, status: ScheduleStatus) -> Result<ApiResponse, ApiError> {
        let last_fire: Option<DateTime<Utc>> = self.state.watermark().await?;
        let next = status.next_run(self.clock.now(), last_fire);
        Ok(ApiResponse::json(
            200,
            json!({
                "name": status.name,
                "expression": status.expression,
                "timezone": status.timezone,
                "paused": status.paused,
                "deleted": status.deleted,
                "state": match (status.deleted, status.paused) {
                    (true, _) => "DELETED",
                    (false, true) => "PAUSED",
                    (false, false) => "ENABLED",
                },
                // R21: "last batch fire time" = the end of the last scheduled window
                "last_batch_fire_time": last_fire,
                // None when paused or deleted, or when the next firing is not computed here
                "next_run": next,
            }),
        ))
    }
}
