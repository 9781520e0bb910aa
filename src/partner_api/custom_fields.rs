//! The custom-field listing, under all three of its names. `fields` sits beside
//! `success`, not inside `results`, and `isRequired` is camelCase — as Ashby's schema says.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::body::AshbyJson;
use super::{AshbyCaller, PartnerError};
use crate::domain::catalog::{CustomFieldType, PossibleValue};
use crate::service::cached_catalog_for;
use crate::state::AppState;

#[derive(Serialize)]
struct Field<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    field_type: CustomFieldType,
    #[serde(skip_serializing_if = "Option::is_none")]
    possible_values: Option<&'a [PossibleValue]>,
    #[serde(rename = "isRequired")]
    is_required: bool,
}

pub async fn list(
    caller: AshbyCaller,
    _body: AshbyJson,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PartnerError> {
    let catalog = cached_catalog_for(&state.db, &state.lookups, &state.catalog, caller.tenant_id)
        .await
        .map_err(|error| caller.database_error(error))?;
    let fields: Vec<Field<'_>> = catalog
        .custom_fields()
        .iter()
        .map(|f| Field {
            id: &f.id,
            name: &f.name,
            field_type: f.field_type,
            possible_values: f.possible_values.as_deref(),
            is_required: f.required,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "success": true, "fields": fields })))
}
