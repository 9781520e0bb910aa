//! Who is calling: HTTP Basic with a tenant's partner key, as username or as password.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::PartnerError;
use crate::crypto::hash_partner_key;
use crate::domain::ids::TenantId;
use crate::lookup_cache::KeyOwner;
use crate::rate_limit::RateLimits;
use crate::state::AppState;
use crate::store::tenants;

/// An authenticated call from Ashby on behalf of one tenant.
#[derive(Debug, Clone)]
pub struct AshbyCaller {
    pub tenant_id: TenantId,
    pub request_id: String,
    /// Whether the tenant has an Ashby API key: without one, no update could be delivered.
    pub has_ashby_key: bool,
}

impl AshbyCaller {
    /// This request's answer to a database error (see [`PartnerError::database`]).
    pub fn database_error(&self, error: sea_orm::DbErr) -> PartnerError {
        PartnerError::database(&error, self.request_id.clone())
    }

    /// Builds an error for this request (it carries the request id).
    pub fn error(
        &self,
        status: actix_web::http::StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> PartnerError {
        PartnerError::new(status, code, message, self.request_id.clone())
    }
}

impl FromRequest for AshbyCaller {
    type Error = PartnerError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request_id = PartnerError::request_id_of(req);
        let key = basic_credential(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let limits = req.app_data::<web::Data<RateLimits>>().cloned();
        Box::pin(async move {
            let (Some(key), Some(state)) = (key, state) else {
                return Err(PartnerError::unauthorized(request_id));
            };
            match key_owner(&state, &hash_partner_key(&key)).await {
                Ok(Some(tenant)) if tenant.disabled => Err(PartnerError::new(
                    actix_web::http::StatusCode::FORBIDDEN,
                    "tenant_disabled",
                    "This organisation's assessment integration is disabled. Ask your assessment vendor to re-enable it; until then assessments cannot be listed, started or cancelled.",
                    request_id,
                )),
                Ok(Some(tenant)) => {
                    crate::telemetry::record_tenant(tenant.tenant_id);
                    // Counted after authentication, so an unknown key spends no tenant's budget.
                    if let Some(limits) = limits {
                        limits
                            .partner
                            .check(&tenant.tenant_id.0)
                            .map_err(|wait| PartnerError::rate_limited(wait, request_id.clone()))?;
                    }
                    Ok(AshbyCaller {
                        tenant_id: tenant.tenant_id,
                        request_id,
                        has_ashby_key: tenant.has_ashby_key,
                    })
                }
                Ok(None) => Err(PartnerError::unauthorized(request_id)),
                Err(error) => Err(PartnerError::database(&error, request_id)),
            }
        })
    }
}

/// The tenant owning an unrevoked key with this hash: from the lookup cache when read
/// within its bound, else from the database (and then remembered). Unknown keys are
/// looked up every time, never remembered.
async fn key_owner(state: &AppState, key_hash: &str) -> Result<Option<KeyOwner>, sea_orm::DbErr> {
    if let Some(owner) = state.lookups.key_owner(key_hash) {
        return Ok(Some(owner));
    }
    let Some(tenant) = tenants::find_by_key_hash(&state.db, key_hash).await? else {
        return Ok(None);
    };
    let owner = KeyOwner {
        tenant_id: TenantId(tenant.id),
        disabled: tenant.disabled,
        has_ashby_key: tenant.ashby_api_key_sealed.is_some(),
    };
    state.lookups.remember_key_owner(key_hash, owner);
    Ok(Some(owner))
}

/// The partner key from `Authorization: Basic`: the username, or when that is empty
/// the password (Ashby's documentation and live integrations disagree on the half).
fn basic_credential(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (username, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
    let key = if username.is_empty() {
        password
    } else {
        username
    };
    (!key.is_empty()).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn with_header(value: &str) -> Option<String> {
        basic_credential(
            &TestRequest::default()
                .insert_header((header::AUTHORIZATION, value))
                .to_http_request(),
        )
    }

    fn basic(pair: &str) -> String {
        format!("Basic {}", STANDARD.encode(pair))
    }

    #[test]
    fn the_key_is_read_from_either_half_of_basic_credentials() {
        assert_eq!(with_header(&basic("apk_1:")), Some("apk_1".into()));
        assert_eq!(with_header(&basic(":apk_2")), Some("apk_2".into()));
        assert_eq!(with_header(&basic("apk_3")), Some("apk_3".into()));
        assert_eq!(with_header(&basic("apk_4:ignored")), Some("apk_4".into()));
    }

    #[test]
    fn malformed_or_empty_credentials_yield_no_key() {
        for value in [
            basic(":"),
            "Bearer abc".to_string(),
            "Basic !!!".to_string(),
            "Basic".to_string(),
        ] {
            assert_eq!(with_header(&value), None, "{value}");
        }
        assert_eq!(
            basic_credential(&TestRequest::default().to_http_request()),
            None
        );
    }
}
