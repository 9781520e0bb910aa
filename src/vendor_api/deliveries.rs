//! Operator views of the outbox: an assessment's deliveries, and replaying a dead one.

use actix_web::{HttpResponse, web};
use serde_json::json;
use uuid::Uuid;

use super::{VendorCaller, VendorError};
use crate::representation;
use crate::startup::AppState;
use crate::store::{self, deliveries};

/// `GET /v1/assessments/{id}/deliveries`
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
    let data: Vec<_> = rows.iter().map(representation::delivery).collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data })))
}

/// `POST /v1/deliveries/{id}/retry`: a dead delivery goes back in line, with a fresh
/// attempt budget.
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
    Ok(HttpResponse::Ok().json(representation::delivery(&row)))
}
