//! The production Salesforce client against the org simulator (real REST on 127.0.0.1): both
//! OAuth flows and their refusals, session expiry and re-authentication, paging, sub-queries,
//! queryAll, describe, limits, single and composite updates, each injected fault kind, the
//! quota, the API usage counters, and secrecy of every credential.

use salesforce::*;
use serde_json::{json, Map, Value};
use sim_salesforce::{RunningSim, SalesforceSim, SimOptions};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "3MVG9-flexbridge-test-app";
const CLIENT_SECRET: &str = "cs-Xq7!never-print-9931";
const USERNAME: &str = "integration@example.com";
const KEY_PEM: &str = include_str!("../data/jwt_key.pem");
const CERT_PEM: &str = include_str!("../data/jwt_cert.pem");
const OTHER_KEY_PEM: &str = include_str!("../data/other_key.pem");

const ACME: &str = "001000000000001AAA";
const GLOBEX: &str = "001000000000002AAA";
const GONE: &str = "001000000000003AAA";
const OPP_WON: &str = "006000000000001AAA";
const OPP_OPEN: &str = "006000000000002AAA";
const OLI_1: &str = "00k000000000001AAA";
const OLI_2: &str = "00k000000000002AAA";
const PROD: &str = "01t000000000001AAA";

fn fixture() -> Value {
    json!({
        "now": "2026-11-01T09:00:00Z",
        "salesforce": {
            "credentials": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                            "username": USERNAME, "certificate": CERT_PEM},
            "Account": [
                {"Id": ACME, "Name": "Acme Corp", "Type": "Customer - Direct", "BillingCity": "Austin"},
                {"Id": GLOBEX, "Name": "Globex", "Type": "Channel Partner / Reseller"},
                {"Id": GONE, "Name": "Deleted Inc", "IsDeleted": true}
            ],
            "Contact": [
                {"Id": "003000000000001AAA", "AccountId": ACME, "FirstName": "Grace", "LastName": "Hopper",
                 "Email": "grace@acme.example"}
            ],
            "Product2": [
                {"Id": PROD, "Name": "AM Product", "ProductCode": "AM_SF01", "IsActive": true,
                 "FNO_Include_In_Sync__c": true}
            ],
            "Opportunity": [
                {"Id": OPP_WON, "AccountId": ACME, "Name": "Acme Q4", "StageName": "Closed Won",
                 "CloseDate": "2026-10-30", "Amount": 1200.0},
                {"Id": OPP_OPEN, "AccountId": GLOBEX, "Name": "Globex pilot", "StageName": "Prospecting",
                 "CloseDate": "2026-12-15"}
            ],
            "OpportunityLineItem": [
                {"Id": OLI_1, "OpportunityId": OPP_WON, "Product2Id": PROD, "Quantity": 10.0, "UnitPrice": 100.0},
                {"Id": OLI_2, "OpportunityId": OPP_WON, "Product2Id": PROD, "Quantity": 2.0, "UnitPrice": 100.0}
            ]
        }
    })
}

fn account_id(n: usize) -> String {
    format!("001{n:012}BBB")
}

/// The fixture plus `n` generated Accounts (for paging and composite chunking).
fn big_fixture(n: usize) -> Value {
    let mut fx = fixture();
    let accounts = fx["salesforce"]["Account"].as_array_mut().unwrap();
    for i in 0..n {
        accounts.push(json!({"Id": account_id(i), "Name": format!("Bulk {i:04}")}));
    }
    fx
}

/// Every log line of this test binary (all tests), at TRACE: the secrecy test reads it.
static LOGS: std::sync::OnceLock<Buf> = std::sync::OnceLock::new();

fn capture_logs() -> Buf {
    LOGS.get_or_init(|| {
        let buf = Buf::default();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(buf.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(sub).expect("one global subscriber");
        buf
    })
    .clone()
}

async fn sim_of(fx: &Value, opts: SimOptions) -> RunningSim {
    capture_logs();
    SalesforceSim::start(fx, opts).await.expect("sim starts")
}

async fn sim_with(opts: SimOptions) -> RunningSim {
    sim_of(&fixture(), opts).await
}

async fn sim() -> RunningSim {
    sim_with(SimOptions::default()).await
}

fn opts(f: impl FnOnce(&mut SimOptions)) -> SimOptions {
    let mut o = SimOptions::default();
    f(&mut o);
    o
}

fn cc_config(sim: &RunningSim, secret: &str) -> SalesforceConfig {
    let mut c = SalesforceConfig::new(
        sim.base_url(),
        SalesforceAuth::ClientCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(secret),
        },
    );
    c.max_retries = 2;
    c.timeout_secs = 10;
    c.allow_loopback_http = true; // the simulator on 127.0.0.1 (code-only switch)
    c
}

fn jwt_config(sim: &RunningSim, key: &str, username: &str, aud: Option<&str>) -> SalesforceConfig {
    let mut c = SalesforceConfig::new(
        sim.base_url(),
        SalesforceAuth::JwtBearer {
            client_id: CLIENT_ID.into(),
            username: username.into(),
            private_key_pem: Secret::new(key),
            audience: aud.map(str::to_owned),
        },
    );
    c.max_retries = 2;
    c.timeout_secs = 10;
    c.allow_loopback_http = true; // the simulator on 127.0.0.1 (code-only switch)
    c
}

fn build(cfg: SalesforceConfig) -> SalesforceClient {
    SalesforceClient::new(cfg)
        .expect("client")
        .with_backoff(Duration::from_millis(5))
}

fn client(sim: &RunningSim) -> SalesforceClient {
    build(cc_config(sim, CLIENT_SECRET))
}

fn calls(sim: &RunningSim, kind: &str) -> u64 {
    sim.calls().get(kind).copied().unwrap_or(0)
}

/// Requests the sim received that were not token requests (quota-counted or not).
fn data_requests(sim: &RunningSim) -> u64 {
    sim.calls()
        .iter()
        .filter(|(k, _)| k.as_str() != "token")
        .map(|(_, n)| n)
        .sum()
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().expect("object").clone()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["Id"].as_str().expect("Id").to_owned())
        .collect()
}

