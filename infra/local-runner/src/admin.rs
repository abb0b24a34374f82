//! `flexbridge admin …`: the admin API routes an admin uses daily, from a terminal, against
//! a deployed stack. Each request is signed with AWS Signature Version 4 (the `aws-sigv4`
//! crate, service `execute-api`) with credentials from the standard AWS chain (environment,
//! profile, SSO, container, instance role), as API Gateway's IAM auth requires.
//!
//! The answer's JSON is printed as it came (pretty); a 4xx or 5xx prints the error and exits 1.

use clap::{Args, Subcommand};
use std::time::SystemTime;

/// Where the admin API is.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// The stack's admin API URL (the output AdminApiUrl); or FLEXBRIDGE_API_URL.
    #[arg(long, env = "FLEXBRIDGE_API_URL")]
    pub api: String,
    /// AWS region of the API; default: the URL's (`….execute-api.<region>.amazonaws.com`),
    /// else the AWS configuration's.
    #[arg(long)]
    pub region: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum AdminCommand {
    /// The schedule, the most recent runs and the outstanding items due now.
    Status,
    /// Immediate sync (R22) of the last N hours, a date range, and/or the outstanding items.
    Sync {
        #[arg(long, conflicts_with_all = ["from", "to"])]
        hours: Option<u32>,
        /// Window start (ISO date or date-time).
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Window end (exclusive).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Retry every outstanding order and account now.
        #[arg(long)]
        outstanding: bool,
        /// What the sync would do (FNO requests, write-backs, failures); nothing is done.
        #[arg(long)]
        dry_run: bool,
    },
    /// Single-account sync, push only (R23): answers with the task id at once.
    AccountSync {
        /// Salesforce Account Id.
        id: String,
        /// Wait for the outcome (API Gateway gives up after 29 s).
        #[arg(long)]
        wait: bool,
        /// What the sync would do (FNO requests, failures); nothing is done.
        #[arg(long, conflicts_with = "wait")]
        dry_run: bool,
    },
    /// The most recent runs, or one run's progress and result.
    Runs {
        /// A task id: that run only.
        task_id: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// The transaction log (R24), or one entry with its payloads.
    Logs {
        /// A log number (TL-00042): that entry with its request and response.
        log_number: Option<String>,
        #[arg(long)]
        task: Option<String>,
        /// Completed, Failed or Error.
        #[arg(long)]
        status: Option<String>,
        /// Everything about one Salesforce or FNO id, across runs.
        #[arg(long)]
        record: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long)]
        cursor: Option<String>,
        /// CSV instead of JSON.
        #[arg(long)]
        csv: bool,
    },
    /// Orders and accounts not yet in FNO completely.
    Outstanding {
        /// Only those due now.
        #[arg(long)]
        due: bool,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// The scheduled sync: show, pause, resume.
    Schedule {
        #[command(subcommand)]
        action: Option<ScheduleAction>,
    },
    /// The saved connection settings (secrets only as "set").
    Connection,
    /// License information (R26-R32).
    Licenses,
}

#[derive(Subcommand, Debug, Clone, Copy)]
pub enum ScheduleAction {
    Show,
    Pause,
    Resume,
}

/// One admin API request.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
}

