//! A typed JSON body with vendor-API errors: the shared reader's (413, 408, 400, 422 for
//! a NUL), then 422 naming the field when it does not fit the type.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::VendorError;
use crate::request_body::{BodyError, read_json};

pub struct VendorJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for VendorJson<T> {
    type Error = VendorError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload);
        Box::pin(async move {
            let value = body.await.map_err(|error| match error {
                BodyError::TooLarge(_) => VendorError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is too large",
                ),
                BodyError::TimedOut => VendorError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    "the request body did not arrive within server.body_read_timeout_ms",
                ),
                BodyError::Unreadable => VendorError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    "the request body could not be read",
                ),
                BodyError::NotJson(error) => VendorError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("the request body is not valid JSON: {error}"),
                ),
                BodyError::Nul(message) => VendorError::invalid(message),
            })?;
            let value = value.ok_or_else(|| {
                VendorError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    "the request body is empty; expected a JSON object",
                )
            })?;
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
