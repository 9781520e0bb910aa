//! `POST /v1/completed-assessments`: an assessment taken outside Ashby's flow, attached
//! to a candidate with `assessment.addCompletedToCandidate` — as a durable delivery.

use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::ashby::updates::{self, CandidateRef, CompletedOutsideAshby};
use crate::domain::data_block::DataBlock;
use crate::domain::delivery::{Delivery, DeliveryKind};
use crate::domain::ids::{AssessmentId, AssessmentTypeId, TenantId};
use crate::store::deliveries::{self, NewDelivery};
use crate::store::{self, tenants};

use super::Outbound;

pub struct NewCompletedAssessment {
    pub tenant_id: TenantId,
    pub candidate: CandidateRef,
    pub assessment_type_id: AssessmentTypeId,
    pub assessment_name: String,
    pub result: DataBlock,
    pub metadata: Vec<DataBlock>,
    pub completed_at_ms: Option<i64>,
    /// The vendor's `Idempotency-Key` and the fingerprint of its request: a retried
    /// request with the same key gets the first one's answer instead of a duplicate.
    pub idempotency: Option<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompletedError {
    #[error("ashby.partner_id is not configured: set it to the partner UUID Ashby assigned to you")]
    PartnerIdNotConfigured,
    #[error("no tenant with id {0}")]
    UnknownTenant(TenantId),
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Enqueues the addCompletedToCandidate call. Returns the id given to the assessment
/// and its delivery — the first request's, for a repeat with the same idempotency key.
///
/// # Errors
/// No partner id configured, an unknown tenant, an idempotency key reused for another
/// request, or database errors.
pub async fn add_completed_assessment(
    db: &DatabaseConnection,
    outbound: &Outbound,
    partner_id: Option<Uuid>,
    new: NewCompletedAssessment,
) -> Result<(AssessmentId, Delivery), CompletedError> {
    let partner_id = partner_id.ok_or(CompletedError::PartnerIdNotConfigured)?;
    let now = store::now_ms();
    let id = AssessmentId::new_random();
    let timestamp = new.completed_at_ms.unwrap_or(now);
    let body = updates::add_completed_request(
        partner_id,
        CompletedOutsideAshby {
            candidate: new.candidate,
            assessment_type_id: new.assessment_type_id,
            assessment_id: id,
            assessment_name: new.assessment_name,
            result: new.result,
            metadata: new.metadata,
            completed_at_ms: timestamp,
        },
    );
    let fingerprint = new.idempotency.as_ref().map(|(_, f)| f.clone());
    let new_delivery = NewDelivery {
        kind: DeliveryKind::AshbyAddCompleted,
        tenant_id: new.tenant_id.0,
        assessment_id: id.0,
        position: timestamp,
        payload: body,
        idempotency: new.idempotency,
        trace_parent: crate::telemetry::current_traceparent(),
    };
    // In the process's queue of writers: as statements on their own, the check and the
    // insert met the other writers at SQLite's file lock, whose busy handler sleeps.
    let (delivery, created) = store::in_write_transaction(db, async |txn| {
        if tenants::find(txn, new.tenant_id).await?.is_none() {
            return Err(CompletedError::UnknownTenant(new.tenant_id));
        }
        let (delivery, created) = deliveries::enqueue_once(txn, new_delivery, now).await?;
        if delivery.request_fingerprint != fingerprint {
            return Err(CompletedError::IdempotencyKeyReused);
        }
        Ok((delivery, created))
    })
    .await?;
    outbound.committed(created);
    Ok((delivery.assessment_id, delivery))
}
