//! What Ashby's webhooks tell us about candidates and applications (CONTRACT §11), each
//! applied in one write transaction. Ashby's payloads carry no id to deduplicate retries
//! by, so every effect is idempotent by construction: an erased candidate has nothing
//! left to erase, a merged candidate has no assessments left to move, and an assessment
//! that is already over is "already done" for the lifecycle (no second vendor webhook).

use sea_orm::{DatabaseConnection, DbErr};

use super::Outbound;
use super::transition::{self, Applied};
use crate::domain::erasure;
use crate::domain::ids::TenantId;
use crate::domain::lifecycle::{EndReason, Event};
use crate::store::{self, assessments};

/// One thing Ashby told us, parsed at the edge from its webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AshbyNotice {
    /// `candidateDelete`: the candidate's personal data must go.
    CandidateDeleted { candidate_id: String },
    /// `candidateMerge`: `from` was merged into `into`.
    CandidatesMerged { from: String, into: String },
    /// `applicationUpdate` / `candidateHire` with status Archived or Hired.
    ApplicationEnded {
        application_id: String,
        reason: EndReason,
    },
}

/// What handling a notice did, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoticeHandled {
    /// Assessments whose data changed (erased or moved).
    pub rewritten: usize,
    /// Assessments cancelled now.
    pub cancelled: usize,
}

/// Applies `notice` to the tenant's assessments, in one transaction.
///
/// # Errors
/// Database errors (nothing is changed then; Ashby's retry will try again).
pub async fn apply_ashby_notice(
    db: &DatabaseConnection,
    outbound: &Outbound,
    tenant: TenantId,
    notice: &AshbyNotice,
) -> Result<NoticeHandled, DbErr> {
    let txn = store::begin_write(db).await?;
    let now = store::now_ms();
    let mut handled = NoticeHandled::default();
    let mut enqueued = false;
    match notice {
        AshbyNotice::CandidateDeleted { candidate_id } => {
            for mut assessment in
                assessments::of_candidate_for_update(&txn, tenant, candidate_id).await?
            {
                if let Some((erased, personal)) =
                    erasure::erase_start_request(&assessment.start_request, candidate_id)
                {
                    assessment.start_request = erased;
                    assessments::set_candidate(&txn, &assessment).await?;
                    store::erasure::strike_from_deliveries(
                        &txn,
                        assessment.id.0,
                        &erasure::erased_candidate(candidate_id),
                        &personal,
                    )
                    .await?;
                    handled.rewritten += 1;
                }
                let event = Event::EndedInAshby(EndReason::CandidateDeleted);
                if let Ok(Applied::Changed { enqueued: sent, .. }) =
                    transition::apply(&txn, outbound, assessment, event, now, now).await?
                {
                    handled.cancelled += 1;
                    enqueued |= sent;
                }
            }
        }
        AshbyNotice::CandidatesMerged { from, into } => {
            for mut assessment in assessments::of_candidate_for_update(&txn, tenant, from).await? {
                assessment.start_request =
                    erasure::with_candidate_id(&assessment.start_request, into);
                assessment.candidate_ashby_id.clone_from(into);
                assessments::set_candidate(&txn, &assessment).await?;
                handled.rewritten += 1;
            }
        }
        AshbyNotice::ApplicationEnded {
            application_id,
            reason,
        } => {
            for assessment in
                assessments::open_of_application_for_update(&txn, tenant, application_id).await?
            {
                let event = Event::EndedInAshby(*reason);
                if let Ok(Applied::Changed { enqueued: sent, .. }) =
                    transition::apply(&txn, outbound, assessment, event, now, now).await?
                {
                    handled.cancelled += 1;
                    enqueued |= sent;
                }
            }
        }
    }
    txn.commit().await?;
    outbound.committed(enqueued);
    Ok(handled)
}
