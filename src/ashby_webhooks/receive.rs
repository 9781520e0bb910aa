//! `POST /ashby/webhooks/{tenant_id}`.
//!
//! Answers, and why:
//! - 401 when the signature is missing or wrong, the tenant unknown or without a secret —
//!   one message for all, so a caller learns nothing about which tenants exist. Nothing
//!   changes.
//! - 200 once the effect is committed (or there is none: `ping`, an action or status we do
//!   not act on).
//! - 200, with a warning in the log, for a signed body we cannot understand (not JSON, or
//!   without what its action needs): Ashby retries every non-2xx answer, and a payload
//!   that cannot be understood now never will be, so a 4xx would only make it retry.
//! - 413 for a body over `server.max_body_bytes`, 408 for one that does not arrive within
//!   `server.body_read_timeout_ms`; 503 when the database fails, so Ashby retries.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web::{self, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::payload::{self, Parsed};
use crate::ashby::webhooks;
use crate::domain::ids::TenantId;
use crate::partner_api::{PartnerError, failure_envelope};
use crate::service::{self, RegistrationError};
use crate::state::AppState;

const UNAUTHORIZED: &str = "The webhook signature is missing or does not match.";

pub async fn receive(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let request_id = PartnerError::request_id_of(&req);
    let fail = |status: StatusCode, code: &str, message: &str| {
        HttpResponse::build(status).json(failure_envelope(code, message, &request_id))
    };
    let server = &state.settings.server;
    let body = match read_body(
        payload,
        server.max_body_bytes,
        Duration::from_millis(server.body_read_timeout_ms),
    )
    .await
    {
        Ok(body) => body,
        Err(status) if status == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = format!("The body is larger than {} bytes.", server.max_body_bytes);
            return fail(status, "payload_too_large", &message);
        }
        Err(status) if status == StatusCode::REQUEST_TIMEOUT => {
            return fail(
                status,
                "request_timeout",
                "The body did not arrive in time.",
            );
        }
        Err(status) => return fail(status, "unreadable", "The body could not be read."),
    };

    // A path that is not a tenant id is answered like an unknown tenant.
    let Ok(tenant) = path.parse::<TenantId>() else {
        return fail(StatusCode::UNAUTHORIZED, "unauthorized", UNAUTHORIZED);
    };
    let secret = match service::ashby_webhook_secret(&state.db, &state.secrets.sealer, tenant).await
    {
        Ok(secret) => secret,
        Err(RegistrationError::Database(error)) => {
            tracing::error!(%error, "cannot read the tenant's Ashby webhook secret");
            return fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Try again later.",
            );
        }
        Err(error) => {
            tracing::error!(%error, %tenant, "the tenant's Ashby webhook secret does not open");
            None
        }
    };
    let signature = req
        .headers()
        .get(webhooks::SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    let verified = secret.is_some_and(|secret| {
        webhooks::signature_is_valid(secret.expose_secret().as_bytes(), &body, signature)
    });
    if !verified {
        tracing::warn!(%tenant, "an Ashby webhook was refused: bad or missing signature");
        return fail(StatusCode::UNAUTHORIZED, "unauthorized", UNAUTHORIZED);
    }

    let parsed = match serde_json::from_slice::<Value>(&body) {
        Ok(value) => payload::parse(&value),
        Err(error) => Parsed::Malformed(format!("not JSON: {error}")),
    };
    let notice = match parsed {
        Parsed::Notice(notice) => notice,
        Parsed::Ping => return ok(),
        Parsed::Ignored(what) => {
            tracing::debug!(%tenant, what, "an Ashby webhook needs nothing here");
            return ok();
        }
        Parsed::Malformed(what) => {
            tracing::warn!(%tenant, what, "an Ashby webhook could not be understood; ignored");
            return ok();
        }
    };
    match service::apply_ashby_notice(&state.db, &state.outbound, tenant, &notice).await {
        Ok(handled) => {
            tracing::info!(
                %tenant,
                rewritten = handled.rewritten,
                cancelled = handled.cancelled,
                "an Ashby webhook was applied"
            );
            ok()
        }
        Err(error) => {
            tracing::error!(%error, %tenant, "an Ashby webhook could not be applied");
            fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Try again later.",
            )
        }
    }
}

fn ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({"success": true}))
}

/// The raw body (the signature covers its exact bytes), at most `limit` bytes, within
/// `deadline`. The error is the status to answer.
async fn read_body(
    mut payload: web::Payload,
    limit: usize,
    deadline: Duration,
) -> Result<BytesMut, StatusCode> {
    let read = async move {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            // A broken connection: nobody is left to answer, any status will do.
            let chunk = chunk.map_err(|_| StatusCode::BAD_REQUEST)?;
            if body.len() + chunk.len() > limit {
                return Err(StatusCode::PAYLOAD_TOO_LARGE);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(deadline, read)
        .await
        .map_err(|_| StatusCode::REQUEST_TIMEOUT)?
}
