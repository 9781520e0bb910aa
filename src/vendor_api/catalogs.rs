//! A tenant's own catalog (CONTRACT §10): `PUT`, `GET`, `DELETE`
//! `/v1/tenants/{id}/assessment-types` and `/v1/tenants/{id}/custom-fields`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::body::VendorJson;
use super::dto::ErrorBody;
use super::{Access, VendorCaller, VendorError};
use crate::domain::catalog::{self, AssessmentType, Catalog, CustomField, TenantCatalog};
use crate::domain::ids::{AssessmentTypeId, TenantId};
use crate::service::{CatalogChange, change_tenant_catalog, tenant_catalog};
use crate::state::AppState;

/// `{"data": [...]}`: the new list, replacing the tenant's previous one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentTypesBody {
    pub data: Vec<AssessmentTypeItem>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentTypeItem {
    /// A UUID, stable forever: assessments refer to it.
    #[schema(value_type = Uuid)]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Default true. An inactive type is not offered to Ashby and cannot be started.
    pub active: Option<bool>,
}

/// The tenant's assessment types; `catalog` says whether they are its own or the default.
#[derive(Serialize, ToSchema)]
pub struct TenantAssessmentTypes {
    /// `"own"` or `"default"`.
    pub catalog: &'static str,
    pub data: Vec<TenantAssessmentType>,
}

#[derive(Serialize, ToSchema)]
pub struct TenantAssessmentType {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
}

/// `{"data": [...]}` in the `[[custom_fields]]` shape: `id`, `name`, `type`,
/// `required`?, `possible_values`? (for ValueSelect and MultiValueSelect).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldsBody {
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<CustomField>,
}

/// The tenant's custom fields; `catalog` says whether they are its own or the default.
#[derive(Serialize, ToSchema)]
pub struct TenantCustomFields {
    /// `"own"` or `"default"`.
    pub catalog: &'static str,
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<CustomField>,
}

/// The tenant's assessment types (its own, or the default ones).
#[utoipa::path(get, path = "/v1/tenants/{id}/assessment-types", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = TenantAssessmentTypes),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such tenant", body = ErrorBody),
    ))]
pub async fn get_types(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadManagement)?;
    let tenant = parse_tenant(&path)?;
    let (own, applied) = tenant_catalog(&state.db, &state.catalog, tenant)
        .await?
        .ok_or_else(|| VendorError::not_found("tenant", &path))?;
    Ok(HttpResponse::Ok().json(types_body(&own, &applied)))
}

/// Replaces the tenant's own assessment types; idempotent. Ids are UUIDs, unique; names
/// non-empty. A type removed or made inactive stays readable for its assessments.
#[utoipa::path(put, path = "/v1/tenants/{id}/assessment-types", params(("id" = Uuid, Path)),
    request_body = AssessmentTypesBody,
    responses(
        (status = 200, body = TenantAssessmentTypes),
        (status = 400, description = "not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such tenant", body = ErrorBody),
        (status = 422, description = "an invalid item, named", body = ErrorBody),
    ))]
pub async fn put_types(
    caller: VendorCaller,
    path: web::Path<String>,
    body: VendorJson<AssessmentTypesBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let tenant = parse_tenant(&path)?;
    let types = parse_types(body.0.data).map_err(VendorError::invalid)?;
    let change = CatalogChange::AssessmentTypes(Some(types));
    let (own, applied) = change_tenant_catalog(&state.db, &state.catalog, tenant, change)
        .await?
        .ok_or_else(|| VendorError::not_found("tenant", &path))?;
    state.lookups.forget_all();
    Ok(HttpResponse::Ok().json(types_body(&own, &applied)))
}

/// Returns the tenant to the default assessment types.
#[utoipa::path(delete, path = "/v1/tenants/{id}/assessment-types", params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "the default types apply"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such tenant", body = ErrorBody),
    ))]
pub async fn delete_types(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let tenant = parse_tenant(&path)?;
    let change = CatalogChange::AssessmentTypes(None);
    change_tenant_catalog(&state.db, &state.catalog, tenant, change)
        .await?
        .ok_or_else(|| VendorError::not_found("tenant", &path))?;
    state.lookups.forget_all();
    Ok(HttpResponse::NoContent().finish())
}

