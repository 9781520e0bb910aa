//! `Authorization: Bearer <token>` for every `/v1` route but candidate sessions.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use super::VendorError;
use crate::rate_limit::{RateLimits, token_key};
use crate::startup::AppState;
use crate::tokens::TokenError;

/// Proof that the caller holds a valid vendor API token.
pub struct VendorCaller;

impl FromRequest for VendorCaller {
    type Error = VendorError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<VendorCaller, VendorError> {
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
    match state.tokens.verify_vendor_token(token) {
        Ok(()) => {
            if let Some(limits) = req.app_data::<web::Data<RateLimits>>() {
                limits
                    .vendor
                    .check(&token_key(token))
                    .map_err(VendorError::rate_limited)?;
            }
            Ok(VendorCaller)
        }
        Err(TokenError::Expired) => Err(VendorError::unauthorized(
            "the token is expired: mint a new one",
        )),
        Err(_) => Err(VendorError::unauthorized("the token is invalid")),
    }
}
