//! The JSON body of a partner call, read with our own errors: 413 over
//! `server.max_body_bytes`, 408 when it takes longer than `server.body_read_timeout_ms`,
//! 400 when it is not JSON — always in the partner envelope.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use serde_json::Value;

use super::PartnerError;
use crate::domain::json_text;
use crate::state::AppState;

/// Used only when the application state is missing (never in the server).
const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

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
        let settings = req
            .app_data::<web::Data<AppState>>()
            .map(|state| &state.settings.server);
        let limit = settings.map_or(usize::MAX, |server| server.max_body_bytes);
        let deadline = settings.map_or(DEFAULT_DEADLINE, |server| {
            Duration::from_millis(server.body_read_timeout_ms)
        });
        let too_large = move |request_id: String| {
            PartnerError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {limit} bytes."),
                request_id,
            )
        };
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            // A client trickling its body would hold a connection (and a worker's
            // attention) for as long as it likes: it gets `server.body_read_timeout_ms`.
            let bytes = tokio::time::timeout(deadline, bytes)
                .await
                .map_err(|_| {
                    PartnerError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        "The request body did not arrive in time.",
                        request_id.clone(),
                    )
                })?
                .map_err(|error| match error.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => too_large(request_id.clone()),
                    _ => PartnerError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "The request body could not be read.",
                        request_id.clone(),
                    ),
                })?;
            if bytes.len() > limit {
                return Err(too_large(request_id));
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(AshbyJson(None));
            }
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| {
                PartnerError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("The request body is not valid JSON: {error}."),
                    request_id.clone(),
                )
            })?;
            if let Some(path) = json_text::find_nul(&value) {
                return Err(PartnerError::invalid(
                    "invalid_request",
                    json_text::nul_message(&path),
                    request_id,
                ));
            }
            Ok(AshbyJson(Some(value)))
        })
    }
}
