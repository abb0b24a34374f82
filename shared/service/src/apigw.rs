//! The one place where API Gateway events become [`ApiRequest`]s and [`ApiResponse`]s become
//! API Gateway responses.
//!
//! Every route of template.yaml is an HTTP API (payload format 2.0) route with `AWS_IAM` auth,
//! so the functions receive `ApiGatewayV2httpRequest` events and answer
//! `ApiGatewayV2httpResponse`s (the types `lambda_http` itself wraps). The caller's IAM
//! identity (user ARN) is kept for the audit line of each request; the body never is logged.

use crate::http::{ApiError, ApiRequest, ApiResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use base64::Engine as _;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use tracing::Instrument;

/// An API Gateway HTTP API request as the routes see it.
pub fn to_api_request(event: ApiGatewayV2httpRequest) -> Result<ApiRequest, ApiError> {
    let method = event.request_context.http.method.as_str().to_owned();
    // raw_path is the path as sent (the `$default` stage adds no prefix); fall back to the
    // context's path for events that lack it.
    let mut path = event
        .raw_path
        .clone()
        .or_else(|| event.request_context.http.path.clone())
        .unwrap_or_else(|| "/".to_owned());
    if let Some(stage) = event
        .request_context
        .stage
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "$default")
    {
        // a named stage prefixes the path: /prod/logs → /logs
        let prefix = format!("/{stage}");
        if let Some(rest) = path.strip_prefix(&prefix) {
            if rest.is_empty() || rest.starts_with('/') {
                path = if rest.is_empty() {
                    "/".to_owned()
                } else {
                    rest.to_owned()
                };
            }
        }
    }
    let query = event
        .query_string_parameters
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let body = match event.body {
        None => None,
        Some(b) if event.is_base64_encoded => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|_| ApiError::bad_request("body", "the body is not valid base64"))?;
            Some(
                String::from_utf8(bytes)
                    .map_err(|_| ApiError::bad_request("body", "the body is not UTF-8 JSON"))?,
            )
        }
        Some(b) => Some(b),
    };
    let caller = event
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.iam.as_ref())
        .and_then(|iam| iam.user_arn.clone().or_else(|| iam.caller_id.clone()));
    Ok(ApiRequest {
        method,
        path,
        query,
        body,
        caller,
    })
}

/// An [`ApiResponse`] as API Gateway expects it: JSON body, `no-store` (responses may hold
/// configuration an admin should not find in a cache), scrubbed of every secret this process
/// knows (an upstream error could echo one).
pub fn to_gateway_response(response: ApiResponse) -> ApiGatewayV2httpResponse {
    let redactor = engine::redact::global();
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(response.status);
    let (content_type, text) = match &response.text {
        Some(t) => (t.content_type, redactor.scrub_str(&t.text)),
        None => (
            "application/json",
            redactor.scrub(&response.body).to_string(),
        ),
    };
    out.headers
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    out.headers
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in &response.headers {
        if let Ok(v) = HeaderValue::from_str(&redactor.scrub_str(value)) {
            out.headers.insert(*name, v);
        }
    }
    out.body = Some(Body::Text(text));
    out.is_base64_encoded = false;
    out
}

