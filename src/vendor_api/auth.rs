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
use crate::tokens::TokenError;

/// Proof that the caller holds a valid, unrevoked vendor API token.
pub struct VendorCaller;

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
    let id = match state.tokens.verify_vendor_token(token) {
        Ok(id) => id,
        Err(TokenError::Expired) => {
            return Err(VendorError::unauthorized(
                "the token is expired: mint a new one",
            ));
        }
        Err(_) => return Err(VendorError::unauthorized("the token is invalid")),
    };
    // Only a well-signed token reaches the database: one primary-key lookup. A token
    // without an id (minted before tokens were recorded) cannot be revoked by itself;
    // rotating `security.token_secret` ends it.
    if let Some(id) = id
        && vendor_tokens::is_revoked(&state.db, id).await?
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
    Ok(VendorCaller)
}

/// What a token may do (CONTRACT §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Engine,
    Read,
    Admin,
}

impl VendorCaller {
    /// Refuses a caller whose token lacks `scope`. Tokens carry no scope yet: every
    /// caller passes until scopes are enforced.
    ///
    /// # Errors
    /// Never, for now.
    pub fn require(&self, _scope: Scope) -> Result<(), VendorError> {
        Ok(())
    }
}
