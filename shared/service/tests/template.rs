//! template.yaml and the handlers agree: the schedules' input (with Scheduler's context
//! attributes substituted) is what the handlers read, and every admin route the template
//! sends to a function is one that function routes.

use serde_json::Value;
use service::runs::{parse_schedule_event, SCHEDULED_SYNC_TASK};

fn template() -> Value {
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
            .replace("{id}", "100000000000001AAA");
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