// ------------------------------------------------------------------ OAuth

#[tokio::test]
async fn client_credentials_login_then_query() {
    let sim = sim().await;
    let c = client(&sim);
    c.authenticate().await.expect("login");
    assert_eq!(calls(&sim, "token"), 1);
    assert_eq!(c.api_calls(), 0, "the token call is not an API call");
    let rows = c
        .query("SELECT Id, Name FROM Account ORDER BY Name")
        .await
        .unwrap();
    assert_eq!(ids(&rows), vec![ACME, GLOBEX]);
    assert_eq!(rows[0]["Name"], "Acme Corp");
    assert_eq!(rows[0]["attributes"]["type"], "Account");
    assert_eq!(calls(&sim, "token"), 1, "the token is cached");
    // a clone shares the token and counters
    let c2 = c.clone();
    c2.query("SELECT Id FROM Contact").await.unwrap();
    assert_eq!(calls(&sim, "token"), 1);
    assert_eq!(c.api_calls(), 2);
    // authenticate() forces a new token
    c.authenticate().await.unwrap();
    assert_eq!(calls(&sim, "token"), 2);
}

#[tokio::test]
async fn jwt_bearer_login_with_an_rsa_key_then_query() {
    let sim = sim().await;
    let c = build(jwt_config(&sim, KEY_PEM, USERNAME, None));
    let rows = c
        .query("SELECT Id FROM Opportunity ORDER BY Name")
        .await
        .unwrap();
    assert_eq!(ids(&rows), vec![OPP_WON, OPP_OPEN]);
    assert_eq!(calls(&sim, "token"), 1);
    let ex = c.last_exchange().unwrap();
    assert_eq!(ex.status, Some(200));
    // explicit audience: the production login host is accepted as aud as well
    let c = build(jwt_config(
        &sim,
        KEY_PEM,
        USERNAME,
        Some("https://login.salesforce.com"),
    ));
    c.authenticate().await.expect("aud = login.salesforce.com");
}

#[tokio::test]
async fn token_refusals_are_auth_errors_and_no_data_call_is_made() {
    let sim = sim().await;
    let cases: Vec<(SalesforceConfig, &str, &str)> = vec![
        (
            cc_config(&sim, "wrong-secret-0000"),
            "invalid_client",
            "secret",
        ),
        (
            {
                let mut c = cc_config(&sim, CLIENT_SECRET);
                c.auth = SalesforceAuth::ClientCredentials {
                    client_id: "3MVG9-unknown".into(),
                    client_secret: Secret::new(CLIENT_SECRET),
                };
                c
            },
            "invalid_client_id",
            "client id",
        ),
        (
            jwt_config(&sim, OTHER_KEY_PEM, USERNAME, None),
            "invalid_grant",
            "key the org does not know",
        ),
        (
            jwt_config(&sim, KEY_PEM, "someone-else@example.com", None),
            "invalid_grant",
            "username",
        ),
        (
            jwt_config(&sim, KEY_PEM, USERNAME, Some("https://evil.example.com")),
            "invalid_grant",
            "audience",
        ),
    ];
    for (cfg, code, what) in cases {
        let c = build(cfg);
        let e = c.query("SELECT Id FROM Account").await.unwrap_err();
        match &e {
            SalesforceError::Auth { error, .. } => assert_eq!(error, code, "{what}: {e}"),
            other => panic!("{what}: expected Auth, got {other:?}"),
        }
        assert!(!e.is_retryable() && !e.is_quota(), "{what}");
        assert_eq!(c.api_calls(), 0, "{what}");
        let ex = c.last_exchange().expect("token exchange kept");
        assert_eq!(ex.status, Some(400), "{what}");
        assert!(ex.url.ends_with("/services/oauth2/token"));
    }
    let e = build(jwt_config(
        &sim,
        KEY_PEM,
        USERNAME,
        Some("https://evil.example.com"),
    ))
    .authenticate()
    .await
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Salesforce refused the login: invalid_grant: audience is invalid"
    );
    assert_eq!(data_requests(&sim), 0, "no data call after a refused login");
}

#[tokio::test]
async fn jwt_bearer_is_refused_when_the_org_has_no_certificate() {
    let mut fx = fixture();
    fx["salesforce"]["credentials"]
        .as_object_mut()
        .unwrap()
        .remove("certificate");
    let sim = sim_of(&fx, SimOptions::default()).await;
    let e = build(jwt_config(&sim, KEY_PEM, USERNAME, None))
        .authenticate()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SalesforceError::Auth { error, .. } if error == "invalid_grant"),
        "{e:?}"
    );
}

#[tokio::test]
async fn config_is_checked_before_any_call() {
    let sim = sim().await;
    let mut bad_key = jwt_config(
        &sim,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        USERNAME,
        None,
    );
    bad_key.max_retries = 0;
    assert!(matches!(
        SalesforceClient::new(bad_key),
        Err(SalesforceError::Config(_))
    ));
    let mut c = cc_config(&sim, CLIENT_SECRET);
    c.batch_size = Some(50);
    let e = SalesforceClient::new(c).unwrap_err();
    assert!(e.to_string().contains("batchSize 50"), "{e}");
    let mut c = cc_config(&sim, CLIENT_SECRET);
    c.login_url = "not a url".into();
    assert!(matches!(
        SalesforceClient::new(c),
        Err(SalesforceError::Config(_))
    ));
    let c = cc_config(&sim, "");
    assert!(matches!(
        SalesforceClient::new(c),
        Err(SalesforceError::Config(_))
    ));
    assert_eq!(calls(&sim, "token"), 0);
}

// ------------------------------------------------------------------ sessions

#[tokio::test]
async fn an_expired_token_is_reminted_once_and_the_call_succeeds() {
    let sim = sim_with(opts(|o| o.token_ttl = Duration::from_millis(1000))).await;
    let c = client(&sim);
    c.query("SELECT Id FROM Account").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rows = c
        .query("SELECT Id FROM Account")
        .await
        .expect("re-auth, then success");
    assert_eq!(rows.len(), 2);
    assert_eq!(calls(&sim, "token"), 2);
    assert_eq!(calls(&sim, "query"), 3, "first, the 401, the re-sent call");
    assert_eq!(c.api_calls(), 3);
    assert_eq!(
        sim.api_calls(),
        2,
        "the 401 does not count against the quota"
    );
}

