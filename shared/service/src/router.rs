//! The admin-api function's router: every admin route in one place.

use crate::admin::Admin;
use crate::connection::ConnectionRoutes;
use crate::http::{ApiError, ApiRequest, ApiResponse};
use crate::licenses::LicenseRoutes;
use crate::schedule::ScheduleRoutes;

/// Everything behind the admin-api function (template.yaml's AdminApiFunction events).
pub struct AdminApi {
    /// mappings, filters, logs, runs
    pub admin: Admin,
    /// settings/connection (R25)
    pub connection: ConnectionRoutes,
    /// schedule (R21)
    pub schedule: ScheduleRoutes,
    /// licenses (R26–R32); None where no license store is wired
    pub licenses: Option<LicenseRoutes>,
}

impl AdminApi {
    pub async fn handle(&self, req: ApiRequest) -> Result<ApiResponse, ApiError> {
        crate::http::check_query(&req)?;
        if (req.method.as_str(), req.segments().as_slice()) == ("GET", ["openapi.json"].as_slice())
        {
            // as text: its schemas have properties named `password`, which the JSON scrubber
            // would blank (the text scrubber removes secret values only)
            return Ok(ApiResponse::text(
                200,
                "application/json",
                crate::http::OPENAPI.to_owned(),
            ));
        }
        if let Some(r) = self.connection.route(&req).await {
            return r;
        }
        if let Some(r) = self.schedule.route(&req).await {
            return r;
        }
        if let Some(r) = self.admin.route(&req).await {
            return r;
        }
        if let Some(routes) = &self.licenses {
            if let Some(r) = routes.route(&req).await {
                return r;
            }
        }
        Err(crate::http::no_route(&req))
    }
}

/// Value of `"task"` in the license schedule's input (template.yaml).
pub const LICENSE_INFO_TASK: &str = "license-info";

#[derive(Debug, thiserror::Error)]
pub enum LicenseInfoError {
    #[error(transparent)]
    BadEvent(#[from] crate::runs::ScheduledError),
    #[error("serialising the response")]
    Serialise(#[source] serde_json::Error),
    #[error("the scheduled license ingestion failed: {0}")]
    Failed(String),
}

impl AdminApi {
    /// The license-info function: its schedule's firing, or `POST /licenses/ingest` — the
    /// one route template.yaml wires to it (any other request is not answered here).
    pub async fn license_info_event(
        &self,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, LicenseInfoError> {
        if payload.get("requestContext").is_some() {
            let event = serde_json::from_value(payload).map_err(|e| {
                crate::runs::ScheduledError::BadEvent(format!(
                    "not an API Gateway HTTP API event: {e}"
                ))
            })?;
            let r = crate::apigw::serve(event, |r| async move {
                match (r.method.as_str(), r.segments().as_slice()) {
                    ("POST", ["licenses", "ingest"]) => self.handle(r).await,
                    _ => Err(crate::http::no_route(&r)),
                }
            })
            .await;
            return serde_json::to_value(r).map_err(LicenseInfoError::Serialise);
        }
        crate::runs::parse_schedule_event(&payload, LICENSE_INFO_TASK)?;
        let r = self
            .handle(crate::http::ApiRequest::new("POST", "/licenses/ingest"))
            .await
            .unwrap_or_else(|e| e.into_response());
        let partly = r
            .body
            .get("failed_objects")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let not_connected = crate::source::SourceError::NotConnected.to_string();
        let unconnected = r.body.to_string().contains(&not_connected);
        if (r.status >= 500 && !unconnected) || partly {
            // reported as a failed invocation: the on-failure destination and Errors alarm see it
            tracing::error!(status = r.status, body = %r.body, "scheduled license ingestion failed");
            return Err(LicenseInfoError::Failed(r.body.to_string()));
        }
        if r.status >= 300 {
            tracing::warn!(status = r.status, body = %r.body, "scheduled license ingestion did not run");
        }
        Ok(r.body)
    }
}
