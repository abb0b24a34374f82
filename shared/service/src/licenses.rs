//! License routes (R26–R32), over the `licenses` crate's [`LicenseStore`] port:
//!
//! - `GET /licenses` — every license with usage (R29: captured data while the task is enabled,
//!   manual data while disabled), the org's sessions and users who can log in (R32), the task
//!   flag and the annual spend per currency
//! - `PUT /licenses/{id}/manual` — body: any of `name`, `allowed`, `amount`, `currency`,
//!   `effective_date`, `ending_date`, `payment_frequency` (null clears); 400 names the field (R27)
//! - `POST /licenses/ingest` — one ingest now; 409 while the task is disabled (R29), 502 when
//!   nothing could be read from Salesforce
//! - `GET /licenses/task`, `PUT /licenses/task` — `{"enabled": bool}` (R29)
//! - `POST /licenses` — a manual license (`kind`, `name`, optional `key`, `allowed` and the
//!   spend fields); 201 with its view (`source`/`origin` `manual`); 409 when it exists
//! - `GET /licenses/skus`, `GET/PUT/DELETE /licenses/skus/{name}` — `{"licenses": [id or key]}`;
//!   400 names an unknown license (R30)
//! - `GET /licenses/users` — active users with their SKU-configured licenses and last login (R30)
//! - `GET /licenses/{id}/users` — the active holders of one license (R30)
//! - `GET /licenses/{id}/history`, `GET /licenses/org/history` — `?from=YYYY-MM-DD&to=…` (R32)
//! - `GET /licenses/unused?days=90` — the unused-license finder (default 90 days)

use crate::http::{parse_body, ApiError, ApiRequest, ApiResponse};
use chrono::{DateTime, Utc};
use engine::ports::{Clock, StateStore, TransactionLog};
use licenses::{ops, LicenseError, LicenseSource, LicenseStore};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

impl From<LicenseError> for ApiError {
    fn from(e: LicenseError) -> Self {
        match e {
            LicenseError::Manual(m) => ApiError::BadRequest {
                field: m.field.clone(),
                message: m.to_string(),
            },
            LicenseError::NotFound(id) if id.starts_with("SKU ") => ApiError::NotFound(id),
            LicenseError::NotFound(id) => ApiError::NotFound(format!("license {id}")),
            LicenseError::Sku(e) => ApiError::BadRequest {
                field: e.field.clone(),
                message: e.to_string(),
            },
            LicenseError::Exists(m) => ApiError::Conflict(m),
            LicenseError::TaskDisabled => ApiError::Conflict(e.to_string()),
            LicenseError::Store(s) => ApiError::internal("using the license store", s),
        }
    }
}

/// `GET /licenses`.
pub async fn get_licenses(
    store: &dyn LicenseStore,
    now: DateTime<Utc>,
) -> Result<ApiResponse, ApiError> {
    let overview = licenses::load_views(store, now).await?;
    let totals = licenses::spend_totals(&overview.licenses);
    Ok(ApiResponse::json(
        200,
        json!({
            "task_enabled": overview.task_enabled,
            "licenses": overview.licenses,
            "org": overview.org,
            "annual_spend": totals,
        }),
    ))
}

/// `PUT /licenses/{id}/manual`: answers the license's view after the change.
pub async fn put_manual(
    store: &dyn LicenseStore,
    id: &str,
    req: &ApiRequest,
    now: DateTime<Utc>,
) -> Result<ApiResponse, ApiError> {
    // the id is a store key: only a Salesforce id (of the license record) gets that far
    if !mapping::sf::is_id(id) {
        return Err(ApiError::bad_request(
            "id",
            "a license id is a Salesforce Id (15 or 18 letters and digits) (R27)",
        ));
    }
    let body: serde_json::Value = parse_body(req)?;
    // a bad body is a 400 naming the field whether or not the license exists (R27)
    licenses::manual::apply_manual_update(id, &licenses::ManualFields::default(), &body, now)
        .map_err(|e| ApiError::from(LicenseError::Manual(e)))?;
    let view = licenses::set_manual(store, id, &body, now).await?;
    Ok(ApiResponse::json(200, &view))
}

