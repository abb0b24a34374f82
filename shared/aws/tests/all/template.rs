//! template.yaml declares exactly what the code expects: table keys, indexes, TTL, the DLQ's
//! maxReceiveCount and every environment variable `AwsConfig::from_env` reads.

use aws_adapters::sqs::DLQ_MAX_RECEIVE_COUNT;
use aws_adapters::tables::ALL_TABLES;
use aws_adapters::AwsConfig;
use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let text = std::fs::read_to_string(path).expect("read template.yaml");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

fn key_schema(v: &Value) -> BTreeMap<String, String> {
    v.as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .map(|k| (str_of(&k["KeyType"]), str_of(&k["AttributeName"])))
        .collect()
}

#[test]
fn tables_in_template_match_the_code() {
    let t = template();
    for def in ALL_TABLES {
        let res = &t["Resources"][def.logical_id];
        assert_eq!(
            str_of(&res["Type"]),
            "AWS::DynamoDB::Table",
            "{}",
            def.logical_id
        );
        let p = &res["Properties"];
        assert_eq!(
            str_of(&p["BillingMode"]),
            "PAY_PER_REQUEST",
            "{}",
            def.logical_id
        );
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
            Value::Bool(true),
            "{}",
            def.logical_id
        );

        let attrs: BTreeMap<String, String> = p["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| (str_of(&a["AttributeName"]), str_of(&a["AttributeType"])))
            .collect();
        let want: BTreeMap<String, String> = def
            .attribute_definitions()
            .iter()
            .map(|a| (a.name.to_owned(), a.kind.as_str().to_owned()))
            .collect();
        assert_eq!(attrs, want, "{} AttributeDefinitions", def.logical_id);

        let mut want_keys = BTreeMap::from([("HASH".to_owned(), def.hash.name.to_owned())]);
        if let Some(r) = def.range {
            want_keys.insert("RANGE".into(), r.name.into());
        }
        assert_eq!(
            key_schema(&p["KeySchema"]),
            want_keys,
            "{} KeySchema",
            def.logical_id
        );

        let gsis: BTreeMap<String, BTreeMap<String, String>> = match p.get("GlobalSecondaryIndexes")
        {
            None => BTreeMap::new(),
            Some(list) => list
                .as_sequence()
                .unwrap()
                .iter()
                .map(|g| {
                    assert_eq!(str_of(&g["Projection"]["ProjectionType"]), "ALL");
                    (str_of(&g["IndexName"]), key_schema(&g["KeySchema"]))
                })
                .collect(),
        };
        let want_gsis: BTreeMap<String, BTreeMap<String, String>> = def
            .gsis
            .iter()
            .map(|g| {
                let mut k = BTreeMap::from([("HASH".to_owned(), g.hash.name.to_owned())]);
                if let Some(r) = g.range {
                    k.insert("RANGE".into(), r.name.into());
                }
                (g.name.to_owned(), k)
            })
            .collect();
        assert_eq!(gsis, want_gsis, "{} GlobalSecondaryIndexes", def.logical_id);

        match def.ttl_attribute {
            Some(attr) => {
                assert_eq!(str_of(&p["TimeToLiveSpecification"]["AttributeName"]), attr);
                assert_eq!(p["TimeToLiveSpecification"]["Enabled"], Value::Bool(true));
            }
            None => assert!(
                p.get("TimeToLiveSpecification").is_none(),
                "{}",
                def.logical_id
            ),
        }
    }
}

#[test]
fn every_function_gets_every_variable_aws_config_reads() {
    let t = template();
    let vars = &t["Globals"]["Function"]["Environment"]["Variables"];
    for name in AwsConfig::REQUIRED {
        assert!(
            vars.get(name).is_some(),
            "Globals.Function.Environment.Variables lacks {name}"
        );
    }
}

#[test]
fn work_queue_redrives_to_its_dlq_after_the_codes_receive_count() {
    let t = template();
    let redrive = &t["Resources"]["WorkQueue"]["Properties"]["RedrivePolicy"];
    assert_eq!(
        str_of(&redrive["maxReceiveCount"]),
        DLQ_MAX_RECEIVE_COUNT.to_string()
    );
}

/// Issue 12: an SQS batch is synchronised as one group, so the account-sync function takes
/// batches of the engine's group size (above 10 a batching window is required).
#[test]
fn account_sync_takes_sqs_batches_of_the_engines_group_size() {
    let t = template();
    let events = &t["Resources"]["AccountSyncFunction"]["Properties"]["Events"];
    let sqs: Vec<&Value> = events
        .as_mapping()
        .expect("Events is a map")
        .values()
        .filter(|e| str_of(&e["Type"]) == "SQS")
        .collect();
    assert_eq!(sqs.len(), 1, "one SQS event source");
    let p = &sqs[0]["Properties"];
    assert_eq!(str_of(&p["BatchSize"]), engine::BULK_READ.to_string());
    let window: u64 = str_of(&p["MaximumBatchingWindowInSeconds"])
        .parse()
        .unwrap();
    assert!((1..=300).contains(&window), "{window}");
}

