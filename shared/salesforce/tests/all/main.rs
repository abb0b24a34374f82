//! The Salesforce client's integration tests, one test binary: against the org simulator
//! (`client`) and against canned answers the simulator never gives (`stub`).

mod client;
mod stub;
