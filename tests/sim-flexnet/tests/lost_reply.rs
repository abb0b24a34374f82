//! The `lost_reply_rate` fault: FNO commits the write, the reply never arrives.

use serde_json::Value;
use sim_flexnet::{FlexnetSim, RunningSim, SimOptions};

const UAH: &str = "/flexnet/services/v3/UserAcctHierarchyService";

fn fixture() -> Value {
    serde_json::from_str(include_str!("../fixtures/small.json")).expect("fixture JSON")
}

async fn sim(opts: SimOptions) -> RunningSim {
    FlexnetSim::start(&fixture(), opts)
        .await
        .expect("sim starts")
}

fn create_account(id: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:urn=\"urn:v3.webservices.operations.flexnet.com\"><soapenv:Header/><soapenv:Body>\
         <urn:createAcctRequest><urn:account><urn:id>{id}</urn:id><urn:name>Lost Reply Inc</urn:name>\
         <urn:accountType>CUSTOMER</urn:accountType></urn:account></urn:createAcctRequest>\
         </soapenv:Body></soapenv:Envelope>"
    )
}

/// Posts a createAcctRequest; Ok(status, body) or the transport error's text.
async fn post_create(sim: &RunningSim, id: &str) -> Result<(u16, String), reqwest::Error> {
    let resp = reqwest::Client::new()
        .post(format!("{}{UAH}", sim.base_url()))
        .basic_auth("ws-integration", Some("s3cret-Pa55"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(create_account(id))
        .send()
        .await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}

fn has_account(sim: &RunningSim, id: &str) -> bool {
    sim.tenant().accounts.iter().any(|a| a.id == id)
}

#[tokio::test]
async fn a_lost_reply_applies_the_write_and_answers_nothing() {
    let sim = sim(SimOptions {
        lost_reply_rate: 1.0,
        ..SimOptions::default()
    })
    .await;
    let err = post_create(&sim, "LOST-1")
        .await
        .expect_err("the connection is closed before any response");
    assert!(!err.is_connect(), "the request reached the server: {err:?}");
    assert!(err.status().is_none(), "no status line was sent: {err:?}");
    assert!(has_account(&sim, "LOST-1"), "the write was applied");
    assert_eq!(sim.calls()["createAccount"], 1);
    // the simulator keeps serving on new connections
    sim.set_options(SimOptions::default());
    let (status, body) = post_create(&sim, "LOST-2").await.expect("answered");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("SUCCESS"), "{body}");
    assert!(has_account(&sim, "LOST-2"));
}

#[tokio::test]
async fn lost_replies_are_limited_to_fault_operations() {
    let sim = sim(SimOptions {
        lost_reply_rate: 1.0,
        fault_operations: vec!["createUser".into()],
        ..SimOptions::default()
    })
    .await;
    let (status, body) = post_create(&sim, "KEPT-1").await.expect("answered");
    assert_eq!(status, 200, "{body}");
    assert!(has_account(&sim, "KEPT-1"));
}

#[tokio::test]
async fn lost_replies_are_seeded_and_repeatable() {
    async fn pattern(seed: u64) -> Vec<bool> {
        let sim = sim(SimOptions {
            seed,
            lost_reply_rate: 0.5,
            ..SimOptions::default()
        })
        .await;
        let mut out = Vec::new();
        for i in 0..24 {
            let id = format!("SEED-{i}");
            out.push(post_create(&sim, &id).await.is_ok());
            assert!(has_account(&sim, &id), "applied whether or not answered");
        }
        out
    }
    let a = pattern(7).await;
    assert!(a.contains(&true) && a.contains(&false), "{a:?}");
    assert_eq!(a, pattern(7).await);
    assert_ne!(a, pattern(8).await);
}
