//! Every endpoint over raw HTTP (reqwest), checked against the wire shapes of
//! shared/reference/salesforce-rest.md.

use crate::common::*;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use sim_salesforce::SimOptions;

#[tokio::test]
async fn token_client_credentials_form_basic_and_errors() {
    let sim = start(SimOptions::default()).await;
    let tok_url = format!("{}/services/oauth2/token", sim.base_url());
    let r = http()
        .post(&tok_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("send");
    let (s, limit, v) = split(r).await;
    assert_eq!(s, 200);
    assert!(
        limit.is_none(),
        "no Sforce-Limit-Info on the token endpoint"
    );
    assert_eq!(v["instance_url"], sim.base_url());
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["access_token"].as_str().expect("tok").starts_with("00D"));
    assert!(v["id"]
        .as_str()
        .expect("id")
        .starts_with(&format!("{}/id/00D", sim.base_url())));
    let issued = v["issued_at"].as_str().expect("issued_at is a string");
    assert_eq!(issued.len(), 13, "epoch milliseconds");
    let start = Utc
        .with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
        .single()
        .expect("t")
        .timestamp_millis();
    let ms = issued.parse::<i64>().expect("ms");
    assert!(
        (start..start + 60_000).contains(&ms),
        "issued_at follows the sim clock (fixture now): {ms}"
    );
    assert!(v["signature"].is_string() && v["scope"].is_string());

    // HTTP Basic client authentication
    let r = http()
        .post(&tok_url)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);

    for (form, code, desc) in [
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", "wrong"),
            ],
            "invalid_client",
            "invalid client credentials",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "nope"),
                ("client_secret", CLIENT_SECRET),
            ],
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            vec![("grant_type", "password")],
            "unsupported_grant_type",
            "grant type not supported",
        ),
    ] {
        let r = http()
            .post(&tok_url)
            .form(&form)
            .send()
            .await
            .expect("send");
        let (s, _, v) = split(r).await;
        assert_eq!(s, 400);
        assert_eq!(v, json!({"error": code, "error_description": desc}));
    }
    assert_eq!(sim.calls()["token"], 5);
    assert_eq!(sim.api_calls(), 0, "token calls are not API calls");
}

#[tokio::test]
async fn data_calls_need_a_valid_bearer_token() {
    let sim = start(SimOptions::default()).await;
    let r = http().get(url(&sim, "limits")).send().await.expect("send");
    let (s, _, v) = split(r).await;
    assert_eq!(s, 401);
    assert_eq!(
        v,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let (s, _, v) = get(&sim, "00Dbogus!AQxyz", "limits").await;
    assert_eq!((s, error_code(&v)), (401, "INVALID_SESSION_ID"));
    assert_eq!(sim.api_calls(), 0);
    let tok = token(&sim).await;
    let (s, _, _) = get(&sim, &tok, "limits").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn query_renders_records_exactly_like_salesforce() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let r = http()
        .get(url(&sim, "query/"))
        .query(&[(
            "q",
            "SELECT Id, Name, Account.Name, SystemModstamp FROM Opportunity ORDER BY Name",
        )])
        .bearer_auth(&tok)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["Sforce-Limit-Info"].to_str().expect("h"),
        "api-usage=1/15000"
    );
    let text = r.text().await.expect("text");
    assert_eq!(
        text,
        format!(
            concat!(
                r#"{{"totalSize":2,"done":true,"records":["#,
                r#"{{"attributes":{{"type":"Opportunity","url":"/services/data/v62.0/sobjects/Opportunity/{o1}"}},"Id":"{o1}","Name":"Acme deal","#,
                r#""Account":{{"attributes":{{"type":"Account","url":"/services/data/v62.0/sobjects/Account/{a}"}},"Name":"Acme"}},"SystemModstamp":"2026-09-21T09:00:00.000+0000"}},"#,
                r#"{{"attributes":{{"type":"Opportunity","url":"/services/data/v62.0/sobjects/Opportunity/{o2}"}},"Id":"{o2}","Name":"Orphan","Account":null,"SystemModstamp":"2026-09-22T09:00:00.000+0000"}}]}}"#
            ),
            o1 = OPP1,
            o2 = OPP2,
            a = ACME
        )
    );

    let (s, v) = query(
        &sim,
        &tok,
        "SELECT Id, (SELECT Quantity, Product2.IsActive, Product2.ProductCode FROM OpportunityLineItems) FROM Opportunity WHERE SystemModstamp >= 2026-09-21T09:00:00Z ORDER BY SystemModstamp",
    )
    .await;
    assert_eq!(s, 200);
    let lines = &v["records"][0]["OpportunityLineItems"];
    assert_eq!(lines["totalSize"], 1);
    assert_eq!(lines["done"], true);
    assert_eq!(lines["records"][0]["Quantity"], 5.0);
    assert_eq!(lines["records"][0]["Product2"]["IsActive"], true);
    assert_eq!(lines["records"][0]["Product2"]["ProductCode"], "FA-PRO-100");
    assert_eq!(
        lines["records"][0]["attributes"]["type"],
        "OpportunityLineItem"
    );
    assert_eq!(v["records"][1]["OpportunityLineItems"], Value::Null);

    // unknown objects and fields from the fixture are queryable with inferred types
    let (s, v) = query(
        &sim,
        &tok,
        "SELECT Name, Account__r.Name FROM Gadget__c WHERE Size__c > 2",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["records"][0]["Account__r"]["Name"], "Acme");

    let (s, v) = query(&sim, &tok, "SELECT COUNT() FROM Account").await;
    assert_eq!(
        (s, v["totalSize"].clone(), v["records"].clone()),
        (200, json!(2), json!([]))
    );
}

