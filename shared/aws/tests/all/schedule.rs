use crate::common::{dynamodb, table};
use aws_adapters::tables::STATE_TABLE;
use aws_adapters::test_support::{moto_config, unique_name};
use aws_adapters::{
    DynamoStateStore, EventBridgeSchedule, ScheduleControl, ScheduleDefinition, ScheduleError,
    SCHEDULE_DEFINITION_KEY,
};
use aws_sdk_scheduler::types::{
    DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState,
    Target,
};
use engine::ports::StateStore;
use std::sync::Arc;

const TARGET: &str = "arn:aws:lambda:us-east-1:123456789012:function:scheduled-sync";
const ROLE: &str = "arn:aws:iam::123456789012:role/scheduler";
const DLQ: &str = "arn:aws:sqs:us-east-1:123456789012:schedule-dlq";
const INPUT: &str = r#"{"source":"flexbridge.schedule","task":"scheduled-sync","scheduledTime":"<aws.scheduler.scheduled-time>"}"#;

/// A state store on a fresh moto table (where a deleted schedule's definition is kept).
async fn state() -> Arc<DynamoStateStore> {
    let client = dynamodb().await;
    let name = table(&client, &STATE_TABLE).await;
    Arc::new(DynamoStateStore::new(client, name))
}

async fn schedule() -> (EventBridgeSchedule, aws_sdk_scheduler::Client, String) {
    let (s, c, name, _) = schedule_with_state().await;
    (s, c, name)
}

