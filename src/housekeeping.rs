//! Background work besides delivery: expiring assessments nobody reported on
//! (`vendor.expire_after`), deleting what is kept no longer (`retention.*`), and folding
//! the tallies of finished deliveries (`store::delivery_tallies`). Every replica runs it;
//! each expiry is its own locked transaction, a deletion of rows already deleted deletes
//! nothing, and a fold never sums a change twice, so replicas never do the same work twice.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;

use crate::service::{Outbound, expire_inactive};
use crate::settings::RetentionSettings;
use crate::store::{self, delivery_tallies, retention};
use crate::time::now_ms;

/// How often a replica looks for work.
const INTERVAL: Duration = Duration::from_secs(30);
/// How often a replica looks at the tallies' appended changes, and how many it lets pile
/// up before folding them: a scrape sums at most about this many rows plus what one
/// second of deliveries appends, and an idle server only reads a count.
const FOLD_INTERVAL: Duration = Duration::from_secs(1);
const FOLD_ABOVE: u64 = 1_000;
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

    /// Folds the tallies' changes once more than [`FOLD_ABOVE`] have piled up; how many
    /// it folded.
    ///
    /// # Errors
    /// Database errors.
    pub async fn fold_tallies(&self) -> Result<u64, DbErr> {
        delivery_tallies::fold(&self.db, FOLD_ABOVE).await
    }

    /// Runs a round every [`INTERVAL`], and folds the tallies every [`FOLD_INTERVAL`],
    /// until `shutdown` turns true.
    pub async fn run(self: std::sync::Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut rounds = tokio::time::interval(INTERVAL);
        let mut folds = tokio::time::interval(FOLD_INTERVAL);
        for timer in [&mut rounds, &mut folds] {
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        while !*shutdown.borrow() {
            tokio::select! {
                _ = rounds.tick() => {
                    if let Err(error) = self.round_at(now_ms()).await {
                        tracing::warn!(%error, "housekeeping round failed; trying again later");
                    }
                }
                _ = folds.tick() => {
                    if let Err(error) = self.fold_tallies().await {
                        tracing::warn!(%error, "could not fold the delivery tallies; trying again later");
                    }
                }
                _ = shutdown.changed() => {}
            }
        }
    }
}
