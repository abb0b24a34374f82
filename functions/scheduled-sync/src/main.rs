//! scheduled-sync: EventBridge Scheduler fires it (R21); it plans the window since the last
//! batch fire time and queues one message per account. Logic: `service::runs`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    service::logging::init();
    let handlers = Arc::new(service::wiring::Wiring::from_env().await?.sync_handlers());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handlers = Arc::clone(&handlers);
        let deadline = service::wiring::deadline_instant(event.context.deadline);
        async move {
            // a window that cannot be planned in time ends its run Aborted (and alarms)
            handlers.bound_by(deadline).await;
            handlers.scheduled(event.payload).await
        }
    }))
    .await
}