/// The tenant's custom fields (its own, or the default ones).
#[utoipa::path(get, path = "/v1/tenants/{id}/custom-fields", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = TenantCustomFields),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such tenant", body = ErrorBody),
    ))]
pub async fn get_fields(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadManagement)?;
    let tenant = parse_tenant(&path)?;
    let (own, applied) = tenant_catalog(&state.db, &state.catalog, tenant)
        .await?
        .ok_or_else(|| VendorError::not_found("tenant", &path))?;
    Ok(HttpResponse::Ok().json(fields_body(&own, &applied)))
}

/// Replaces the tenant's own custom fields; idempotent.
#[utoipa::path(put, path = "/v1/tenants/{id}/custom-fields", params(("id" = Uuid, Path)),
    request_body = CustomFieldsBody,
    responses(
        (status = 200, body = TenantCustomFields),
        (status = 400, description = "not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such tenant", body = ErrorBody),
        (status = 422, description = "an invalid item, named", body = ErrorBody),
    ))]
pub async fn put_fields(
    caller: VendorCaller,
    path: web::Path<String>,
    body: VendorJson<CustomFieldsBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let tenant = parse_tenant(&path)?;
    let fields = body.0.data;
    catalog::validate_custom_fields("data", &fields).map_err(VendorError::invalid)?;
    let change = CatalogChange::CustomFields(Some(fields));
    let (own, applied) = change_tenant_catalog(&state.db, &state.catalog, tenant, change)
        .await?
        .ok_or_else(|| VendorError::not_found("tenant", &path))?;
    state.lookups.forget_all();
    Ok(HttpResponse::Ok().json(fields_body(&own, &applied)))
}

/// Returns the tenant to the default custom fields.
#[utoipa::path(delete, path = "/v1/tenants/{id}/custom-fields", params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "the default custom fields apply"),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such tenant", body = ErrorBody),
    ))]
pub async fn delete_fields(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let tenant = parse_tenant(&path)?;
    let change = CatalogChange::CustomFields(None);
    change_tenant_catalog(&state.db, &state.catalog, tenant, change)
        .await?
        .ok_or_else(|| VendorError::not_found("tenant", &path))?;
    state.lookups.forget_all();
    Ok(HttpResponse::NoContent().finish())
}

/// Ids in paths: anything that is not a UUID names no tenant.
fn parse_tenant(text: &str) -> Result<TenantId, VendorError> {
    text.parse::<Uuid>()
        .map(TenantId)
        .map_err(|_| VendorError::not_found("tenant", text))
}

/// Checks every item, naming the first bad one as `data[index]`.
fn parse_types(items: Vec<AssessmentTypeItem>) -> Result<Vec<AssessmentType>, String> {
    let mut types = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let id = item
            .id
            .trim()
            .parse::<Uuid>()
            .map_err(|_| format!("data[{index}].id must be a UUID, not {:?}", item.id))?;
        types.push(AssessmentType {
            id: AssessmentTypeId(id),
            name: item.name,
            description: item.description.filter(|d| !d.trim().is_empty()),
            active: item.active.unwrap_or(true),
        });
    }
    catalog::validate_types("data", &types)?;
    Ok(types)
}

fn catalog_label(own: bool) -> &'static str {
    if own { "own" } else { "default" }
}

fn types_body(own: &TenantCatalog, applied: &Catalog) -> TenantAssessmentTypes {
    TenantAssessmentTypes {
        catalog: catalog_label(own.assessment_types.is_some()),
        data: applied
            .types()
            .iter()
            .map(|t| TenantAssessmentType {
                id: t.id.0,
                name: t.name.clone(),
                description: t.description.clone(),
                active: t.active,
            })
            .collect(),
    }
}

fn fields_body(own: &TenantCatalog, applied: &Catalog) -> TenantCustomFields {
    TenantCustomFields {
        catalog: catalog_label(own.custom_fields.is_some()),
        data: applied.custom_fields().to_vec(),
    }
}
