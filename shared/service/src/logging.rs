//! The functions' log subscriber: the Lambda runtime's default (level from
//! `AWS_LAMBDA_LOG_LEVEL`/`RUST_LOG`, JSON when the template's `LoggingConfig` asks for it),
//! writing every line through the secret scrubber ([`engine::redact::ScrubWriter`]), so that
//! no secret reaches CloudWatch — not even inside an error chain (R24).

/// Installs the subscriber, and standard output as the sink of the metrics lines
/// ([`crate::metrics`], Embedded Metric Format); call once, first thing in `main`.
pub fn init() {
    lambda_runtime::tracing::init_default_subscriber_with_writer(engine::redact::scrubbed_stdout);
    crate::metrics::set_sink(crate::metrics::stdout());
}
