//! R22: the immediate sync's window as the API takes it — the parsing lives in
//! [`engine::window`] (the local runner uses it too); here its errors become 400s naming the
//! field.

use crate::http::ApiError;
use chrono::{DateTime, Utc};
pub use engine::window::{SyncRequest, Window, MAX_HOURS};

/// Parse the body of `POST /sync` at instant `now` (R22); a bad body is a 400 naming the field.
pub fn parse_window(body: Option<&str>, now: DateTime<Utc>) -> Result<Window, ApiError> {
    engine::window::parse_window(body, now).map_err(|e| ApiError::BadRequest {
        field: e.field,
        message: e.message,
    })
}

/// Parse the body of `POST /sync`: a window (R22), `"outstanding": true`, or both.
pub fn parse_sync_request(body: Option<&str>, now: DateTime<Utc>) -> Result<SyncRequest, ApiError> {
    engine::window::parse_sync_request(body, now).map_err(|e| ApiError::BadRequest {
        field: e.field,
        message: e.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r22_bad_window_is_a_400_naming_the_field() {
        let now: DateTime<Utc> = "2025-06-04T12:00:00Z".parse().unwrap();
        match parse_window(Some(r#"{"hours": 0}"#), now) {
            Err(ApiError::BadRequest { field, message }) => {
                assert_eq!(field, "hours");
                assert!(message.contains("R22"), "{message}");
            }
            other => panic!("expected a 400, got {other:?}"),
        }
        assert_eq!(parse_window(Some(r#"{"hours": 2}"#), now).unwrap().to, now);
    }
}
