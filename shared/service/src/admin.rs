//! Admin API routes that work on stored configuration and logs: field mappings (R17–R19,
//! validated against the org's describe), filters (R2, R13), transaction logs (R24) and runs.
//!
//! Routes (all behind API Gateway IAM auth):
//! - `GET /mappings` — every object's mappings; `GET /mappings/{object}` — one object (R19 view)
//! - `PUT /mappings/{object}` — body: one mapping row `{"fno_attribute", "sf_field", "required",
//!   "editable", "kind"}` (added or changed), or `{"fields": [rows…]}` (the object's whole list)
//! - `DELETE /mappings/{object}?fno_attribute=NAME` — R19 delete (required ones refused, R17)
//! - `GET /filters`, `PUT /filters` — `{"sync_stages": [...], "post_condition_state": "Draft"}`
//! - `GET /logs?task=&status=&from=&to=&limit=&cursor=` — one page of the transaction log
//! - `GET /runs?limit=` — the most recent runs

use crate::http::{parse_body, ApiError, ApiRequest, ApiResponse};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use engine::ports::{LogQuery, LogStatus, StateStore, TransactionLog};
use mapping::config::{Config, DataType, FieldMapping, Filters, MappingKind, ObjectMapping};
use mapping::error::SfObject;
use std::sync::Arc;

use engine::{EngineSettings, CONFIG_KEY, SETTINGS_KEY};

/// A field as the org's describe lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedField {
    pub name: String,
    /// Salesforce field type: `string`, `double`, `boolean`, `date`, `picklist`, …
    pub field_type: String,
    pub picklist_values: Vec<String>,
}

/// What the admin routes need to know about the org (implemented over the Salesforce client).
#[async_trait]
pub trait OrgDescribe: Send + Sync {
    async fn describe(&self, sobject: &str) -> Result<Vec<DescribedField>, ApiError>;
}

/// Load the stored configuration, or the guide's defaults when nothing is stored yet.
pub async fn load_config(state: &dyn StateStore) -> Result<Config, ApiError> {
    match state.get_config(CONFIG_KEY).await? {
        None => Ok(Config::default()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| ApiError::internal("reading the stored configuration", e)),
    }
}

async fn save_config(state: &dyn StateStore, config: &Config) -> Result<(), ApiError> {
    let value = serde_json::to_value(config)
        .map_err(|e| ApiError::internal("serialising the configuration", e))?;
    state.put_config(CONFIG_KEY, &value).await?;
    Ok(())
}

pub struct Admin {
    pub state: Arc<dyn StateStore>,
    pub log: Arc<dyn TransactionLog>,
    pub org: Arc<dyn OrgDescribe>,
}

/// `PUT /mappings/{object}`: the whole list (`{"fields": […]}`) or one row. Told apart by the
/// `fields` key, so an error names the field of the shape that was meant.
fn mapping_rows(req: &ApiRequest) -> Result<Vec<FieldMapping>, ApiError> {
    let v = crate::http::body_object(req)?;
    crate::http::check_strings(&v, "", crate::http::MAX_STRING_CHARS)?;
    if v.get("fields").is_some() {
        Ok(crate::http::from_value::<ObjectMapping>(v)?.fields)
    } else {
        Ok(vec![crate::http::from_value::<FieldMapping>(v)?])
    }
}

impl Admin {
    /// Route one request; `None` when the path is not one of these routes.
    pub async fn route(&self, req: &ApiRequest) -> Option<Result<ApiResponse, ApiError>> {
        let seg = req.segments();
        let r = match (req.method.as_str(), seg.as_slice()) {
            ("GET", ["mappings"]) => self.get_all_mappings().await,
            ("GET", ["mappings", object]) => self.get_mapping(object).await,
            ("PUT", ["mappings", object]) => self.put_mapping(object, req).await,
            ("DELETE", ["mappings", object]) => self.delete_mapping(object, req).await,
            ("GET", ["settings", "engine"]) => self.get_engine_settings().await,
            ("PUT", ["settings", "engine"]) => self.put_engine_settings(req).await,
            ("GET", ["filters"]) => self.get_filters().await,
            ("PUT", ["filters"]) => self.put_filters(req).await,
            ("GET", ["logs"]) => self.get_logs(req).await,
            ("GET", ["logs", log_number]) => self.get_log(log_number).await,
            ("GET", ["runs"]) => self.get_runs(req).await,
            ("GET", ["runs", task_id]) => self.get_run(task_id).await,
            ("GET", ["outstanding"]) => self.get_outstanding(req).await,
            _ => return None,
        };
        Some(r)
    }

