//! Operator views of the outbox: an assessment's deliveries, and replaying a dead one.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dto::{DeliveryList, DeliveryPage, ErrorBody, RetriedDeliveries};
use super::paging;
use super::{Access, VendorCaller, VendorError};
use crate::domain::delivery::{DeliveryKind, DeliveryStatus};
use crate::representation::{self, Delivery, DeliveryWithAttempts};
use crate::service::{self, DismissOutcome, RetryOutcome, retry_dead_delivery, with_sent_payloads};
use crate::state::AppState;
use crate::store::delivery_ops;
use crate::store::delivery_ops::DeliveryFilter;

/// What was sent (or is to be sent) about an assessment, in order.
#[utoipa::path(get, path = "/v1/assessments/{id}/deliveries", params(("id" = Uuid, Path)), responses(
    (status = 200, body = DeliveryList),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
))]
pub async fn for_assessment(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadAssessments)?;
    let id: Uuid = path
        .parse()
        .map_err(|_| VendorError::not_found("assessment", &path))?;
    let rows = delivery_ops::for_assessment(&state.db, id).await?;
    let rows = with_sent_payloads(&state.db, rows).await?;
    let data = rows.iter().map(representation::delivery).collect();
    Ok(HttpResponse::Ok().json(DeliveryList { data }))
}

/// A dead delivery goes back in line, with a fresh attempt budget.
#[utoipa::path(post, path = "/v1/deliveries/{id}/retry", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Delivery),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "the delivery is not dead", body = ErrorBody),
))]
pub async fn retry(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
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

/// Every delivery, newest first, in pages; filter by status, tenant, assessment, kind.
#[utoipa::path(get, path = "/v1/deliveries",
    params(
        ("status" = Option<String>, Query, description = "pending, delivered, dead, dismissed or superseded"),
        ("tenant_id" = Option<Uuid>, Query),
        ("assessment_id" = Option<Uuid>, Query),
        ("kind" = Option<String>, Query, description = "assessment.update, assessment.addCompletedToCandidate or vendor.webhook"),
        ("limit" = Option<u64>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "a next_cursor from an earlier page"),
    ),
    responses(
        (status = 200, body = DeliveryPage),
        (status = 401, body = ErrorBody),
        (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn list(
    caller: VendorCaller,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadManagement)?;
    let (filter, limit) = parse_query(&query).map_err(VendorError::invalid)?;
    let rows = service::list_deliveries(&state.db, &filter, limit).await?;
    let next_cursor = paging::next_after_full_page(&rows, limit, |d| (d.created_at_ms, d.id.0));
    let data = rows.iter().map(representation::delivery).collect();
    Ok(HttpResponse::Ok().json(DeliveryPage { data, next_cursor }))
}

fn parse_query(query: &HashMap<String, String>) -> Result<(DeliveryFilter, u64), String> {
    const KNOWN: [&str; 6] = [
        "status",
        "tenant_id",
        "assessment_id",
        "kind",
        "limit",
        "cursor",
    ];
    paging::reject_unknown(query, &KNOWN)?;
    let uuid = |name: &str| {
        query
            .get(name)
            .map(|text| {
                text.parse::<Uuid>()
                    .map_err(|_| format!("{name} must be a UUID (got {text:?})"))
            })
            .transpose()
    };
    let filter = DeliveryFilter {
        status: query
            .get("status")
            .map(|text| {
                DeliveryStatus::parse(text).ok_or_else(|| {
                    format!("status must be one of pending, delivered, dead, dismissed, superseded (got {text:?})")
                })
            })
            .transpose()?,
        tenant_id: uuid("tenant_id")?,
        assessment_id: uuid("assessment_id")?,
        kind: query
            .get("kind")
            .map(|text| {
                DeliveryKind::parse(text).ok_or_else(|| {
                    format!("kind must be one of assessment.update, assessment.addCompletedToCandidate, vendor.webhook (got {text:?})")
                })
            })
            .transpose()?,
        before: paging::cursor(query)?,
    };
    Ok((filter, paging::limit(query)?))
}

/// One delivery with every attempt.
#[utoipa::path(get, path = "/v1/deliveries/{id}", params(("id" = Uuid, Path)), responses(
    (status = 200, body = DeliveryWithAttempts),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
))]
pub async fn show(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadManagement)?;
    let id: Uuid = path
        .parse()
        .map_err(|_| VendorError::not_found("delivery", &path))?;
    let (row, attempts) = service::show_delivery(&state.db, id)
        .await?
        .ok_or_else(|| VendorError::not_found("delivery", &path))?;
    Ok(HttpResponse::Ok().json(representation::delivery_with_attempts(&row, &attempts)))
}

/// Give up on a dead delivery: it is never sent and no longer counts as dead.
#[utoipa::path(post, path = "/v1/deliveries/{id}/dismiss", params(("id" = Uuid, Path)), responses(
    (status = 200, body = Delivery),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 409, description = "the delivery is not dead", body = ErrorBody),
))]
pub async fn dismiss(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let id: Uuid = path
        .parse()
        .map_err(|_| VendorError::not_found("delivery", &path))?;
    match service::dismiss_delivery(&state.db, id).await? {
        DismissOutcome::Dismissed(row) => {
            Ok(HttpResponse::Ok().json(representation::delivery(&row)))
        }
        DismissOutcome::NotFound => Err(VendorError::not_found("delivery", &path)),
        DismissOutcome::NotDead(row) => Err(VendorError::conflict(
            "delivery_not_dead",
            format!(
                "only a dead delivery can be dismissed; this one is {}",
                row.status
            ),
        )),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryAllBody {
    /// Only this tenant's dead deliveries; absent: every dead delivery.
    tenant_id: Option<Uuid>,
}

/// Put every dead delivery (or one tenant's) back in line. An empty body is `{}`.
#[utoipa::path(post, path = "/v1/deliveries/retry", request_body = RetryAllBody, responses(
    (status = 200, body = RetriedDeliveries),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 422, body = ErrorBody),
))]
pub async fn retry_all(
    caller: VendorCaller,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let body: RetryAllBody = if body.iter().all(u8::is_ascii_whitespace) {
        RetryAllBody { tenant_id: None }
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| VendorError::invalid(format!("expected {{\"tenant_id\"?: UUID}}: {e}")))?
    };
    let done = service::retry_all_dead_deliveries(&state.db, &state.outbound.waker, body.tenant_id)
        .await?;
    Ok(HttpResponse::Ok().json(RetriedDeliveries {
        retried: done.retried,
        superseded: done.superseded,
    }))
}
