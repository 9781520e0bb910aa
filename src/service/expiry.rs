//! Expiring assessments nobody reported on (`vendor.expire_after`, CONTRACT §12).

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};

use super::Outbound;
use super::transition::{self, Applied};
use crate::domain::lifecycle::Event;
use crate::store::{self, assessments};

/// Expires up to `batch` open assessments that have had no event for `expire_after` as of
/// `now_ms`: each becomes `expired` (history source `system`), Ashby is told "Expired" and
/// the vendor gets `assessment.expired`. Returns how many this call expired.
///
/// Each one is its own transaction that re-reads the assessment under a lock: one that
/// changed since it was found stale is left alone, and one another replica expired first
/// is a repeat that changes nothing — so several replicas expire each assessment once.
///
/// # Errors
/// Database errors.
pub async fn expire_inactive(
    db: &DatabaseConnection,
    outbound: &Outbound,
    expire_after: Duration,
    now_ms: i64,
    batch: u64,
) -> Result<usize, DbErr> {
    let window = i64::try_from(expire_after.as_millis()).unwrap_or(i64::MAX);
    let stale_before = now_ms.saturating_sub(window);
    let mut expired = 0;
    for id in assessments::open_not_updated_since(db, stale_before, batch).await? {
        let txn = store::begin_write(db).await?;
        let Some(current) = assessments::find_any_for_update(&txn, id).await? else {
            continue;
        };
        if current.updated_at_ms > stale_before {
            continue;
        }
        let applied = transition::apply(
            &txn,
            outbound,
            current,
            Event::ExpiredForInactivity,
            now_ms,
            now_ms,
        )
        .await?;
        txn.commit().await?;
        if let Ok(Applied::Changed { enqueued, .. }) = applied {
            outbound.committed(enqueued);
            tracing::info!(assessment_id = %id, "assessment expired for inactivity");
            expired += 1;
        }
    }
    Ok(expired)
}