#[tokio::test]
async fn query_pages_with_batch_size_and_next_records_url() {
    let sim = start(SimOptions::default()).await;
    for i in 0..450 {
        sim.upsert_record(
            "Account",
            json!({"Name": format!("Bulk {i:04}"), "FNO_Account_Type__c": "End User"}),
        );
    }
    let tok = token(&sim).await;
    let mut next = None::<String>;
    let mut sizes = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    loop {
        let req = match &next {
            None => http()
                .get(url(&sim, "query"))
                .query(&[("q", "SELECT Id, Name FROM Account ORDER BY Name")])
                .header("Sforce-Query-Options", "batchSize=200"),
            Some(n) => http().get(format!("{}{n}", sim.base_url())),
        };
        let (s, _, v) = split(req.bearer_auth(&tok).send().await.expect("send")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["totalSize"], 452,
            "totalSize is the whole result on every page"
        );
        let recs = v["records"].as_array().expect("records");
        sizes.push(recs.len());
        ids.extend(
            recs.iter()
                .map(|r| r["Id"].as_str().expect("id").to_owned()),
        );
        if v["done"] == true {
            assert!(v.get("nextRecordsUrl").is_none());
            break;
        }
        let n = v["nextRecordsUrl"]
            .as_str()
            .expect("nextRecordsUrl")
            .to_owned();
        assert!(
            n.starts_with("/services/data/v62.0/query/01g") && n.rsplit_once('-').is_some(),
            "{n}"
        );
        next = Some(n);
    }
    assert_eq!(sizes, [200, 200, 52]);
    assert_eq!(ids.len(), 452);
    assert_eq!(sim.calls()["query"], 3);

    // below the minimum: clamped to 200; default 2000
    let r = http()
        .get(url(&sim, "query"))
        .query(&[("q", "SELECT Id FROM Account")])
        .header("Sforce-Query-Options", "batchSize=10")
        .bearer_auth(&tok)
        .send()
        .await
        .expect("send");
    let (_, _, v) = split(r).await;
    assert_eq!(v["records"].as_array().map(Vec::len), Some(200));
    let (_, v) = query(&sim, &tok, "SELECT Id FROM Account").await;
    assert_eq!(
        (v["done"].clone(), v["records"].as_array().map(Vec::len)),
        (json!(true), Some(452))
    );

    // the sim-side cap forces small pages
    sim.set_options(SimOptions {
        max_batch_size: 100,
        ..SimOptions::default()
    });
    let (_, v) = query(&sim, &tok, "SELECT Id FROM Account").await;
    assert_eq!(v["records"].as_array().map(Vec::len), Some(100));

    let (s, _, v) = get(&sim, &tok, "query/01gSm0000000000XXX-200").await;
    assert_eq!((s, error_code(&v)), (400, "INVALID_QUERY_LOCATOR"));
}