#[test]
fn every_api_route_uses_iam_auth_and_every_function_builds_with_cargo_lambda() {
    let t = template();
    let api_auth = &t["Resources"]["AdminApi"]["Properties"]["Auth"];
    assert_eq!(str_of(&api_auth["DefaultAuthorizer"]), "AWS_IAM");
    assert_eq!(api_auth["EnableIamAuthorizer"], Value::Bool(true));
    let mut routes = BTreeSet::new();
    let resources = t["Resources"].as_mapping().unwrap();
    let mut functions = 0;
    for (id, res) in resources {
        if str_of(&res["Type"]) != "AWS::Serverless::Function" {
            continue;
        }
        functions += 1;
        assert_eq!(
            str_of(&res["Metadata"]["BuildMethod"]),
            "rust-cargolambda",
            "{id:?}"
        );
        assert!(
            res["Metadata"]["BuildProperties"]["Binary"].is_string(),
            "{id:?}"
        );
        if let Some(events) = res["Properties"].get("Events").and_then(Value::as_mapping) {
            for (_, ev) in events {
                if str_of(&ev["Type"]) == "HttpApi" {
                    let p = &ev["Properties"];
                    if let Some(auth) = p.get("Auth") {
                        assert_eq!(str_of(&auth["Authorizer"]), "AWS_IAM", "{id:?}");
                    }
                    routes.insert(format!("{} {}", str_of(&p["Method"]), str_of(&p["Path"])));
                }
            }
        }
    }
    assert_eq!(functions, 5);
    for route in [
        "POST /sync",
        "POST /accounts/{id}/sync",
        "POST /licenses/ingest",
        "GET /settings/connection",
        "PUT /settings/connection",
        "GET /mappings",
        "GET /mappings/{object}",
        "PUT /mappings/{object}",
        "DELETE /mappings/{object}",
        "GET /filters",
        "PUT /filters",
        "GET /schedule",
        "PUT /schedule",
        "DELETE /schedule",
        "GET /logs",
        "GET /runs",
        "GET /licenses",
        "PUT /licenses/{id}/manual",
        "PUT /licenses/task",
    ] {
        assert!(
            routes.contains(route),
            "template.yaml has no route {route}; it has {routes:?}"
        );
    }
}

/// The text under a `!Ref X` / `!GetAtt X.Attr` tag (or a plain scalar).
fn reference(v: &Value) -> String {
    match v {
        Value::Tagged(t) => str_of(&t.value),
        other => str_of(other),
    }
}

/// Issue 10: failures without alarm. A scheduled-sync or license-info invocation that fails
/// (Scheduler's own DLQ sees failed deliveries only) goes to an on-failure destination whose
/// depth alarms, and every function has an `Errors` alarm, all to the alarm topic.
#[test]
fn failed_invocations_and_function_errors_alarm() {
    let t = template();
    let res = t["Resources"].as_mapping().unwrap();
    let alarms: Vec<&Value> = res
        .values()
        .filter(|r| str_of(&r["Type"]) == "AWS::CloudWatch::Alarm")
        .collect();
    let watched = |metric: &str, dimension: &str| {
        alarms.iter().any(|a| {
            let p = &a["Properties"];
            str_of(&p["MetricName"]) == metric
                && p["Dimensions"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|d| reference(&d["Value"]).starts_with(dimension))
                && p["AlarmActions"]
                    .as_sequence()
                    .is_some_and(|a| a.iter().any(|x| reference(x) == "AlarmTopic"))
        })
    };
    for f in ["ScheduledSyncFunction", "LicenseInfoFunction"] {
        let dest = &res[f]["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
        assert_eq!(str_of(&dest["Type"]), "SQS", "{f}");
        let queue = reference(&dest["Destination"]);
        let queue = queue.trim_end_matches(".Arn");
        assert_eq!(str_of(&res[queue]["Type"]), "AWS::SQS::Queue", "{f}");
        assert!(
            watched("ApproximateNumberOfMessagesVisible", queue),
            "no alarm on {queue}"
        );
    }
    let functions: Vec<String> = res
        .iter()
        .filter(|(_, r)| str_of(&r["Type"]) == "AWS::Serverless::Function")
        .map(|(k, _)| str_of(k))
        .collect();
    assert!(functions.len() >= 5, "{functions:?}");
    for f in functions {
        assert!(watched("Errors", &f), "no Errors alarm for {f}");
    }
}
