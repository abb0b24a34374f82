//! The Lambda-facing application layer shared by the function crates: SQS batch processing with
//! partial failures ([`sqs`]). Function crates stay thin: they build clients and call in here.
pub mod admin;
pub mod http;
pub mod sqs;
pub mod window;
