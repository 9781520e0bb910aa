//! `assessment.cancel`: Ashby stops an assessment.

use sea_orm::{DatabaseConnection, DbErr};

use super::Outbound;
use super::transition::{self, Applied};
use crate::domain::ids::{AssessmentId, TenantId};
use crate::domain::lifecycle::{Event, Refusal};
use crate::store::{self, assessments};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Cancelled now, or already over (a repeat): both answer success.
    Cancelled,
    /// No such assessment for this tenant.
    NotFound,
    AlreadyCompleted,
}

/// Cancels one of the tenant's assessments. Ashby asked for it, so nothing is sent back
/// to Ashby; the vendor gets an `assessment.cancelled` webhook.
///
/// # Errors
/// Database errors.
pub async fn cancel_by_ashby(
    db: &DatabaseConnection,
    outbound: &Outbound,
    tenant_id: TenantId,
    id: AssessmentId,
) -> Result<CancelOutcome, DbErr> {
    let txn = store::begin_write(db).await?;
    let Some(current) = assessments::find_for_update(&txn, tenant_id, id).await? else {
        return Ok(CancelOutcome::NotFound);
    };
    let now = store::now_ms();
    let outcome = match transition::apply(
        &txn,
        outbound,
        current,
        Event::CancelledByAshby,
        now,
        now,
    )
    .await?
    {
        Ok(Applied::Changed { enqueued, .. }) => (CancelOutcome::Cancelled, enqueued),
        Ok(Applied::Unchanged(_)) => (CancelOutcome::Cancelled, false),
        // The lifecycle refuses an Ashby cancel only for a completed assessment.
        Err(Refusal::AlreadyCompleted | Refusal::Final(_)) => {
            (CancelOutcome::AlreadyCompleted, false)
        }
    };
    txn.commit().await?;
    outbound.committed(outcome.1);
    Ok(outcome.0)
}
