//! Operating the outbox: putting dead deliveries back in line.

use entity::delivery;
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::delivery::DeliveryWaker;
use crate::store::{self, deliveries};

/// What retrying one delivery did.
#[derive(Debug)]
pub enum RetryOutcome {
    /// Back in line, with a fresh attempt budget.
    Requeued(delivery::Model),
    /// Only a dead delivery can be retried; this one is not.
    NotDead(delivery::Model),
    NotFound,
}

/// Puts one dead delivery back in line and wakes the workers (`waker`: this process's;
/// a command-line caller has none to wake, and the workers of `serve` find it on their
/// next poll).
///
/// # Errors
/// Database errors.
pub async fn retry_dead_delivery(
    db: &DatabaseConnection,
    waker: &DeliveryWaker,
    id: Uuid,
) -> Result<RetryOutcome, DbErr> {
    let requeued = deliveries::requeue_dead(db, Some(id), store::now_ms()).await?;
    if requeued > 0 {
        waker.wake();
    }
    Ok(match deliveries::find(db, id).await? {
        None => RetryOutcome::NotFound,
        Some(row) if requeued > 0 => RetryOutcome::Requeued(row),
        Some(row) => RetryOutcome::NotDead(row),
    })
}

/// Puts every dead delivery back in line; returns how many.
///
/// # Errors
/// Database errors.
pub async fn retry_all_dead_deliveries(
    db: &DatabaseConnection,
    waker: &DeliveryWaker,
) -> Result<u64, DbErr> {
    let requeued = deliveries::requeue_dead(db, None, store::now_ms()).await?;
    if requeued > 0 {
        waker.wake();
    }
    Ok(requeued)
}
