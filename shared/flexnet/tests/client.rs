//! The production FNO client against the tenant simulator (real SOAP on 127.0.0.1): every
//! operation, the status model, paging and chunking, each injected fault kind, and secrecy of
//! the password.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use flexnet::*;
use mapping::fno::{self, OpType};
use mapping::Secret;
use serde_json::{json, Value};
use sim_flexnet::{FlexnetSim, RunningSim, SimOptions};
use std::time::{Duration, Instant};

const USER: &str = "ws-integration";
const PASSWORD: &str = "pw-Zq8!never-print";
const ACME: &str = "001XX000003DHP0";

fn fixture() -> Value {
    json!({
        "now": "2026-11-01T09:00:00Z",
        "flexnet": {
            "credentials": {"username": USER, "password": PASSWORD},
            "roles": ["Portal Admin User", "Portal User"],
            "products": [
                {"name": "AM Product", "version": "1.0", "state": "DEPLOYED",
                 "partNumbers": ["AM_SF01", "AM_SF02"], "licenseModel": "Embedded Counted"},
                {"name": "Beta Product", "version": "2.0", "state": "DRAFT",
                 "partNumbers": ["BETA_01"], "licenseModel": "Embedded Uncounted"}
            ],
            "accounts": [{"id": ACME, "name": "Acme Corp", "accountType": "CUSTOMER"}],
            "users": [],
            "entitlements": [
                {"entitlementId": "ENT-FIXTURE", "soldTo": ACME, "state": "DEPLOYED",
                 "lineItems": [{"activationId": "fix-0001", "partNumber": "AM_SF01",
                                "numberOfCopies": 10, "fulfilledAmount": 3,
                                "orderId": "006FIX", "orderLineNumber": "00kFIX1"}]}
            ],
            "customAttributes": [
                {"entity": "account", "name": "SF_ACCOUNT_ID", "type": "Text", "required": false, "active": true},
                {"entity": "entitlement line", "name": "SEATS_NOTE", "type": "Number", "required": false, "active": true}
            ]
        }
    })
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

async fn sim_with(opts: SimOptions) -> RunningSim {
    capture_logs();
    FlexnetSim::start(&fixture(), opts)
        .await
        .expect("sim starts")
}

async fn sim() -> RunningSim {
    sim_with(SimOptions::default()).await
}

fn client_with(sim: &RunningSim, password: &str, retries: u32) -> FlexnetClient {
    let mut cfg =
        FlexnetConfig::new(sim.base_url(), USER, Secret::new(password)).for_loopback_simulator();
    cfg.max_retries = retries;
    cfg.timeout = Duration::from_secs(5);
    FlexnetClient::new(cfg)
        .expect("client")
        .with_backoff(Duration::from_millis(5))
}

fn client(sim: &RunningSim) -> FlexnetClient {
    client_with(sim, PASSWORD, 2)
}

fn account(id: &str, name: &str) -> fno::Account {
    fno::Account {
        id: id.into(),
        name: name.into(),
        description: None,
        address: Some(fno::Address {
            city: Some("Austin".into()),
            country: Some("US".into()),
            ..fno::Address::default()
        }),
        visible: Some(true),
        account_type: Some(fno::AccountType::Customer),
        attributes: vec![],
    }
}

fn user(email: &str, account_id: &str, roles: &[&str]) -> fno::User {
    fno::User {
        first_name: "Grace".into(),
        last_name: "Hopper".into(),
        display_name: None,
        email_address: email.into(),
        opt_in: None,
        phone_number: None,
        fax_number: None,
        street: None,
        city: None,
        state: None,
        zipcode: None,
        country: Some("US".into()),
        locale: None,
        can_login: true,
        user_name: Some(email.into()),
        status: Some("Active".into()),
        timezone: None,
        account_roles: if account_id.is_empty() {
            vec![]
        } else {
            vec![fno::AccountRoles {
                account_id: account_id.into(),
                roles: roles.iter().map(|s| (*s).to_owned()).collect(),
            }]
        },
        attributes: vec![],
    }
}

fn line(part: &str, qty: u32, oli: &str) -> fno::LineItem {
    fno::LineItem {
        activation_id: None,
        description: None,
        part_number: part.into(),
        license_model: None,
        fnp_time_zone_value: None,
        order_id: Some("006ORDER".into()),
        order_line_number: Some(oli.into()),
        number_of_copies: qty,
        start_date: Some(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
        start_date_option: Some(fno::StartDateOption::DefineNow),
        expiration: Some(fno::Expiration::Term {
            num_duration: 12,
            unit: fno::DurationUnit::Months,
        }),
        version_date: None,
        line_item_type: None,
        parent_activation_id: None,
        attributes: vec![],
    }
}

fn entitlement(id: &str, lines: Vec<fno::LineItem>) -> fno::Entitlement {
    fno::Entitlement {
        entitlement_id: id.into(),
        description: Some("Opportunity".into()),
        sold_to: ACME.into(),
        ship_to_email: None,
        ship_to_address: None,
        email_template_variation: None,
        line_items: lines,
        channel_partners: vec![],
        attributes: vec![],
    }
}

fn reason<T: std::fmt::Debug>(o: &Outcome<T>) -> String {
    o.result
        .as_ref()
        .expect_err("item should fail")
        .reason
        .clone()
}

fn state_of<'a>(state: &'a Value, coll: &str, key: &str, val: &str) -> &'a Value {
    state[coll]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == val)
        .unwrap_or_else(|| panic!("{coll} {val} not in sim state"))
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

// ------------------------------------------------------------------ accounts

#[tokio::test]
async fn r10_create_accounts_plain_create_refuses_existing_ids() {
    let sim = sim().await;
    let c = client(&sim);
    let mut acc = account("001NEW", "New Co");
    acc.attributes = vec![fno::Attribute {
        name: "SF_ACCOUNT_ID".into(),
        value: fno::AttributeValue::String("001NEW".into()),
    }];
    let out = c
        .create_accounts(&[acc.clone(), account(ACME, "Dup")], None)
        .await
        .unwrap();
    assert_eq!(out.len(), 2);
    let ok = out[0].result.as_ref().unwrap();
    assert_eq!(ok.id, "001NEW");
    assert!(ok.unique_id.as_deref().unwrap().starts_with("HID-"));
    assert!(
        reason(&out[1]).contains("already exists"),
        "{}",
        reason(&out[1])
    );
    // the exchange is the real SOAP: opType absent on a plain create
    assert!(out[0].exchange.request_xml.contains("<createAcctRequest"));
    assert!(!out[0].exchange.request_xml.contains("opType"));
    assert!(out[0]
        .exchange
        .response_xml
        .as_deref()
        .unwrap()
        .contains("PARTIAL_FAILURE"));
    let st = sim.state();
    let a = state_of(&st, "accounts", "id", "001NEW");
    assert_eq!(a["address"]["city"], "Austin");
    assert_eq!(a["customAttributes"]["SF_ACCOUNT_ID"], "001NEW");
    assert_eq!(state_of(&st, "accounts", "id", ACME)["name"], "Acme Corp");
}

