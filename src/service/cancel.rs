//! `assessment.cancel`: Ashby stops an assessment.

use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::ids::{AssessmentId, TenantId};
use crate::domain::lifecycle::{self, Decision, Event, Refusal};
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
/// to Ashby.
///
/// # Errors
/// Database errors.
pub async fn cancel_by_ashby(
    db: &DatabaseConnection,
    tenant_id: TenantId,
    id: AssessmentId,
) -> Result<CancelOutcome, DbErr> {
    let txn = store::begin_write(db).await?;
    let Some(current) = assessments::find_for_update(&txn, tenant_id, id).await? else {
        return Ok(CancelOutcome::NotFound);
    };
    let status = assessments::status_of(&current)?;
    let outcome = match lifecycle::decide(status, Event::CancelledByAshby, store::now_ms()) {
        Ok(Decision::Apply(transition)) => {
            assessments::record_transition(&txn, &current, &transition).await?;
            CancelOutcome::Cancelled
        }
        Ok(Decision::AlreadyDone) => CancelOutcome::Cancelled,
        Err(Refusal::AlreadyCompleted) => CancelOutcome::AlreadyCompleted,
    };
    txn.commit().await?;
    Ok(outcome)
}
