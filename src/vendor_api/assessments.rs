//! Assessment types, one assessment, and the events that move it.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::body::VendorJson;
use super::{VendorCaller, VendorError};
use crate::domain::ids::AssessmentId;
use crate::domain::lifecycle::Refusal;
use crate::domain::vendor_event::{VendorEvent, VendorEventBody};
use crate::representation;
use crate::service::{EventOutcome, record_vendor_event};
use crate::startup::AppState;
use crate::store::assessments;

/// `GET /v1/assessment-types`
pub async fn list_types(_caller: VendorCaller, state: web::Data<AppState>) -> HttpResponse {
    let data: Vec<_> = state
        .catalog
        .types()
        .iter()
        .map(|t| json!({ "id": t.id, "name": t.name, "description": t.description }))
        .collect();
    HttpResponse::Ok().json(json!({ "data": data }))
}

/// `GET /v1/assessments/{id}`
pub async fn get(
    _caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    let id = parse_id(&path)?;
    let row = assessments::find_any(&state.db, id)
        .await
        .map_err(|e| VendorError::unavailable(&e))?
        .ok_or_else(|| VendorError::not_found("assessment", &path))?;
    let body = representation::assessment(&row, &state.outbound.candidate_links)
        .map_err(|e| VendorError::unavailable(&e))?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /v1/assessments/{id}/events`
pub async fn post_event(
    _caller: VendorCaller,
    path: web::Path<String>,
    body: VendorJson<VendorEventBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    let id = parse_id(&path)?;
    let event = VendorEvent::try_from(body.0).map_err(VendorError::invalid)?;
    let outcome = record_vendor_event(&state.db, &state.outbound, id, &event)
        .await
        .map_err(|e| VendorError::unavailable(&e))?;
    let row = match outcome {
        EventOutcome::Recorded {
            assessment,
            enqueued,
        } => {
            if enqueued {
                state.waker.wake();
            }
            tracing::info!(assessment_id = %id, status = %assessment.status, "vendor event recorded");
            assessment
        }
        EventOutcome::Repeat(assessment) => assessment,
        EventOutcome::NotFound => return Err(VendorError::not_found("assessment", &path)),
        EventOutcome::Refused(refusal) => {
            let status = match refusal {
                Refusal::Final(status) => status.as_str(),
                Refusal::AlreadyCompleted => "completed",
            };
            return Err(VendorError::conflict(
                "assessment_final",
                format!(
                    "the assessment is already {status}, which is final; only an exact repeat of the event that ended it is accepted"
                ),
            ));
        }
    };
    let body = representation::assessment(&row, &state.outbound.candidate_links)
        .map_err(|e| VendorError::unavailable(&e))?;
    Ok(HttpResponse::Ok().json(body))
}

/// Ids in paths: anything that is not a UUID names no assessment.
fn parse_id(text: &str) -> Result<AssessmentId, VendorError> {
    text.parse()
        .map_err(|_| VendorError::not_found("assessment", text))
}
