//! The JSON body of a partner call, read with our own errors: 413 over
//! `server.max_body_bytes`, 408 when it takes longer than `server.body_read_timeout_ms`,
//! 400 when it is not JSON — always in the partner envelope.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use serde_json::Value;

use super::PartnerError;
use crate::request_body::{BodyError, read_json};

/// The parsed body; `None` when the body is empty.
pub struct AshbyJson(pub Option<Value>);

impl AshbyJson {
    /// The body, which must not be empty.
    ///
    /// # Errors
    /// 400 for an empty body.
    pub fn required(self, request_id: &str) -> Result<Value, PartnerError> {
        self.0.ok_or_else(|| {
            PartnerError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "The request body is empty; expected a JSON object.",
                request_id.to_owned(),
            )
        })
    }
}

impl FromRequest for AshbyJson {
    type Error = PartnerError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request_id = PartnerError::request_id_of(req);
        let body = read_json(req, payload);
        Box::pin(async move {
            body.await.map(AshbyJson).map_err(|error| {
                let (status, code, message) = match error {
                    BodyError::TooLarge(limit) => (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("The request body is larger than {limit} bytes."),
                    ),
                    BodyError::TimedOut => (
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        "The request body did not arrive in time.".into(),
                    ),
                    BodyError::Unreadable => (
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "The request body could not be read.".into(),
                    ),
                    BodyError::NotJson(error) => (
                        StatusCode::BAD_REQUEST,
                        "invalid_json",
                        format!("The request body is not valid JSON: {error}."),
                    ),
                    BodyError::Nul(message) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
                    }
                };
                PartnerError::new(status, code, message, request_id)
            })
        })
    }
}
