//! Managing tenants from the vendor's product (CONTRACT §10): create, list, show,
//! change, erase; partner keys; the tenant's Ashby key, checked with Ashby.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::body::VendorJson;
use super::dto::ErrorBody;
use super::paging;
use super::{Access, VendorCaller, VendorError};
use crate::domain::ids::TenantId;
use crate::domain::tenant::{TenantPatch, parse_base_url, parse_external_id, parse_name};
use crate::representation::{self, Tenant};
use crate::service::{self, AshbyKeyCheck, NewTenant, TenantError};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantBody {
    name: String,
    external_id: Option<String>,
    /// The organisation's Ashby API key; stored encrypted, `unverified` until checked.
    #[schema(value_type = Option<String>)]
    ashby_api_key: Option<String>,
    ashby_base_url: Option<String>,
}

/// A tenant just created, with its partner key (shown only here).
#[derive(Serialize, ToSchema)]
pub struct CreatedTenant {
    #[serde(flatten)]
    pub tenant: Tenant,
    pub partner_api_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct TenantPage {
    pub data: Vec<Tenant>,
    /// After the last row of a full page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Fields absent stay as they are; `null` clears `external_id` and `ashby_base_url`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTenantBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    external_id: Option<Option<String>>,
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    ashby_base_url: Option<Option<String>>,
}

/// A field that is present (possibly `null`), as opposed to absent.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AshbyKeyBody {
    #[schema(value_type = String)]
    api_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct PartnerKey {
    pub partner_api_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct RevokedKeys {
    pub revoked: u64,
}

impl From<TenantError> for VendorError {
    fn from(error: TenantError) -> Self {
        match error {
            TenantError::NotFound(id) => Self::not_found("tenant", &id.to_string()),
            TenantError::ExternalIdTaken(_) => {
                Self::conflict("external_id_taken", error.to_string())
            }
            TenantError::KeyRejected(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ashby_key_rejected",
                error.to_string(),
            ),
            TenantError::NoAshbyKey(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ashby_key_missing",
                error.to_string(),
            ),
            TenantError::Seal(cause) => Self::unavailable(&cause),
            TenantError::Database(cause) => cause.into(),
        }
    }
}

fn tenant_id(path: &str) -> Result<TenantId, VendorError> {
    path.parse()
        .map_err(|_| VendorError::not_found("tenant", path))
}

fn render(state: &AppState, overview: &crate::domain::tenant::TenantOverview) -> Tenant {
    representation::tenant(overview, &state.settings.ashby.base_url)
}

fn key_check(state: &AppState) -> Result<AshbyKeyCheck, VendorError> {
    AshbyKeyCheck::new(&state.settings).map_err(|e| VendorError::unavailable(&e))
}

/// Onboard a customer organisation: its first partner key is in the answer, only there.
#[utoipa::path(post, path = "/v1/tenants", request_body = CreateTenantBody, responses(
    (status = 201, body = CreatedTenant),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 409, description = "external_id is taken", body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn create(
    caller: VendorCaller,
    body: VendorJson<CreateTenantBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let body = body.0;
    let new = NewTenant {
        name: parse_name("name", &body.name).map_err(VendorError::invalid)?,
        external_id: body
            .external_id
            .map(|id| parse_external_id("external_id", &id))
            .transpose()
            .map_err(VendorError::invalid)?,
        ashby_api_key: body
            .ashby_api_key
            .map(|key| parse_api_key("ashby_api_key", key))
            .transpose()?,
        ashby_base_url: body
            .ashby_base_url
            .map(|url| parse_base_url("ashby_base_url", &url))
            .transpose()
            .map_err(VendorError::invalid)?,
    };
    let onboarded = service::onboard_tenant(&state.db, &state.secrets.sealer, new).await?;
    Ok(HttpResponse::Created().json(CreatedTenant {
        tenant: render(&state, &onboarded.tenant),
        partner_api_key: onboarded.partner_api_key.expose_secret().to_owned(),
    }))
}

fn parse_api_key(field: &str, key: String) -> Result<SecretString, VendorError> {
    let key = key.trim();
    if key.is_empty() || key.len() > 500 || key.chars().any(char::is_control) {
        return Err(VendorError::invalid(format!(
            "{field} must be an Ashby API key (1 to 500 characters)"
        )));
    }
    Ok(key.to_owned().into())
}

/// Every tenant, oldest first, in pages; `external_id` finds the vendor's customer.
#[utoipa::path(get, path = "/v1/tenants", params(
        ("external_id" = Option<String>, Query),
        ("limit" = Option<u64>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "a next_cursor from an earlier page"),
    ), responses(
    (status = 200, body = TenantPage),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn list(
    caller: VendorCaller,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadManagement)?;
    let (external_id, after, limit) = parse_list_query(&query).map_err(VendorError::invalid)?;
    let page = service::list_tenants(&state.db, external_id.as_deref(), after, limit).await?;
    let next_cursor =
        paging::next_after_full_page(&page, limit, |t| (t.tenant.created_at_ms, t.tenant.id.0));
    let data = page.iter().map(|t| render(&state, t)).collect();
    Ok(HttpResponse::Ok().json(TenantPage { data, next_cursor }))
}

type ListQuery = (Option<String>, Option<(i64, Uuid)>, u64);

fn parse_list_query(query: &HashMap<String, String>) -> Result<ListQuery, String> {
    const KNOWN: [&str; 3] = ["external_id", "limit", "cursor"];
    paging::reject_unknown(query, &KNOWN)?;
    let external_id = query
        .get("external_id")
        .map(|id| parse_external_id("external_id", id))
        .transpose()?;
    Ok((external_id, paging::cursor(query)?, paging::limit(query)?))
}

/// One tenant.
#[utoipa::path(get, path = "/v1/tenants/{id}", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Tenant),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn get(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadManagement)?;
    let overview = service::show_tenant(&state.db, tenant_id(&path)?).await?;
    Ok(HttpResponse::Ok().json(render(&state, &overview)))
}

