//! `assessment.cancel`: answers 200 in every protocol outcome, with `success` saying which.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::body::AshbyJson;
use super::{AshbyCaller, PartnerError, failure_envelope};
use crate::domain::ids::AssessmentId;
use crate::domain::text;
use crate::service::{CancelOutcome, cancel_by_ashby};
use crate::state::AppState;

/// Ashby documents only HTTP 200 for cancel: once the caller is authenticated, a body
/// that cannot be read, is not JSON or lacks a usable `assessment_id` is `success: false`.
pub async fn cancel(
    caller: AshbyCaller,
    body: Result<AshbyJson, PartnerError>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PartnerError> {
    let invalid = |problem: &str| {
        HttpResponse::Ok().json(failure_envelope(
            "invalid_request",
            &format!("Invalid assessment.cancel request: {problem}"),
            &caller.request_id,
        ))
    };
    let raw = match body.and_then(|body| body.required(&caller.request_id)) {
        Ok(raw) => raw,
        Err(error) => return Ok(invalid(error.message())),
    };
    let id_text = match assessment_id_field(&raw) {
        Ok(id_text) => id_text,
        Err(problem) => return Ok(invalid(problem)),
    };
    if let Some(rule) = text::id_problem(id_text) {
        return Ok(invalid(&format!("assessment_id must {rule}")));
    }
    let not_found = || {
        HttpResponse::Ok().json(failure_envelope(
            "assessment_not_found",
            &format!("No assessment with id {id_text:?} exists for this organisation."),
            &caller.request_id,
        ))
    };
    // A string that is not a UUID cannot be one of our ids.
    let Ok(id) = id_text.parse::<AssessmentId>() else {
        return Ok(not_found());
    };
    crate::telemetry::record_assessment(id);
    let outcome = cancel_by_ashby(&state.db, &state.outbound, caller.tenant_id, id)
        .await
        .map_err(|error| caller.database_error(error))?;
    Ok(match outcome {
        CancelOutcome::Cancelled => {
            tracing::info!(assessment_id = %id, "assessment cancelled by Ashby");
            HttpResponse::Ok().json(json!({ "success": true, "results": { "assessment_id": id } }))
        }
        CancelOutcome::NotFound => not_found(),
        CancelOutcome::AlreadyCompleted => HttpResponse::Ok().json(failure_envelope(
            "assessment_already_completed",
            "This assessment is already completed and can no longer be cancelled.",
            &caller.request_id,
        )),
    })
}

fn assessment_id_field(body: &Value) -> Result<&str, &'static str> {
    let Some(object) = body.as_object() else {
        return Err("the body must be a JSON object");
    };
    match object.get("assessment_id") {
        None | Some(Value::Null) => Err("assessment_id is required"),
        Some(Value::String(id)) => Ok(id),
        Some(_) => Err("assessment_id must be a string"),
    }
}
