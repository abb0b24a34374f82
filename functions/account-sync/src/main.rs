//! account-sync: the SQS consumer of the per-account fan-out (partial batch failures) and
//! `POST /accounts/{id}/sync` (R23, push only). Logic: `service::runs`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    service::logging::init();
    let handlers = Arc::new(service::wiring::Wiring::from_env().await?.sync_handlers());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handlers = Arc::clone(&handlers);
        // the invocation's deadline: no account starts that cannot finish in time
        let deadline = service::wiring::deadline_instant(event.context.deadline);
        async move { handlers.account_sync_event(event.payload, deadline).await }
    }))
    .await
}
