//! Reading a request's JSON body, the same way for every API: at most
//! `server.max_body_bytes`, within `server.body_read_timeout_ms`, valid JSON, and no NUL
//! character anywhere (PostgreSQL cannot store one). Each API renders [`BodyError`] in
//! its own envelope.

use std::future::Future;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest as _, HttpRequest};
use serde_json::Value;

use crate::domain::json_text;
use crate::state::AppState;

/// Used only when the application state is missing (never in the server).
const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the limit, in bytes.
    TooLarge(usize),
    /// Still arriving when the deadline passed: a client trickling its body would hold
    /// a connection (and a worker's attention) for as long as it liked.
    TimedOut,
    /// The connection failed while the body was read.
    Unreadable,
    /// Not JSON; the parser's message.
    NotJson(String),
    /// A string holds a NUL character; the message names where.
    Nul(String),
}

/// Reads the body; `None` when it is empty (or only whitespace).
pub fn read_json(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Option<Value>, BodyError>> + 'static {
    let server = req
        .app_data::<web::Data<AppState>>()
        .map(|state| &state.settings.server);
    let limit = server.map_or(usize::MAX, |server| server.max_body_bytes);
    let deadline = server.map_or(DEFAULT_DEADLINE, |server| {
        Duration::from_millis(server.body_read_timeout_ms)
    });
    let bytes = Bytes::from_request(req, payload);
    async move {
        let bytes = tokio::time::timeout(deadline, bytes)
            .await
            .map_err(|_| BodyError::TimedOut)?
            .map_err(|error| match error.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => BodyError::TooLarge(limit),
                _ => BodyError::Unreadable,
            })?;
        if bytes.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|error| BodyError::NotJson(error.to_string()))?;
        if let Some(path) = json_text::find_nul(&value) {
            return Err(BodyError::Nul(json_text::nul_message(&path)));
        }
        Ok(Some(value))
    }
}
