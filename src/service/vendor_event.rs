//! `POST /v1/assessments/{id}/events`: the vendor reports progress or an outcome.

use sea_orm::{DatabaseConnection, DbErr};

use super::Outbound;
use super::transition::{self, Applied};
use crate::domain::assessment::Assessment;
use crate::domain::ids::AssessmentId;
use crate::domain::lifecycle::{Event, Refusal};
use crate::domain::vendor_event::VendorEvent;
use crate::store::{self, assessments};

#[derive(Debug)]
pub enum EventOutcome {
    /// Recorded; `enqueued` says whether deliveries were written.
    Recorded {
        assessment: Assessment,
        enqueued: bool,
    },
    /// An exact repeat of the event that ended the assessment: nothing changed.
    Repeat(Assessment),
    NotFound,
    Refused(Refusal),
}

/// Records a vendor event: the state change and its update to Ashby, in one transaction.
///
/// # Errors
/// Database errors.
pub async fn record_vendor_event(
    db: &DatabaseConnection,
    outbound: &Outbound,
    id: AssessmentId,
    event: &VendorEvent,
) -> Result<EventOutcome, DbErr> {
    let txn = store::begin_write(db).await?;
    let Some(current) = assessments::find_any_for_update(&txn, id).await? else {
        return Ok(EventOutcome::NotFound);
    };
    let now = store::now_ms();
    // An event cannot have happened in the future; a skewed vendor clock must not push
    // every later timestamp of the assessment ahead.
    let at = event.occurred_at_ms.map_or(now, |at| at.min(now));
    let outcome =
        match transition::apply(&txn, outbound, current, Event::Vendor(event), at, now).await? {
            Ok(Applied::Changed {
                assessment,
                enqueued,
            }) => EventOutcome::Recorded {
                assessment,
                enqueued,
            },
            Ok(Applied::Unchanged(assessment)) => EventOutcome::Repeat(assessment),
            Err(refusal) => EventOutcome::Refused(refusal),
        };
    txn.commit().await?;
    if let EventOutcome::Recorded { enqueued, .. } = &outcome {
        outbound.committed(*enqueued);
    }
    Ok(outcome)
}