/// Rename, re-identify, disable or enable a tenant, or point it at another Ashby.
#[utoipa::path(patch, path = "/v1/tenants/{id}", params(("id" = Uuid, Path)),
    request_body = PatchTenantBody, responses(
    (status = 200, body = Tenant),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "external_id is taken", body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn patch(
    caller: VendorCaller,
    path: web::Path<String>,
    body: VendorJson<PatchTenantBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let id = tenant_id(&path)?;
    let body = body.0;
    let patch = TenantPatch {
        name: body
            .name
            .map(|name| parse_name("name", &name))
            .transpose()
            .map_err(VendorError::invalid)?,
        external_id: body
            .external_id
            .map(|id| {
                id.map(|id| parse_external_id("external_id", &id))
                    .transpose()
            })
            .transpose()
            .map_err(VendorError::invalid)?,
        disabled: body.disabled,
        ashby_base_url: body
            .ashby_base_url
            .map(|url| {
                url.map(|url| parse_base_url("ashby_base_url", &url))
                    .transpose()
            })
            .transpose()
            .map_err(VendorError::invalid)?,
    };
    let overview = service::update_tenant(&state.db, id, patch).await?;
    state.lookups.forget_all();
    Ok(HttpResponse::Ok().json(render(&state, &overview)))
}

/// Erase a tenant and all its data: keys, assessments, deliveries and their attempts.
#[utoipa::path(delete, path = "/v1/tenants/{id}", params(("id" = Uuid, Path)), responses(
    (status = 204, description = "erased"),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn delete(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    service::delete_tenant(&state.db, tenant_id(&path)?).await?;
    state.lookups.forget_all();
    Ok(HttpResponse::NoContent().finish())
}

/// A new partner key (rotation); older keys keep working until revoked.
#[utoipa::path(post, path = "/v1/tenants/{id}/partner-keys", params(("id" = Uuid, Path)), responses(
    (status = 201, body = PartnerKey),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn rotate_key(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let key = service::rotate_partner_key(&state.db, tenant_id(&path)?).await?;
    state.lookups.forget_all();
    Ok(HttpResponse::Created().json(PartnerKey {
        partner_api_key: key.expose_secret().to_owned(),
    }))
}

/// Revoke every partner key but the newest (`except_newest=true` is required).
#[utoipa::path(delete, path = "/v1/tenants/{id}/partner-keys",
    params(("id" = Uuid, Path), ("except_newest" = bool, Query, description = "must be true")),
    responses(
    (status = 200, body = RevokedKeys),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn revoke_keys(
    caller: VendorCaller,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let id = tenant_id(&path)?;
    if query.get("except_newest").map(String::as_str) != Some("true") || query.len() != 1 {
        return Err(VendorError::invalid(
            "give except_newest=true: the newest key keeps working, every older one is revoked",
        ));
    }
    let revoked = service::revoke_partner_keys(&state.db, id).await?;
    // This replica answers the change at once; the others within server.lookup_cache_ms.
    state.lookups.forget_all();
    Ok(HttpResponse::Ok().json(RevokedKeys { revoked }))
}

/// Replace the tenant's Ashby API key; Ashby is asked first (`apiKey.info`).
#[utoipa::path(put, path = "/v1/tenants/{id}/ashby-key", params(("id" = Uuid, Path)),
    request_body = AshbyKeyBody, responses(
    (status = 200, description = "stored: verified, or unverified when Ashby could not be reached", body = Tenant),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 422, description = "ashby_key_rejected: Ashby refused the key; it was not stored", body = ErrorBody),
))]
pub async fn put_ashby_key(
    caller: VendorCaller,
    path: web::Path<String>,
    body: VendorJson<AshbyKeyBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let id = tenant_id(&path)?;
    let key = parse_api_key("api_key", body.0.api_key)?;
    let check = key_check(&state)?;
    let overview =
        service::replace_ashby_key(&state.db, &state.secrets.sealer, &check, id, &key).await?;
    state.lookups.forget_all();
    Ok(HttpResponse::Ok().json(render(&state, &overview)))
}

/// Ask Ashby again whether the stored key works.
#[utoipa::path(post, path = "/v1/tenants/{id}/ashby-key/verify", params(("id" = Uuid, Path)), responses(
    (status = 200, description = "key_status verified, rejected, or unchanged when Ashby could not be reached", body = Tenant),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 422, description = "ashby_key_missing: no key to check", body = ErrorBody),
))]
pub async fn verify_ashby_key(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let id = tenant_id(&path)?;
    let check = key_check(&state)?;
    let overview = service::verify_ashby_key(&state.db, &state.secrets.sealer, &check, id).await?;
    Ok(HttpResponse::Ok().json(render(&state, &overview)))
}