/// Convert, route with `route`, convert back; errors become their status here. The request
/// runs in an `admin_request` span carrying the task id and account id it concerns (from the
/// path, the query or the answer), so every line logged meanwhile — a client's warning too —
/// says which run and account it belongs to. One INFO line per request: method, path, status
/// and the IAM caller (never the body).
pub async fn serve<F, Fut>(event: ApiGatewayV2httpRequest, route: F) -> ApiGatewayV2httpResponse
where
    F: FnOnce(ApiRequest) -> Fut,
    Fut: std::future::Future<Output = Result<ApiResponse, ApiError>>,
{
    let request_id = event.request_context.request_id.clone().unwrap_or_default();
    let response = match to_api_request(event) {
        Err(e) => e.into_response(),
        Ok(req) => {
            let (method, path, caller) = (req.method.clone(), req.path.clone(), req.caller.clone());
            let span = tracing::info_span!(
                "admin_request",
                %request_id,
                task_id = tracing::field::Empty,
                account_id = tracing::field::Empty,
            );
            // only well-formed values: the query and path are the caller's text
            if let Some(task) = req.query.get("task").filter(|t| is_task_id(t)) {
                span.record("task_id", task.as_str());
            }
            if let ["accounts", id, ..] = req.segments().as_slice() {
                if crate::sqs::is_salesforce_id(id) {
                    span.record("account_id", *id);
                }
            }
            let response = match route(req).instrument(span.clone()).await {
                Ok(r) => r,
                Err(e) => e.into_response(),
            };
            if let Some(task) = ["taskId", "task_id"]
                .iter()
                .find_map(|k| response.body.get(*k).and_then(serde_json::Value::as_str))
                .filter(|t| is_task_id(t))
            {
                span.record("task_id", task);
            }
            span.in_scope(|| {
                tracing::info!(
                    %method,
                    %path,
                    status = response.status,
                    caller = caller.as_deref().unwrap_or("-"),
                    "admin API request"
                )
            });
            response
        }
    };
    to_gateway_response(response)
}

/// A task id's shape (`sched-20261120T090000Z-1a2b3c4d`): letters, digits and dashes.
fn is_task_id(t: &str) -> bool {
    (1..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> ApiGatewayV2httpRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn http_api_v2_event_with_iam_context_becomes_an_api_request() {
        let e = event(serde_json::json!({
            "version": "2.0", "routeKey": "GET /logs", "rawPath": "/logs",
            "rawQueryString": "status=Failed&task=t-1",
            "headers": {"content-type": "application/json"},
            "queryStringParameters": {"status": "Failed", "task": "t-1"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
                "http": {"method": "GET", "path": "/logs", "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "awscurl"},
                "requestId": "r-1", "routeKey": "GET /logs", "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1767225600000_i64,
                "authorizer": {"iam": {"accessKey": "AKIA", "accountId": "123456789012", "callerId": "AIDA",
                    "userArn": "arn:aws:iam::123456789012:user/admin", "userId": "AIDA"}}
            },
            "isBase64Encoded": false
        }));
        let r = to_api_request(e).unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/logs"));
        assert_eq!(r.query.get("status").map(String::as_str), Some("Failed"));
        assert_eq!(
            r.caller.as_deref(),
            Some("arn:aws:iam::123456789012:user/admin")
        );
    }

    #[test]
    fn base64_bodies_and_named_stages_are_undone() {
        let e = event(serde_json::json!({
            "version": "2.0", "rawPath": "/prod/sync",
            "requestContext": {"http": {"method": "POST", "path": "/prod/sync"}, "stage": "prod"},
            "body": base64::engine::general_purpose::STANDARD.encode(r#"{"hours":3}"#),
            "isBase64Encoded": true
        }));
        let r = to_api_request(e).unwrap();
        assert_eq!(r.path, "/sync");
        assert_eq!(r.body.as_deref(), Some(r#"{"hours":3}"#));
        let bad = event(serde_json::json!({
            "rawPath": "/sync", "requestContext": {"http": {"method": "POST"}},
            "body": "%%%", "isBase64Encoded": true
        }));
        assert_eq!(to_api_request(bad).unwrap_err().status(), 400);
    }

    #[test]
    fn responses_are_json_and_not_cached() {
        let r = to_gateway_response(ApiResponse::json(202, serde_json::json!({"taskId": "t"})));
        assert_eq!(r.status_code, 202);
        assert_eq!(r.headers[CONTENT_TYPE], "application/json");
        assert_eq!(r.headers[CACHE_CONTROL], "no-store");
        match r.body {
            Some(Body::Text(t)) => assert_eq!(t, r#"{"taskId":"t"}"#),
            other => panic!("{other:?}"),
        }
    }
}
