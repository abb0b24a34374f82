//! The admin-api function's router: every admin route in one place.

use crate::admin::Admin;
use crate::connection::ConnectionRoutes;
use crate::http::{ApiError, ApiRequest, ApiResponse};
use crate::schedule::ScheduleRoutes;

/// Everything behind the admin-api function (template.yaml's AdminApiFunction events).
pub struct AdminApi {
    /// mappings, filters, logs, runs
    pub admin: Admin,
    /// settings/connection (R25)
    pub connection: ConnectionRoutes,
    /// schedule (R21)
    pub schedule: ScheduleRoutes,
}

impl AdminApi {
    pub async fn handle(&self, req: ApiRequest) -> Result<ApiResponse, ApiError> {
        if let Some(r) = self.connection.route(&req).await {
            return r;
        }
        if let Some(r) = self.schedule.route(&req).await {
            return r;
        }
        if let Some(r) = self.admin.route(&req).await {
            return r;
        }
        Err(ApiError::NoRoute {
            method: req.method,
            path: req.path,
        })
    }
}