#[tokio::test]
async fn expire_session_after_n_calls_reauthenticates_every_n_calls() {
    let sim = sim_with(opts(|o| o.expire_session_after = Some(2))).await;
    let c = client(&sim);
    for _ in 0..5 {
        c.query("SELECT Id FROM Account").await.unwrap();
    }
    // calls 1,2 on token 1; 401 + call 3, 4 on token 2; 401 + call 5 on token 3
    assert_eq!(calls(&sim, "token"), 3);
    assert_eq!(sim.api_calls(), 5);
    assert_eq!(c.api_calls(), 7);
    assert_eq!(c.api_calls(), data_requests(&sim));
}

#[tokio::test]
async fn a_session_refused_right_after_reauth_is_session_expired() {
    let sim = sim_with(opts(|o| o.expire_session_after = Some(0))).await;
    let c = client(&sim);
    let e = c.query("SELECT Id FROM Account").await.unwrap_err();
    assert!(matches!(e, SalesforceError::SessionExpired), "{e:?}");
    assert_eq!(
        e.kind(),
        ErrorKind::Permanent,
        "not retried, not retried later"
    );
    assert_eq!(calls(&sim, "token"), 2, "exactly one re-auth");
    assert_eq!(calls(&sim, "query"), 2, "exactly one re-send");
    assert_eq!(c.last_exchange().unwrap().status, Some(401));
}

// ------------------------------------------------------------------ queries

#[tokio::test]
async fn query_pages_through_next_records_url_with_batch_size() {
    let sim = sim_of(&big_fixture(450), SimOptions::default()).await;
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.batch_size = Some(200);
    let c = build(cfg);
    let rows = c
        .query("SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk%' ORDER BY Name")
        .await
        .unwrap();
    assert_eq!(rows.len(), 450);
    let want: Vec<String> = (0..450).map(account_id).collect();
    assert_eq!(ids(&rows), want, "every record once, in order");
    assert_eq!(calls(&sim, "query"), 3, "200 + 200 + 50");
    let last = c.last_exchange().unwrap();
    assert!(
        last.url.contains("/services/data/v62.0/query/"),
        "{}",
        last.url
    );
    let body = last.response_body.unwrap();
    assert_eq!(body["totalSize"], 450, "totalSize is the whole query's");
    assert_eq!(body["done"], true);

    // without a batch size the sim's page cap decides; short pages are followed too
    sim.set_options(opts(|o| o.max_batch_size = 7));
    let c = client(&sim);
    let before = calls(&sim, "query");
    let rows = c
        .query("SELECT Id FROM Account WHERE Name LIKE 'Bulk 00%'")
        .await
        .unwrap();
    assert_eq!(rows.len(), 100);
    assert_eq!(calls(&sim, "query") - before, 15, "ceil(100 / 7) pages");
}

#[tokio::test]
async fn soql_is_sent_url_encoded_as_q() {
    let sim = sim().await;
    let c = client(&sim);
    let rows = c
        .query("SELECT Id FROM Account WHERE Name = 'Acme Corp' AND BillingCity IN ('Austin', 'Paris & Co+1')")
        .await
        .unwrap();
    assert_eq!(ids(&rows), vec![ACME]);
    let url = c.last_exchange().unwrap().url;
    assert!(url.contains("/query?q=SELECT+Id+FROM+Account"), "{url}");
    assert!(
        url.contains("%26") && url.contains("%2B"),
        "& and + encoded: {url}"
    );
    let rows = c
        .query("SELECT Id FROM Account WHERE LastModifiedDate > 2020-01-01T00:00:00+00:00")
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "a +hh:mm date-time literal arrives intact");
}

