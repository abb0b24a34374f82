//! template.yaml and the handlers agree: the schedules' input (with Scheduler's context
//! attributes substituted) is what the handlers read, and every admin route the template
//! sends to a function is one that function routes.

use serde_json::Value;
use service::runs::{parse_schedule_event, SCHEDULED_SYNC_TASK};

pub(crate) fn template() -> Value {
    let p = format!("{}/../../template.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(p).unwrap();
    // CloudFormation short-form tags (!Ref, !Sub…) are not YAML serde knows: neutralise them
    let text = text.replace(": !", ": ").replace("- !", "- ");
    serde_norway::from_str(&text).unwrap()
}

fn substitute(input: &str) -> String {
    input
        .replace(
            "<aws.scheduler.schedule-arn>",
            "arn:aws:scheduler:us-east-1:123456789012:schedule/default/fb",
        )
        .replace("<aws.scheduler.scheduled-time>", "2026-11-20T02:00:00Z")
        .replace("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3")
        .replace("<aws.scheduler.attempt-number>", "1")
}

#[test]
fn r21_the_schedules_input_is_what_the_handlers_read() {
    let t = template();
    for (function, task) in [
        ("ScheduledSyncFunction", SCHEDULED_SYNC_TASK),
        ("LicenseInfoFunction", service::router::LICENSE_INFO_TASK),
    ] {
        let input = t["Resources"][function]["Properties"]["Events"]["Schedule"]["Properties"]
            ["Input"]
            .as_str()
            .unwrap_or_else(|| panic!("{function} has a schedule input"));
        let payload: Value = serde_json::from_str(&substitute(input)).unwrap();
        let fire = parse_schedule_event(&payload, task).unwrap();
        assert_eq!(
            fire.scheduled_time,
            Some("2026-11-20T02:00:00Z".parse().unwrap()),
            "{function}"
        );
        assert_eq!(fire.task.as_deref(), Some(task));
    }
}

#[tokio::test]
async fn every_admin_route_of_the_template_is_routed_by_its_function() {
    let t = template();
    let stack = service::testing::MotoStack::create(30).await.unwrap();
    let api = stack
        .wiring(std::sync::Arc::new(engine::ports::SystemClock))
        .admin_api();
    let events = t["Resources"]["AdminApiFunction"]["Properties"]["Events"]
        .as_object()
        .unwrap();
    assert!(events.len() >= 15, "{} routes", events.len());
    for (name, e) in events {
        let method = e["Properties"]["Method"].as_str().unwrap();
        let path = e["Properties"]["Path"]
            .as_str()
            .unwrap()
            .replace("{object}", "Account")
            .replace("{name}", "Sales-Cloud")
            .replace("{id}", "100000000000001AAA")
            .replace("{task_id}", "acct-20261120T090000Z-1a2b3c4d")
            .replace("{log_number}", "TL-00001");
        let event = service::testing::api_event(method, &path, &[], Some("{}"));
        let r = service::apigw::serve(event, |r| api.handle(r)).await;
        let body = match r.body {
            Some(aws_lambda_events::encodings::Body::Text(t)) => t,
            other => panic!("{other:?}"),
        };
        assert!(
            !body.contains("no route for"),
            "{name}: {method} {path} is not routed by the admin API: {body}"
        );
    }
    // and an unknown one is a 404 naming the route
    let r = service::apigw::serve(
        service::testing::api_event("GET", "/nope", &[], None),
        |r| api.handle(r),
    )
    .await;
    assert_eq!(r.status_code, 404);
}

// ------------------------------------------------------------------ issue 11: the template's hardening

fn resources_of_type(t: &Value, ty: &str) -> Vec<(String, Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(k, r)| (k.clone(), r.clone()))
        .collect()
}

fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
}

