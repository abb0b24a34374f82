//! The service crate's integration tests, one test binary: admin routes over the embedded
//! store (`api`), every handler with real event JSON against moto and the simulators
//! (`handlers`), issue 11's secrecy and bad-input corpus (`security`), template.yaml vs the
//! handlers (`template`).

mod api;
mod handlers;
mod metrics;
mod salesforce_metadata;
mod security;
mod template;