#[tokio::test]
async fn child_subqueries_and_parent_fields_come_back_nested() {
    let sim = sim().await;
    let c = client(&sim);
    let rows = c
        .query(
            "SELECT Id, Name, Account.Name, (SELECT Id, Quantity, Product2.ProductCode FROM OpportunityLineItems ORDER BY Quantity) \
             FROM Opportunity ORDER BY Name",
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let won = &rows[0];
    assert_eq!(won["Id"], OPP_WON);
    assert_eq!(won["Account"]["Name"], "Acme Corp");
    assert_eq!(won["Account"]["attributes"]["type"], "Account");
    let lines = &won["OpportunityLineItems"];
    assert_eq!(lines["totalSize"], 2);
    assert_eq!(lines["done"], true);
    let recs = lines["records"].as_array().unwrap();
    assert_eq!(ids(recs), vec![OLI_2, OLI_1]);
    assert_eq!(recs[0]["Product2"]["ProductCode"], "AM_SF01");
    assert_eq!(
        rows[1]["OpportunityLineItems"],
        Value::Null,
        "no children → null"
    );
}

#[tokio::test]
async fn query_all_includes_soft_deleted_rows() {
    let sim = sim().await;
    let c = client(&sim);
    let live = c.query("SELECT Id FROM Account").await.unwrap();
    assert!(!ids(&live).contains(&GONE.to_owned()));
    let all = c
        .query_all("SELECT Id, IsDeleted FROM Account ORDER BY Name")
        .await
        .unwrap();
    let gone = all.iter().find(|r| r["Id"] == GONE).expect("deleted row");
    assert_eq!(gone["IsDeleted"], true);
    assert_eq!(calls(&sim, "queryAll"), 1);
    assert!(c.last_exchange().unwrap().url.contains("/queryAll?q="));
}

#[tokio::test]
async fn query_as_deserialises_each_record_and_names_a_bad_one() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Line {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Quantity")]
        quantity: f64,
    }
    let sim = sim().await;
    let c = client(&sim);
    let lines: Vec<Line> = c
        .query_as("SELECT Id, Quantity FROM OpportunityLineItem ORDER BY Quantity DESC")
        .await
        .unwrap();
    assert_eq!(
        lines,
        vec![
            Line {
                id: OLI_1.into(),
                quantity: 10.0
            },
            Line {
                id: OLI_2.into(),
                quantity: 2.0
            }
        ]
    );
    let e = c
        .query_as::<Line>("SELECT Id FROM OpportunityLineItem ORDER BY Quantity DESC")
        .await
        .unwrap_err();
    match &e {
        SalesforceError::Malformed { what, .. } => {
            assert!(what.contains(OLI_1), "names the record: {what}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_soql_is_an_api_error_with_salesforce_codes() {
    let sim = sim().await;
    let c = client(&sim);
    let e = c
        .query("SELECT NoSuchField__c FROM Account")
        .await
        .unwrap_err();
    match &e {
        SalesforceError::Api { status, errors } => {
            assert_eq!(*status, 400);
            assert_eq!(errors[0].error_code, "INVALID_FIELD", "{e}");
        }
        other => panic!("{other:?}"),
    }
    let e = c.query("SELEKT Id FROM Account").await.unwrap_err();
    assert!(
        matches!(&e, SalesforceError::Api { errors, .. } if errors[0].error_code == "MALFORMED_QUERY"),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert_eq!(calls(&sim, "query"), 2, "client errors are not retried");
}

// ------------------------------------------------------------------ metadata

#[tokio::test]
async fn describe_and_limits() {
    let sim = sim_with(opts(|o| o.api_usage_start = 100)).await;
    let c = client(&sim);
    let d = c.describe("Opportunity").await.unwrap();
    assert_eq!(d.name, "Opportunity");
    let stage = d.field("StageName").unwrap();
    assert_eq!(stage.field_type, "picklist");
    assert!(stage.picklist_values.contains(&"Closed Won".to_owned()));
    assert!(!stage.nillable);
    let acc = d.field("AccountId").unwrap();
    assert_eq!(acc.field_type, "reference");
    assert_eq!(acc.reference_to, vec!["Account"]);
    assert_eq!(acc.relationship_name.as_deref(), Some("Account"));
    assert!(!d.field("IsWon").unwrap().updateable);
    assert!(d.field("FNO_Entitlement_ID__c").unwrap().updateable);
    let e = c.describe("NoSuchThing__c").await.unwrap_err();
    assert!(
        matches!(&e, SalesforceError::Api { status, .. } if (400..500).contains(status)),
        "{e:?}"
    );
    assert!(matches!(
        c.describe("../limits").await,
        Err(SalesforceError::Config(_))
    ));

    let l = c.limits().await.unwrap();
    assert_eq!(l["DailyApiRequests"]["Max"], 15000);
    let remaining = l["DailyApiRequests"]["Remaining"].as_u64().unwrap();
    assert_eq!(
        remaining,
        15000 - 103,
        "100 spent before, describe ×2 and limits"
    );
    assert_eq!(calls(&sim, "describe"), 2);
    assert_eq!(calls(&sim, "limits"), 1);
}

// ------------------------------------------------------------------ writes

#[tokio::test]
async fn single_update_is_a_patch_answered_204() {
    let sim = sim().await;
    let c = client(&sim);
    c.update(
        "Opportunity",
        OPP_WON,
        &fields(json!({"FNO_Entitlement_ID__c": "ENT-0001"})),
    )
    .await
    .unwrap();
    let ex = c.last_exchange().unwrap();
    assert_eq!(ex.method, "PATCH");
    assert_eq!(ex.status, Some(204));
    assert!(ex.url.ends_with(&format!(
        "/services/data/v62.0/sobjects/Opportunity/{OPP_WON}"
    )));
    assert_eq!(
        ex.request_body,
        Some(json!({"FNO_Entitlement_ID__c": "ENT-0001"}))
    );
    assert_eq!(ex.response_body, None, "204: no body");
    assert_eq!(
        sim.record("Opportunity", OPP_WON).unwrap()["FNO_Entitlement_ID__c"],
        "ENT-0001"
    );
    assert_eq!(calls(&sim, "sobject_patch"), 1);

    let e = c
        .update("Opportunity", OPP_WON, &fields(json!({"IsWon": false})))
        .await
        .unwrap_err();
    match &e {
        SalesforceError::Api {
            status: 400,
            errors,
        } => {
            assert_eq!(errors[0].error_code, "INVALID_FIELD_FOR_INSERT_UPDATE");
            assert_eq!(errors[0].fields, vec!["IsWon"]);
        }
        other => panic!("{other:?}"),
    }
    let e = c
        .update("Opportunity", "bad/../id", &Map::new())
        .await
        .unwrap_err();
    assert!(matches!(e, SalesforceError::Config(_)), "{e:?}");
    assert_eq!(calls(&sim, "sobject_patch"), 2, "a bad id is never sent");
}

#[tokio::test]
async fn composite_update_of_450_records_in_three_chunks_with_a_per_record_failure() {
    let sim = sim_of(&big_fixture(450), SimOptions::default()).await;
    let c = client(&sim);
    let mut updates: Vec<RecordUpdate> = (0..450)
        .map(|i| RecordUpdate {
            sobject: "Account".into(),
            id: account_id(i),
            fields: fields(json!({"FNO_Account_ID__c": format!("FNO-{i}")})),
        })
        .collect();
    // record 250 (second chunk) writes a read-only field; record 300 does not exist
    updates[250]
        .fields
        .insert("CreatedDate".into(), json!("2020-01-01T00:00:00.000+0000"));
    updates[300].id = "001999999999999ZZZ".into();
    let results = c.update_many(&updates).await.unwrap();
    assert_eq!(results.len(), 450);
    assert_eq!(calls(&sim, "composite"), 3, "200 + 200 + 50");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.id, updates[i].id, "result {i} mapped back by position");
        if i == 250 || i == 300 {
            assert!(!r.success, "record {i}");
            assert!(!r.errors.is_empty());
        } else {
            assert!(r.success && r.errors.is_empty(), "record {i}: {r:?}");
        }
    }
    assert_eq!(
        results[250].errors[0].status_code,
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    );
    assert_eq!(results[250].errors[0].fields, vec!["CreatedDate"]);
    assert_eq!(
        sim.record("Account", &account_id(449)).unwrap()["FNO_Account_ID__c"],
        "FNO-449"
    );
    assert_eq!(
        sim.record("Account", &account_id(250))
            .unwrap()
            .get("FNO_Account_ID__c"),
        None,
        "the failed record is not written (allOrNone=false keeps the others)"
    );
    let ex = c.last_exchange().unwrap();
    let sent = ex.request_body.unwrap();
    assert_eq!(sent["allOrNone"], false);
    assert_eq!(sent["records"].as_array().unwrap().len(), 50);
    assert_eq!(sent["records"][0]["attributes"]["type"], "Account");
    assert_eq!(sent["records"][0]["id"], account_id(400));
    assert!(ex.url.ends_with("/services/data/v62.0/composite/sobjects"));
    assert!(c.update_many(&[]).await.unwrap().is_empty());
    assert_eq!(calls(&sim, "composite"), 3, "nothing to send, nothing sent");
}

#[tokio::test]
async fn composite_update_mixes_types() {
    let sim = sim().await;
    let c = client(&sim);
    let results = c
        .update_many(&[
            RecordUpdate {
                sobject: "Opportunity".into(),
                id: OPP_WON.into(),
                fields: fields(json!({"FNO_Entitlement_ID__c": "ENT-9"})),
            },
            RecordUpdate {
                sobject: "OpportunityLineItem".into(),
                id: OLI_1.into(),
                fields: fields(json!({"Description": "activation abc-123"})),
            },
            RecordUpdate {
                sobject: "Account".into(),
                id: ACME.into(),
                fields: fields(json!({"FNO_Account_ID__c": "ACC-1"})),
            },
        ])
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.success), "{results:?}");
    assert_eq!(
        sim.record("OpportunityLineItem", OLI_1).unwrap()["Description"],
        "activation abc-123"
    );
    assert_eq!(
        sim.record("Account", ACME).unwrap()["FNO_Account_ID__c"],
        "ACC-1"
    );
}

