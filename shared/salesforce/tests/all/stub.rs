//! Answers the simulator never gives (it behaves): truncated paging, paged child sub-queries,
//! the per-app `Sforce-Limit-Info` form, non-JSON error pages, a composite answer that does
//! not match the request. A few-line HTTP/1.1 server on 127.0.0.1 with canned answers.

use salesforce::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// (path prefix incl. query, status, extra header, body); the first matching route answers.
type Route = (String, u16, Option<String>, String);

struct Stub {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn stub(routes: Vec<Route>) -> Stub {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (b2, s2) = (base.clone(), seen.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let routes = routes.clone();
            let (base, seen) = (b2.clone(), s2.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // head, then as much body as Content-Length says
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&buf).to_string();
                let target = text
                    .lines()
                    .next()
                    .unwrap_or("")
                    .split(' ')
                    .nth(1)
                    .unwrap_or("")
                    .to_owned();
                seen.lock().unwrap().push(target.clone());
                let (status, header, body) = if target == "/services/oauth2/token" {
                    (
                        200,
                        None,
                        json!({"access_token": "00Dstub!AQtoken", "instance_url": base})
                            .to_string(),
                    )
                } else {
                    routes
                        .iter()
                        .find(|(p, ..)| target.starts_with(p.as_str()))
                        .map(|(_, s, h, b)| (*s, h.clone(), b.replace("{base}", &base)))
                        .unwrap_or((404, None, "[]".into()))
                };
                let extra = header.map(|h| format!("{h}\r\n")).unwrap_or_default();
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Stub { base, seen }
}

fn client(s: &Stub) -> SalesforceClient {
    let mut cfg = SalesforceConfig::new(
        &s.base,
        SalesforceAuth::ClientCredentials {
            client_id: "id".into(),
            client_secret: Secret::new("secret"),
        },
    );
    cfg.max_retries = 1;
    cfg.allow_loopback_http = true;
    SalesforceClient::new(cfg)
        .unwrap()
        .with_backoff(std::time::Duration::from_millis(1))
}

fn route(prefix: &str, status: u16, header: Option<&str>, body: Value) -> Route {
    (
        prefix.into(),
        status,
        header.map(str::to_owned),
        body.to_string(),
    )
}

#[tokio::test]
async fn done_false_without_next_records_url_is_malformed_not_a_short_result() {
    let s = stub(vec![route(
        "/services/data/v62.0/query?",
        200,
        None,
        json!({"totalSize": 5, "done": false, "records": [{"Id": "001000000000001AAA"}]}),
    )])
    .await;
    let e = client(&s)
        .query("SELECT Id FROM Account")
        .await
        .unwrap_err();
    match &e {
        SalesforceError::Malformed { what, source } => {
            assert!(
                what.contains("page 1 of `SELECT Id FROM Account`"),
                "{what}"
            );
            assert!(source.to_string().contains("nextRecordsUrl"), "{source}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn paged_child_subqueries_are_completed() {
    let s = stub(vec![
        route(
            "/services/data/v62.0/query?",
            200,
            Some("Sforce-Limit-Info: api-usage=25/5000; per-app-api-usage=17/250(appName=flexbridge)"),
            json!({"totalSize": 1, "done": true, "records": [
                {"Id": "006000000000001AAA", "OpportunityLineItems": {
                    "totalSize": 3, "done": false,
                    "nextRecordsUrl": "/services/data/v62.0/query/01gCHILD-2",
                    "records": [{"Id": "00k000000000001AAA"}, {"Id": "00k000000000002AAA"}]}}
            ]}),
        ),
        route(
            "/services/data/v62.0/query/01gCHILD-2",
            200,
            None,
            json!({"totalSize": 3, "done": true, "records": [{"Id": "00k000000000003AAA"}]}),
        ),
    ])
    .await;
    let c = client(&s);
    let rows = c
        .query("SELECT Id, (SELECT Id FROM OpportunityLineItems) FROM Opportunity")
        .await
        .unwrap();
    let lines = &rows[0]["OpportunityLineItems"];
    assert_eq!(lines["records"].as_array().unwrap().len(), 3);
    assert_eq!(lines["records"][2]["Id"], "00k000000000003AAA");
    assert_eq!(lines["done"], true);
    assert!(lines.get("nextRecordsUrl").is_none());
    assert_eq!(
        c.api_usage(),
        Some(ApiUsage {
            used: 25,
            max: 5000
        })
    );
    assert_eq!(c.api_calls(), 2);
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen[2], "/services/data/v62.0/query/01gCHILD-2", "{seen:?}");
}

#[tokio::test]
async fn an_html_502_is_retried_then_an_api_error_with_the_page_text() {
    let s = stub(vec![(
        "/services/data/v62.0/limits".into(),
        502,
        None,
        "<html>Bad Gateway</html>".into(),
    )])
    .await;
    let c = client(&s);
    let e = c.limits().await.unwrap_err();
    match &e {
        SalesforceError::Api {
            status: 502,
            errors,
        } => {
            assert_eq!(errors[0].error_code, "HTTP_502");
            assert_eq!(errors[0].message, "<html>Bad Gateway</html>");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_retryable());
    assert_eq!(c.api_calls(), 2, "1 + max_retries 1");
}

#[tokio::test]
async fn a_429_is_retried_in_place_and_stays_transient() {
    let s = stub(vec![route(
        "/services/data/v62.0/limits",
        429,
        Some("Retry-After: 1"),
        json!([{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED_RATE"}]),
    )])
    .await;
    let c = client(&s);
    let e = c.limits().await.unwrap_err();
    assert!(
        matches!(e, SalesforceError::Api { status: 429, .. }),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert_eq!(c.api_calls(), 2, "1 + max_retries 1");
}

#[tokio::test]
async fn a_composite_answer_that_does_not_match_the_request_is_malformed() {
    let s = stub(vec![route(
        "/services/data/v62.0/composite/sobjects",
        200,
        None,
        json!([{"id": "001000000000001AAA", "success": true, "errors": []}]),
    )])
    .await;
    let u = |id: &str| RecordUpdate {
        sobject: "Account".into(),
        id: id.into(),
        fields: serde_json::Map::new(),
    };
    let e = client(&s)
        .update_many(&[u("001000000000001AAA"), u("001000000000002AAA")])
        .await
        .unwrap_err();
    match &e {
        SalesforceError::Malformed { what, source } => {
            assert!(what.contains("composite"), "{what}");
            assert!(
                source.to_string().contains("1 results for 2 records"),
                "{source}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn query_all_continues_through_the_query_locator_url() {
    // a queryAll cursor's nextRecordsUrl says /query/; it is resolved against instance_url
    let s = stub(vec![
        route(
            "/services/data/v62.0/queryAll?",
            200,
            None,
            json!({"totalSize": 2, "done": false, "nextRecordsUrl": "/services/data/v62.0/query/01gALL-1",
                   "records": [{"Id": "001000000000001AAA", "IsDeleted": true}]}),
        ),
        route(
            "/services/data/v62.0/query/01gALL-1",
            200,
            None,
            json!({"totalSize": 2, "done": true, "records": [{"Id": "001000000000002AAA", "IsDeleted": false}]}),
        ),
    ])
    .await;
    let rows = client(&s)
        .query_all("SELECT Id, IsDeleted FROM Account")
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["IsDeleted"], true);
}

#[tokio::test]
async fn r25_the_token_only_goes_to_the_instance_origin_never_to_a_foreign_next_records_url() {
    // another server on loopback stands for a foreign host: it must never be called
    let foreign = stub(vec![route(
        "/",
        200,
        None,
        json!({"totalSize": 2, "done": true, "records": []}),
    )])
    .await;
    for next in [
        format!("{}/services/data/v62.0/query/01gX-2", foreign.base),
        format!("//{}/services/data/v62.0/query/01gX-2", &foreign.base[7..]),
    ] {
        let page = json!({"totalSize": 2, "done": false, "nextRecordsUrl": next,
                          "records": [{"Id": "001000000000001AAA"}]});
        let s = stub(vec![route("/services/data/v62.0/query?", 200, None, page)]).await;
        let e = client(&s)
            .query("SELECT Id FROM Account")
            .await
            .unwrap_err();
        assert!(
            matches!(&e, SalesforceError::Malformed { source, .. } if source.to_string().contains("not on the instance's origin")),
            "{e:?}"
        );
    }
    assert!(
        foreign.seen.lock().unwrap().is_empty(),
        "the token went elsewhere"
    );
    // an absolute link on the instance's own origin is followed
    let s = stub(vec![
        route(
            "/services/data/v62.0/query?",
            200,
            None,
            json!({"totalSize": 2, "done": false, "nextRecordsUrl": "{base}/services/data/v62.0/query/01gX-2",
                   "records": [{"Id": "001000000000001AAA"}]}),
        ),
        route(
            "/services/data/v62.0/query/01gX-2",
            200,
            None,
            json!({"totalSize": 2, "done": true, "records": [{"Id": "001000000000002AAA"}]}),
        ),
    ])
    .await;
    assert_eq!(
        client(&s)
            .query("SELECT Id FROM Account")
            .await
            .unwrap()
            .len(),
        2
    );
}
