//! Background work besides delivery: expiring assessments nobody reported on
//! (`vendor.expire_after`) and deleting what is kept no longer (`retention.*`). Every
//! replica runs it; each expiry is its own locked transaction, and a deletion of rows
//! already deleted deletes nothing, so replicas never do the same work twice.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;

use crate::service::{Outbound, expire_inactive};
use crate::settings::RetentionSettings;
use crate::store::{self, retention};
use crate::time::now_ms;

/// How often a replica looks for work.
const INTERVAL: Duration = Duration::from_secs(30);
/// At most this many changes per kind and round: rounds stay short, and the rest waits
/// for the next one.
const BATCH: u64 = 200;

pub struct Housekeeping {
    db: DatabaseConnection,
    outbound: Outbound,
    expire_after: Option<Duration>,
    retention: RetentionSettings,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub expired: usize,
    pub deliveries_deleted: u64,
    pub assessments_erased: u64,
}

fn cutoff(now_ms: i64, keep: Duration) -> i64 {
    now_ms.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
}

impl Housekeeping {
    pub fn new(
        db: DatabaseConnection,
        outbound: Outbound,
        expire_after: Option<Duration>,
        retention: RetentionSettings,
    ) -> Self {
        Self {
            db,
            outbound,
            expire_after,
            retention,
        }
    }

    /// One round as of `now_ms`; tests step it with their own clock.
    ///
    /// # Errors
    /// Database errors.
    pub async fn round_at(&self, now_ms: i64) -> Result<Round, DbErr> {
        let mut round = Round::default();
        if let Some(expire_after) = self.expire_after {
            round.expired =
                expire_inactive(&self.db, &self.outbound, expire_after, now_ms, BATCH).await?;
        }
        if let Some(keep) = self.retention.deliveries {
            let txn = store::begin_write(&self.db).await?;
            round.deliveries_deleted =
                retention::delete_finished_deliveries(&txn, cutoff(now_ms, keep), BATCH).await?;
            txn.commit().await?;
        }
        if let Some(keep) = self.retention.assessments {
            let txn = store::begin_write(&self.db).await?;
            round.assessments_erased =
                retention::erase_terminal_assessments(&txn, cutoff(now_ms, keep), BATCH).await?;
            txn.commit().await?;
        }
        if round != Round::default() {
            tracing::info!(?round, "housekeeping");
        }
        Ok(round)
    }

    /// Runs a round every [`INTERVAL`] until `shutdown` turns true.
    pub async fn run(self: std::sync::Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            if let Err(error) = self.round_at(now_ms()).await {
                tracing::warn!(%error, "housekeeping round failed; trying again later");
            }
            tokio::select! {
                () = tokio::time::sleep(INTERVAL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
