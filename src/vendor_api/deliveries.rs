//! Operator views of the outbox: an assessment's deliveries, and replaying a dead one.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::openapi::{DeliveryList, ErrorBody};
use super::{VendorCaller, VendorError};
use crate::delivery::webhook::rendered_body;
use crate::domain::delivery::DeliveryKind;
use crate::domain::ids::AssessmentId;
use crate::representation::{self, Delivery};
use crate::startup::AppState;
use crate::store::{self, assessments, deliveries};

/// What was sent (or is to be sent) about an assessment, in order.
#[utoipa::path(get, path = "/v1/assessments/{id}/deliveries", params(("id" = Uuid, Path)), responses(
    (status = 200, body = DeliveryList),
    (status = 401, body = ErrorBody),
))]
pub async fn for_assessment(
    _caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| VendorError::not_found("assessment", &path))?;
    let rows = deliveries::for_assessment(&state.db, id)
        .await
        .map_err(|e| VendorError::unavailable(&e))?;
    let assessment = assessments::find_any(&state.db, AssessmentId(id))
        .await
        .map_err(|e| VendorError::unavailable(&e))?;
    let data = rows
        .iter()
        .map(|row| with_sent_payload(row, assessment.as_ref()))
        .collect();
    Ok(HttpResponse::Ok().json(DeliveryList { data }))
}

/// A delivery with `payload` as sent: a vendor webhook's outbox row leaves out the start
/// request, which the assessment row holds.
fn with_sent_payload(
    row: &entity::delivery::Model,
    assessment: Option<&entity::assessment::Model>,
) -> Delivery {
    let mut delivery = representation::delivery(row);
    if row.kind == DeliveryKind::VendorWebhook.as_str()
        && let Some(assessment) = assessment
    {
        delivery.payload = rendered_body(&row.payload, &assessment.start_request);
    }
    delivery
}

/// A dead delivery goes back in line, with a fresh attempt budget.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Delivery),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "the delivery is not dead", body = ErrorBody),
))]
pub async fn retry(
    _caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    let id: Uuid = path
        .parse()
        .map_err(|_| VendorError::not_found("delivery", &path))?;
    let requeued = deliveries::requeue_dead(&state.db, Some(id), store::now_ms())
        .await
        .map_err(|e| VendorError::unavailable(&e))?;
    let row = deliveries::find(&state.db, id)
        .await
        .map_err(|e| VendorError::unavailable(&e))?
        .ok_or_else(|| VendorError::not_found("delivery", &path))?;
    if requeued == 0 {
        return Err(VendorError::conflict(
            "delivery_not_dead",
            format!(
                "only a dead delivery can be retried; this one is {}",
                row.status
            ),
        ));
    }
    state.waker.wake();
    let assessment = assessments::find_any(&state.db, AssessmentId(row.assessment_id))
        .await
        .map_err(|e| VendorError::unavailable(&e))?;
    Ok(HttpResponse::Ok().json(with_sent_payload(&row, assessment.as_ref())))
}