#[test]
fn issue11_api_access_logs_throttling_and_a_log_group_with_retention_per_function() {
    let t = template();
    let api = &t["Resources"]["AdminApi"]["Properties"];
    let dest = text(&api["AccessLogSettings"]["DestinationArn"]);
    let group = dest.trim_start_matches("GetAtt ").trim_end_matches(".Arn");
    assert_eq!(
        t["Resources"][group]["Type"], "AWS::Logs::LogGroup",
        "{dest}"
    );
    assert!(t["Resources"][group]["Properties"]["RetentionInDays"].is_string());
    let format: Value = serde_json::from_str(api["AccessLogSettings"]["Format"].as_str().unwrap())
        .expect("the access log format is JSON");
    for k in ["requestId", "userArn", "routeKey", "status"] {
        assert!(format.get(k).is_some(), "access log has {k}");
    }
    let throttle = &api["DefaultRouteSettings"];
    for (k, param) in [
        ("ThrottlingRateLimit", "ApiThrottlingRateLimit"),
        ("ThrottlingBurstLimit", "ApiThrottlingBurstLimit"),
    ] {
        assert_eq!(text(&throttle[k]), format!("Ref {param}"));
        assert_eq!(t["Parameters"][param]["Type"], "Number");
    }
    let groups = resources_of_type(&t, "AWS::Logs::LogGroup");
    for (name, _) in resources_of_type(&t, "AWS::Serverless::Function") {
        let g = groups
            .iter()
            .find(|(_, g)| {
                text(&g["Properties"]["LogGroupName"]) == format!("Sub /aws/lambda/${{{name}}}")
            })
            .unwrap_or_else(|| panic!("{name} has no log group"));
        assert!(
            g.1["Properties"]["RetentionInDays"].is_string(),
            "{name}: retention"
        );
    }
    assert_eq!(t["Parameters"]["ExtraAllowedHosts"]["Type"], "String");
    assert_eq!(
        text(
            &t["Globals"]["Function"]["Environment"]["Variables"]
                [service::endpoints::EXTRA_HOSTS_VAR]
        ),
        "Ref ExtraAllowedHosts"
    );
}