#[tokio::test]
async fn child_rows_count_toward_the_batch() {
    let sim = start(SimOptions {
        max_batch_size: 3,
        ..SimOptions::default()
    })
    .await;
    for i in 0..3 {
        sim.upsert_record(
            "OpportunityLineItem",
            json!({"OpportunityId": OPP1, "Quantity": i as f64}),
        );
    }
    let tok = token(&sim).await;
    let (_, v) = query(
        &sim,
        &tok,
        "SELECT Id, (SELECT Id FROM OpportunityLineItems) FROM Opportunity ORDER BY Name",
    )
    .await;
    // OPP1 has 4 line items: it fills the page alone (a short page)
    assert_eq!(v["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["records"][0]["OpportunityLineItems"]["totalSize"], 4);
    assert_eq!(v["done"], false);
}

#[tokio::test]
async fn query_all_sees_soft_deleted_rows_and_query_does_not() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let q = "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true";
    let (_, v) = query(&sim, &tok, q).await;
    assert_eq!(v["totalSize"], 0);
    let r = http()
        .get(url(&sim, "queryAll"))
        .query(&[("q", q)])
        .bearer_auth(&tok)
        .send()
        .await
        .expect("send");
    let (s, _, v) = split(r).await;
    assert_eq!(s, 200);
    assert_eq!(v["totalSize"], 1);
    assert_eq!(v["records"][0]["IsDeleted"], true);
    assert_eq!(sim.calls()["queryAll"], 1);
}

#[tokio::test]
async fn query_errors_are_arrays_with_salesforce_codes() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    for (q, code) in [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        (
            "SELECT Id FROM Account WHERE Name = 'x' AND (",
            "MALFORMED_QUERY",
        ),
        ("SELECT Nope__c FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
        (
            "SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-01-01",
            "INVALID_FIELD",
        ),
    ] {
        let (s, v) = query(&sim, &tok, q).await;
        assert_eq!((s, error_code(&v)), (400, code), "{q}: {v}");
        assert!(v[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (s, _, v) = get(&sim, &tok, "query").await;
    assert_eq!((s, error_code(&v)), (400, "MALFORMED_QUERY"));
}

#[tokio::test]
async fn describe_lists_types_updateability_picklists_and_relationships() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let (s, limit, v) = get(&sim, &tok, "sobjects/Opportunity/describe").await;
    assert_eq!(s, 200);
    assert!(limit.is_some());
    assert_eq!(v["name"], "Opportunity");
    let field = |n: &str| {
        v["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("no field {n}"))
    };
    let st = field("FNO_Entitlement_State__c");
    assert_eq!(st["type"], "picklist");
    let vals: Vec<&str> = st["picklistValues"]
        .as_array()
        .expect("pl")
        .iter()
        .filter_map(|p| p["value"].as_str())
        .collect();
    assert_eq!(vals, ["Draft", "Deployed"]);
    assert_eq!(field("IsWon")["updateable"], false);
    assert_eq!(field("FNO_Entitlement_ID__c")["updateable"], true);
    assert_eq!(field("CloseDate")["type"], "date");
    assert_eq!(field("SystemModstamp")["type"], "datetime");
    let acc = field("AccountId");
    assert_eq!(
        (
            acc["type"].clone(),
            acc["referenceTo"].clone(),
            acc["relationshipName"].clone()
        ),
        (json!("reference"), json!(["Account"]), json!("Account"))
    );
    let sold = field("FNO_SoldTo_Account__c");
    assert_eq!(sold["relationshipName"], "FNO_SoldTo_Account__r");
    assert!(v["childRelationships"]
        .as_array()
        .expect("children")
        .iter()
        .any(|c| c["relationshipName"] == "OpportunityLineItems"));

    let (_, _, g) = get(&sim, &tok, "sobjects/Gadget__c/describe").await;
    let size = g["fields"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["name"] == "Size__c")
        .cloned();
    assert_eq!(size.map(|f| f["type"].clone()), Some(json!("double")));

    let (s, _, v) = get(&sim, &tok, "sobjects/Nope/describe").await;
    assert_eq!((s, error_code(&v)), (404, "NOT_FOUND"));
    assert_eq!(sim.calls()["describe"], 3);
}

#[tokio::test]
async fn patch_updates_a_record_and_bumps_the_stamps() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let t = Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("t");
    sim.set_now(Some(t));
    let (s, limit, v) = patch(
        &sim,
        &tok,
        &format!("sobjects/Opportunity/{OPP1}"),
        json!({"FNO_Entitlement_ID__c": "ENT-1", "FNO_Entitlement_State__c": "Deployed"}),
    )
    .await;
    assert_eq!((s, v), (204, Value::Null));
    assert!(limit.is_some());
    let rec = sim.record("Opportunity", OPP1).expect("record");
    assert_eq!(rec["FNO_Entitlement_ID__c"], "ENT-1");
    assert_eq!(rec["FNO_Entitlement_State__c"], "Deployed");
    for k in ["SystemModstamp", "LastModifiedDate"] {
        assert!(
            rec[k].as_str().expect(k).starts_with("2026-12-01T00:00:0"),
            "{k}: {}",
            rec[k]
        );
        assert!(rec[k].as_str().expect(k).ends_with("+0000"));
    }
    // numeric strings are converted; a 15-char id works
    let (s, _, _) = patch(
        &sim,
        &tok,
        &format!("sobjects/OpportunityLineItem/{}", &OLI1[..15]),
        json!({"FNO_Remaining_Quantity__c": "4", "FNO_Activation_ID__c": "a-1"}),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(
        sim.record("OpportunityLineItem", OLI1).expect("r")["FNO_Remaining_Quantity__c"],
        4.0
    );
    assert_eq!(sim.calls()["sobject_patch"], 2);
    assert_eq!(sim.records_written(), 2, "one record per PATCH");
}

#[tokio::test]
async fn patch_errors_follow_salesforce() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let before = sim.record("OpportunityLineItem", OLI1).expect("r");
    let p = format!("sobjects/OpportunityLineItem/{OLI1}");
    let long = "x".repeat(256);
    let cases: Vec<(String, Value, u16, &str, Option<Value>)> = vec![
        (
            "sobjects/OpportunityLineItem/00kDm0000000099IAA".into(),
            json!({"Description": "x"}),
            404,
            "NOT_FOUND",
            None,
        ),
        (
            "sobjects/Nope/00kDm0000000099IAA".into(),
            json!({"Description": "x"}),
            404,
            "NOT_FOUND",
            None,
        ),
        (
            p.clone(),
            json!({"Bogus__c": 1}),
            400,
            "INVALID_FIELD",
            None,
        ),
        (
            p.clone(),
            json!({"ProductCode": "X", "Description": "ok"}),
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            Some(json!(["ProductCode"])),
        ),
        (
            p.clone(),
            json!({"Quantity": "many"}),
            400,
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            Some(json!(["Quantity"])),
        ),
        (
            p.clone(),
            json!({"Quantity": {"n": 1}}),
            400,
            "JSON_PARSER_ERROR",
            Some(json!(["Quantity"])),
        ),
        (
            p.clone(),
            json!({"FNO_Start_Date__c": "next week"}),
            400,
            "JSON_PARSER_ERROR",
            Some(json!(["FNO_Start_Date__c"])),
        ),
        (
            p.clone(),
            json!({"FNO_Expiration_Term_Option__c": "Decades"}),
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            Some(json!(["FNO_Expiration_Term_Option__c"])),
        ),
        (
            p.clone(),
            json!({"Description": long}),
            400,
            "STRING_TOO_LONG",
            Some(json!(["Description"])),
        ),
        (
            p.clone(),
            json!({"Quantity": null}),
            400,
            "REQUIRED_FIELD_MISSING",
            Some(json!(["Quantity"])),
        ),
    ];
    for (path, body, status, code, fields) in cases {
        let (s, _, v) = patch(&sim, &tok, &path, body.clone()).await;
        assert_eq!((s, error_code(&v)), (status, code), "{body}: {v}");
        assert!(v[0]["message"].is_string());
        if let Some(f) = fields {
            assert_eq!(v[0]["fields"], f, "{body}");
        }
    }
    let r = http()
        .patch(url(&sim, &p))
        .bearer_auth(&tok)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    let (s, _, v) = split(r).await;
    assert_eq!((s, error_code(&v)), (400, "JSON_PARSER_ERROR"));
    assert_eq!(
        sim.record("OpportunityLineItem", OLI1).expect("r"),
        before,
        "a refused write changes nothing"
    );
}

#[tokio::test]
async fn composite_update_results_in_order_with_all_or_none() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let body = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Account"}, "id": ACME, "FNO_Account_ID__c": "FNO-A"},
        {"attributes": {"type": "OpportunityLineItem"}, "id": OLI1, "Quantity": "lots"},
        {"attributes": {"type": "Opportunity"}, "id": OPP1, "FNO_Entitlement_ID__c": "ENT-9"},
        {"attributes": {"type": "Opportunity"}, "id": "006Dm0000000099IAA", "Name": "x"},
        {"id": GLOBEX, "Name": "no type"}
    ]});
    let (s, limit, v) = patch(&sim, &tok, "composite/sobjects", body).await;
    assert_eq!(s, 200, "{v}");
    assert!(limit.is_some());
    assert_eq!(v[0], json!({"id": ACME, "success": true, "errors": []}));
    assert_eq!(v[1]["success"], false);
    assert_eq!(v[1]["id"], OLI1);
    assert_eq!(
        v[1]["errors"][0],
        json!({"statusCode": "INVALID_TYPE_ON_FIELD_IN_RECORD", "message": "Quantity: value not of required type: lots", "fields": ["Quantity"]})
    );
    assert_eq!(v[2]["success"], true);
    assert_eq!(
        v[3]["errors"][0]["statusCode"],
        "INVALID_CROSS_REFERENCE_KEY"
    );
    assert_eq!(v[4]["errors"][0]["statusCode"], "INVALID_TYPE");
    assert_eq!(
        sim.record("Account", ACME).expect("a")["FNO_Account_ID__c"],
        "FNO-A"
    );
    assert_eq!(
        sim.record("Opportunity", OPP1).expect("o")["FNO_Entitlement_ID__c"],
        "ENT-9"
    );
    assert_eq!(sim.records_written(), 2, "only the records that succeeded");

    // allOrNone: one bad record rolls every record back
    let body = json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Account"}, "id": GLOBEX, "FNO_Account_ID__c": "FNO-G"},
        {"attributes": {"type": "Account"}, "id": ACME, "IsDeleted": true}
    ]});
    let (s, _, v) = patch(&sim, &tok, "composite/sobjects", body).await;
    assert_eq!(s, 200);
    assert_eq!(v[0]["success"], false);
    assert_eq!(
        v[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        v[1]["errors"][0]["statusCode"],
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    );
    assert_eq!(
        sim.record("Account", GLOBEX).expect("g")["FNO_Account_ID__c"],
        Value::Null
    );

    // over 200 records: refused as a whole
    let recs: Vec<Value> = (0..201)
        .map(|_| json!({"attributes": {"type": "Account"}, "id": ACME, "Name": "n"}))
        .collect();
    let (s, _, v) = patch(&sim, &tok, "composite/sobjects", json!({"records": recs})).await;
    assert_eq!((s, error_code(&v)), (400, "EXCEEDED_ID_LIMIT"));
    assert_eq!(sim.record("Account", ACME).expect("a")["Name"], "Acme");
    assert_eq!(sim.calls()["composite"], 3);
    assert_eq!(
        sim.records_written(),
        2,
        "rolled-back and refused records are not written"
    );
}

