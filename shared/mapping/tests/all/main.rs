//! Integration tests of the mapping crate, one binary: a test per rule (named after it),
//! config edits and round-trips, write-back, property tests.

mod common;
mod config_rules;
mod default_rows;
mod plan_rules;
mod props;
mod writeback_rules;