// ------------------------------------------------------------------ faults

#[tokio::test]
async fn http_500s_are_retried_then_succeed() {
    let sim = sim_with(opts(|o| {
        o.http_500_rate = 0.5;
        o.seed = 3;
    }))
    .await;
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.max_retries = 10;
    let c = build(cfg);
    for _ in 0..10 {
        assert_eq!(c.query("SELECT Id FROM Account").await.unwrap().len(), 2);
    }
    c.update("Account", ACME, &fields(json!({"BillingCity": "Dallas"})))
        .await
        .expect("PATCH retried too");
    assert!(
        calls(&sim, "query") > 10,
        "some 500s were retried: {:?}",
        sim.calls()
    );
    assert_eq!(c.api_calls(), sim.api_calls());
    assert_eq!(
        sim.record("Account", ACME).unwrap()["BillingCity"],
        "Dallas"
    );
}

#[tokio::test]
async fn http_500s_beyond_the_retry_budget_are_an_error() {
    let sim = sim_with(opts(|o| o.http_500_rate = 1.0)).await;
    let c = client(&sim); // max_retries 2
    let e = c.query("SELECT Id FROM Account").await.unwrap_err();
    match &e {
        SalesforceError::Api {
            status: 500,
            errors,
        } => {
            assert_eq!(errors[0].error_code, "UNKNOWN_EXCEPTION")
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_retryable() && !e.is_quota());
    assert_eq!(calls(&sim, "query"), 3, "1 + 2 retries");
    assert_eq!(c.api_calls(), 3);
    let e = c
        .update("Account", ACME, &fields(json!({"BillingCity": "X"})))
        .await
        .unwrap_err();
    assert!(matches!(e, SalesforceError::Api { status: 500, .. }));
    assert_eq!(calls(&sim, "sobject_patch"), 3);
}

#[tokio::test]
async fn timeouts_are_retried_and_beyond_the_budget_are_transport_errors() {
    let sim = sim_with(opts(|o| {
        o.timeout_rate = 1.0;
        o.timeout_delay = Duration::from_secs(3);
        o.fault_endpoints = vec!["query".into()];
    }))
    .await;
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.max_retries = 1;
    let c = build(cfg).with_timeout(Duration::from_millis(300));
    let t = Instant::now();
    let e = c.query("SELECT Id FROM Account").await.unwrap_err();
    match &e {
        SalesforceError::Transport { source } => assert!(source.is_timeout(), "{source:?}"),
        other => panic!("{other:?}"),
    }
    assert!(e.is_retryable());
    assert_eq!(calls(&sim, "query"), 2);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "the client gave up on its own timeout"
    );
    // other endpoints are not faulted
    c.describe("Account").await.unwrap();

    // a sim that answers 503 after its delay (shorter than the client's timeout) is a 5xx: retried
    sim.set_options(opts(|o| {
        o.timeout_rate = 0.5;
        o.timeout_delay = Duration::from_millis(50);
        o.seed = 11;
    }));
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.max_retries = 10;
    let c = build(cfg);
    let before = calls(&sim, "query");
    for _ in 0..6 {
        c.query("SELECT Id FROM Account").await.unwrap();
    }
    assert!(calls(&sim, "query") - before > 6, "{:?}", sim.calls());
}

#[tokio::test]
async fn timeouts_recovered_by_retries() {
    let sim = sim_with(opts(|o| {
        o.timeout_rate = 0.4;
        o.timeout_delay = Duration::from_secs(2);
        o.seed = 5;
    }))
    .await;
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.max_retries = 10;
    let c = build(cfg).with_timeout(Duration::from_millis(250));
    for _ in 0..5 {
        c.query("SELECT Id FROM Account")
            .await
            .expect("retried past the timeouts");
    }
    assert!(calls(&sim, "query") > 5, "{:?}", sim.calls());
}