/// `action@Table` for every DynamoDB permission of a function.
fn dynamodb_grants(f: &Value) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for p in f["Properties"]["Policies"].as_array().unwrap() {
        let p = p.as_object().unwrap();
        assert!(
            !p.keys().any(|k| k.starts_with("DynamoDB")),
            "a SAM DynamoDB policy template grants more than used: {p:?}"
        );
        for st in p
            .get("Statement")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let actions: Vec<String> = match &st["Action"] {
                Value::Array(a) => a.iter().map(text).collect(),
                a => vec![text(a)],
            };
            let resources = text(&st["Resource"]);
            for a in actions.iter().filter(|a| a.starts_with("dynamodb:")) {
                assert!(!a.contains('*'), "{a}");
                for table in ["StateTable", "LogTable", "LicenseTable"] {
                    if resources.contains(table) {
                        out.insert(format!("{a}@{table}"));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn issue11_iam_statements_grant_each_function_only_the_calls_it_makes() {
    let t = template();
    let set = |s: &[&str]| {
        s.iter()
            .map(|x| (*x).to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let state = [
        "dynamodb:GetItem@StateTable",
        "dynamodb:PutItem@StateTable",
        "dynamodb:UpdateItem@StateTable",
        "dynamodb:Query@StateTable",
    ];
    let log_write = [
        "dynamodb:GetItem@LogTable",
        "dynamodb:UpdateItem@LogTable",
        "dynamodb:BatchWriteItem@LogTable",
        "dynamodb:Query@LogTable",
    ];
    let licenses = [
        "dynamodb:GetItem@LicenseTable",
        "dynamodb:PutItem@LicenseTable",
        "dynamodb:UpdateItem@LicenseTable",
        "dynamodb:Query@LicenseTable",
        "dynamodb:BatchWriteItem@LicenseTable",
        "dynamodb:Scan@LicenseTable",
    ];
    // the syncs also write the outstanding list and the record fingerprints in batches (its
    // removals are batch deletes; a lease is released with an UpdateItem, so no function has
    // DeleteItem) and read the fingerprints 100 a call when planning (issue 12)
    let syncs = set(&[
        &state[..],
        &log_write[..],
        &[
            "dynamodb:BatchWriteItem@StateTable",
            "dynamodb:BatchGetItem@StateTable",
        ],
    ]
    .concat());
    let expected = [
        ("ScheduledSyncFunction", syncs.clone()),
        ("ImmediateSyncFunction", syncs.clone()),
        ("AccountSyncFunction", syncs),
        (
            "LicenseInfoFunction",
            set(&[&state[..], &log_write[..], &licenses[..]].concat()),
        ),
        (
            "AdminApiFunction",
            set(&[
                &state[..],
                &[
                    "dynamodb:GetItem@LogTable",
                    "dynamodb:Query@LogTable",
                    "dynamodb:BatchGetItem@LogTable",
                ],
                &licenses[..],
            ]
            .concat()),
        ),
    ];
    for (name, want) in expected {
        let got = dynamodb_grants(&t["Resources"][name]);
        assert_eq!(got, want, "{name}");
        assert!(!got.iter().any(|g| g.contains("Delete")), "{name}: {got:?}");
    }
}

#[test]
fn issue11_alarm_topic_is_encrypted_and_the_scheduler_role_trusts_only_this_stacks_schedules() {
    let t = template();
    // encrypted with the stack's key, which CloudWatch may use (alias/aws/sns would keep the
    // alarms from publishing)
    assert_eq!(
        text(&t["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"]),
        "Ref AlarmTopicKey"
    );
    let key = &t["Resources"]["AlarmTopicKey"]["Properties"];
    assert_eq!(key["EnableKeyRotation"], true);
    let statements = key["KeyPolicy"]["Statement"].as_array().unwrap();
    assert!(statements.iter().any(
        |st| st["Principal"]["Service"] == "cloudwatch.amazonaws.com"
            && text(&st["Action"]).contains("kms:GenerateDataKey")
    ));
    let trust =
        &t["Resources"]["SchedulerRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], "scheduler.amazonaws.com");
    assert_eq!(
        text(&trust["Condition"]["StringEquals"]["aws:SourceAccount"]),
        "Ref AWS::AccountId"
    );
    let arn = text(&trust["Condition"]["ArnLike"]["aws:SourceArn"]);
    assert!(
        arn.contains(":scheduler:") && arn.contains("schedule/default/${AWS::StackName}-"),
        "{arn}"
    );
    for f in ["ScheduledSyncFunction", "LicenseInfoFunction"] {
        let name =
            text(&t["Resources"][f]["Properties"]["Events"]["Schedule"]["Properties"]["Name"]);
        assert!(
            name.starts_with("Sub ${AWS::StackName}-"),
            "{f}: {name} is covered by the SourceArn"
        );
    }
}

fn event_types(t: &Value, function: &str) -> std::collections::BTreeSet<String> {
    t["Resources"][function]["Properties"]["Events"]
        .as_object()
        .unwrap()
        .values()
        .map(|e| text(&e["Type"]))
        .collect()
}

fn status_of(out: Value) -> i64 {
    out["statusCode"].as_i64().unwrap_or_default()
}

#[tokio::test]
async fn issue11_each_function_answers_only_the_events_the_template_wires_to_it() {
    let t = template();
    let set = |s: &[&str]| {
        s.iter()
            .map(|x| (*x).to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        event_types(&t, "ScheduledSyncFunction"),
        set(&["ScheduleV2"])
    );
    assert_eq!(event_types(&t, "ImmediateSyncFunction"), set(&["HttpApi"]));
    assert_eq!(
        event_types(&t, "AccountSyncFunction"),
        set(&["SQS", "HttpApi"])
    );
    assert_eq!(
        event_types(&t, "LicenseInfoFunction"),
        set(&["ScheduleV2", "HttpApi"])
    );
    assert_eq!(event_types(&t, "AdminApiFunction"), set(&["HttpApi"]));

    let stack = service::testing::MotoStack::create(30).await.unwrap();
    let wiring = stack.wiring(std::sync::Arc::new(engine::ports::SystemClock));
    let (sync, api) = (wiring.sync_handlers(), wiring.admin_api());
    let admin_route = || {
        serde_json::to_value(service::testing::api_event(
            "GET",
            "/settings/connection",
            &[],
            None,
        ))
        .unwrap()
    };
    let sqs = serde_json::json!({"Records": []});
    let schedule = service::testing::schedule_event("2026-11-20T02:00:00Z", 1);
    // scheduled-sync: its schedule only
    assert!(sync.scheduled(admin_route()).await.is_err());
    assert!(sync.scheduled(sqs.clone()).await.is_err());
    // account-sync: SQS and POST /accounts/{id}/sync only
    assert!(sync
        .account_sync_event(schedule.clone(), None)
        .await
        .is_err());
    assert_eq!(
        status_of(sync.account_sync_event(admin_route(), None).await.unwrap()),
        404
    );
    // immediate-sync: POST /sync only
    let r = service::apigw::serve(
        service::testing::api_event("GET", "/settings/connection", &[], None),
        |r| sync.route_immediate(r),
    )
    .await;
    assert_eq!(r.status_code, 404);
    // license-info: its schedule and POST /licenses/ingest only
    assert_eq!(
        status_of(api.license_info_event(admin_route()).await.unwrap()),
        404
    );
    assert!(api.license_info_event(sqs).await.is_err());
    // admin-api: not the sync routes wired to other functions
    let r = service::apigw::serve(
        service::testing::api_event("POST", "/sync", &[], Some("{}")),
        |r| api.handle(r),
    )
    .await;
    assert_eq!(r.status_code, 404);
}

// ------------------------------------------------------------------ issue 14: OpenAPI

/// `METHOD /path` of every HttpApi event of every function of the template.
fn template_routes(t: &Value) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for (_, r) in t["Resources"].as_object().unwrap() {
        for (_, e) in r["Properties"]["Events"].as_object().into_iter().flatten() {
            if e["Type"] == "HttpApi" {
                out.insert(format!(
                    "{} {}",
                    e["Properties"]["Method"].as_str().unwrap(),
                    e["Properties"]["Path"].as_str().unwrap()
                ));
            }
        }
    }
    out
}

#[tokio::test]
async fn issue14_the_openapi_document_lists_every_route_of_the_template_and_the_router() {
    let t = template();
    let doc: Value = serde_json::from_str(service::http::OPENAPI).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            // every path parameter is declared
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(
                    op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["name"] == name && p["in"] == "path"),
                    "{method} {path} declares {name}"
                );
            }
        }
    }
    let routes: std::collections::BTreeSet<String> = service::http::ROUTES
        .iter()
        .flat_map(|(p, ms)| ms.iter().map(move |m| format!("{m} {p}")))
        .collect();
    assert_eq!(documented, template_routes(&t), "OpenAPI vs template.yaml");
    assert_eq!(routes, documented, "http::ROUTES vs OpenAPI");
    // every $ref resolves
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = format!("/{}", r.split('"').next().unwrap());
        assert!(doc.pointer(&pointer).is_some(), "{pointer}");
    }
    // and the admin API serves it
    let stack = service::testing::MotoStack::create(30).await.unwrap();
    let api = stack
        .wiring(std::sync::Arc::new(engine::ports::SystemClock))
        .admin_api();
    let r = service::apigw::serve(
        service::testing::api_event("GET", "/openapi.json", &[], None),
        |r| api.handle(r),
    )
    .await;
    assert_eq!(r.status_code, 200);
    let Some(aws_lambda_events::encodings::Body::Text(body)) = r.body else {
        panic!("a body")
    };
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served, doc);
}
