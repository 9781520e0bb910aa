//! Assessment types, one assessment, and the events that move it.

use actix_web::{HttpResponse, web};

use super::body::VendorJson;
use super::dto::{AssessmentType, AssessmentTypeList, ErrorBody};
use super::{Access, VendorCaller, VendorError};
use crate::domain::ids::AssessmentId;
use crate::domain::lifecycle::Refusal;
use crate::domain::vendor_event::{VendorEvent, VendorEventBody};
use crate::representation::{self, Assessment};
use crate::service::{EventOutcome, record_vendor_event};
use crate::state::AppState;
use crate::store::assessments;

/// The catalog of assessment types.
#[utoipa::path(get, path = "/v1/assessment-types", responses(
    (status = 200, body = AssessmentTypeList),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
))]
pub async fn list_types(
    caller: VendorCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadAssessments)?;
    let data = state
        .catalog
        .types()
        .iter()
        .map(|t| AssessmentType {
            id: t.id.0,
            name: t.name.clone(),
            description: t.description.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(AssessmentTypeList { data }))
}

/// One assessment.
#[utoipa::path(get, path = "/v1/assessments/{id}", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Assessment),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn get(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadAssessments)?;
    let id = parse_id(&path)?;
    crate::telemetry::record_assessment(id);
    let row = assessments::find_any(&state.db, id)
        .await?
        .ok_or_else(|| VendorError::not_found("assessment", &path))?;
    let body = representation::assessment(&row, &state.outbound.candidate_links);
    Ok(HttpResponse::Ok().json(body))
}

/// Report progress, a result, a cancellation or an expiry. Each accepted event (but an
/// exact repeat of the one that ended the assessment) queues an `assessment.update`.
#[utoipa::path(post, path = "/v1/assessments/{id}/events", params(("id" = Uuid, Path)),
    request_body = VendorEventBody,
    responses(
        (status = 200, body = Assessment),
        (status = 400, description = "not JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the assessment is already in a final state", body = ErrorBody),
        (status = 422, description = "invalid event", body = ErrorBody),
    ))]
pub async fn post_event(
    caller: VendorCaller,
    path: web::Path<String>,
    body: VendorJson<VendorEventBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Report)?;
    let id = parse_id(&path)?;
    crate::telemetry::record_assessment(id);
    let event = VendorEvent::try_from(body.0).map_err(VendorError::invalid)?;
    let outcome = record_vendor_event(&state.db, &state.outbound, id, &event).await?;
    let row = match outcome {
        EventOutcome::Recorded { assessment, .. } => {
            tracing::info!(assessment_id = %id, status = assessment.status.as_str(), "vendor event recorded");
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
    let body = representation::assessment(&row, &state.outbound.candidate_links);
    Ok(HttpResponse::Ok().json(body))
}

/// Ids in paths: anything that is not a UUID names no assessment.
fn parse_id(text: &str) -> Result<AssessmentId, VendorError> {
    text.parse()
        .map_err(|_| VendorError::not_found("assessment", text))
}