#[tokio::test]
async fn limits_and_usage_header_track_the_quota() {
    let sim = start(SimOptions {
        api_usage_start: 100,
        daily_api_limit: 1000,
        ..SimOptions::default()
    })
    .await;
    let tok = token(&sim).await;
    let (_, l1, _) = get(&sim, &tok, "sobjects/Account/describe").await;
    assert_eq!(l1.as_deref(), Some("api-usage=101/1000"));
    let (s, l2, v) = get(&sim, &tok, "limits").await;
    assert_eq!(s, 200);
    assert_eq!(l2.as_deref(), Some("api-usage=102/1000"));
    assert_eq!(
        v["DailyApiRequests"],
        json!({"Max": 1000, "Remaining": 898})
    );
    assert_eq!(sim.api_calls(), 2);
    assert_eq!(sim.calls()["limits"], 1);
}

#[tokio::test]
async fn versions_sobject_get_and_sim_hooks() {
    let sim = start(SimOptions::default()).await;
    let r = http()
        .get(format!("{}/services/data/", sim.base_url()))
        .send()
        .await
        .expect("send");
    let (s, limit, v) = split(r).await;
    assert_eq!(s, 200);
    assert!(limit.is_none());
    assert!(v
        .as_array()
        .expect("list")
        .iter()
        .any(|x| x["version"] == "62.0"));

    let tok = token(&sim).await;
    let (s, _, v) = get(
        &sim,
        &tok,
        &format!("sobjects/Account/{ACME}?fields=Name,FNO_Account_Type__c"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["Name"], "Acme");
    assert_eq!(v["attributes"]["type"], "Account");

    let state: Value = http()
        .get(format!("{}/__sim/state", sim.base_url()))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        state["salesforce"]["credentials"]["clientSecret"],
        "[redacted]"
    );
    assert!(
        !state.to_string().contains(CLIENT_SECRET),
        "the secret never leaves"
    );
    assert_eq!(
        state["salesforce"]["Account"].as_array().map(Vec::len),
        Some(3)
    );
    assert!(state["salesforce"] == sim.state()["salesforce"]);

    let r = http()
        .post(format!(
            "{}/__sim/clock?now=2027-01-01T00:00:00Z",
            sim.base_url()
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 204);
    assert!(
        sim.now()
            >= Utc
                .with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
                .single()
                .expect("t")
    );

    let calls: Value = http()
        .get(format!("{}/__sim/calls", sim.base_url()))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(calls["byEndpoint"]["token"], 1);
    assert_eq!(calls["byEndpoint"]["sobject_get"], 1);
    assert_eq!(calls["apiCalls"], 1);
    assert_eq!(calls["recordsWritten"], 0, "nothing written yet");
}

#[tokio::test]
async fn the_repo_fixtures_load_and_answer_the_sync_queries() {
    let mut queried = 0;
    for name in ["demo.json", "walkthrough.json"] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/").to_owned() + name;
        let text = std::fs::read_to_string(&path).expect("fixture file");
        let fx: Value = serde_json::from_str(&text).expect("json");
        let sim = sim_salesforce::SalesforceSim::start(&fx, SimOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = http()
            .post(format!("{}/services/oauth2/token", sim.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "flexbridge-demo"),
                ("client_secret", "demo-secret"),
            ])
            .send()
            .await
            .expect("token");
        let (s, _, v) = split(r).await;
        if s != 200 {
            // the fixture brings its own credentials
            assert!(fx["salesforce"]["credentials"].is_object(), "{name}: {v}");
            continue;
        }
        let tok = v["access_token"].as_str().expect("tok").to_owned();
        let (s, v) = query(
            &sim,
            &tok,
            "SELECT Id, Name, AccountId, Account.Name, StageName, IsWon, SystemModstamp, \
             (SELECT Id, Product2Id, Product2.IsActive, Product2.FNO_Include_In_Sync__c, ProductCode, Quantity \
              FROM OpportunityLineItems) FROM Opportunity \
             WHERE IsWon = true AND SystemModstamp >= 2020-01-01T00:00:00Z ORDER BY SystemModstamp ASC",
        )
        .await;
        assert_eq!(s, 200, "{name}: {v}");
        let n = fx["salesforce"]["Opportunity"].as_array().map_or(0, |a| {
            a.iter()
                .filter(|o| o["IsWon"] == true && o.get("IsDeleted") != Some(&json!(true)))
                .count()
        });
        assert_eq!(v["totalSize"], n, "{name}");
        assert!(n > 0, "{name}: the fixture has won opportunities");
        queried += 1;
    }
    assert!(queried >= 1);
}