    async fn get_all_mappings(&self) -> Result<ApiResponse, ApiError> {
        let config = load_config(self.state.as_ref()).await?;
        Ok(ApiResponse::json(200, &config.mappings))
    }

    async fn get_mapping(&self, object: &str) -> Result<ApiResponse, ApiError> {
        let object = parse_object(object)?;
        let config = load_config(self.state.as_ref()).await?;
        let m = config.mapping(object).cloned().unwrap_or_default();
        Ok(ApiResponse::json(
            200,
            serde_json::json!({"object": object, "fields": m.fields}),
        ))
    }

    async fn put_mapping(&self, object: &str, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let object = parse_object(object)?;
        let rows = mapping_rows(req)?;
        let mut config = load_config(self.state.as_ref()).await?;
        let described = self.org.describe(object.api_name()).await?;
        for row in &rows {
            check_against_describe(object, row, &described)?;
            config
                .set_mapping(object, row.clone())
                .map_err(|e| ApiError::BadRequest {
                    field: format!("fields.{}", e.fno_attribute),
                    message: format!("{} ({})", e.message, e.rule),
                })?;
        }
        if let Err(errors) = config.validate() {
            let first = &errors[0];
            return Err(ApiError::BadRequest {
                field: format!("fields.{}", first.fno_attribute),
                message: format!("{} ({})", first.message, first.rule),
            });
        }
        save_config(self.state.as_ref(), &config).await?;
        let m = config.mapping(object).cloned().unwrap_or_default();
        Ok(ApiResponse::json(
            200,
            serde_json::json!({"object": object, "fields": m.fields}),
        ))
    }

    async fn delete_mapping(
        &self,
        object: &str,
        req: &ApiRequest,
    ) -> Result<ApiResponse, ApiError> {
        let object = parse_object(object)?;
        let attribute = req
            .query
            .get("fno_attribute")
            .filter(|a| !a.trim().is_empty())
            .ok_or_else(|| {
                ApiError::bad_request(
                    "fno_attribute",
                    "name the FNO attribute whose mapping to delete (R19)",
                )
            })?;
        let mut config = load_config(self.state.as_ref()).await?;
        let old = config
            .delete_mapping(object, attribute)
            .map_err(|e| ApiError::BadRequest {
                field: "fno_attribute".into(),
                message: format!("{} ({})", e.message, e.rule),
            })?;
        save_config(self.state.as_ref(), &config).await?;
        Ok(ApiResponse::json(200, serde_json::json!({"deleted": old})))
    }

    /// The engine's knobs (R21/R22 lookback, the Salesforce quota reserve, in-process
    /// concurrency): the stored ones, else the defaults.
    async fn get_engine_settings(&self) -> Result<ApiResponse, ApiError> {
        let settings = EngineSettings::stored(self.state.as_ref())
            .await
            .map_err(|e| ApiError::internal("reading the stored engine settings", e))?
            .unwrap_or_default();
        Ok(ApiResponse::json(200, &settings))
    }

    /// Replaces the engine settings; keys left out take their defaults. Checked before storing.
    async fn put_engine_settings(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let settings: EngineSettings = parse_body(req)?;
        settings
            .check()
            .map_err(|(field, message)| ApiError::bad_request(field, message))?;
        let v = serde_json::to_value(&settings)
            .map_err(|e| ApiError::internal("serialising the engine settings", e))?;
        self.state.put_config(SETTINGS_KEY, &v).await?;
        Ok(ApiResponse::json(200, &settings))
    }

