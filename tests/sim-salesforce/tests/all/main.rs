//! sim-salesforce over raw HTTP and as a binary, one test binary: every endpoint, each fault
//! kind, the JWT bearer flow, TLS, the binary's flags.

mod common;

mod api;
mod binary;
mod faults;
mod jwt;
mod tls;