#[tokio::test]
async fn the_documented_fixture_example_loads() {
    let doc = include_str!("../../../fixtures/README.md");
    let start_at = doc.find("## salesforce").expect("section");
    let block = doc[start_at..]
        .split("```json")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("json block");
    let fx: Value = serde_json::from_str(block).expect("the README example is JSON");
    let sim = sim_salesforce::SalesforceSim::start(&fx, SimOptions::default())
        .await
        .expect("the README example loads");
    assert_eq!(sim.records("OpportunityLineItem").len(), 1);
    let tok = token_for(&sim, "flexbridge-demo", "demo-secret").await;
    let (s, v) = query(
        &sim,
        &tok,
        "SELECT Name, (SELECT ProductCode FROM OpportunityLineItems) FROM Opportunity",
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        v["records"][0]["OpportunityLineItems"]["records"][0]["ProductCode"],
        "FA-PRO-100"
    );
}

async fn token_for(sim: &sim_salesforce::RunningSim, id: &str, secret: &str) -> String {
    let r = http()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token");
    let (s, _, v) = split(r).await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().expect("tok").to_owned()
}

#[tokio::test]
async fn deleted_resource_lists_soft_deleted_rows_in_the_window() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let (s, _, v) = get(
        &sim,
        &tok,
        "sobjects/Account/deleted/?start=2026-05-01T00:00:00%2B00:00&end=2026-05-31T00:00:00Z",
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["deletedRecords"],
        json!([{"id": "001Dm0000000003IAA", "deletedDate": "2026-05-06T09:00:00.000+0000"}])
    );
    assert!(v["latestDateCovered"].is_string() && v["earliestDateAvailable"].is_string());
    let (s, _, v) = get(
        &sim,
        &tok,
        "sobjects/Account/deleted/?start=2026-06-01T00:00:00Z&end=2026-07-01T00:00:00Z",
    )
    .await;
    assert_eq!((s, v["deletedRecords"].clone()), (200, json!([])));
    let (s, _, v) = get(&sim, &tok, "sobjects/Account/deleted/").await;
    assert_eq!((s, error_code(&v)), (400, "MISSING_ARGUMENT"));
    assert_eq!(sim.calls()["deleted"], 3);
    assert!(sim
        .try_upsert_record("Account", json!({"Id": "bad id!"}))
        .is_err());
    assert!(sim.try_upsert_record("Account", json!([1])).is_err());
}

