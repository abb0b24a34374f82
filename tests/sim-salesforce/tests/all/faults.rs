//! Each fault kind of SimOptions over raw HTTP.

use crate::common::*;
use serde_json::{json, Value};
use sim_salesforce::SimOptions;
use std::time::{Duration, Instant};

#[tokio::test]
async fn http_500_in_salesforce_shape_and_limited_to_fault_endpoints() {
    let sim = start(SimOptions {
        http_500_rate: 1.0,
        fault_endpoints: vec!["describe".into()],
        ..SimOptions::default()
    })
    .await;
    let tok = token(&sim).await; // the token endpoint never faults
    let (s, limit, v) = get(&sim, &tok, "sobjects/Account/describe").await;
    assert_eq!((s, error_code(&v)), (500, "UNKNOWN_EXCEPTION"));
    assert!(limit.is_some(), "faulted calls still report usage");
    let (s, _) = query(&sim, &tok, "SELECT Id FROM Account").await;
    assert_eq!(s, 200, "query is not in fault_endpoints");
    sim.set_options(SimOptions::default());
    let (s, _, _) = get(&sim, &tok, "sobjects/Account/describe").await;
    assert_eq!(s, 200);
    assert_eq!(sim.calls()["describe"], 2);
    assert_eq!(sim.api_calls(), 3, "faulted calls count against the quota");
}

#[tokio::test]
async fn fault_draws_are_seeded_and_repeatable() {
    async fn pattern(seed: u64) -> Vec<u16> {
        let sim = start(SimOptions {
            seed,
            http_500_rate: 0.5,
            ..SimOptions::default()
        })
        .await;
        let tok = token(&sim).await;
        let mut out = Vec::new();
        for _ in 0..30 {
            out.push(get(&sim, &tok, "limits").await.0);
        }
        out
    }
    let a = pattern(7).await;
    assert_eq!(a, pattern(7).await);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
    assert_ne!(a, pattern(8).await);
}

#[tokio::test]
async fn timeouts_hold_the_response_past_the_client_timeout() {
    let sim = start(SimOptions {
        timeout_rate: 1.0,
        timeout_delay: Duration::from_millis(1500),
        ..SimOptions::default()
    })
    .await;
    let tok = token(&sim).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let err = client
        .get(url(&sim, "limits"))
        .bearer_auth(&tok)
        .send()
        .await
        .expect_err("times out");
    assert!(err.is_timeout(), "{err}");
    // a patient client gets a 503 in the end
    let t0 = Instant::now();
    let (s, _, v) = get(&sim, &tok, "limits").await;
    assert!(t0.elapsed() >= Duration::from_millis(1500));
    assert_eq!((s, error_code(&v)), (503, "SERVER_UNAVAILABLE"));
}

