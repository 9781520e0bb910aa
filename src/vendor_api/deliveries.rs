//! Operator views of the outbox: an assessment's deliveries, and replaying a dead one.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::openapi::{DeliveryList, ErrorBody};
use super::{VendorCaller, VendorError};
use crate::representation::{self, Delivery};
use crate::service::{RetryOutcome, retry_dead_delivery, with_sent_payloads};
use crate::state::AppState;
use crate::store::deliveries;

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
    let rows = deliveries::for_assessment(&state.db, id).await?;
    let rows = with_sent_payloads(&state.db, rows).await?;
    let data = rows.iter().map(representation::delivery).collect();
    Ok(HttpResponse::Ok().json(DeliveryList { data }))
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
    match retry_dead_delivery(&state.db, &state.outbound.waker, id).await? {
        // Superseded: answered with the delivery, now final (nothing will be sent).
        RetryOutcome::Requeued(row) | RetryOutcome::Superseded(row) => {
            Ok(HttpResponse::Ok().json(representation::delivery(&row)))
        }
        RetryOutcome::NotFound => Err(VendorError::not_found("delivery", &path)),
        RetryOutcome::NotDead(row) => Err(VendorError::conflict(
            "delivery_not_dead",
            format!(
                "only a dead delivery can be retried; this one is {}",
                row.status
            ),
        )),
    }
}
