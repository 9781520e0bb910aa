//! A typed JSON body with vendor-API errors: 413 over `server.max_body_bytes`, 408 past
//! `server.body_read_timeout_ms`, 400 when
//! it is not JSON, 422 naming the field when it does not fit the type.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::VendorError;
use crate::domain::json_text;
use crate::state::AppState;

/// Used only when the application state is missing (never in the server).
const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

pub struct VendorJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for VendorJson<T> {
    type Error = VendorError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let deadline = req
            .app_data::<web::Data<AppState>>()
            .map_or(DEFAULT_DEADLINE, |state| {
                Duration::from_millis(state.settings.server.body_read_timeout_ms)
            });
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            // A client trickling its body would hold a connection for as long as it likes.
            let bytes = tokio::time::timeout(deadline, bytes)
                .await
                .map_err(|_| {
                    VendorError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request_timeout",
                        "the request body did not arrive within server.body_read_timeout_ms",
                    )
                })?
                .map_err(|error| match error.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => VendorError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "the request body is too large",
                    ),
                    _ => VendorError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_json",
                        "the request body could not be read",
                    ),
                })?;
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|error| {
                VendorError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("the request body is not valid JSON: {error}"),
                )
            })?;
            if let Some(path) = json_text::find_nul(&value) {
                return Err(VendorError::invalid(json_text::nul_message(&path)));
            }
            serde_path_to_error::deserialize(value)
                .map(VendorJson)
                .map_err(|error| {
                    let path = error.path().to_string();
                    let inner = error.into_inner();
                    if path == "." {
                        VendorError::invalid(inner.to_string())
                    } else {
                        VendorError::invalid(format!("{path}: {inner}"))
                    }
                })
        })
    }
}