#[tokio::test]
async fn quota_exhausted_is_limit_exceeded_at_once_and_stops() {
    let sim = sim_with(opts(|o| {
        o.daily_api_limit = 15000;
        o.api_usage_start = 14998;
    }))
    .await;
    let c = client(&sim);
    c.query("SELECT Id FROM Account").await.unwrap();
    assert_eq!(
        c.api_usage(),
        Some(ApiUsage {
            used: 14999,
            max: 15000
        })
    );
    c.query("SELECT Id FROM Account").await.unwrap();
    assert_eq!(
        c.api_usage(),
        Some(ApiUsage {
            used: 15000,
            max: 15000
        })
    );
    let e = c.query("SELECT Id FROM Account").await.unwrap_err();
    match &e {
        SalesforceError::LimitExceeded { message } => {
            assert!(
                message.contains("TotalRequests Limit exceeded"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_quota() && !e.is_retryable());
    assert_eq!(
        calls(&sim, "query"),
        3,
        "no retry after REQUEST_LIMIT_EXCEEDED"
    );
    assert_eq!(c.last_exchange().unwrap().status, Some(403));

    // a multi-chunk composite stops at the first refused chunk
    let updates: Vec<RecordUpdate> = (0..450)
        .map(|i| RecordUpdate {
            sobject: "Account".into(),
            id: account_id(i),
            fields: Map::new(),
        })
        .collect();
    let e = c.update_many(&updates).await.unwrap_err();
    assert!(e.is_quota());
    assert_eq!(calls(&sim, "composite"), 1, "later chunks are not sent");
}

#[tokio::test]
async fn api_usage_and_api_calls_match_the_org() {
    let sim = sim_of(
        &big_fixture(30),
        opts(|o| {
            o.api_usage_start = 100;
            o.max_batch_size = 10;
        }),
    )
    .await;
    let c = client(&sim);
    assert_eq!(c.api_usage(), None, "nothing seen yet");
    c.authenticate().await.unwrap();
    assert_eq!(c.api_usage(), None, "the token endpoint reports no usage");
    c.query("SELECT Id FROM Account").await.unwrap(); // 33 rows → 4 pages
    assert_eq!(
        c.api_usage(),
        Some(ApiUsage {
            used: 104,
            max: 15000
        })
    );
    c.query_all("SELECT Id FROM Account").await.unwrap(); // 4 pages
    c.describe("Account").await.unwrap();
    c.limits().await.unwrap();
    c.update("Account", ACME, &fields(json!({"BillingCity": "Reno"})))
        .await
        .unwrap();
    c.update_many(&[RecordUpdate {
        sobject: "Account".into(),
        id: GLOBEX.into(),
        fields: fields(json!({"BillingCity": "Oslo"})),
    }])
    .await
    .unwrap();
    assert_eq!(c.api_calls(), 12);
    assert_eq!(c.api_calls(), sim.api_calls());
    assert_eq!(c.api_calls(), data_requests(&sim));
    assert_eq!(
        c.api_usage(),
        Some(ApiUsage {
            used: 112,
            max: 15000
        })
    );
}

#[tokio::test]
async fn tls_simulator_needs_accept_invalid_certs() {
    let sim = sim_with(opts(|o| o.tls = true)).await;
    assert!(sim.base_url().starts_with("https://"));
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.max_retries = 0;
    let e = build(cfg.clone()).authenticate().await.unwrap_err();
    assert!(matches!(e, SalesforceError::Transport { .. }), "{e:?}");
    cfg.accept_invalid_certs = true;
    let c = build(cfg);
    assert_eq!(c.query("SELECT Id FROM Account").await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_unreachable_org_is_a_transport_error_after_retries() {
    let mut cfg = SalesforceConfig::new(
        "http://127.0.0.1:9",
        SalesforceAuth::ClientCredentials {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(CLIENT_SECRET),
        },
    );
    cfg.max_retries = 1;
    cfg.allow_loopback_http = true;
    let e = build(cfg)
        .query("SELECT Id FROM Account")
        .await
        .unwrap_err();
    assert!(matches!(e, SalesforceError::Transport { .. }), "{e:?}");
    assert!(e.is_retryable());
}

// ------------------------------------------------------------------ secrecy

#[derive(Clone, Default)]
struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

fn push_error(texts: &mut Vec<String>, e: &SalesforceError) {
    texts.push(format!("{e} / {e:?}"));
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        texts.push(format!("{s} / {s:?}"));
        src = s.source();
    }
}

fn push_exchange(texts: &mut Vec<String>, c: &SalesforceClient) {
    if let Some(ex) = c.last_exchange() {
        texts.push(format!("{ex:?}"));
        texts.push(serde_json::to_string(&ex).unwrap());
    }
}

#[tokio::test]
async fn secrets_never_appear_in_logs_errors_exchanges_or_debug() {
    let buf = capture_logs();
    let wrong_secret = "wrong-Zz8!also-never-print";
    // distinctive parts of the private key (base64 body lines)
    let key_lines: Vec<&str> = KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 40)
        .collect();
    assert!(key_lines.len() > 10);
    // sim access tokens are `<org id 15>!AQ…`; any JWT assertion starts with this header
    let token_marker = format!("{}!", &sim_salesforce::org::ORG_ID[..15]);
    let jwt_header = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9";

    let sim = sim_with(opts(|o| {
        o.http_500_rate = 0.3;
        o.expire_session_after = Some(3);
        o.seed = 3;
    }))
    .await;
    let mut texts = Vec::new();
    let cc_cfg = cc_config(&sim, CLIENT_SECRET);
    let jwt_cfg = jwt_config(&sim, KEY_PEM, USERNAME, None);
    texts.push(format!("{cc_cfg:?}"));
    texts.push(format!("{jwt_cfg:?}"));
    for cfg in [cc_cfg, jwt_cfg] {
        let c = build(cfg);
        texts.push(format!("{c:?}"));
        c.authenticate().await.unwrap();
        push_exchange(&mut texts, &c);
        let ex = c.last_exchange().unwrap();
        assert!(ex.url.ends_with("/services/oauth2/token"));
        let req = ex.request_body.as_ref().unwrap();
        assert!(
            req.get("client_secret").or(req.get("assertion")) == Some(&json!("[redacted]")),
            "{ex:?}"
        );
        assert_eq!(
            ex.response_body.as_ref().unwrap()["access_token"],
            "[redacted]"
        );
        for i in 0..8 {
            match c.query("SELECT Id, Name FROM Account").await {
                Ok(rows) => texts.push(format!("{rows:?}")),
                Err(e) => push_error(&mut texts, &e),
            }
            let r = c
                .update(
                    "Account",
                    ACME,
                    &fields(json!({"BillingCity": format!("C{i}")})),
                )
                .await;
            if let Err(e) = r {
                push_error(&mut texts, &e);
            }
            push_exchange(&mut texts, &c);
        }
        let e = c
            .update("Account", ACME, &fields(json!({"IsDeleted": true})))
            .await
            .unwrap_err();
        push_error(&mut texts, &e);
        push_exchange(&mut texts, &c);
        texts.push(format!("{c:?}"));
    }
    // refused logins: a wrong secret, an unknown key
    let c = build(cc_config(&sim, wrong_secret));
    push_error(&mut texts, &c.authenticate().await.unwrap_err());
    push_exchange(&mut texts, &c);
    let c = build(jwt_config(&sim, OTHER_KEY_PEM, USERNAME, None));
    push_error(&mut texts, &c.authenticate().await.unwrap_err());
    push_exchange(&mut texts, &c);
    // an unreachable org: the transport error chain
    let mut dead = cc_config(&sim, CLIENT_SECRET);
    dead.login_url = "http://127.0.0.1:9".into();
    dead.max_retries = 0;
    push_error(&mut texts, &build(dead).authenticate().await.unwrap_err());
    // a key that does not parse
    let mut broken = jwt_config(&sim, KEY_PEM, USERNAME, None);
    broken.auth = SalesforceAuth::JwtBearer {
        client_id: CLIENT_ID.into(),
        username: USERNAME.into(),
        private_key_pem: Secret::new(KEY_PEM.replace(key_lines[3], "AAAA")),
        audience: None,
    };
    match SalesforceClient::new(broken) {
        Ok(c) => texts.push(format!("{c:?}")),
        Err(e) => push_error(&mut texts, &e),
    }

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Salesforce call"), "logging was captured");
    assert!(
        logs.contains("re-authenticating"),
        "session expiry happened"
    );
    texts.push(logs);
    for t in &texts {
        assert!(!t.contains(CLIENT_SECRET), "client secret leaked in: {t}");
        assert!(!t.contains(wrong_secret), "a wrong secret leaked in: {t}");
        assert!(!t.contains(&token_marker), "an access token leaked in: {t}");
        assert!(!t.contains(jwt_header), "a JWT assertion leaked in: {t}");
        for l in &key_lines {
            assert!(!t.contains(l), "the private key leaked in: {t}");
        }
    }
}

#[tokio::test]
async fn concurrent_clones_share_one_login_and_jwt_sessions_are_reminted_too() {
    let sim = sim_with(opts(|o| o.expire_session_after = Some(4))).await;
    let c = build(jwt_config(&sim, KEY_PEM, USERNAME, None));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.query("SELECT Id FROM Account").await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().len(), 2);
    }
    // 8 calls at 4 per token: at least 2 tokens; concurrent 401s on the same token re-mint once
    let tokens = calls(&sim, "token");
    assert!((2..=3).contains(&tokens), "{:?}", sim.calls());
    assert_eq!(sim.api_calls(), 8);
    assert_eq!(c.api_calls(), data_requests(&sim));
}

#[tokio::test]
async fn composite_updates_are_retried_on_500s() {
    let sim = sim_with(opts(|o| {
        o.http_500_rate = 0.5;
        o.seed = 2;
        o.fault_endpoints = vec!["composite".into()];
    }))
    .await;
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.max_retries = 10;
    let c = build(cfg);
    for i in 0..4 {
        let r = c
            .update_many(&[RecordUpdate {
                sobject: "Account".into(),
                id: ACME.into(),
                fields: fields(json!({"BillingCity": format!("City {i}")})),
            }])
            .await
            .unwrap();
        assert!(r[0].success);
    }
    assert!(calls(&sim, "composite") > 4, "{:?}", sim.calls());
    assert_eq!(
        sim.record("Account", ACME).unwrap()["BillingCity"],
        "City 3"
    );
}

#[tokio::test]
async fn composite_breaks_requests_after_ten_runs_of_one_type() {
    let sim = sim().await;
    let c = client(&sim);
    // 12 alternating runs (Account, Opportunity, …): the sim refuses > 10 type chunks a call
    let updates: Vec<RecordUpdate> = (0..12)
        .map(|i| {
            if i % 2 == 0 {
                RecordUpdate {
                    sobject: "Account".into(),
                    id: ACME.into(),
                    fields: fields(json!({"BillingCity": format!("Run {i}")})),
                }
            } else {
                RecordUpdate {
                    sobject: "Opportunity".into(),
                    id: OPP_WON.into(),
                    fields: fields(json!({"Description": format!("Run {i}")})),
                }
            }
        })
        .collect();
    let results = c.update_many(&updates).await.unwrap();
    assert_eq!(results.len(), 12);
    assert!(results.iter().all(|r| r.success), "{results:?}");
    assert_eq!(calls(&sim, "composite"), 2, "10 runs + 2 runs");
    assert_eq!(
        sim.record("Account", ACME).unwrap()["BillingCity"],
        "Run 10"
    );
    assert_eq!(
        sim.record("Opportunity", OPP_WON).unwrap()["Description"],
        "Run 11"
    );
}

// ------------------------------------------------------------------ temporary vs permanent

#[tokio::test]
async fn refused_credentials_are_permanent_and_never_retried() {
    let sim = sim().await;
    let c = build(cc_config(&sim, "wrong-secret-0000")); // max_retries 2
    let e = c.query("SELECT Id FROM Account").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent, "{e}");
    assert_eq!(calls(&sim, "token"), 1, "a refusal is not retried");
    assert_eq!(calls(&sim, "query"), 0);
}

