use aws_adapters::test_support::{moto_config, unique_name};
use aws_adapters::{EventBridgeSchedule, ScheduleControl, ScheduleError};
use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target};

const TARGET: &str = "arn:aws:lambda:us-east-1:123456789012:function:scheduled-sync";

async fn schedule() -> (EventBridgeSchedule, aws_sdk_scheduler::Client, String) {
    let c = aws_sdk_scheduler::Client::new(&moto_config().await);
    let name = unique_name("flexbridge-sync");
    c.create_schedule()
        .name(&name)
        .schedule_expression("cron(0 2 * * ? *)")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .unwrap(),
        )
        .target(
            Target::builder()
                .arn(TARGET)
                .role_arn("arn:aws:iam::123456789012:role/scheduler")
                .input("{}")
                .retry_policy(RetryPolicy::builder().maximum_retry_attempts(3).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (
        EventBridgeSchedule::new(c.clone(), &name, "default"),
        c,
        name,
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
    let missing = EventBridgeSchedule::new(c, "no-such-schedule", "default");
    assert!(matches!(
        missing.status().await,
        Err(ScheduleError::NotFound { .. })
    ));
}
