//! `assessment.start`: parse, validate against the catalog, start idempotently.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::body::AshbyJson;
use super::{AshbyCaller, PartnerError};
use crate::ashby::updates;
use crate::domain::report::StatusReport;
use crate::domain::start_request::{StartRequest, StartRequestError};
use crate::service::{cached_catalog_for, check_additional_fields};
use crate::state::AppState;

pub async fn start(
    caller: AshbyCaller,
    body: AshbyJson,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PartnerError> {
    let raw = body.required(&caller.request_id)?;
    if !caller.has_ashby_key {
        return Err(PartnerError::invalid(
            "ashby_key_missing",
            "This organisation's Ashby API key is not set up with the assessment vendor, so results could never reach Ashby. Ask your assessment vendor to connect your Ashby API key, then start the assessment again.",
            caller.request_id.clone(),
        ));
    }
    let catalog = cached_catalog_for(&state.db, &state.lookups, &state.catalog, caller.tenant_id)
        .await
        .map_err(|error| caller.database_error(error))?;
    // Only a type the tenant's catalog offers now may be started; inactive and removed
    // types stay readable for the assessments already started with them.
    let request = StartRequest::parse(raw, |id| catalog.find_active(id).is_some()).map_err(
        |error| match error {
            StartRequestError::Invalid(invalid) => {
                PartnerError::invalid("invalid_request", invalid.to_string(), caller.request_id.clone())
            }
            StartRequestError::UnknownAssessmentType(id) => PartnerError::invalid(
                "unknown_assessment_type",
                format!(
                    "Unknown assessment_type_id {id:?}: refresh the assessment list in Ashby and pick one of the listed assessments."
                ),
                caller.request_id.clone(),
            ),
        },
    )?;
    check_additional_fields(&request, state.settings.limits.max_additional_fields_bytes).map_err(
        |message| PartnerError::invalid("invalid_request", message, caller.request_id.clone()),
    )?;
    let outcome = state
        .starter
        .start(caller.tenant_id, &request)
        .await
        .map_err(|error| caller.database_error(error))?;
    let assessment = outcome.assessment;
    crate::telemetry::record_assessment(assessment.id);
    if outcome.created {
        tracing::info!(assessment_id = %assessment.id, "assessment started");
    }
    // The initial status, reported inline; for a retried start, the current status as
    // of the last update we reported.
    let update_request = updates::update_request(
        assessment.id,
        assessment.last_update_ms,
        &StatusReport::status_only(assessment.status),
    );
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "results": {
            "assessment_id": assessment.id,
            "update_request": update_request,
        },
    })))
}
