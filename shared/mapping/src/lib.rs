//! flexbridge's pure domain: Salesforce records, the mapping configuration, the connector's
//! rules (R1–R20) and the FNO-side request models. No async, no IO, no AWS, no HTTP.
pub mod fno;
pub mod secret;

pub use secret::Secret;