/// `POST /licenses`: a manual license (R27); 201 with its view.
pub async fn post_manual_license(
    store: &dyn LicenseStore,
    req: &ApiRequest,
    now: DateTime<Utc>,
) -> Result<ApiResponse, ApiError> {
    let body: licenses::NewManualLicense = parse_body(req)?;
    let view = ops::create_manual_license(store, body, now).await?;
    Ok(ApiResponse::json(201, &view))
}

/// `PUT /licenses/skus/{name}` (R30).
pub async fn put_sku(
    store: &dyn LicenseStore,
    name: &str,
    req: &ApiRequest,
    now: DateTime<Utc>,
) -> Result<ApiResponse, ApiError> {
    let body: licenses::SkuBody = parse_body(req)?;
    Ok(ApiResponse::json(
        200,
        ops::put_sku(store, name, body, now).await?,
    ))
}

/// `from`/`to` of a history route; 400 names the parameter.
fn date_range(req: &ApiRequest) -> Result<licenses::DateRange, ApiError> {
    let q = |k: &str| req.query.get(k).map(String::as_str);
    licenses::DateRange::parse(q("from"), q("to"))
        .map_err(|(field, message)| ApiError::bad_request(&field, format!("{message} (R32)")))
}

/// `days` of `GET /licenses/unused`: 1 to 3650, default 90.
fn days(req: &ApiRequest) -> Result<u32, ApiError> {
    match req.query.get("days") {
        None => Ok(90),
        Some(d) => d
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "days",
                    format!("{d:?} is not a number of days from 1 to 3650"),
                )
            }),
    }
}

/// `GET /licenses/{id}/history` and `GET /licenses/org/history` (R32).
async fn get_history(
    store: &dyn LicenseStore,
    id: Option<&str>,
    req: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let range = date_range(req)?;
    let (from, to) = (range.from, range.to);
    Ok(match id {
        Some(id) => ApiResponse::json(
            200,
            json!({"id": id, "from": from, "to": to, "points": ops::license_history(store, id, range).await?}),
        ),
        None => ApiResponse::json(
            200,
            json!({"from": from, "to": to, "points": ops::org_history(store, range).await?}),
        ),
    })
}

/// The issue-15 routes: SKUs, users, history, the finder, manual licenses.
async fn route_activity(
    store: &dyn LicenseStore,
    req: &ApiRequest,
    now: DateTime<Utc>,
) -> Option<Result<ApiResponse, ApiError>> {
    let seg = req.segments();
    let ok = |v: serde_json::Value| Ok(ApiResponse::json(200, v));
    let r = match (req.method.as_str(), seg.as_slice()) {
        ("POST", ["licenses"]) => post_manual_license(store, req, now).await,
        ("GET", ["licenses", "skus"]) => match ops::skus(store).await {
            Ok(s) => ok(json!({"skus": s})),
            Err(e) => Err(e.into()),
        },
        ("GET", ["licenses", "skus", name]) => ops::get_sku(store, name)
            .await
            .map(|s| ApiResponse::json(200, s))
            .map_err(ApiError::from),
        ("PUT", ["licenses", "skus", name]) => put_sku(store, name, req, now).await,
        ("DELETE", ["licenses", "skus", name]) => match ops::delete_sku(store, name).await {
            Ok(()) => ok(json!({"deleted": name})),
            Err(e) => Err(e.into()),
        },
        ("GET", ["licenses", "users"]) => match ops::users_view(store).await {
            Ok(u) => ok(json!({"users": u})),
            Err(e) => Err(e.into()),
        },
        ("GET", ["licenses", "unused"]) => match days(req) {
            Ok(d) => ops::unused(store, d, now)
                .await
                .map(|r| ApiResponse::json(200, r))
                .map_err(ApiError::from),
            Err(e) => Err(e),
        },
        ("GET", ["licenses", "org", "history"]) => get_history(store, None, req).await,
        ("GET", ["licenses", id, "history"]) => get_history(store, Some(id), req).await,
        ("GET", ["licenses", id, "users"]) => ops::license_users(store, id)
            .await
            .map(|h| ApiResponse::json(200, h))
            .map_err(ApiError::from),
        _ => return None,
    };
    Some(r)
}

