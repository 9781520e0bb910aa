//! The vendor API's one error shape: `{"error": {"code", "message"}}`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug)]
pub struct VendorError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds for `Retry-After`, on a 429.
    retry_after: Option<u64>,
}

impl std::fmt::Display for VendorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl VendorError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429: this token sends more than `[limits]` allows; retry after `wait`.
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let seconds = crate::rate_limit::retry_after_seconds(wait);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests with this token; retry in {seconds} s"),
        );
        error.retry_after = Some(seconds);
        error
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {what} with id {id:?}"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// An infrastructure failure: the cause goes to the log, a generic message out.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "vendor API request failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "temporarily unavailable; retry later",
        )
    }
}

impl ResponseError for VendorError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(json!({ "error": { "code": self.code, "message": self.message } }))
    }
}

/// Database errors become a 503 ("retry later"), except stored data that does not decode:
/// retrying cannot help, so that is a 500 (with the cause in the log).
impl From<sea_orm::DbErr> for VendorError {
    fn from(error: sea_orm::DbErr) -> Self {
        if crate::store::is_unreadable(&error) {
            tracing::error!(%error, "vendor API request failed on unreadable stored data");
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stored_data_unreadable",
                "stored data unreadable; the operator has been told in the log",
            )
        } else {
            Self::unavailable(&error)
        }
    }
}