impl Call {
    fn get(path: impl Into<String>) -> Self {
        Call {
            method: "GET",
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }
    fn with(mut self, key: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.query.push((key, v.to_string()));
        }
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("--api {0:?} is not an http(s) URL")]
    Url(String),
    #[error("no AWS region: give --region, or set AWS_REGION")]
    NoRegion,
    #[error(
        "no AWS credentials from the standard chain (environment, profile, SSO, instance role)"
    )]
    Credentials(#[source] aws_credential_types::provider::error::CredentialsError),
    #[error("signing the request")]
    Sign(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the admin API could not be reached")]
    Http(#[source] reqwest::Error),
    #[error("the admin API answered {status}: {body}")]
    Refused { status: u16, body: String },
}

/// The request(s) a command makes, in order.
pub fn calls(cmd: &AdminCommand) -> Vec<Call> {
    match cmd {
        AdminCommand::Status => vec![
            Call::get("/schedule"),
            Call::get("/runs").with("limit", Some(5)),
            Call::get("/outstanding")
                .with("due", Some(true))
                .with("limit", Some(20)),
        ],
        AdminCommand::Sync {
            hours,
            from,
            to,
            outstanding,
            dry_run,
        } => {
            let mut body = serde_json::Map::new();
            if let Some(h) = hours {
                body.insert("hours".into(), (*h).into());
            }
            if let (Some(f), Some(t)) = (from, to) {
                body.insert("start".into(), f.clone().into());
                body.insert("end".into(), t.clone().into());
            }
            if *outstanding {
                body.insert("outstanding".into(), true.into());
            }
            if *dry_run {
                body.insert("dry_run".into(), true.into());
            }
            vec![Call {
                method: "POST",
                path: "/sync".into(),
                query: Vec::new(),
                body: Some(body.into()),
            }]
        }
        AdminCommand::AccountSync { id, wait, dry_run } => vec![Call {
            method: "POST",
            path: format!("/accounts/{}/sync", encode_segment(id)),
            query: Vec::new(),
            body: None,
        }
        .with("wait", wait.then_some(true))
        .with("dry_run", dry_run.then_some(true))],
        AdminCommand::Runs {
            task_id: Some(t), ..
        } => {
            vec![Call::get(format!("/runs/{}", encode_segment(t)))]
        }
        AdminCommand::Runs {
            task_id: None,
            limit,
        } => vec![Call::get("/runs").with("limit", *limit)],
        AdminCommand::Logs {
            log_number: Some(n),
            ..
        } => vec![Call::get(format!("/logs/{}", encode_segment(n)))],
        AdminCommand::Logs {
            log_number: None,
            task,
            status,
            record,
            from,
            to,
            limit,
            cursor,
            csv,
        } => vec![Call::get("/logs")
            .with("task", task.as_ref())
            .with("status", status.as_ref())
            .with("record", record.as_ref())
            .with("from", from.as_ref())
            .with("to", to.as_ref())
            .with("limit", *limit)
            .with("cursor", cursor.as_ref())
            .with("format", csv.then_some("csv"))],
        AdminCommand::Outstanding { due, limit } => vec![Call::get("/outstanding")
            .with("due", due.then_some(true))
            .with("limit", *limit)],
        AdminCommand::Schedule { action } => match action {
            None | Some(ScheduleAction::Show) => vec![Call::get("/schedule")],
            Some(a) => vec![Call {
                method: "PUT",
                path: "/schedule".into(),
                query: Vec::new(),
                body: Some(serde_json::json!({"paused": matches!(a, ScheduleAction::Pause)})),
            }],
        },
        AdminCommand::Connection => vec![Call::get("/settings/connection")],
        AdminCommand::Licenses => vec![Call::get("/licenses")],
    }
}

/// A path segment as typed (an id), percent-encoded so it stays one segment.
fn encode_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The region in an execute-api host name, if it is one.
pub fn region_of(api: &url::Url) -> Option<String> {
    let host = api.host_str()?;
    let rest = host.split(".execute-api.").nth(1)?;
    rest.split('.').next().map(str::to_owned)
}

/// A signed client for one API.
pub struct Client {
    base: url::Url,
    region: String,
    credentials: aws_credential_types::Credentials,
    http: reqwest::Client,
}

impl Client {
    /// Credentials from the standard AWS chain; the region from `--region`, the URL or the
    /// AWS configuration.
    pub async fn from_chain(target: &Target) -> Result<Self, AdminError> {
        use aws_credential_types::provider::ProvideCredentials;
        let base = url::Url::parse(target.api.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| AdminError::Url(target.api.clone()))?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let region = target
            .region
            .clone()
            .or_else(|| region_of(&base))
            .or_else(|| sdk.region().map(|r| r.to_string()))
            .ok_or(AdminError::NoRegion)?;
        let provider = sdk.credentials_provider().ok_or(AdminError::Credentials(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "no credentials provider configured",
            ),
        ))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(AdminError::Credentials)?;
        Ok(Client::new(base, region, credentials))
    }

    pub fn new(
        base: url::Url,
        region: String,
        credentials: aws_credential_types::Credentials,
    ) -> Self {
        Client {
            base,
            region,
            credentials,
            http: reqwest::Client::new(),
        }
    }

    /// Sends `call` signed; Ok with the body of a 2xx answer.
    pub async fn send(&self, call: &Call) -> Result<(u16, String), AdminError> {
        let mut url = self.base.clone();
        url.set_path(&format!(
            "{}{}",
            self.base.path().trim_end_matches('/'),
            call.path
        ));
        if !call.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(call.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let body = call
            .body
            .as_ref()
            .map(|b| b.to_string().into_bytes())
            .unwrap_or_default();
        let mut req = http::Request::builder()
            .method(call.method)
            .uri(url.as_str())
            .header("host", host_header(&url))
            .header("accept", "application/json");
        if call.body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let mut req = req.body(body).map_err(|e| AdminError::Sign(Box::new(e)))?;
        self.sign(&mut req)?;
        let req = reqwest::Request::try_from(req).map_err(AdminError::Http)?;
        let res = self.http.execute(req).await.map_err(AdminError::Http)?;
        let status = res.status().as_u16();
        let text = res.text().await.map_err(AdminError::Http)?;
        if status >= 400 {
            return Err(AdminError::Refused { status, body: text });
        }
        Ok((status, text))
    }

    /// SigV4 (service `execute-api`): adds `x-amz-date`, `x-amz-content-sha256` when asked,
    /// `x-amz-security-token` for temporary credentials, and `authorization`.
    fn sign(&self, req: &mut http::Request<Vec<u8>>) -> Result<(), AdminError> {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        let identity = self.credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("execute-api")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| AdminError::Sign(Box::new(e)))?
            .into();
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let uri = req.uri().to_string();
        let signable = SignableRequest::new(
            req.method().as_str(),
            uri.as_str(),
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(req.body()),
        )
        .map_err(|e| AdminError::Sign(Box::new(e)))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| AdminError::Sign(Box::new(e)))?
            .into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }
}