#[tokio::test]
async fn r3_create_or_update_updates_and_create_or_ignore_leaves() {
    let sim = sim().await;
    let c = client(&sim);
    let out = c
        .create_accounts(&[account(ACME, "Acme Renamed")], OpType::CreateOrIgnore)
        .await
        .unwrap();
    assert!(out[0].result.is_ok());
    assert_eq!(
        state_of(&sim.state(), "accounts", "id", ACME)["name"],
        "Acme Corp"
    );
    let out = c
        .create_accounts(&[account(ACME, "Acme Renamed")], OpType::CreateOrUpdate)
        .await
        .unwrap();
    assert!(out[0].result.is_ok());
    assert!(out[0]
        .exchange
        .request_xml
        .contains("<opType>CREATE_OR_UPDATE</opType>"));
    assert_eq!(
        state_of(&sim.state(), "accounts", "id", ACME)["name"],
        "Acme Renamed"
    );
}

#[tokio::test]
async fn writes_are_chunked_to_25_and_outcomes_keep_input_order() {
    let sim = sim().await;
    let c = client(&sim);
    let mut accounts: Vec<fno::Account> = (0..30)
        .map(|i| account(&format!("001B{i:02}"), &format!("Batch {i}")))
        .collect();
    accounts[27] = account(ACME, "dup in second chunk");
    let out = c.create_accounts(&accounts, None).await.unwrap();
    assert_eq!(out.len(), 30);
    assert_eq!(sim.calls()["createAccount"], 2);
    for (i, o) in out.iter().enumerate() {
        if i == 27 {
            assert!(reason(o).contains(ACME));
        } else {
            assert_eq!(o.result.as_ref().unwrap().id, format!("001B{i:02}"));
        }
    }
}

#[tokio::test]
async fn write_chunks_go_out_together_and_outcomes_keep_input_order() {
    let sim = sim_with(SimOptions {
        latency: Duration::from_millis(150),
        ..SimOptions::default()
    })
    .await;
    let accounts: Vec<fno::Account> = (0..130)
        .map(|i| account(&format!("001C{i:03}"), &format!("Wide {i}")))
        .collect();
    // 6 chunks, 4 at once by default
    let out = client(&sim).create_accounts(&accounts, None).await.unwrap();
    assert_eq!(sim.calls()["createAccount"], 6);
    assert_eq!(sim.max_in_flight(), 4, "four chunks in flight together");
    let ids: Vec<String> = out
        .iter()
        .map(|o| o.result.as_ref().unwrap().id.clone())
        .collect();
    let want: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids, want, "outcomes in input order");

    // one at a time when asked
    let sim = sim_with(SimOptions {
        latency: Duration::from_millis(20),
        ..SimOptions::default()
    })
    .await;
    let c = client(&sim).with_write_concurrency(1);
    c.create_accounts(&accounts, None).await.unwrap();
    assert_eq!(sim.max_in_flight(), 1);
}

#[tokio::test]
async fn custom_attribute_not_defined_in_fno_fails_that_account_r18() {
    let sim = sim().await;
    let c = client(&sim);
    let mut acc = account("001ATTR", "Attr Co");
    acc.attributes = vec![fno::Attribute {
        name: "NOT_DEFINED".into(),
        value: fno::AttributeValue::String("x".into()),
    }];
    let out = c.create_accounts(&[acc], None).await.unwrap();
    assert!(
        reason(&out[0]).contains("NOT_DEFINED"),
        "{}",
        reason(&out[0])
    );
    assert!(sim.state()["accounts"].as_array().unwrap().len() == 1);
}