    async fn get_filters(&self) -> Result<ApiResponse, ApiError> {
        let config = load_config(self.state.as_ref()).await?;
        Ok(ApiResponse::json(200, &config.filters))
    }

    async fn put_filters(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let filters: Filters = parse_body(req)?;
        if filters.sync_stages.is_empty() || filters.sync_stages.iter().any(|s| s.trim().is_empty())
        {
            return Err(ApiError::bad_request(
                "sync_stages",
                "give at least one non-empty stage name (R2)",
            ));
        }
        // R2: every stage must be a value of the org's Opportunity.StageName picklist.
        let described = self.org.describe("Opportunity").await?;
        if let Some(stage) = described.iter().find(|f| f.name == "StageName") {
            if !stage.picklist_values.is_empty() {
                if let Some(unknown) = filters
                    .sync_stages
                    .iter()
                    .find(|s| !stage.picklist_values.contains(s))
                {
                    return Err(ApiError::bad_request(
                        "sync_stages",
                        format!(
                            "'{unknown}' is not a stage of this org's Opportunity.StageName picklist ({}) (R2)",
                            stage.picklist_values.join(", ")
                        ),
                    ));
                }
            }
        }
        let mut config = load_config(self.state.as_ref()).await?;
        config.filters = filters;
        save_config(self.state.as_ref(), &config).await?;
        Ok(ApiResponse::json(200, &config.filters))
    }