fn host_header(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

/// Runs `cmd`: each call in turn; the answers pretty-printed (CSV as it came).
pub async fn run(client: &Client, cmd: &AdminCommand) -> Result<String, AdminError> {
    let mut out = String::new();
    for call in calls(cmd) {
        let (_, text) = client.send(&call).await?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => {
                out.push_str(&serde_json::to_string_pretty(&v).unwrap_or(text));
                out.push('\n');
            }
            Err(_) => out.push_str(&text),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_their_routes() {
        let c = calls(&AdminCommand::AccountSync {
            id: "001Wk0000000001IAA".into(),
            wait: false,
            dry_run: false,
        });
        assert_eq!(
            (c[0].method, c[0].path.as_str()),
            ("POST", "/accounts/001Wk0000000001IAA/sync")
        );
        let c = calls(&AdminCommand::AccountSync {
            id: "a/b c".into(),
            wait: true,
            dry_run: false,
        });
        assert_eq!(
            c[0].path, "/accounts/a%2Fb%20c/sync",
            "an id stays one segment"
        );
        assert_eq!(c[0].query, vec![("wait", "true".to_owned())]);
        let c = calls(&AdminCommand::AccountSync {
            id: "001Wk0000000001IAA".into(),
            wait: false,
            dry_run: true,
        });
        assert_eq!(c[0].query, vec![("dry_run", "true".to_owned())]);
        let c = calls(&AdminCommand::Sync {
            hours: Some(2),
            from: None,
            to: None,
            outstanding: false,
            dry_run: true,
        });
        assert_eq!(
            c[0].body,
            Some(serde_json::json!({"hours": 2, "dry_run": true}))
        );
        let c = calls(&AdminCommand::Schedule {
            action: Some(ScheduleAction::Pause),
        });
        assert_eq!(c[0].body, Some(serde_json::json!({"paused": true})));
        let c = calls(&AdminCommand::Sync {
            hours: Some(24),
            from: None,
            to: None,
            outstanding: true,
            dry_run: false,
        });
        assert_eq!(
            c[0].body,
            Some(serde_json::json!({"hours": 24, "outstanding": true}))
        );
        assert_eq!(calls(&AdminCommand::Status).len(), 3);
        let u = url::Url::parse("https://abc123.execute-api.eu-west-1.amazonaws.com").unwrap();
        assert_eq!(region_of(&u).as_deref(), Some("eu-west-1"));
        assert_eq!(
            region_of(&url::Url::parse("http://127.0.0.1:9").unwrap()),
            None
        );
    }
}
