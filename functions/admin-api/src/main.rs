//! admin-api: connection settings, mappings, filters, schedule, logs, runs, licenses — every
//! admin route behind API Gateway IAM auth. Logic: `service::router`.

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    service::logging::init();
    let api = Arc::new(service::wiring::Wiring::from_env().await?.admin_api());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| {
            let api = Arc::clone(&api);
            async move {
                let api = &api;
                Ok::<_, Error>(service::apigw::serve(event.payload, |r| api.handle(r)).await)
            }
        },
    ))
    .await
}
