//! Shared helpers for the raw-HTTP tests (reqwest, no production client).

use serde_json::{json, Value};
use sim_salesforce::{RunningSim, SalesforceSim, SimOptions};

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret-value";
pub const USERNAME: &str = "integration@flexbridge.example";
pub const V: &str = "v62.0";

pub const ACME: &str = "001Dm0000000001IAA";
pub const GLOBEX: &str = "001Dm0000000002IAA";
pub const OPP1: &str = "006Dm0000000001IAA";
pub const OPP2: &str = "006Dm0000000002IAA";
pub const OLI1: &str = "00kDm0000000001IAA";

pub fn fixture() -> Value {
    json!({
        "now": "2026-11-20T09:00:00Z",
        "salesforce": {
            "credentials": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "username": USERNAME,
                            "certificate": include_str!("../keys/jwt_cert.pem")},
            "Account": [
                {"attributes": {"type": "Account"}, "Id": ACME, "Name": "Acme", "FNO_Account_Type__c": "End User",
                 "FNO_Account_ID__c": null, "SystemModstamp": "2026-05-04T09:00:00.000+0000",
                 "LastModifiedDate": "2026-05-04T09:00:00.000+0000"},
                {"Id": GLOBEX, "Name": "Globex", "FNO_Account_Type__c": "Channel Partner",
                 "SystemModstamp": "2026-05-05T09:00:00.000+0000"},
                {"Id": "001Dm0000000003IAA", "Name": "Deleted Co", "IsDeleted": true,
                 "SystemModstamp": "2026-05-06T09:00:00.000+0000"}
            ],
            "Product2": [
                {"Id": "01tDm0000000001IAA", "Name": "Pro", "ProductCode": "FA-PRO-100", "IsActive": true,
                 "FNO_Include_In_Sync__c": true}
            ],
            "Opportunity": [
                {"Id": OPP1, "AccountId": ACME, "Name": "Acme deal", "StageName": "Closed Won",
                 "CloseDate": "2026-09-19", "SystemModstamp": "2026-09-21T09:00:00.000+0000",
                 "FNO_Entitlement_ID__c": null, "FNO_Entitlement_State__c": "Draft"},
                {"Id": OPP2, "AccountId": null, "Name": "Orphan", "StageName": "Prospecting",
                 "CloseDate": "2026-10-01", "SystemModstamp": "2026-09-22T09:00:00.000+0000"}
            ],
            "OpportunityLineItem": [
                {"Id": OLI1, "OpportunityId": OPP1, "Product2Id": "01tDm0000000001IAA",
                 "ProductCode": "FA-PRO-100", "Quantity": 5.0, "Description": "x5",
                 "FNO_Activation_ID__c": null, "FNO_Remaining_Quantity__c": null,
                 "SystemModstamp": "2026-09-21T09:00:00.000+0000"}
            ],
            "Gadget__c": [
                {"Id": "a00Dm0000000001IAA", "Name": "G1", "Size__c": 3, "Account__c": ACME}
            ]
        }
    })
}

pub async fn start(opts: SimOptions) -> RunningSim {
    SalesforceSim::start(&fixture(), opts)
        .await
        .expect("sim starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn token(sim: &RunningSim) -> String {
    let r = http()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token call");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    v["access_token"].as_str().expect("access_token").to_owned()
}

pub fn url(sim: &RunningSim, rest: &str) -> String {
    format!("{}/services/data/{V}/{rest}", sim.base_url())
}

/// GET a data path; returns (status, limit header, body).
pub async fn get(sim: &RunningSim, tok: &str, rest: &str) -> (u16, Option<String>, Value) {
    let r = http()
        .get(url(sim, rest))
        .bearer_auth(tok)
        .send()
        .await
        .expect("GET");
    split(r).await
}

pub async fn query(sim: &RunningSim, tok: &str, q: &str) -> (u16, Value) {
    let r = http()
        .get(url(sim, "query"))
        .query(&[("q", q)])
        .bearer_auth(tok)
        .send()
        .await
        .expect("query");
    let (s, _, v) = split(r).await;
    (s, v)
}

pub async fn patch(
    sim: &RunningSim,
    tok: &str,
    rest: &str,
    body: Value,
) -> (u16, Option<String>, Value) {
    let r = http()
        .patch(url(sim, rest))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .expect("PATCH");
    split(r).await
}

pub async fn split(r: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = r.status().as_u16();
    let limit = r
        .headers()
        .get("Sforce-Limit-Info")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = r.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, limit, v)
}

pub fn error_code(v: &Value) -> &str {
    v[0]["errorCode"].as_str().unwrap_or("<none>")
}
