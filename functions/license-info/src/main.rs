//! license-info: license information ingestion (R26–R32), on its schedule and through
//! `POST /licenses/ingest`. Logic: `service::router` (license routes) and `service::runs`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    service::logging::init();
    let wiring = service::wiring::Wiring::from_env().await?;
    let api = Arc::new(wiring.admin_api());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let api = Arc::clone(&api);
        async move { api.license_info_event(event.payload).await }
    }))
    .await
}
