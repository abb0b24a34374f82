//! The Lambda-facing application layer shared by the function crates. Function crates stay
//! thin: they build everything with [`wiring::Wiring::from_env`] and call in here.
//!
//! | function | handler |
//! |---|---|
//! | scheduled-sync | [`runs::SyncHandlers::scheduled`] (EventBridge Scheduler, R21) |
//! | immediate-sync | [`runs::SyncHandlers::route_immediate`] (`POST /sync`, R22) |
//! | account-sync | [`runs::SyncHandlers::account_sync_event`] (SQS batch, or `POST /accounts/{id}/sync`, R23) |
//! | license-info | [`router::AdminApi::license_info_event`] (its schedule, or `POST /licenses/ingest`) |
//! | admin-api | [`router::AdminApi::handle`] (settings, mappings, filters, schedule, logs, runs, licenses) |
//!
//! API Gateway events become [`http::ApiRequest`]s in [`apigw`] only; errors become HTTP
//! statuses in [`http::ApiError::status`] only.
pub mod admin;
pub mod apigw;
pub mod connection;
pub mod csv;
pub mod diagnostic;
pub mod endpoints;
pub mod http;
pub mod licenses;
pub mod logging;
pub mod metrics;
pub mod router;
pub mod runs;
pub mod schedule;
pub mod source;
pub mod sqs;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod window;
pub mod wiring;