    async fn get_logs(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let q = &req.query;
        let status = match q.get("status").map(String::as_str) {
            None | Some("") => None,
            Some(s) => Some(
                serde_json::from_value::<LogStatus>(serde_json::Value::String(s.to_owned()))
                    .map_err(|_| {
                        ApiError::bad_request(
                            "status",
                            format!("'{s}' is not one of Completed, Failed, Error (R24)"),
                        )
                    })?,
            ),
        };
        let limit = match q.get("limit") {
            None => None,
            Some(l) => Some(
                l.parse::<u32>()
                    .ok()
                    .filter(|l| (1..=500).contains(l))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "limit",
                            format!("'{l}' is not a page size from 1 to 500"),
                        )
                    })?,
            ),
        };
        let record = match q.get("record").map(String::as_str) {
            None | Some("") => None,
            Some(r) if is_record_id(r) => Some(r.to_owned()),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "record",
                    "a Salesforce or FNO id is 3 to 80 letters, digits or -_.:@ (e.g. 006Dm0000000049IAA)",
                ))
            }
        };
        let csv = match q.get("format").map(String::as_str) {
            None | Some("") | Some("json") => false,
            Some("csv") => true,
            Some(_) => return Err(ApiError::bad_request("format", "is json (default) or csv")),
        };
        let mut query = LogQuery {
            task_id: q.get("task").filter(|t| !t.is_empty()).cloned(),
            status,
            from: parse_time(q.get("from"), "from")?,
            to: parse_time(q.get("to"), "to")?,
            record,
            limit,
            cursor: q.get("cursor").filter(|c| !c.is_empty()).cloned(),
        };
        if csv {
            return self.logs_csv(query).await;
        }
        let page = self.log.query(&query).await?;
        query.cursor = None;
        let entries: Vec<serde_json::Value> = page.entries.iter().map(entry_summary).collect();
        Ok(ApiResponse::json(
            200,
            serde_json::json!({"entries": entries, "next_cursor": page.next_cursor}),
        ))
    }

    /// `GET /logs/{log_number}`: one entry with its request and response (secrets removed
    /// when it was written, and scrubbed again on the way out).
    async fn get_log(&self, log_number: &str) -> Result<ApiResponse, ApiError> {
        let ok = log_number.len() <= 24
            && log_number
                .strip_prefix("TL-")
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            return Err(ApiError::bad_request(
                "log_number",
                "a log number looks like TL-00042 (R24)",
            ));
        }
        match self.log.get(log_number).await? {
            Some(e) => Ok(ApiResponse::json(200, e)),
            None => Err(ApiError::NotFound(format!("log entry {log_number}"))),
        }
    }

    /// `GET /logs?format=csv`: every entry the filters select (pages followed up to
    /// [`MAX_CSV_ROWS`]; beyond that the `x-next-cursor` header continues), one row each,
    /// without payloads.
    async fn logs_csv(&self, mut query: LogQuery) -> Result<ApiResponse, ApiError> {
        let mut rows = Vec::new();
        let next = loop {
            let page = self.log.query(&query).await?;
            rows.extend(page.entries);
            match page.next_cursor {
                Some(c) if rows.len() < MAX_CSV_ROWS => query.cursor = Some(c),
                other => break other,
            }
        };
        Ok(
            ApiResponse::text(200, "text/csv; charset=utf-8", crate::csv::log_csv(&rows))
                .with_header("x-next-cursor", next),
        )
    }

    async fn get_runs(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let limit = match req.query.get("limit") {
            None => 20,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=200).contains(l))
                .ok_or_else(|| {
                    ApiError::bad_request("limit", format!("'{l}' is not a count from 1 to 200"))
                })?,
        };
        let runs = self.state.list_runs(limit).await?;
        Ok(ApiResponse::json(200, serde_json::json!({"runs": runs})))
    }

    async fn get_run(&self, task_id: &str) -> Result<ApiResponse, ApiError> {
        if task_id.len() > 80
            || !task_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ApiError::bad_request(
                "task_id",
                "a task id is letters, digits and '-' (e.g. sched-20261120T090000Z-1a2b3c4d)",
            ));
        }
        let Some(run) = self.state.get_run(task_id).await? else {
            return Err(ApiError::NotFound(format!("run {task_id}")));
        };
        // progress: accounts done of planned; the result: what did not complete, by entry
        let done = run.counts.get(engine::ACCOUNTS_DONE).copied().unwrap_or(0);
        let planned = u64::from(run.accounts_planned);
        let mut failures = Vec::new();
        for status in [LogStatus::Failed, LogStatus::Error] {
            let page = self
                .log
                .query(&LogQuery {
                    task_id: Some(task_id.to_owned()),
                    status: Some(status),
                    limit: Some(MAX_RUN_FAILURES as u32),
                    ..Default::default()
                })
                .await?;
            failures.extend(page.entries.iter().map(entry_summary));
        }
        failures.truncate(MAX_RUN_FAILURES);
        let mut v =
            serde_json::to_value(&run).map_err(|e| ApiError::internal("serialising the run", e))?;
        if let Some(m) = v.as_object_mut() {
            m.insert(
                "progress".into(),
                serde_json::json!({
                    "accounts_planned": planned,
                    "accounts_done": done,
                    "finished": run.status != engine::ports::RunStatus::Running,
                }),
            );
            m.insert("failures".into(), serde_json::Value::Array(failures));
            m.insert(
                "entries".into(),
                serde_json::json!(format!("GET /logs?task={task_id}")),
            );
        }
        Ok(ApiResponse::from_value(200, v))
    }

    /// `GET /outstanding[?due=true][&limit=N][&cursor=C]`: the orders (and accounts) that
    /// have not reached FNO completely, with reasons, attempts and next attempt, by due time.
    async fn get_outstanding(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let q = &req.query;
        let limit = match q.get("limit") {
            None => 100,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=500).contains(l))
                .ok_or_else(|| {
                    ApiError::bad_request("limit", format!("'{l}' is not a count from 1 to 500"))
                })?,
        };
        let due_by = match q.get("due").map(String::as_str) {
            None | Some("false") => None,
            Some("true") => Some(Utc::now()),
            Some(other) => {
                return Err(ApiError::bad_request(
                    "due",
                    format!("'{other}' is not true or false"),
                ))
            }
        };
        let cursor = q.get("cursor").filter(|c| !c.is_empty()).cloned();
        if cursor
            .as_ref()
            .is_some_and(|c| c.len() > crate::http::MAX_CURSOR_CHARS)
        {
            return Err(ApiError::bad_request(
                "cursor",
                "not a cursor this API returned",
            ));
        }
        let page = self.state.list_outstanding(due_by, limit, cursor).await?;
        Ok(ApiResponse::json(200, page))
    }
}

