//! The one error shape of the partner API, as Ashby expects it:
//! `{"success": false, "message", "errors": [code], "errorInfo": {"code", "message", "requestId"}}`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use serde_json::{Value, json};
use tracing_actix_web::RequestId;

/// A failed partner-API request. `message` is shown to recruiters: never internals.
#[derive(Debug)]
pub struct PartnerError {
    status: StatusCode,
    code: &'static str,
    message: String,
    request_id: String,
    /// Seconds for `Retry-After`, on a 429.
    retry_after: Option<u64>,
}

impl std::fmt::Display for PartnerError {
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

impl PartnerError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        request_id: String,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            request_id,
            retry_after: None,
        }
    }

    /// 429: this tenant sends more than `[limits]` allows; retry after `wait`.
    pub fn rate_limited(wait: std::time::Duration, request_id: String) -> Self {
        let seconds = crate::rate_limit::retry_after_seconds(wait);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests for this organisation; retry in {seconds} s."),
            request_id,
        );
        error.retry_after = Some(seconds);
        error
    }

    /// The message shown to the caller.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The id tracing-actix-web gave this request, for `errorInfo.requestId`.
    pub fn request_id_of(req: &HttpRequest) -> String {
        req.extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    pub fn unauthorized(request_id: String) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Missing or invalid credentials: send this organisation's partner API key with HTTP Basic authentication.",
            request_id,
        )
    }

    /// 422 with a message that names what to fix.
    pub fn invalid(code: &'static str, message: impl Into<String>, request_id: String) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message, request_id)
    }

    /// A database error: 503 ("try again"), except stored data that does not decode —
    /// retrying cannot help, so that is a 500, with the cause in the log.
    pub fn database(error: &sea_orm::DbErr, request_id: String) -> Self {
        if crate::store::is_unreadable(error) {
            tracing::error!(%error, "partner API request failed on unreadable stored data");
            return Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "stored_data_unreadable",
                "The assessment service could not read its own data; the vendor has been told.",
                request_id,
            );
        }
        Self::unavailable(error, request_id)
    }

    /// An infrastructure failure: the cause goes to the log, a generic message out.
    pub fn unavailable(cause: &dyn std::fmt::Display, request_id: String) -> Self {
        tracing::error!(error = %cause, "partner API request failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The assessment service is temporarily unavailable; please try again.",
            request_id,
        )
    }
}

/// The failure body, also used with HTTP 200 where Ashby's protocol wants that.
pub fn failure_envelope(code: &str, message: &str, request_id: &str) -> Value {
    json!({
        "success": false,
        "message": message,
        "errors": [code],
        "errorInfo": { "code": code, "message": message, "requestId": request_id },
    })
}

impl ResponseError for PartnerError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ashby-partner\""),
            ));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(failure_envelope(self.code, &self.message, &self.request_id))
    }
}
