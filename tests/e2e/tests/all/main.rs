//! End-to-end suites, one test binary: the engine against both simulators (`engine_sync`,
//! `outstanding`, `withdrawn`), the cloud pipeline on moto (`aws_pipeline`), the chaos suite
//! (`chaos`), dry runs against the simulators' state (`dry_run`), the org's Salesforce DX
//! source (`org_fields`), issue 12's quota checks (`quota`), issue 14's mappable default rows
//! (`default_rows`).

mod aws_pipeline;
mod chaos;
mod default_rows;
mod dry_run;
mod engine_sync;
mod org_fields;
mod outstanding;
mod quota;
mod withdrawn;