#[tokio::test]
async fn latency_is_added_to_every_call() {
    let sim = start(SimOptions {
        latency: Duration::from_millis(250),
        ..SimOptions::default()
    })
    .await;
    let t0 = Instant::now();
    let tok = token(&sim).await;
    assert!(t0.elapsed() >= Duration::from_millis(250));
    let t1 = Instant::now();
    let (s, _) = query(&sim, &tok, "SELECT Id FROM Account").await;
    assert_eq!(s, 200);
    assert!(t1.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn sessions_expire_after_n_calls_and_a_new_token_works() {
    let sim = start(SimOptions {
        expire_session_after: Some(2),
        ..SimOptions::default()
    })
    .await;
    let tok = token(&sim).await;
    assert_eq!(get(&sim, &tok, "limits").await.0, 200);
    assert_eq!(get(&sim, &tok, "limits").await.0, 200);
    let (s, _, v) = get(&sim, &tok, "limits").await;
    assert_eq!(
        (s, v),
        (
            401,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        )
    );
    let tok2 = token(&sim).await;
    assert_eq!(get(&sim, &tok2, "limits").await.0, 200);
    assert_eq!(sim.api_calls(), 3, "refused calls are not counted");
}

#[tokio::test]
async fn tokens_expire_after_their_ttl() {
    let sim = start(SimOptions {
        token_ttl: Duration::from_millis(300),
        ..SimOptions::default()
    })
    .await;
    let tok = token(&sim).await;
    assert_eq!(get(&sim, &tok, "limits").await.0, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (s, _, v) = get(&sim, &tok, "limits").await;
    assert_eq!((s, error_code(&v)), (401, "INVALID_SESSION_ID"));
    let tok2 = token(&sim).await;
    assert_eq!(get(&sim, &tok2, "limits").await.0, 200);
}

#[tokio::test]
async fn quota_exhaustion_is_403_request_limit_exceeded() {
    let sim = start(SimOptions {
        daily_api_limit: 5,
        api_usage_start: 3,
        ..SimOptions::default()
    })
    .await;
    let tok = token(&sim).await;
    let (_, l, _) = get(&sim, &tok, "limits").await;
    assert_eq!(l.as_deref(), Some("api-usage=4/5"));
    let (s, _) = query(&sim, &tok, "SELECT Id FROM Account").await;
    assert_eq!(s, 200);
    for _ in 0..2 {
        let (s, l, v) = get(&sim, &tok, "limits").await;
        assert_eq!(
            (s, v),
            (
                403,
                json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
            )
        );
        assert_eq!(l.as_deref(), Some("api-usage=5/5"));
    }
    assert_eq!(sim.api_calls(), 2);
    // the token endpoint is not metered
    token(&sim).await;
    assert_eq!(sim.calls()["limits"], 3);
}

/// POSTs to a test hook (`/__sim/...`); the answer's status.
async fn admin_post(sim: &sim_salesforce::RunningSim, path: &str) -> u16 {
    let r = http()
        .post(format!("{}{path}", sim.base_url()))
        .send()
        .await
        .expect("test hook answers");
    r.status().as_u16()
}

#[tokio::test]
async fn the_quota_runs_out_mid_run_then_resets() {
    let sim = start(SimOptions {
        daily_api_limit: 100,
        ..SimOptions::default()
    })
    .await;
    let tok = token(&sim).await;
    assert_eq!(get(&sim, &tok, "limits").await.0, 200);
    sim.set_api_usage(100);
    let (s, l, v) = get(&sim, &tok, "limits").await;
    assert_eq!((s, error_code(&v)), (403, "REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(l.as_deref(), Some("api-usage=100/100"));
    // the admin hook, as a chaos suite or a shell would reset the window
    assert_eq!(admin_post(&sim, "/__sim/quota").await, 204);
    let (s, l, _) = get(&sim, &tok, "limits").await;
    assert_eq!((s, l.as_deref()), (200, Some("api-usage=1/100")));
    assert_eq!(sim.api_usage(), 1);
    assert_eq!(sim.api_calls(), 2, "every metered call is still counted");
    assert_eq!(admin_post(&sim, "/__sim/quota?used=lots").await, 400);
}

#[tokio::test]
async fn sessions_expire_mid_run_on_demand() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    assert_eq!(get(&sim, &tok, "limits").await.0, 200);
    sim.expire_sessions();
    let (s, _, v) = get(&sim, &tok, "limits").await;
    assert_eq!((s, error_code(&v)), (401, "INVALID_SESSION_ID"));
    let tok2 = token(&sim).await;
    assert_eq!(get(&sim, &tok2, "limits").await.0, 200);
    assert_eq!(admin_post(&sim, "/__sim/sessions/expire").await, 204);
    assert_eq!(get(&sim, &tok2, "limits").await.0, 401);
}

#[tokio::test]
async fn row_locks_fail_records_without_writing_them() {
    let sim = start(SimOptions {
        lock_row_rate: 1.0,
        ..SimOptions::default()
    })
    .await;
    let tok = token(&sim).await;
    let body = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Account"}, "id": ACME, "FNO_Account_ID__c": "FNO-A"},
        {"attributes": {"type": "Opportunity"}, "id": "006Dm0000000099IAA", "Name": "x"}
    ]});
    let (s, _, v) = patch(&sim, &tok, "composite/sobjects", body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v[0]["success"], false);
    assert_eq!(v[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    assert_eq!(
        v[1]["errors"][0]["statusCode"], "INVALID_CROSS_REFERENCE_KEY",
        "a record that fails its checks fails for that reason"
    );
    let (s, _, v) = patch(
        &sim,
        &tok,
        &format!("sobjects/Account/{ACME}"),
        json!({"FNO_Account_ID__c": "FNO-B"}),
    )
    .await;
    assert_eq!((s, error_code(&v)), (400, "UNABLE_TO_LOCK_ROW"));
    assert_eq!(
        sim.record("Account", ACME).expect("acme")["FNO_Account_ID__c"],
        Value::Null,
        "a locked row is not written"
    );
    sim.set_options(SimOptions {
        lock_row_rate: 1.0,
        fault_endpoints: vec!["composite".into()],
        ..SimOptions::default()
    });
    let (s, _, _) = patch(
        &sim,
        &tok,
        &format!("sobjects/Account/{ACME}"),
        json!({"FNO_Account_ID__c": "FNO-B"}),
    )
    .await;
    assert_eq!(s, 204, "sobject_patch is not in fault_endpoints");
}