#[tokio::test]
async fn a_locked_row_is_retried_in_place_for_single_and_composite_writes() {
    let sim = sim_with(opts(|o| {
        o.lock_row_rate = 0.5;
        o.seed = 3;
    }))
    .await;
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.max_retries = 20;
    let c = build(cfg);
    c.update("Account", ACME, &fields(json!({"BillingCity": "Lyon"})))
        .await
        .unwrap();
    assert_eq!(sim.record("Account", ACME).unwrap()["BillingCity"], "Lyon");
    let ups: Vec<RecordUpdate> = [ACME, GLOBEX]
        .iter()
        .map(|id| RecordUpdate {
            sobject: "Account".into(),
            id: (*id).into(),
            fields: fields(json!({"BillingCity": "Nantes"})),
        })
        .collect();
    for _ in 0..3 {
        let results = c.update_many(&ups).await.unwrap();
        assert!(results.iter().all(|r| r.success), "{results:?}");
    }
    for id in [ACME, GLOBEX] {
        assert_eq!(sim.record("Account", id).unwrap()["BillingCity"], "Nantes");
    }
    assert!(
        calls(&sim, "sobject_patch") + calls(&sim, "composite") > 4,
        "some writes met a lock and were re-sent: {:?}",
        sim.calls()
    );
}