#[tokio::test]
async fn update_accounts_and_get_accounts_paged_and_filtered() {
    let sim = sim().await;
    let c = client(&sim);
    let accounts: Vec<_> = (0..4)
        .map(|i| account(&format!("001P{i}"), &format!("Paged {i}")))
        .collect();
    c.create_accounts(&accounts, None).await.unwrap();
    let mut upd = account("001P1", "Paged One Renamed");
    upd.description = Some("updated".into());
    let out = c
        .update_accounts(&[upd, account("001MISSING", "x")])
        .await
        .unwrap();
    assert!(out[0].result.is_ok());
    assert!(reason(&out[1]).contains("001MISSING"));

    let c2 = client(&sim).with_page_size(2);
    let before = sim.calls().get("getAccountsQuery").copied().unwrap_or(0);
    let all = c2.get_accounts(&AccountQuery::default()).await.unwrap();
    assert_eq!(all.len(), 5);
    // 5 records at 2 per page: pages 1, 2, 3
    assert_eq!(sim.calls()["getAccountsQuery"] - before, 3);
    let one = c
        .get_accounts(&AccountQuery {
            id: Some("001P1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].name.as_deref(), Some("Paged One Renamed"));
    assert_eq!(one[0].description.as_deref(), Some("updated"));
    assert_eq!(one[0].account_type, Some(fno::AccountType::Customer));

    sim.set_now(Some(t("2026-11-05T10:00:00Z")));
    c.update_accounts(&[account("001P3", "Changed later")])
        .await
        .unwrap();
    let changed = c
        .get_accounts(&AccountQuery {
            modified_since: Some(t("2026-11-05T00:00:00Z")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        changed.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        vec!["001P3"]
    );
}

// ------------------------------------------------------------------ users

#[tokio::test]
async fn r11_users_with_known_role_are_created_unknown_role_fails_naming_it() {
    let sim = sim().await;
    let c = client(&sim);
    let out = c
        .create_users(
            &[
                user("grace@acme.example", ACME, &["Portal Admin User"]),
                user("linus@acme.example", ACME, &["Portal Superhero"]),
                user("nobody@acme.example", "001NOPE", &["Portal User"]),
                user("loner@acme.example", "", &[]),
            ],
            None,
        )
        .await
        .unwrap();
    let ok = out[0].result.as_ref().unwrap();
    assert_eq!(ok.user_name.as_deref(), Some("grace@acme.example"));
    assert!(ok.unique_id.is_some());
    assert!(
        reason(&out[1]).contains("Portal Superhero"),
        "{}",
        reason(&out[1])
    );
    assert!(reason(&out[2]).contains("001NOPE"), "{}", reason(&out[2]));
    assert!(reason(&out[3]).contains("R11"));
    assert_eq!(sim.calls()["createUser"], 1);

    let st = sim.state();
    let u = state_of(&st, "users", "emailAddress", "grace@acme.example");
    assert_eq!(u["accountRoles"][0]["roles"][0], "Portal Admin User");
    assert_eq!(st["users"].as_array().unwrap().len(), 1);

    // plain re-create fails, CREATE_OR_UPDATE succeeds
    let again = c
        .create_users(&[user("grace@acme.example", ACME, &["Portal User"])], None)
        .await
        .unwrap();
    assert!(reason(&again[0]).contains("already exists"));
    let upd = c
        .create_users(
            &[user("grace@acme.example", ACME, &["Portal User"])],
            OpType::CreateOrUpdate,
        )
        .await
        .unwrap();
    assert!(upd[0].result.is_ok());

    let users = c
        .get_users(&UserQuery {
            account_id: Some(ACME.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(users.len(), 1);
    let mut roles = users[0].account_roles[0].roles.clone();
    roles.sort();
    assert_eq!(roles, vec!["Portal Admin User", "Portal User"]);
    assert_eq!(users[0].account_roles[0].account_id, ACME);
}

#[tokio::test]
async fn update_users_changes_fields_and_refuses_unknown_users() {
    let sim = sim().await;
    let c = client(&sim);
    c.create_users(&[user("ada@acme.example", ACME, &["Portal User"])], None)
        .await
        .unwrap();
    let mut u = user("ada@acme.example", ACME, &["Portal Admin User"]);
    u.display_name = Some("Ada L.".into());
    let out = c
        .update_users(&[u, user("ghost@acme.example", ACME, &["Portal User"])])
        .await
        .unwrap();
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    assert!(reason(&out[1]).contains("ghost"));
    let got = c
        .get_users(&UserQuery {
            email: Some("ada@acme.example".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(got[0].display_name.as_deref(), Some("Ada L."));
    assert_eq!(got[0].account_roles[0].roles.len(), 2);
}

// ------------------------------------------------------------------ entitlements

#[tokio::test]
async fn r16_create_entitlement_autogenerates_activation_ids_in_line_order() {
    let sim = sim().await;
    let c = client(&sim);
    let ent = entitlement(
        "006OPP1",
        vec![line("AM_SF01", 5, "00kA"), line("AM_SF02", 2, "00kB")],
    );
    let out = c.create_entitlements(&[ent], None).await.unwrap();
    let created = out[0].result.as_ref().unwrap();
    assert_eq!(created.entitlement_id, "006OPP1");
    assert_eq!(created.line_items.len(), 2);
    assert_eq!(
        created.line_items[0].order_line_number.as_deref(),
        Some("00kA")
    );
    assert_eq!(
        created.line_items[1].order_line_number.as_deref(),
        Some("00kB")
    );
    for l in &created.line_items {
        let parts: Vec<&str> = l.activation_id.split('-').collect();
        assert_eq!(parts.len(), 4, "{}", l.activation_id);
        assert!(parts
            .iter()
            .all(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_hexdigit())));
    }
    assert_ne!(
        created.line_items[0].activation_id,
        created.line_items[1].activation_id
    );
    let st = sim.state();
    let e = state_of(&st, "entitlements", "entitlementId", "006OPP1");
    assert_eq!(e["state"], "DRAFT");
    assert_eq!(
        e["lineItems"][0]["activationId"],
        created.line_items[0].activation_id.as_str()
    );
    assert_eq!(e["lineItems"][0]["orderLineNumber"], "00kA");
    assert_eq!(e["lineItems"][0]["term"]["durationUnit"], "MONTHS");
    assert_eq!(e["lineItems"][1]["numberOfRemainingCopies"], 2);
    // the sim saw the request in schema order (it checks), and the exchange kept it
    assert!(out[0]
        .exchange
        .request_xml
        .contains("<autoGenerate>true</autoGenerate>"));
}

#[tokio::test]
async fn r5_entitlement_fails_for_undeployed_or_unknown_part_and_unknown_sold_to() {
    let sim = sim().await;
    let c = client(&sim);
    let mut bad_sold_to = entitlement("006C", vec![line("AM_SF01", 1, "00kC")]);
    bad_sold_to.sold_to = "001NOBODY".into();
    let out = c
        .create_entitlements(
            &[
                entitlement(
                    "006A",
                    vec![line("AM_SF01", 1, "x"), line("BETA_01", 1, "00kA")],
                ),
                entitlement("006B", vec![line("NOPE_99", 1, "00kB")]),
                bad_sold_to,
                entitlement("006OK", vec![line("AM_SF02", 3, "00kOK")]),
            ],
            None,
        )
        .await
        .unwrap();
    assert!(
        reason(&out[0]).contains("not deployed"),
        "{}",
        reason(&out[0])
    );
    assert!(reason(&out[1]).contains("NOPE_99"));
    assert!(reason(&out[2]).contains("001NOBODY"));
    assert!(out[3].result.is_ok());
    // atomic per entitlement: nothing of 006A exists, not even its good line
    let st = sim.state();
    let ids: Vec<&str> = st["entitlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entitlementId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["ENT-FIXTURE", "006OK"]);
}

#[tokio::test]
async fn r3_entitlement_op_types_fail_update_or_ignore_existing() {
    let sim = sim().await;
    let c = client(&sim);
    let first = c
        .create_entitlements(
            &[entitlement("006R", vec![line("AM_SF01", 5, "00kR")])],
            None,
        )
        .await
        .unwrap();
    let aid = first[0].result.as_ref().unwrap().line_items[0]
        .activation_id
        .clone();
    let again = c
        .create_entitlements(
            &[entitlement("006R", vec![line("AM_SF01", 5, "00kR")])],
            None,
        )
        .await
        .unwrap();
    assert!(reason(&again[0]).contains("already exists"));

    // CREATE_OR_UPDATE with the known activation id updates that line
    let mut l = line("AM_SF01", 8, "00kR");
    l.activation_id = Some(aid.clone());
    let upd = c
        .create_entitlements(&[entitlement("006R", vec![l])], OpType::CreateOrUpdate)
        .await
        .unwrap();
    let u = upd[0].result.as_ref().unwrap();
    assert_eq!(u.line_items[0].activation_id, aid);
    let st = sim.state();
    let e = state_of(&st, "entitlements", "entitlementId", "006R");
    assert_eq!(e["lineItems"].as_array().unwrap().len(), 1);
    assert_eq!(e["lineItems"][0]["numberOfCopies"], 8);

    // CREATE_OR_IGNORE: unchanged, and the existing line comes back with its order line
    let ign = c
        .create_entitlements(
            &[entitlement(
                "006R",
                vec![line("AM_SF01", 99, "zzz"), line("AM_SF02", 1, "yyy")],
            )],
            OpType::CreateOrIgnore,
        )
        .await
        .unwrap();
    let i = ign[0].result.as_ref().unwrap();
    assert_eq!(i.line_items.len(), 1);
    assert_eq!(i.line_items[0].activation_id, aid);
    assert_eq!(i.line_items[0].order_line_number.as_deref(), Some("00kR"));
    assert_eq!(
        state_of(&sim.state(), "entitlements", "entitlementId", "006R")["lineItems"][0]
            ["numberOfCopies"],
        8
    );
}

#[tokio::test]
async fn same_entitlement_twice_in_one_call_maps_outcomes_by_record_position() {
    let sim = sim().await;
    let c = client(&sim);
    let out = c
        .create_entitlements(
            &[
                entitlement("006TWICE", vec![line("AM_SF01", 1, "00kT1")]),
                entitlement("006TWICE", vec![line("AM_SF02", 2, "00kT2")]),
            ],
            None,
        )
        .await
        .unwrap();
    let first = out[0].result.as_ref().unwrap();
    assert_eq!(
        first.line_items[0].order_line_number.as_deref(),
        Some("00kT1")
    );
    assert!(reason(&out[1]).contains("already exists"));
}

#[tokio::test]
async fn r13_set_entitlement_state_moves_entitlement_and_line_items() {
    let sim = sim().await;
    let c = client(&sim);
    c.create_entitlements(
        &[entitlement("006S", vec![line("AM_SF01", 1, "00kS")])],
        None,
    )
    .await
    .unwrap();
    let out = c
        .set_entitlement_state(&[
            fno::StateChange {
                entitlement_id: "006S".into(),
                state: fno::State::Deployed,
            },
            fno::StateChange {
                entitlement_id: "006NOPE".into(),
                state: fno::State::Deployed,
            },
            fno::StateChange {
                entitlement_id: "ENT-FIXTURE".into(),
                state: fno::State::Draft,
            },
        ])
        .await
        .unwrap();
    assert!(out[0].result.is_ok());
    assert!(reason(&out[1]).contains("006NOPE"));
    assert!(
        reason(&out[2]).contains("DEPLOYED to DRAFT"),
        "{}",
        reason(&out[2])
    );
    let st = sim.state();
    let e = state_of(&st, "entitlements", "entitlementId", "006S");
    assert_eq!(e["state"], "DEPLOYED");
    assert_eq!(e["lineItems"][0]["state"], "DEPLOYED");
}

#[tokio::test]
async fn add_line_items_and_renew_line_items_on_an_existing_entitlement() {
    let sim = sim().await;
    let c = client(&sim);
    let added = c
        .add_line_items(
            &fno::AddLineItems {
                entitlement_id: "ENT-FIXTURE".into(),
                line_items: vec![line("AM_SF02", 4, "00kADD")],
            },
            None,
        )
        .await
        .unwrap();
    let a = added.result.as_ref().unwrap();
    assert_eq!(a.line_items.len(), 1);
    assert_eq!(a.line_items[0].order_line_number.as_deref(), Some("00kADD"));
    let missing = c
        .add_line_items(
            &fno::AddLineItems {
                entitlement_id: "006GONE".into(),
                line_items: vec![line("AM_SF02", 4, "x")],
            },
            None,
        )
        .await
        .unwrap();
    assert!(missing.result.unwrap_err().reason.contains("006GONE"));

    let mut renewal = line("AM_SF01", 12, "00kREN");
    renewal.line_item_type = Some(fno::LineItemType::Renewal);
    renewal.parent_activation_id = Some("fix-0001".into());
    renewal.expiration = Some(fno::Expiration::Date {
        date: NaiveDate::from_ymd_opt(2028, 1, 1).unwrap(),
    });
    let renewed = c
        .renew_line_items(&fno::AddLineItems {
            entitlement_id: "ENT-FIXTURE".into(),
            line_items: vec![renewal],
        })
        .await
        .unwrap();
    let r = renewed.result.as_ref().unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].parent_activation_id, "fix-0001");
    let lines = c
        .search_line_items(&LineItemQuery {
            activation_id: Some(r[0].activation_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].parent_activation_id.as_deref(), Some("fix-0001"));
    assert_eq!(lines[0].line_item_type.as_deref(), Some("RENEWAL"));
    assert_eq!(lines[0].number_of_copies, Some(12));
    assert_eq!(lines[0].order_line_number.as_deref(), Some("00kREN"));
    assert_eq!(
        lines[0].expiration_date,
        Some(NaiveDate::from_ymd_opt(2028, 1, 1).unwrap())
    );
}

/// Table 2-6's `licenseModel`, `FNPTimeZoneValue`, `versiondate` on a line item.
fn line_with_defaults(part: &str, oli: &str, zone: &str) -> fno::LineItem {
    let mut l = line(part, 2, oli);
    l.license_model = Some("Embedded Uncounted".into());
    l.fnp_time_zone_value = Some(zone.into());
    l.version_date = Some(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
    l
}

/// The five default rows of tables 2-5/2-6 on createSimpleEntitlement, createEntitlementLineItem
/// and renewLicense: the simulator refuses any element out of WSDL order, so each call passing
/// shows the client's order; the state shows FNO holds the values.
#[tokio::test]
async fn default_rows_are_sent_in_wsdl_order_by_every_line_item_write() {
    let mut fx = fixture();
    fx["flexnet"]["products"][0]["licenseModels"] = json!(["Embedded Uncounted"]);
    fx["flexnet"]["users"] = json!([{"firstName": "Ada", "lastName": "Lovelace",
        "emailAddress": "ada@acme.example", "userName": "ada@acme.example", "canLogin": true,
        "accountRoles": [{"accountId": ACME, "roles": ["Portal Admin User"]}]}]);
    let sim = FlexnetSim::start(&fx, SimOptions::default()).await.unwrap();
    let c = client(&sim);

    let mut e = entitlement(
        "006OWN",
        vec![line_with_defaults("AM_SF01", "00kO1", "Europe/Berlin")],
    );
    e.channel_partners = vec![fno::ChannelPartner {
        tier_name: fno::END_CUSTOMER_TIER.into(),
        account_id: ACME.into(),
        contact: Some("ada@acme.example".into()),
        current_owner: Some(true),
    }];
    let out = c.create_entitlements(&[e], None).await.unwrap();
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    let added = c
        .add_line_items(
            &fno::AddLineItems {
                entitlement_id: "006OWN".into(),
                line_items: vec![line_with_defaults("AM_SF02", "00kO2", "Asia/Tokyo")],
            },
            None,
        )
        .await
        .unwrap();
    assert!(added.result.is_ok(), "{:?}", added.result);
    let mut renewal = line_with_defaults("AM_SF01", "00kO3", "America/Chicago");
    renewal.parent_activation_id = Some("fix-0001".into());
    renewal.version_date = Some(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap());
    let renewed = c
        .renew_line_items(&fno::AddLineItems {
            entitlement_id: "ENT-FIXTURE".into(),
            line_items: vec![renewal],
        })
        .await
        .unwrap();
    assert!(renewed.result.is_ok(), "{:?}", renewed.result);

    let st = sim.state();
    let e = state_of(&st, "entitlements", "entitlementId", "006OWN");
    let owner = &e["channelPartners"][0];
    assert_eq!(
        (
            &owner["accountId"],
            &owner["contact"],
            &owner["currentOwner"]
        ),
        (&json!(ACME), &json!("ada@acme.example"), &json!(true))
    );
    let zones: Vec<&Value> = e["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["FNPTimeZoneValue"])
        .collect();
    assert_eq!(zones, vec!["Europe/Berlin", "Asia/Tokyo"]);
    for l in e["lineItems"].as_array().unwrap() {
        assert_eq!(l["licenseModel"], "Embedded Uncounted");
        assert_eq!(l["versionDate"], "2026-03-01");
        assert_eq!(l["versionOption"], "DEFINE_NOW");
    }
    let fixture = state_of(&st, "entitlements", "entitlementId", "ENT-FIXTURE");
    let r = fixture["lineItems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["orderLineNumber"] == "00kO3")
        .expect("renewal line");
    assert_eq!(
        (
            &r["licenseModel"],
            &r["FNPTimeZoneValue"],
            &r["versionDate"]
        ),
        (
            &json!("Embedded Uncounted"),
            &json!("America/Chicago"),
            &json!("2027-03-01")
        )
    );
}

#[tokio::test]
async fn r20_remaining_copies_and_changes_since_t_are_read_back() {
    let sim = sim().await;
    let c = client(&sim);
    let fixture_line = c
        .search_line_items(&LineItemQuery {
            entitlement_id: Some("ENT-FIXTURE".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(fixture_line.len(), 1);
    let l = &fixture_line[0];
    assert_eq!(l.activation_id, "fix-0001");
    assert_eq!(l.number_of_copies, Some(10));
    assert_eq!(l.fulfilled_amount, Some(3));
    assert_eq!(l.remaining_copies, Some(7));
    assert_eq!(l.order_line_number.as_deref(), Some("00kFIX1"));
    assert_eq!(l.part_number.as_deref(), Some("AM_SF01"));
    assert_eq!(l.product_name.as_deref(), Some("AM Product"));
    assert_eq!(l.state, Some(fno::State::Deployed));
    assert_eq!(l.sold_to.as_deref(), Some(ACME));

    // later: a new entitlement and an activation in FNO
    sim.set_now(Some(Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap()));
    c.create_entitlements(
        &[entitlement("006LATE", vec![line("AM_SF01", 2, "00kL")])],
        None,
    )
    .await
    .unwrap();
    assert!(sim.set_fulfilled("fix-0001", 9));
    let since = t("2026-11-10T00:00:00Z");
    let changed = c
        .search_line_items(&LineItemQuery {
            modified_since: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut ids: Vec<&str> = changed
        .iter()
        .map(|l| l.entitlement_id.as_deref().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["006LATE", "ENT-FIXTURE"]);
    let fix = changed
        .iter()
        .find(|l| l.activation_id == "fix-0001")
        .unwrap();
    assert_eq!(fix.remaining_copies, Some(1));

    let ents = c
        .get_entitlements(&EntitlementQuery {
            modified_since: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ents.len(), 2);
    let late = ents.iter().find(|e| e.entitlement_id == "006LATE").unwrap();
    assert_eq!(late.state, Some(fno::State::Draft));
    assert_eq!(late.sold_to.as_deref(), Some(ACME));
    assert_eq!(
        late.line_items[0].order_line_number.as_deref(),
        Some("00kL")
    );
    assert_eq!(late.line_items[0].remaining_copies, Some(2));

    let by_account = c
        .get_entitlements(&EntitlementQuery {
            sold_to: Some(ACME.into()),
            state: Some(fno::State::Deployed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_account.len(), 1);
    assert_eq!(by_account[0].entitlement_id, "ENT-FIXTURE");
    assert_eq!(by_account[0].line_items[0].remaining_copies, Some(1));
}

#[tokio::test]
async fn queries_page_through_everything_with_batch_size_and_page_number() {
    let sim = sim().await;
    let c = client(&sim);
    let ents: Vec<_> = (0..4)
        .map(|i| {
            entitlement(
                &format!("006PG{i}"),
                vec![line("AM_SF01", 1, &format!("00kPG{i}"))],
            )
        })
        .collect();
    c.create_entitlements(&ents, None).await.unwrap();
    let small = client(&sim).with_page_size(2);
    let before = sim
        .calls()
        .get("getEntitlementsQuery")
        .copied()
        .unwrap_or(0);
    let all = small
        .get_entitlements(&EntitlementQuery::default())
        .await
        .unwrap();
    // 5 entitlements at 2 per page: pages 1, 2, 3 (the short page ends the paging)
    assert_eq!(all.len(), 5);
    assert_eq!(sim.calls()["getEntitlementsQuery"] - before, 3);
    let lines = small
        .search_line_items(&LineItemQuery::default())
        .await
        .unwrap();
    assert_eq!(lines.len(), 5);
    assert_eq!(sim.calls()["getEntitlementLineItemPropertiesQuery"], 3);
}

// ------------------------------------------------------------------ catalogue

#[tokio::test]
async fn r5_r7_catalogue_from_products_and_part_numbers_with_state_filter() {
    let sim = sim().await;
    let c = client(&sim);
    let all = c.get_products(&ProductQuery::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    let deployed = c
        .get_products(&ProductQuery {
            state: Some(fno::State::Deployed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(deployed.len(), 1);
    assert_eq!(deployed[0].name, "AM Product");
    assert_eq!(deployed[0].part_numbers, vec!["AM_SF01", "AM_SF02"]);
    assert_eq!(deployed[0].license_models, vec!["Embedded Counted"]);

    let parts = c.get_part_numbers(None, None).await.unwrap();
    assert_eq!(parts.len(), 3);
    let beta = parts.iter().find(|p| p.part_id == "BETA_01").unwrap();
    assert_eq!(beta.product_name.as_deref(), Some("Beta Product"));
    assert_eq!(beta.license_model.as_deref(), Some("Embedded Uncounted"));
    let deployed_parts = c
        .get_part_numbers(None, Some(fno::State::Deployed))
        .await
        .unwrap();
    assert_eq!(
        deployed_parts
            .iter()
            .map(|p| p.part_id.as_str())
            .collect::<Vec<_>>(),
        vec!["AM_SF01", "AM_SF02"]
    );
    let one = c.get_part_numbers(Some("AM_SF02"), None).await.unwrap();
    assert_eq!(one.len(), 1);

    let cat = c.catalogue(None).await.unwrap();
    assert!(cat.check("AM_SF01").is_ok());
    assert_eq!(
        cat.check("AM_SF01").unwrap().version.as_deref(),
        Some("1.0")
    );
    assert!(matches!(
        cat.check("BETA_01"),
        Err(mapping::PartProblem::NotDeployed(_))
    ));
    assert!(matches!(
        cat.check("am_sf01"),
        Err(mapping::PartProblem::NearMatch(_))
    ));
}

// ------------------------------------------------------------------ auth and faults

#[tokio::test]
async fn r25_verify_accepts_good_and_refuses_wrong_password() {
    let sim = sim().await;
    client(&sim).verify().await.unwrap();
    let bad = client_with(&sim, "wrong-password", 3);
    let err = bad.verify().await.unwrap_err();
    assert!(matches!(err, FlexnetError::Unauthorized), "{err:?}");
    // 401 is never retried
    assert_eq!(bad.calls(), 1);
}

fn faulty(f: impl FnOnce(&mut SimOptions)) -> SimOptions {
    let mut o = SimOptions::default();
    f(&mut o);
    o
}

#[tokio::test]
async fn fault_http_500_is_retried_for_queries_only() {
    let sim = sim_with(faulty(|o| o.http_500_rate = 1.0)).await;
    let c = client_with(&sim, PASSWORD, 2);
    let err = c.get_accounts(&AccountQuery::default()).await.unwrap_err();
    assert!(
        matches!(err, FlexnetError::Http { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(sim.calls()["getAccountsQuery"], 3, "1 try + 2 retries");
    let err = c
        .create_accounts(&[account("001X", "X")], None)
        .await
        .unwrap_err();
    assert!(matches!(err, FlexnetError::Http { status: 500, .. }));
    assert_eq!(
        sim.calls()["createAccount"],
        1,
        "a plain create is never retried"
    );
    c.create_accounts(&[account("001X", "X")], OpType::CreateOrUpdate)
        .await
        .unwrap_err();
    assert_eq!(
        sim.calls()["createAccount"],
        4,
        "CREATE_OR_UPDATE is idempotent"
    );
}

#[tokio::test]
async fn fault_transient_500s_are_recovered_by_retries() {
    let sim = sim_with(faulty(|o| {
        o.http_500_rate = 0.5;
        o.seed = 7;
    }))
    .await;
    let c = client_with(&sim, PASSWORD, 8);
    for _ in 0..5 {
        c.verify().await.unwrap();
    }
    assert!(sim.calls()["getAccountsQuery"] > 5, "{:?}", sim.calls());
}

#[tokio::test]
async fn fault_timeout_is_a_transport_error_retried_only_when_idempotent() {
    let sim = sim_with(faulty(|o| {
        o.timeout_rate = 1.0;
        o.timeout_delay = Duration::from_secs(3);
    }))
    .await;
    let mut cfg =
        FlexnetConfig::new(sim.base_url(), USER, Secret::new(PASSWORD)).for_loopback_simulator();
    cfg.timeout = Duration::from_millis(300);
    cfg.max_retries = 1;
    let c = FlexnetClient::new(cfg)
        .unwrap()
        .with_backoff(Duration::from_millis(1));
    let err = c.verify().await.unwrap_err();
    assert!(matches!(err, FlexnetError::Transport { .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some(), "source kept");
    assert_eq!(c.calls(), 2);
    let err = c
        .create_entitlements(
            &[entitlement("006T", vec![line("AM_SF01", 1, "x")])],
            OpType::CreateOrUpdate,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FlexnetError::Transport { .. }));
    assert_eq!(c.calls(), 3, "auto-generated activation ids: not retried");
}

#[tokio::test]
async fn fault_soap_fault_carries_code_and_message() {
    let sim = sim_with(faulty(|o| o.soap_fault_rate = 1.0)).await;
    let c = client(&sim);
    let err = c
        .set_entitlement_state(&[fno::StateChange {
            entitlement_id: "ENT-FIXTURE".into(),
            state: fno::State::Inactive,
        }])
        .await
        .unwrap_err();
    match &err {
        FlexnetError::Fault { code, message, .. } => {
            assert_eq!(code, "soapenv:Server.userException");
            assert!(message.contains("simulated"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::Transient, "a server-side fault");
    assert!(err.is_unprocessed());
    assert_eq!(
        sim.calls()["setEntitlementState"],
        3,
        "a fault proves nothing was applied: retried in place (1 + 2)"
    );
    let ex = c.last_exchange().unwrap();
    assert_eq!(ex.http_status, Some(500));
    assert!(ex.response_xml.as_deref().unwrap().contains("Fault"));
}

#[tokio::test]
async fn fault_failure_status_is_a_whole_call_failure_with_reason() {
    let sim = sim_with(faulty(|o| {
        o.failure_rate = 1.0;
        o.fault_operations = vec!["createAccount".into()];
    }))
    .await;
    let c = client(&sim);
    let err = c
        .create_accounts(&[account("001F", "F")], None)
        .await
        .unwrap_err();
    match &err {
        FlexnetError::Failure { operation, reason } => {
            assert_eq!(operation, "createAccount");
            assert!(reason.contains("Simulated FAILURE"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // other operations are untouched
    c.verify().await.unwrap();
    assert_eq!(sim.state()["accounts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn fault_latency_is_added_to_every_call() {
    let sim = sim_with(faulty(|o| o.latency = Duration::from_millis(250))).await;
    let c = client(&sim);
    let t0 = Instant::now();
    c.verify().await.unwrap();
    c.verify().await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn a_stopped_simulator_is_unreachable_even_over_pooled_connections() {
    let sim = sim().await;
    let c = client_with(&sim, PASSWORD, 0);
    c.verify().await.unwrap();
    sim.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = c.verify().await.unwrap_err();
    assert!(matches!(err, FlexnetError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn fault_credentials_expire_after_n_calls() {
    let sim = sim_with(faulty(|o| o.expire_credentials_after = Some(2))).await;
    let c = client(&sim);
    c.verify().await.unwrap();
    c.verify().await.unwrap();
    assert!(matches!(c.verify().await, Err(FlexnetError::Unauthorized)));
    assert_eq!(sim.calls()["getAccountsQuery"], 3);
    assert_eq!(
        sim.calls_by_endpoint()["/flexnet/services/v3/UserAcctHierarchyService"],
        3
    );
}

// ------------------------------------------------------------------ simulator contract

async fn raw(sim: &RunningSim, path: &str, body: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .basic_auth(USER, Some(PASSWORD))
        .header("Content-Type", "text/xml")
        .body(format!(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
        ))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn sim_accepts_basic_or_a_configured_bearer_token_only() {
    let mut fx = fixture();
    fx["flexnet"]["credentials"]["token"] = json!("tok-123");
    let sim = FlexnetSim::start(&fx, SimOptions::default()).await.unwrap();
    let url = format!(
        "{}/flexnet/services/v3/UserAcctHierarchyService",
        sim.base_url()
    );
    let body = "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><getAccountsQueryRequest xmlns=\"urn:v3.webservices.operations.flexnet.com\"><pageNumber>1</pageNumber><batchSize>1</batchSize></getAccountsQueryRequest></soapenv:Body></soapenv:Envelope>";
    let http = reqwest::Client::new();
    let send = |auth: Option<&'static str>| {
        let mut r = http.post(&url).body(body);
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.send()
    };
    assert_eq!(send(Some("Bearer tok-123")).await.unwrap().status(), 200);
    let refused = send(Some("Bearer nope")).await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Basic realm=\"FlexNet\""
    );
    assert_eq!(send(None).await.unwrap().status(), 401);
    assert_eq!(sim.state()["credentials"]["token"], "[redacted]");
}

#[tokio::test]
async fn sim_caps_write_batches_at_25_and_read_batches_at_2000() {
    let sim = sim().await;
    let accts: String = (0..26)
        .map(|i| format!("<account><id>A{i}</id><name>N{i}</name></account>"))
        .collect();
    let (status, body) = raw(
        &sim,
        "/flexnet/services/v3/UserAcctHierarchyService",
        &format!("<createAcctRequest xmlns=\"urn:v3.webservices.operations.flexnet.com\">{accts}</createAcctRequest>"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("<ns:status>FAILURE</ns:status>"), "{body}");
    assert!(body.contains("at most 25"), "{body}");
    assert_eq!(sim.state()["accounts"].as_array().unwrap().len(), 1);
    let (_, body) = raw(
        &sim,
        "/flexnet/services/v3/UserAcctHierarchyService",
        "<getAccountsQueryRequest xmlns=\"urn:v3.webservices.operations.flexnet.com\"><pageNumber>1</pageNumber><batchSize>2001</batchSize></getAccountsQueryRequest>",
    )
    .await;
    assert!(body.contains("FAILURE") && body.contains("2000"), "{body}");
}

#[tokio::test]
async fn sim_enforces_wsdl_names_and_order_with_axis_style_faults() {
    let sim = sim().await;
    let (status, body) = raw(
        &sim,
        "/flexnet/services/v2/ProductPackagingService",
        "<getPartNumbersQueryRequest xmlns=\"urn:v2.webservices.operations.flexnet.com\"><batchSize>5</batchSize><pageNumber>1</pageNumber></getPartNumbersQueryRequest>",
    )
    .await;
    assert_eq!(status, 500);
    assert!(
        body.contains("pageNumber missing before batchSize"),
        "{body}"
    );
    let (status, body) = raw(
        &sim,
        "/flexnet/services/v2/ProductPackagingService",
        "<getPartNumbersQueryRequest xmlns=\"urn:v2.webservices.operations.flexnet.com\"><pageNo>1</pageNo></getPartNumbersQueryRequest>",
    )
    .await;
    assert_eq!(status, 500);
    assert!(
        body.contains("Invalid element") && body.contains("pageNo"),
        "{body}"
    );
    let (status, body) = raw(
        &sim,
        "/flexnet/services/v2/ProductPackagingService",
        "<getPartNumbersQueryRequest xmlns=\"urn:v9.wrong\"><pageNumber>1</pageNumber><batchSize>5</batchSize></getPartNumbersQueryRequest>",
    )
    .await;
    assert_eq!(status, 500);
    assert!(body.contains("namespace"), "{body}");
    // WSDL served with the address rewritten to the simulator
    let wsdl = reqwest::get(format!(
        "{}/flexnet/services/v4/EntitlementOrderService?wsdl",
        sim.base_url()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(wsdl.contains(&format!(
        "location=\"{}/flexnet/services/v4/EntitlementOrderService\"",
        sim.base_url()
    )));
    // state endpoint = state()
    let st: Value = reqwest::get(format!("{}/__sim/state", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st, sim.state());
    assert_eq!(st["credentials"]["password"], "[redacted]");
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

#[tokio::test]
async fn password_never_appears_in_logs_errors_exchanges_or_debug() {
    use base64::Engine;
    let buf = capture_logs();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));

    let sim = sim_with(faulty(|o| {
        o.http_500_rate = 0.4;
        o.soap_fault_rate = 0.2;
        o.failure_rate = 0.2;
        o.seed = 3;
    }))
    .await;
    let c = client(&sim);
    let mut texts = vec![format!("{c:?}")];
    for i in 0..12 {
        match c
            .create_accounts(&[account(&format!("001S{i}"), "S")], OpType::CreateOrUpdate)
            .await
        {
            Ok(out) => {
                texts.push(format!("{out:?}"));
                texts.push(serde_json::to_string(&*out[0].exchange).unwrap());
            }
            Err(e) => {
                texts.push(format!("{e} / {e:?}"));
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    texts.push(s.to_string());
                    src = s.source();
                }
            }
        }
        if let Some(ex) = c.last_exchange() {
            texts.push(format!("{ex:?}"));
        }
    }
    // unreachable tenant: the transport error chain
    let dead = FlexnetClient::new(FlexnetConfig {
        base_url: "http://127.0.0.1:9".into(),
        username: USER.into(),
        password: Secret::new(PASSWORD),
        timeout: Duration::from_millis(200),
        max_retries: 0,
        allow_loopback_http: true,
        accept_invalid_certs: false,
    })
    .unwrap();
    let e = dead.verify().await.unwrap_err();
    texts.push(format!("{e} / {e:?}"));
    if let Some(s) = std::error::Error::source(&e) {
        texts.push(format!("{s} / {s:?}"));
    }
    let cfg = FlexnetConfig::new("https://x.example", USER, Secret::new(PASSWORD));
    texts.push(format!("{cfg:?}"));

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("FNO SOAP call"), "logging was captured");
    texts.push(logs);
    for t in &texts {
        assert!(!t.contains(PASSWORD), "password leaked in: {t}");
        assert!(!t.contains(&basic), "Authorization header leaked in: {t}");
    }
}

#[tokio::test]
async fn r7_part_numbers_keep_their_whitespace_end_to_end() {
    let mut fx = fixture();
    fx["flexnet"]["products"].as_array_mut().unwrap().push(
        json!({"name": "Spacey", "version": "1", "state": "DEPLOYED", "partNumbers": ["SP_01 "]}),
    );
    let sim = FlexnetSim::start(&fx, SimOptions::default()).await.unwrap();
    let c = client(&sim);
    let cat = c.catalogue(None).await.unwrap();
    assert!(cat.parts.contains_key("SP_01 "), "{:?}", cat.parts.keys());
    assert_eq!(
        cat.check("SP_01"),
        Err(mapping::PartProblem::NearMatch("SP_01 ".into()))
    );
    let out = c
        .create_entitlements(
            &[
                entitlement("006SP1", vec![line("SP_01", 1, "a")]),
                entitlement("006SP2", vec![line("SP_01 ", 1, "b")]),
            ],
            None,
        )
        .await
        .unwrap();
    assert!(reason(&out[0]).contains("'SP_01'"), "{}", reason(&out[0]));
    assert!(out[1].result.is_ok());
    let back = c
        .search_line_items(&LineItemQuery {
            entitlement_id: Some("006SP2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(back[0].part_number.as_deref(), Some("SP_01 "));
}

/// Every optional part the client can send, read back through every query: the simulator
/// checks each response against the WSDL before sending, so a rendering slip fails here.
#[tokio::test]
async fn r18_rich_records_round_trip_through_every_query() {
    let mut fx = fixture();
    let defs = fx["flexnet"]["customAttributes"].as_array_mut().unwrap();
    defs.push(json!({"entity": "user", "name": "DEPT", "type": "Text"}));
    defs.push(json!({"entity": "entitlement", "name": "SF_OPP", "type": "Text"}));
    defs.push(json!({"entity": "entitlement", "name": "SIGNED", "type": "Date"}));
    defs.push(json!({"entity": "account", "name": "VIP", "type": "Boolean"}));
    let sim = FlexnetSim::start(&fx, SimOptions::default()).await.unwrap();
    let c = client(&sim);

    let mut a = account("001RICH", "Rich & <Famous>");
    a.description = Some("quotes \" and ' apostrophes".into());
    a.address = Some(fno::Address {
        address1: Some("1 Main St".into()),
        address2: Some("Suite 2".into()),
        city: Some("Austin".into()),
        state: Some("TX".into()),
        zipcode: Some("78701".into()),
        country: Some("US".into()),
        region: Some("North America".into()),
    });
    a.account_type = Some(fno::AccountType::ChannelPartner);
    a.attributes = vec![
        fno::Attribute {
            name: "SF_ACCOUNT_ID".into(),
            value: fno::AttributeValue::String("001RICH".into()),
        },
        fno::Attribute {
            name: "VIP".into(),
            value: fno::AttributeValue::Boolean(true),
        },
    ];
    let out = c.create_accounts(&[a], None).await.unwrap();
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);

    let mut u = user("rich@acme.example", "001RICH", &["Portal User"]);
    u.display_name = Some("Rich User".into());
    u.opt_in = Some(false);
    u.phone_number = Some("+1 512 555 0100".into());
    u.fax_number = Some("+1 512 555 0101".into());
    u.street = Some("1 Main St".into());
    u.city = Some("Austin".into());
    u.state = Some("TX".into());
    u.zipcode = Some("78701".into());
    u.locale = Some("en_US".into());
    u.timezone = Some("America/Chicago".into());
    u.attributes = vec![fno::Attribute {
        name: "DEPT".into(),
        value: fno::AttributeValue::String("IT".into()),
    }];
    let out = c.create_users(&[u.clone()], None).await.unwrap();
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    let out = c.update_users(&[u]).await.unwrap();
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);

    let mut perm = line("AM_SF01", 3, "00kP");
    perm.expiration = Some(fno::Expiration::Permanent);
    perm.start_date = None;
    perm.start_date_option = Some(fno::StartDateOption::DefineAtFirstActivation);
    perm.description = Some("permanent seats".into());
    perm.attributes = vec![fno::Attribute {
        name: "SEATS_NOTE".into(),
        value: fno::AttributeValue::Integer(42),
    }];
    let mut dated = line("AM_SF02", 4, "00kD");
    dated.expiration = Some(fno::Expiration::Date {
        date: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
    });
    dated.line_item_type = Some(fno::LineItemType::Upsell);
    let mut e = entitlement("006RICH", vec![perm, dated]);
    e.sold_to = ACME.into();
    e.ship_to_email = Some("ship@acme.example".into());
    e.ship_to_address = Some("1 Main St, Austin".into());
    e.email_template_variation = Some("Default".into());
    e.channel_partners = vec![fno::ChannelPartner {
        tier_name: "bo.constants.partnertiernames.endcustomer".into(),
        account_id: "001RICH".into(),
        contact: None,
        current_owner: None,
    }];
    e.attributes = vec![
        fno::Attribute {
            name: "SF_OPP".into(),
            value: fno::AttributeValue::String("006RICH".into()),
        },
        fno::Attribute {
            name: "SIGNED".into(),
            value: fno::AttributeValue::Date(NaiveDate::from_ymd_opt(2026, 10, 30).unwrap()),
        },
    ];
    let out = c.create_entitlements(&[e], None).await.unwrap();
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);

    let accts = c
        .get_accounts(&AccountQuery {
            id: Some("001RICH".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(accts[0].name.as_deref(), Some("Rich & <Famous>"));
    assert_eq!(
        accts[0].account_type,
        Some(fno::AccountType::ChannelPartner)
    );
    assert!(accts[0]
        .attributes
        .contains(&("VIP".to_owned(), "true".to_owned())));
    let users = c
        .get_users(&UserQuery {
            user_name: Some("rich@acme.example".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(users[0].display_name.as_deref(), Some("Rich User"));
    let ents = c
        .get_entitlements(&EntitlementQuery {
            entitlement_id: Some("006RICH".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ents[0].line_items.len(), 2);
    assert_eq!(ents[0].line_items[0].is_permanent, Some(true));
    assert_eq!(
        ents[0].line_items[1].expiration_date,
        Some(NaiveDate::from_ymd_opt(2027, 12, 31).unwrap())
    );
    let lines = c
        .search_line_items(&LineItemQuery {
            entitlement_id: Some("006RICH".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(lines[1].line_item_type.as_deref(), Some("UPSELL"));
    let st = sim.state();
    let e = state_of(&st, "entitlements", "entitlementId", "006RICH");
    assert_eq!(e["channelPartners"][0]["accountId"], "001RICH");
    assert_eq!(e["customAttributes"]["SIGNED"], "2026-10-30");
    assert_eq!(e["lineItems"][0]["customAttributes"]["SEATS_NOTE"], 42);
    assert_eq!(
        state_of(&st, "users", "emailAddress", "rich@acme.example")["zipcode"],
        "78701"
    );
}

// ------------------------------------------------------------------ temporary vs permanent

#[tokio::test]
async fn a_lost_reply_to_a_write_is_not_repeated() {
    let sim = sim_with(faulty(|o| {
        o.lost_reply_rate = 1.0;
        o.fault_operations = vec!["createAccount".into()];
    }))
    .await;
    let c = client(&sim); // max_retries 2
    let err = c
        .create_accounts(&[account("001LOST", "Lost")], None)
        .await
        .unwrap_err();
    assert!(matches!(err, FlexnetError::Transport { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(!err.is_unprocessed(), "the write may have been applied");
    assert_eq!(sim.calls()["createAccount"], 1, "never sent twice");
    assert!(
        sim.tenant().accounts.iter().any(|a| a.id == "001LOST"),
        "FNO applied it"
    );
    // the same fault on an idempotent write (CREATE_OR_UPDATE) is retried in place
    c.create_accounts(&[account("001LOST", "Lost")], OpType::CreateOrUpdate)
        .await
        .unwrap_err();
    assert_eq!(sim.calls()["createAccount"], 4);
}

#[tokio::test]
async fn lost_replies_to_reads_are_retried() {
    let sim = sim_with(faulty(|o| {
        o.lost_reply_rate = 0.5;
        o.seed = 5;
    }))
    .await;
    let c = client_with(&sim, PASSWORD, 10);
    for _ in 0..5 {
        c.verify().await.unwrap();
    }
    assert!(sim.calls()["getAccountsQuery"] > 5, "{:?}", sim.calls());
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_a_plain_create() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: connections are refused
    let cfg = FlexnetConfig::new(
        format!("http://127.0.0.1:{port}"),
        USER,
        Secret::new(PASSWORD),
    );
    let c = FlexnetClient::new(FlexnetConfig {
        max_retries: 2,
        ..cfg.for_loopback_simulator()
    })
    .unwrap()
    .with_backoff(Duration::from_millis(1));
    let err = c
        .create_accounts(&[account("001X", "X")], None)
        .await
        .unwrap_err();
    assert!(err.is_unprocessed(), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(c.calls(), 3, "nothing reached FNO: 1 + 2 retries");
}

#[test]
fn faults_and_statuses_are_classified() {
    let op = || "createAccount".to_owned();
    let fault = |code: &str, message: &str| FlexnetError::Fault {
        operation: op(),
        code: code.into(),
        message: message.into(),
    };
    let http = |status| FlexnetError::Http {
        operation: op(),
        status,
    };
    use ErrorKind::*;
    let cases = [
        (
            fault("soapenv:Server.userException", "java.rmi.RemoteException"),
            Transient,
        ),
        (fault("ns1:Server", "NullPointerException"), Transient),
        (fault("soapenv:Client", "bad envelope"), Permanent),
        (
            fault(
                "soapenv:Server.userException",
                "org.xml.sax.SAXException: bad",
            ),
            Permanent,
        ),
        (http(500), Transient),
        (http(503), Transient),
        (http(429), Transient),
        (http(404), Permanent),
        (FlexnetError::Unauthorized, Permanent),
        (
            FlexnetError::Failure {
                operation: op(),
                reason: "nothing was processed".into(),
            },
            Permanent,
        ),
        (FlexnetError::Config("x".into()), Permanent),
        (FlexnetError::Deadline { operation: op() }, Transient),
    ];
    for (e, kind) in cases {
        assert_eq!(e.kind(), kind, "{e}");
        assert_eq!(e.is_transient(), kind == Transient, "{e}");
    }
    assert!(http(503).is_unprocessed() && http(429).is_unprocessed());
    assert!(!http(500).is_unprocessed() && !http(504).is_unprocessed());
}

#[tokio::test]
async fn a_plain_create_answered_with_http_500_is_not_repeated() {
    let sim = sim_with(faulty(|o| o.http_500_rate = 1.0)).await;
    let c = client(&sim);
    let err = c
        .create_accounts(&[account("001Y", "Y")], None)
        .await
        .unwrap_err();
    assert!(!err.is_unprocessed() && err.is_transient(), "{err:?}");
    assert_eq!(sim.calls()["createAccount"], 1);
}

// ------------------------------------------------------------------ deadline

#[tokio::test]
async fn no_fno_call_starts_past_the_deadline() {
    let sim = sim().await;
    let c = client(&sim);
    c.set_deadline(Some(Instant::now()));
    let err = c.verify().await.unwrap_err();
    assert!(matches!(err, FlexnetError::Deadline { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.to_string().contains("deadline"), "{err}");
    assert_eq!((c.calls(), sim.total_calls()), (0, 0), "nothing sent");
    c.set_deadline(None);
    assert_eq!(c.deadline(), None);
    c.verify().await.unwrap();
}

#[tokio::test]
async fn a_deadline_cuts_the_fno_timeout_and_stops_the_retries() {
    let sim = sim_with(faulty(|o| {
        o.timeout_rate = 1.0;
        o.timeout_delay = Duration::from_secs(5);
    }))
    .await;
    let c = client(&sim); // timeout 5 s, max_retries 2
    c.set_deadline(Some(Instant::now() + Duration::from_millis(300)));
    let err = c.verify().await.unwrap_err();
    match &err {
        FlexnetError::Transport { source, .. } => assert!(source.is_timeout(), "{source:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.calls(), 1, "no retry could end before the deadline");
}