#[tokio::test]
async fn composite_refuses_more_than_ten_type_chunks() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let interleaved: Vec<Value> = (0..11)
        .map(|i| {
            if i % 2 == 0 {
                json!({"attributes": {"type": "Account"}, "id": ACME, "FNO_Account_ID__c": "A"})
            } else {
                json!({"attributes": {"type": "Opportunity"}, "id": OPP1, "FNO_Entitlement_ID__c": "E"})
            }
        })
        .collect();
    let (s, _, v) = patch(
        &sim,
        &tok,
        "composite/sobjects",
        json!({"records": interleaved}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(v[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("10 chunks")));
    assert_eq!(
        sim.record("Account", ACME).expect("a")["FNO_Account_ID__c"],
        Value::Null
    );
    // the same records sorted by type are two chunks
    let mut sorted = interleaved_sorted();
    sorted.truncate(11);
    let (s, _, v) = patch(&sim, &tok, "composite/sobjects", json!({"records": sorted})).await;
    assert_eq!(s, 200, "{v}");
}

fn interleaved_sorted() -> Vec<Value> {
    let mut v: Vec<Value> = (0..6)
        .map(|_| json!({"attributes": {"type": "Account"}, "id": ACME, "FNO_Account_ID__c": "A"}))
        .collect();
    v.extend((0..5).map(
        |_| json!({"attributes": {"type": "Opportunity"}, "id": OPP1, "FNO_Entitlement_ID__c": "E"}),
    ));
    v
}

async fn composite_post(sim: &sim_salesforce::RunningSim, tok: &str, body: Value) -> (u16, Value) {
    let r = http()
        .post(url(sim, "composite"))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .expect("POST composite");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn sub(resource: &str, soql: &str, reference: &str) -> Value {
    let q = serde_urlencoded::to_string([("q", soql)]).unwrap();
    json!({"method": "GET", "url": format!("/services/data/{V}/{resource}/?{q}"), "referenceId": reference})
}

#[tokio::test]
async fn composite_request_runs_query_subrequests_as_one_api_call() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let before = sim.api_calls();
    let (s, v) = composite_post(
        &sim,
        &tok,
        json!({"compositeRequest": [
            sub("query", "SELECT Id FROM Account ORDER BY Name", "live"),
            sub("queryAll", "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true", "gone"),
            sub("query", "SELECT Nope FROM Account", "bad"),
        ]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        sim.api_calls() - before,
        1,
        "one API call for three queries"
    );
    assert_eq!(sim.calls()["composite_request"], 1);
    let r = v["compositeResponse"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[0]["referenceId"].clone(), r[0]["httpStatusCode"].clone()),
        (json!("live"), json!(200))
    );
    assert_eq!(r[0]["body"]["totalSize"], 2, "{}", r[0]);
    assert_eq!(r[1]["body"]["records"][0]["IsDeleted"], true);
    assert_eq!(r[2]["httpStatusCode"], 400);
    assert_eq!(r[2]["body"][0]["errorCode"], "INVALID_FIELD");

    // allOrNone: one failed subrequest fails every one
    let (_, v) = composite_post(
        &sim,
        &tok,
        json!({"allOrNone": true, "compositeRequest": [
            sub("query", "SELECT Id FROM Account", "ok"),
            sub("query", "SELECT Nope FROM Account", "bad"),
        ]}),
    )
    .await;
    assert_eq!(v["compositeResponse"][0]["httpStatusCode"], 400, "{v}");
    assert_eq!(
        v["compositeResponse"][0]["body"][0]["errorCode"],
        "PROCESSING_HALTED"
    );
}

#[tokio::test]
async fn composite_request_takes_at_most_five_queries_and_only_reads() {
    let sim = start(SimOptions::default()).await;
    let tok = token(&sim).await;
    let six: Vec<Value> = (0..6)
        .map(|n| sub("query", "SELECT Id FROM Account", &format!("q{n}")))
        .collect();
    let (s, v) = composite_post(&sim, &tok, json!({"compositeRequest": six})).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v[0]["errorCode"], "INVALID_BATCH_REQUEST");
    let (s, v) = composite_post(
        &sim,
        &tok,
        json!({"compositeRequest": [{"method": "PATCH", "url": format!("/services/data/{V}/sobjects/Account/{ACME}"), "referenceId": "w", "body": {"Name": "x"}}]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["compositeResponse"][0]["httpStatusCode"], 400, "{v}");
    let (s, _) = composite_post(&sim, &tok, json!({"nothing": []})).await;
    assert_eq!(s, 400);
}
