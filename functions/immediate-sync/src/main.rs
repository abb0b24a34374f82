//! immediate-sync: `POST /sync` with `{"start","end"}` or `{"hours"}` (R22) → 202 with the
//! task id and the number of accounts queued. Logic: `service::runs`.

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    service::logging::init();
    let handlers = Arc::new(service::wiring::Wiring::from_env().await?.sync_handlers());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
            let handlers = Arc::clone(&handlers);
            async move {
                let h = &handlers;
                // a run that cannot be planned in time ends Aborted, never stays `running`
                h.bound_by(service::wiring::deadline_instant(event.context.deadline))
                    .await;
                Ok::<_, Error>(service::apigw::serve(event.payload, |r| h.route_immediate(r)).await)
            }
        },
    ))
    .await
}