/// `POST /licenses/ingest`: one ingest under `task_id`, recorded as a run of kind `licenses`
/// (so `GET /runs` lists it); answers the report (without the log entries, which
/// `GET /logs?task=` lists).
pub async fn post_ingest(
    source: &dyn LicenseSource,
    store: &dyn LicenseStore,
    log: &dyn TransactionLog,
    state: &dyn StateStore,
    now: DateTime<Utc>,
    task_id: &str,
    options: licenses::IngestOptions,
) -> Result<ApiResponse, ApiError> {
    let report = licenses::ingest_with(source, store, log, now, task_id, options).await?;
    let captured = report.discovered + report.updated + report.reappeared + report.unchanged;
    crate::metrics::Emf::new(crate::metrics::function::LICENSE_INFO)
        .prop("TaskId", task_id)
        .put(
            crate::metrics::Metric::LicensesCaptured,
            f64::from(captured),
        )
        .put(
            crate::metrics::Metric::LicenseFailedObjects,
            report.failed_objects.len() as f64,
        )
        .emit(now);
    let run = licenses::run_record(&report, now);
    state.put_run(&run).await?;
    // Nothing read: the run's record says why (run_record words it).
    if let Some(message) = run.detail {
        return Err(ApiError::Upstream {
            system: "Salesforce".into(),
            message,
        });
    }
    Ok(ApiResponse::json(
        200,
        json!({
            "task_id": report.task_id,
            "at": report.at,
            "discovered": report.discovered,
            "updated": report.updated,
            "reappeared": report.reappeared,
            "missing": report.missing,
            "unchanged": report.unchanged,
            "changes": report.changes,
            "failed_objects": report.failed_objects.iter()
                .map(|(o, r)| json!({"object": o, "reason": r})).collect::<Vec<_>>(),
            "problems": report.problems,
            "org": report.org,
            "log_entries": report.entries.len(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskBody {
    enabled: bool,
}

/// `GET /licenses/task`.
pub async fn get_task(store: &dyn LicenseStore) -> Result<ApiResponse, ApiError> {
    Ok(ApiResponse::json(
        200,
        json!({"enabled": store.task_enabled().await?}),
    ))
}

/// `PUT /licenses/task` `{"enabled": bool}` (R29).
pub async fn put_task(store: &dyn LicenseStore, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let body: TaskBody = parse_body(req)?;
    store.set_task_enabled(body.enabled).await?;
    Ok(ApiResponse::json(200, json!({"enabled": body.enabled})))
}

/// The license routes with their dependencies, for a router.
pub struct LicenseRoutes {
    pub store: Arc<dyn LicenseStore>,
    pub log: Arc<dyn TransactionLog>,
    /// Where each ingest's run record goes (kind `licenses`, listed by `GET /runs`).
    pub state: Arc<dyn StateStore>,
    /// Salesforce (`salesforce::SalesforceClient` implements [`LicenseSource`]).
    pub source: Arc<dyn LicenseSource>,
    pub clock: Arc<dyn Clock>,
    /// History retention of each ingest (R32).
    pub options: licenses::IngestOptions,
}

impl LicenseRoutes {
    /// Route one request; `None` when the path is not a license route.
    pub async fn route(&self, req: &ApiRequest) -> Option<Result<ApiResponse, ApiError>> {
        let seg = req.segments();
        let now = self.clock.now();
        let store = self.store.as_ref();
        let r = match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["licenses"]) => get_licenses(store, now).await,
            ("POST", ["licenses", "ingest"]) => {
                post_ingest(
                    self.source.as_ref(),
                    store,
                    self.log.as_ref(),
                    self.state.as_ref(),
                    now,
                    &engine::new_task_id(engine::ports::RunKind::Licenses, now),
                    self.options,
                )
                .await
            }
            ("GET", ["licenses", "task"]) => get_task(store).await,
            ("PUT", ["licenses", "task"]) => put_task(store, req).await,
            ("PUT", ["licenses", id, "manual"]) => put_manual(store, id, req, now).await,
            _ => return route_activity(store, req, now).await,
        };
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::embedded::SqliteStore;
    use engine::ports::FixedClock;
    use licenses::{FixtureSource, MemoryLicenseStore};

    const SFDC: &str = "100000000000001AAA";

    fn fixture(name: &str) -> serde_json::Value {
        let path = format!(
            "{}/../../tests/fixtures/licenses/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn routes(source: FixtureSource) -> LicenseRoutes {
        let embedded = Arc::new(SqliteStore::in_memory().unwrap());
        LicenseRoutes {
            store: Arc::new(MemoryLicenseStore::new()),
            log: embedded.clone(),
            state: embedded,
            source: Arc::new(source),
            clock: Arc::new(FixedClock("2026-11-27T09:00:00Z".parse().unwrap())),
            options: licenses::IngestOptions::default(),
        }
    }

    async fn call(r: &LicenseRoutes, req: ApiRequest) -> ApiResponse {
        match r.route(&req).await.expect("a license route") {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        }
    }

    #[tokio::test]
    async fn ingest_then_get_lists_licenses_with_usage() {
        let r = routes(FixtureSource::from_fixture(&fixture("before.json")).unwrap());
        let resp = call(&r, ApiRequest::new("POST", "/licenses/ingest")).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(resp.body["discovered"], 12);
        // The engine's task ids: kind, start time, 8 random hex digits (no two ingests collide).
        let task = resp.body["task_id"].as_str().unwrap();
        let suffix = task.strip_prefix("lic-20261127T090000Z-").expect(task);
        assert!(
            suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_hexdigit()),
            "{task}"
        );
        let run = r
            .state
            .get_run(task)
            .await
            .unwrap()
            .expect("the ingest is a run");
        assert_eq!(run.kind, engine::ports::RunKind::Licenses);
        assert_eq!(run.counts["discovered"], 12);
        let resp = call(&r, ApiRequest::new("GET", "/licenses")).await;
        assert_eq!(resp.status, 200);
        let list = resp.body["licenses"].as_array().unwrap();
        assert_eq!(list.len(), 12);
        let sfdc = list.iter().find(|l| l["id"] == SFDC).unwrap();
        assert_eq!(sfdc["total"], 10);
        assert_eq!(sfdc["used"], 4);
        assert_eq!(sfdc["remaining"], 6);
        assert_eq!(sfdc["active_users"], 3);
        assert_eq!(sfdc["source"], "captured");
        assert_eq!(sfdc["manual"]["effective_date"], "2026-11-27", "R28");
        assert_eq!(resp.body["org"]["users_can_log_in"], 4);
        assert_eq!(resp.body["task_enabled"], true);
    }

    #[tokio::test]
    async fn put_manual_sets_fields_and_names_a_bad_one() {
        let r = routes(FixtureSource::from_fixture(&fixture("before.json")).unwrap());
        call(&r, ApiRequest::new("POST", "/licenses/ingest")).await;
        let resp = call(
            &r,
            ApiRequest::new("PUT", &format!("/licenses/{SFDC}/manual")).with_body(
                r#"{"amount": "100", "currency": "usd", "payment_frequency": "quarterly", "effective_date": "2026-01-01"}"#,
            ),
        )
        .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(resp.body["manual"]["currency"], "USD");
        assert_eq!(resp.body["annual_spend"]["amount"], "400.00");
        let resp = call(&r, ApiRequest::new("GET", "/licenses")).await;
        assert_eq!(resp.body["annual_spend"]["USD"], "400.00");

        let resp = call(
            &r,
            ApiRequest::new("PUT", &format!("/licenses/{SFDC}/manual"))
                .with_body(r#"{"ending_date": "31.12.2026"}"#),
        )
        .await;
        assert_eq!(resp.status, 400);
        assert_eq!(resp.body["field"], "ending_date");
        assert!(resp.body["message"].as_str().unwrap().contains(SFDC));
        let resp = call(
            &r,
            ApiRequest::new("PUT", "/licenses/0PL999999999999AAA/manual").with_body("{}"),
        )
        .await;
        assert_eq!(resp.status, 404);
        let resp = call(
            &r,
            ApiRequest::new("PUT", &format!("/licenses/{SFDC}/manual")),
        )
        .await;
        assert_eq!(
            (resp.status, resp.body["field"].as_str()),
            (400, Some("body"))
        );
    }

    #[tokio::test]
    async fn task_disable_shows_manual_data_refuses_ingest_and_re_enable_restores() {
        let r = routes(FixtureSource::from_fixture(&fixture("before.json")).unwrap());
        call(&r, ApiRequest::new("POST", "/licenses/ingest")).await;
        let before = call(&r, ApiRequest::new("GET", "/licenses")).await.body;
        let resp = call(
            &r,
            ApiRequest::new("PUT", "/licenses/task").with_body(r#"{"enabled": false}"#),
        )
        .await;
        assert_eq!((resp.status, &resp.body), (200, &json!({"enabled": false})));
        assert_eq!(
            call(&r, ApiRequest::new("GET", "/licenses/task"))
                .await
                .body["enabled"],
            false
        );
        let off = call(&r, ApiRequest::new("GET", "/licenses")).await.body;
        let sfdc = off["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == SFDC)
            .unwrap()
            .clone();
        assert_eq!(sfdc["source"], "manual");
        assert!(sfdc["used"].is_null());
        let resp = call(&r, ApiRequest::new("POST", "/licenses/ingest")).await;
        assert_eq!(resp.status, 409, "{}", resp.body);
        assert!(resp.body["message"].as_str().unwrap().contains("(R29)"));
        call(
            &r,
            ApiRequest::new("PUT", "/licenses/task").with_body(r#"{"enabled": true}"#),
        )
        .await;
        assert_eq!(
            call(&r, ApiRequest::new("GET", "/licenses")).await.body,
            before
        );
        let resp = call(
            &r,
            ApiRequest::new("PUT", "/licenses/task").with_body(r#"{"enabled": "yes"}"#),
        )
        .await;
        assert_eq!(resp.status, 400);
    }

    #[tokio::test]
    async fn nothing_readable_is_a_502_and_unknown_paths_are_not_license_routes() {
        let src = FixtureSource::from_fixture(&fixture("before.json"))
            .unwrap()
            .fail_when("SELECT");
        let r = routes(src);
        let resp = call(&r, ApiRequest::new("POST", "/licenses/ingest")).await;
        assert_eq!(resp.status, 502, "{}", resp.body);
        let runs = r.state.list_runs(5).await.unwrap();
        assert_eq!(runs[0].status, engine::ports::RunStatus::Aborted);
        assert!(r
            .route(&ApiRequest::new("GET", "/mappings"))
            .await
            .is_none());
        assert!(r
            .route(&ApiRequest::new("DELETE", "/licenses"))
            .await
            .is_none());
    }

    async fn json_call(
        r: &LicenseRoutes,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> ApiResponse {
        let mut req = ApiRequest::new(method, path);
        if let Some(b) = body {
            req = req.with_body(b);
        }
        call(r, req).await
    }

    #[tokio::test]
    async fn issue_15_routes_skus_users_history_manual_licenses_and_the_finder() {
        let r = routes(FixtureSource::from_fixture(&fixture("activity.json")).unwrap());
        // a manual license before any ingest: 201, source and origin manual
        let resp = json_call(
            &r,
            "POST",
            "/licenses",
            Some(
                r#"{"kind": "package_license", "name": "Acme CPQ", "key": "acme",
            "amount": "2500", "currency": "USD", "payment_frequency": "quarterly"}"#,
            ),
        )
        .await;
        assert_eq!(resp.status, 201, "{}", resp.body);
        assert_eq!(
            (
                resp.body["id"].as_str(),
                resp.body["source"].as_str(),
                resp.body["origin"].as_str()
            ),
            (Some("manual:acme-cpq"), Some("manual"), Some("manual"))
        );
        let again = json_call(
            &r,
            "POST",
            "/licenses",
            Some(r#"{"kind": "package_license", "name": "Acme CPQ"}"#),
        )
        .await;
        assert_eq!(again.status, 409, "{}", again.body);
        let bad = json_call(
            &r,
            "POST",
            "/licenses",
            Some(r#"{"kind": "package_license", "name": "X", "seats": 3}"#),
        )
        .await;
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert_eq!(bad.body["field"], "seats", "{}", bad.body);
        assert_eq!(
            json_call(&r, "POST", "/licenses/ingest", None).await.status,
            200
        );

        // SKUs: PUT validates against the stored licenses, GET, list, DELETE
        let put = json_call(
            &r,
            "PUT",
            "/licenses/skus/Sales-Cloud",
            Some(r#"{"licenses": ["SFDC", "CRMUserPsl"]}"#),
        )
        .await;
        assert_eq!(put.status, 200, "{}", put.body);
        let unknown = json_call(
            &r,
            "PUT",
            "/licenses/skus/Bad",
            Some(r#"{"licenses": ["SFDC", "Nope"]}"#),
        )
        .await;
        assert_eq!(
            (unknown.status, unknown.body["field"].as_str()),
            (400, Some("licenses"))
        );
        assert!(
            unknown.body["message"]
                .as_str()
                .unwrap()
                .contains("\"Nope\""),
            "{}",
            unknown.body
        );
        let extra = json_call(
            &r,
            "PUT",
            "/licenses/skus/Bad",
            Some(r#"{"licenses": ["SFDC"], "price": 1}"#),
        )
        .await;
        assert_eq!(extra.status, 400, "deny_unknown_fields: {}", extra.body);
        assert_eq!(
            json_call(&r, "GET", "/licenses/skus/Sales-Cloud", None)
                .await
                .body["licenses"],
            json!(["SFDC", "CRMUserPsl"])
        );
        assert_eq!(
            json_call(&r, "GET", "/licenses/skus/Bad", None)
                .await
                .status,
            404
        );
        json_call(
            &r,
            "PUT",
            "/licenses/skus/Acme",
            Some(r#"{"licenses": ["manual:acme-cpq"]}"#),
        )
        .await;
        assert_eq!(
            json_call(&r, "GET", "/licenses/skus", None).await.body["skus"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        // users: SKU-configured licenses only (R30); holders of one license = its active users
        let users = json_call(&r, "GET", "/licenses/users", None).await.body;
        let gus = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == "Gus Idle")
            .unwrap()
            .clone();
        assert_eq!(gus["skus"], json!(["Acme", "Sales-Cloud"]));
        assert_eq!(gus["last_login"], "2026-06-01T09:00:00Z");
        let holders = json_call(&r, "GET", &format!("/licenses/{SFDC}/users"), None)
            .await
            .body;
        let list = json_call(&r, "GET", "/licenses", None).await.body;
        let sfdc = list["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == SFDC)
            .unwrap()
            .clone();
        assert_eq!(holders["count"], sfdc["active_users"]);
        assert_eq!(holders["count"], 9);
        assert_eq!(
            json_call(&r, "GET", "/licenses/0PL999999999999AAA/users", None)
                .await
                .status,
            404
        );

        // history with a date range; org history
        let h = json_call(&r, "GET", &format!("/licenses/{SFDC}/history"), None)
            .await
            .body;
        assert_eq!(h["points"].as_array().unwrap().len(), 1);
        let req = ApiRequest::new("GET", &format!("/licenses/{SFDC}/history"))
            .with_query("from", "2026-12-01");
        assert!(call(&r, req).await.body["points"]
            .as_array()
            .unwrap()
            .is_empty());
        let req = ApiRequest::new("GET", "/licenses/org/history").with_query("to", "2026-11-27");
        let org = call(&r, req).await;
        assert_eq!(
            org.body["points"][0]["users_can_log_in"], 11,
            "{}",
            org.body
        );
        let req = ApiRequest::new("GET", "/licenses/org/history").with_query("from", "27.11.2026");
        assert_eq!(call(&r, req).await.body["field"], "from");

        // the finder: sorted by unused annual cost; days checked
        let req = ApiRequest::new("GET", "/licenses/unused").with_query("days", "90");
        let u = call(&r, req).await.body;
        assert_eq!(u["licenses"][0]["id"], "050000000000001AAA", "{u}");
        assert_eq!(u["licenses"][0]["unused_annual_cost"]["USD"], "800.00");
        assert_eq!(u["skus"][0]["id"], "Acme");
        let req = ApiRequest::new("GET", "/licenses/unused").with_query("days", "0");
        assert_eq!(call(&r, req).await.body["field"], "days");
        assert_eq!(
            json_call(&r, "DELETE", "/licenses/skus/Acme", None)
                .await
                .status,
            200
        );
        assert_eq!(
            json_call(&r, "DELETE", "/licenses/skus/Acme", None)
                .await
                .status,
            404
        );
    }
}
