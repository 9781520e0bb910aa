//! `Authorization: Bearer <token>` for every `/v1` route but candidate sessions.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use super::VendorError;
use crate::rate_limit::{RateLimits, token_key};
use crate::state::AppState;
use crate::store::vendor_tokens;
use crate::tokens::{Scope, TokenError};

/// Proof that the caller holds a valid, unrevoked vendor API token, and what it may do.
pub struct VendorCaller {
    pub scope: Scope,
}

/// What a route needs (CONTRACT §10): `engine` reads assessments and reports on them,
/// `read` sees every GET, `admin` may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A GET of §5 (assessments, types, an assessment's deliveries).
    ReadAssessments,
    /// Posting events and completed assessments.
    Report,
    /// A GET of §10 (tenants, deliveries).
    ReadManagement,
    /// Every other write.
    Admin,
}

impl VendorCaller {
    /// # Errors
    /// 403 `insufficient_scope` when the token's scope does not cover `access`.
    pub fn require(&self, access: Access) -> Result<(), VendorError> {
        let allowed = match (self.scope, access) {
            (Scope::Admin, _)
            | (Scope::Engine, Access::ReadAssessments | Access::Report)
            | (Scope::Read, Access::ReadAssessments | Access::ReadManagement) => true,
            (Scope::Engine | Scope::Read, _) => false,
        };
        if allowed {
            return Ok(());
        }
        let needed = match access {
            Access::ReadAssessments => "engine, read or admin",
            Access::Report => "engine or admin",
            Access::ReadManagement => "read or admin",
            Access::Admin => "admin",
        };
        Err(VendorError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "this token's scope is {}; this request needs {needed} (mint one with `ashby-partner token create --scope ...`)",
                self.scope.as_str()
            ),
        ))
    }
}

impl FromRequest for VendorCaller {
    type Error = VendorError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

async fn authenticate(req: &HttpRequest) -> Result<VendorCaller, VendorError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(VendorError::unauthorized(
            "missing Authorization: Bearer <token> (mint one with `ashby-partner token create`)",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            VendorError::unauthorized("malformed Authorization header: expected Bearer <token>")
        })?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| VendorError::unauthorized("token verification unavailable"))?;
    let verified = match state.tokens.verify_vendor_token(token) {
        Ok(verified) => verified,
        Err(TokenError::Expired) => {
            return Err(VendorError::unauthorized(
                "the token is expired: mint a new one",
            ));
        }
        Err(_) => return Err(VendorError::unauthorized("the token is invalid")),
    };
    // Only a well-signed token reaches the database: one primary-key lookup, remembered
    // for at most `server.lookup_cache_ms`. A token without an id (minted before tokens
    // were recorded) cannot be revoked by itself; rotating `security.token_secret` ends it.
    if let Some(id) = verified.id
        && is_revoked(state, id).await?
    {
        return Err(VendorError::unauthorized(
            "the token has been revoked: mint a new one",
        ));
    }
    if let Some(limits) = req.app_data::<web::Data<RateLimits>>() {
        limits
            .vendor
            .check(&token_key(token))
            .map_err(VendorError::rate_limited)?;
    }
    Ok(VendorCaller {
        scope: verified.scope,
    })
}

async fn is_revoked(state: &AppState, id: uuid::Uuid) -> Result<bool, VendorError> {
    if let Some(revoked) = state.lookups.token_revoked(id) {
        return Ok(revoked);
    }
    let revoked = vendor_tokens::is_revoked(&state.db, id).await?;
    state.lookups.remember_token_revoked(id, revoked);
    Ok(revoked)
}
