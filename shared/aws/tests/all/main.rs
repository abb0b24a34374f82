//! aws-adapters against a moto server on 127.0.0.1 (real AWS protocols, real SDK clients),
//! plus checks that template.yaml declares what the code expects. One test binary.

mod common;
mod licenses;
mod log;
mod queue;
mod schedule;
mod secrets;
mod state;
mod template;