/// Failed and Error entries `GET /runs/{task_id}` shows (the rest: `GET /logs?task=`).
pub const MAX_RUN_FAILURES: usize = 20;

/// Most rows one `GET /logs?format=csv` answers.
pub const MAX_CSV_ROWS: usize = 5000;

/// An entry as `GET /logs` lists it: everything but the payloads (`GET /logs/{log_number}`
/// has them; a page of payloads could pass Lambda's 6 MB response limit).
fn entry_summary(e: &engine::ports::LogEntry) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        let has = m.remove("request").is_some_and(|r| !r.is_null())
            | m.remove("response").is_some_and(|r| !r.is_null());
        m.insert("has_payloads".into(), serde_json::Value::Bool(has));
    }
    v
}

/// A Salesforce or FNO id as `GET /logs?record=` takes it.
fn is_record_id(s: &str) -> bool {
    (3..=80).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'))
}

fn parse_object(s: &str) -> Result<SfObject, ApiError> {
    SfObject::MAPPED.into_iter().find(|o| o.api_name().eq_ignore_ascii_case(s)).ok_or_else(|| {
        ApiError::bad_request(
            "object",
            format!("'{s}' has no field mappings; use Account, Contact, Opportunity or OpportunityLineItem (R19)"),
        )
    })
}

fn parse_time(v: Option<&String>, field: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match v.map(String::as_str) {
        None | Some("") => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::bad_request(field, format!("'{s}' is not an RFC 3339 date-time"))
            }),
    }
}

/// The mapped Salesforce field must exist on the object (dotted parent paths are checked on
/// their first segment's relationship only) and, for a custom attribute, have a type that can
/// carry the FNO type (R18).
fn check_against_describe(
    object: SfObject,
    row: &FieldMapping,
    described: &[DescribedField],
) -> Result<(), ApiError> {
    let Some(field) = row.sf_field.as_deref() else {
        return Ok(());
    };
    let field_name = format!("fields.{}.sf_field", row.fno_attribute);
    if field.contains('.') {
        let rel = field.split('.').next().unwrap_or_default();
        let id_field = if let Some(base) = rel.strip_suffix("__r") {
            format!("{base}__c")
        } else {
            format!("{rel}Id")
        };
        if described
            .iter()
            .any(|f| f.name.eq_ignore_ascii_case(&id_field))
        {
            return Ok(());
        }
        return Err(ApiError::bad_request(
            &field_name,
            format!("{object} has no relationship '{rel}' in this org"),
        ));
    }
    let Some(found) = described
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(field))
    else {
        return Err(ApiError::bad_request(
            &field_name,
            format!("{object}.{field} does not exist in this org (or the integration user cannot see it) (R19)"),
        ));
    };
    if let MappingKind::Custom { data_type, .. } = row.kind {
        let t = found.field_type.as_str();
        let fits = match data_type {
            DataType::Number => matches!(t, "double" | "int" | "long" | "currency" | "percent"),
            DataType::Text => matches!(
                t,
                "string"
                    | "picklist"
                    | "email"
                    | "phone"
                    | "url"
                    | "id"
                    | "reference"
                    | "textarea"
                    | "combobox"
            ),
            DataType::LongText => matches!(
                t,
                "textarea" | "string" | "multipicklist" | "picklist" | "email" | "url"
            ),
            DataType::Boolean => t == "boolean",
            DataType::Date => matches!(t, "date" | "datetime"),
        };
        if !fits {
            return Err(ApiError::bad_request(
                &field_name,
                format!(
                    "{object}.{field} is a Salesforce '{t}' field and cannot carry the {} custom attribute '{}' (R18)",
                    data_type.label(),
                    row.fno_attribute
                ),
            ));
        }
    }
    Ok(())
}