async fn schedule_with_state() -> (
    EventBridgeSchedule,
    aws_sdk_scheduler::Client,
    String,
    Arc<DynamoStateStore>,
) {
    let c = aws_sdk_scheduler::Client::new(&moto_config().await);
    let name = unique_name("flexbridge-sync");
    c.create_schedule()
        .name(&name)
        .schedule_expression("cron(0 2 * * ? *)")
        .schedule_expression_timezone("Europe/Berlin")
        .description("flexbridge scheduled sync (R21)")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            Target::builder()
                .arn(TARGET)
                .role_arn(ROLE)
                .input(INPUT)
                .retry_policy(
                    RetryPolicy::builder()
                        .maximum_retry_attempts(3)
                        .maximum_event_age_in_seconds(3600)
                        .build(),
                )
                .dead_letter_config(DeadLetterConfig::builder().arn(DLQ).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let state = state().await;
    (
        EventBridgeSchedule::new(c.clone(), &name, "default", state.clone()),
        c,
        name,
        state,
    )
}

#[tokio::test]
async fn r21_pause_resume_and_reschedule_keep_the_target() {
    let (s, c, name) = schedule().await;
    let st = s.status().await.unwrap();
    assert_eq!(
        (st.expression.as_str(), st.paused),
        ("cron(0 2 * * ? *)", false)
    );
    assert!(s.set_paused(true).await.unwrap().paused);
    assert!(s.status().await.unwrap().paused);
    let st = s.reschedule("rate(6 hours)", None).await.unwrap();
    assert_eq!(st.expression, "rate(6 hours)");
    assert!(st.paused, "rescheduling keeps the paused state");
    assert!(!s.set_paused(false).await.unwrap().paused);
    let raw = c.get_schedule().name(&name).send().await.unwrap();
    let target = raw.target.unwrap();
    assert_eq!(target.arn(), TARGET);
    assert_eq!(
        target
            .retry_policy()
            .and_then(|r| r.maximum_retry_attempts()),
        Some(3)
    );
}

#[tokio::test]
async fn r21_bad_expressions_and_unknown_schedules_are_clear_errors() {
    let (s, _, _) = schedule().await;
    assert!(matches!(
        s.reschedule("every day", None).await,
        Err(ScheduleError::InvalidExpression { .. })
    ));
    assert_eq!(s.status().await.unwrap().expression, "cron(0 2 * * ? *)");
    let c = aws_sdk_scheduler::Client::new(&moto_config().await);
    let missing = EventBridgeSchedule::new(c, "no-such-schedule", "default", state().await);
    assert!(matches!(
        missing.status().await,
        Err(ScheduleError::NotFound { .. })
    ));
    // nothing saved for it: deleting or recreating it is "not found", not "deleted"
    assert!(matches!(
        missing.delete().await,
        Err(ScheduleError::NotFound { .. })
    ));
    assert!(matches!(
        missing.set_paused(false).await,
        Err(ScheduleError::NotFound { .. })
    ));
}

#[tokio::test]
async fn r21_delete_keeps_the_definition_and_a_reschedule_recreates_it() {
    let (s, c, name, state) = schedule_with_state().await;
    s.set_paused(true).await.unwrap();
    let st = s.delete().await.unwrap();
    assert!(st.deleted);
    assert_eq!(st.expression, "cron(0 2 * * ? *)");

    // gone from Scheduler, and status says deleted (from the saved definition)
    let gone = c.get_schedule().name(&name).send().await.unwrap_err();
    assert!(
        gone.as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{gone:?}"
    );
    let st = s.status().await.unwrap();
    assert_eq!(
        (st.deleted, st.paused, st.expression.as_str()),
        (true, true, "cron(0 2 * * ? *)")
    );
    assert_eq!(st.next_run(chrono::Utc::now(), None), None);
    // the definition the state store holds is the full one
    let saved: ScheduleDefinition = serde_json::from_value(
        state
            .get_config(SCHEDULE_DEFINITION_KEY)
            .await
            .unwrap()
            .expect("definition saved before DeleteSchedule"),
    )
    .unwrap();
    assert_eq!(
        (
            saved.target_arn.as_str(),
            saved.role_arn.as_str(),
            saved.input.as_deref(),
            saved.dead_letter_arn.as_deref(),
            saved.timezone.as_deref(),
        ),
        (TARGET, ROLE, Some(INPUT), Some(DLQ), Some("Europe/Berlin"))
    );

    // deleting again is idempotent
    assert!(s.delete().await.unwrap().deleted);

    // reschedule recreates it with the new expression; the rest comes from the definition
    let st = s.reschedule("rate(6 hours)", None).await.unwrap();
    assert_eq!(
        (st.deleted, st.expression.as_str(), st.paused),
        (false, "rate(6 hours)", true),
        "recreated in the state it was deleted in"
    );
    let raw = c.get_schedule().name(&name).send().await.unwrap();
    assert_eq!(raw.schedule_expression.as_deref(), Some("rate(6 hours)"));
    assert_eq!(raw.state, Some(ScheduleState::Disabled));
    assert_eq!(
        raw.description.as_deref(),
        Some("flexbridge scheduled sync (R21)")
    );
    let target = raw.target.unwrap();
    assert_eq!((target.arn(), target.role_arn()), (TARGET, ROLE));
    assert_eq!(target.input(), Some(INPUT));
    assert_eq!(target.dead_letter_config().and_then(|d| d.arn()), Some(DLQ));
    let retry = target.retry_policy().unwrap();
    assert_eq!(
        (
            retry.maximum_retry_attempts(),
            retry.maximum_event_age_in_seconds()
        ),
        (Some(3), Some(3600))
    );
    assert_eq!(
        raw.flexible_time_window.map(|w| w.mode),
        Some(FlexibleTimeWindowMode::Off)
    );
    // and GET sees it live
    let st = s.status().await.unwrap();
    assert_eq!(
        (st.deleted, st.expression.as_str()),
        (false, "rate(6 hours)")
    );

    // delete once more, then resume: recreated enabled with the expression it had
    s.delete().await.unwrap();
    let st = s.set_paused(false).await.unwrap();
    assert_eq!(
        (st.deleted, st.paused, st.expression.as_str()),
        (false, false, "rate(6 hours)")
    );
    assert_eq!(
        c.get_schedule().name(&name).send().await.unwrap().state,
        Some(ScheduleState::Enabled)
    );
}

#[tokio::test]
async fn r21_a_schedule_whose_target_could_not_be_restored_is_not_deleted() {
    let c = aws_sdk_scheduler::Client::new(&moto_config().await);
    let name = unique_name("flexbridge-fifo");
    c.create_schedule()
        .name(&name)
        .schedule_expression("rate(1 day)")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            Target::builder()
                .arn("arn:aws:sqs:us-east-1:123456789012:work.fifo")
                .role_arn(ROLE)
                .sqs_parameters(
                    aws_sdk_scheduler::types::SqsParameters::builder()
                        .message_group_id("g")
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let state = state().await;
    let s = EventBridgeSchedule::new(c.clone(), &name, "default", state.clone());
    let err = s.delete().await.unwrap_err();
    assert!(
        matches!(err, ScheduleError::Unrestorable { part, .. } if part.contains("SqsParameters")),
        "{err:?}"
    );
    assert!(err.to_string().contains("(R21)"), "{err}");
    // still there, nothing saved
    assert!(c.get_schedule().name(&name).send().await.is_ok());
    assert_eq!(
        state.get_config(SCHEDULE_DEFINITION_KEY).await.unwrap(),
        None
    );
    assert!(!s.status().await.unwrap().deleted);
}
