//! `assessment.list`: the tenant's catalog for Ashby's picker (active types only).

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::body::AshbyJson;
use super::{AshbyCaller, PartnerError};
use crate::domain::ids::AssessmentTypeId;
use crate::service::cached_catalog_for;
use crate::state::AppState;

#[derive(Serialize)]
struct ListedType<'a> {
    assessment_type_id: AssessmentTypeId,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

/// The request body (`{}`) carries nothing; it only has to be JSON when present.
pub async fn list(
    caller: AshbyCaller,
    _body: AshbyJson,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PartnerError> {
    let catalog = cached_catalog_for(&state.db, &state.lookups, &state.catalog, caller.tenant_id)
        .await
        .map_err(|error| caller.database_error(error))?;
    let results: Vec<ListedType<'_>> = catalog
        .active_types()
        .map(|t| ListedType {
            assessment_type_id: t.id,
            name: &t.name,
            description: t.description.as_deref(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "success": true, "results": results })))
}