#[tokio::test]
async fn locked_rows_past_the_retries_are_reported_transient() {
    let sim = sim_with(opts(|o| o.lock_row_rate = 1.0)).await;
    let c = client(&sim); // max_retries 2
    let e = c
        .update("Account", ACME, &fields(json!({"BillingCity": "X"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert_eq!(calls(&sim, "sobject_patch"), 3);
    let up = RecordUpdate {
        sobject: "Account".into(),
        id: ACME.into(),
        fields: fields(json!({"BillingCity": "Y"})),
    };
    let results = c.update_many(&[up]).await.unwrap();
    assert_eq!(results[0].errors[0].status_code, "UNABLE_TO_LOCK_ROW");
    assert_eq!(
        calls(&sim, "composite"),
        3,
        "the locked record re-sent twice"
    );
}

#[tokio::test]
async fn the_quota_is_neither_retried_nor_permanent() {
    let sim = sim_with(opts(|o| o.daily_api_limit = 1)).await;
    let c = client(&sim);
    c.limits().await.unwrap();
    let e = c.limits().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Quota);
    assert_eq!(calls(&sim, "limits"), 2, "not retried in place");
}

// ------------------------------------------------------------------ deadline

#[tokio::test]
async fn no_call_starts_past_the_deadline() {
    let sim = sim().await;
    let c = client(&sim);
    c.set_deadline(Some(Instant::now()));
    let e = c.query("SELECT Id FROM Account").await.unwrap_err();
    assert!(matches!(e, SalesforceError::Deadline { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(e.to_string().contains("deadline"), "{e}");
    assert_eq!(sim.calls().values().sum::<u64>(), 0, "nothing was sent");
    // clones share the deadline; clearing it lets calls through again
    let clone = c.clone();
    clone.set_deadline(None);
    assert_eq!(c.deadline(), None);
    c.query("SELECT Id FROM Account").await.unwrap();
}

#[tokio::test]
async fn a_deadline_cuts_the_call_timeout_and_stops_the_retries() {
    let sim = sim_with(opts(|o| {
        o.timeout_rate = 1.0;
        o.timeout_delay = Duration::from_secs(5);
        o.fault_endpoints = vec!["query".into()];
    }))
    .await;
    let c = client(&sim); // timeout 10 s, max_retries 2
    c.authenticate().await.unwrap();
    c.set_deadline(Some(Instant::now() + Duration::from_millis(300)));
    let e = c.query("SELECT Id FROM Account").await.unwrap_err();
    match &e {
        SalesforceError::Transport { source } => assert!(source.is_timeout(), "{source:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert_eq!(
        calls(&sim, "query"),
        1,
        "no retry could end before the deadline"
    );
}

// ------------------------------------------------------------------ composite queries

#[tokio::test]
async fn query_many_sends_five_queries_as_one_composite_call_and_pages_on() {
    let sim = sim_of(&big_fixture(450), SimOptions::default()).await;
    let mut cfg = cc_config(&sim, CLIENT_SECRET);
    cfg.batch_size = Some(200);
    let c = build(cfg);
    let qs: Vec<(&str, bool)> = vec![
        (
            "SELECT Id FROM Account WHERE Name LIKE 'Bulk%' ORDER BY Name",
            false,
        ),
        ("SELECT Id, IsDeleted FROM Account ORDER BY Name", true),
        ("SELECT Id FROM Account WHERE Name = 'nobody'", false),
        ("SELECT Id FROM Account WHERE Name LIKE 'Bulk 00%'", false),
        ("SELECT Id FROM Account WHERE Name LIKE 'Bulk 1%'", false),
        ("SELECT Id FROM Account WHERE Name LIKE 'Bulk 2%'", true),
    ];
    let before = sim.api_calls();
    let got = c.query_many(&qs).await.unwrap();
    let spent = sim.api_calls() - before;
    assert_eq!(got.len(), 6);
    // each answer is what the query alone gives
    for ((soql, all), rows) in qs.iter().zip(&got) {
        let alone = match all {
            true => c.query_all(soql).await.unwrap(),
            false => c.query(soql).await.unwrap(),
        };
        assert_eq!(ids(rows), ids(&alone), "{soql}");
    }
    assert_eq!(got[0].len(), 450, "the 450 rows of a paged subquery");
    // five queries in one composite, the sixth alone; the 450- and 451-row answers read two
    // more pages each (200 per page)
    assert_eq!(calls(&sim, "composite_request"), 1);
    assert_eq!(
        spent,
        1 + 1 + 2 + 2,
        "composite + the sixth query + further pages"
    );
}

#[tokio::test]
async fn query_many_fails_with_the_error_of_a_refused_query() {
    let sim = sim().await;
    let c = client(&sim);
    let err = c
        .query_many(&[
            ("SELECT Id FROM Account", false),
            ("SELECT Nope__c FROM Account", false),
        ])
        .await
        .unwrap_err();
    match &err {
        salesforce::SalesforceError::Api { status, errors } => {
            assert_eq!(*status, 400);
            assert_eq!(errors[0].error_code, "INVALID_FIELD", "{errors:?}");
        }
        other => panic!("expected the subrequest's error, got {other:?}"),
    }
    assert_eq!(calls(&sim, "composite_request"), 1);
}
