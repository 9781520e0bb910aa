//! Operating the outbox: showing deliveries as sent, putting dead ones back in line.

use std::collections::HashMap;

use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::delivery::webhook::rendered_body;
use crate::domain::delivery::{Attempt, Delivery, DeliveryKind};
use crate::domain::ids::AssessmentId;
use crate::store::assessments;

use crate::delivery::DeliveryWaker;
use crate::store::{self, delivery_ops};

/// What retrying one delivery did.
#[derive(Debug)]
pub enum RetryOutcome {
    /// Back in line, with a fresh attempt budget (its payload as sent).
    Requeued(Delivery),
    /// A later update of the same assessment reached Ashby already: this one is now
    /// `superseded` and will never be sent (replaying it would move Ashby backwards).
    Superseded(Delivery),
    /// Only a dead delivery can be retried; this one is not.
    NotDead(Delivery),
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
    let now = store::now_ms();
    let (superseded, requeued) = store::in_write_transaction(db, async |txn| {
        let superseded = delivery_ops::supersede_outdated_dead(txn, Some(id), None, now).await?;
        let requeued = delivery_ops::requeue_dead(txn, Some(id), now).await?;
        Ok::<_, DbErr>((superseded, requeued))
    })
    .await?;
    if requeued > 0 {
        waker.wake();
    }
    Ok(match delivery_ops::find(db, id).await? {
        None => RetryOutcome::NotFound,
        Some(row) if superseded > 0 => RetryOutcome::Superseded(row),
        Some(row) if requeued > 0 => {
            let mut rows = with_sent_payloads(db, vec![row]).await?;
            match rows.pop() {
                Some(row) => RetryOutcome::Requeued(row),
                None => RetryOutcome::NotFound,
            }
        }
        Some(row) => RetryOutcome::NotDead(row),
    })
}

/// What retrying every dead delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BulkRetry {
    /// Put back in line.
    pub retried: u64,
    /// Outdated updates marked `superseded` instead (never sent).
    pub superseded: u64,
}

/// Puts every dead delivery (of one tenant, when given) back in line, except outdated
/// updates, which become `superseded`.
///
/// # Errors
/// Database errors.
pub async fn retry_all_dead_deliveries(
    db: &DatabaseConnection,
    waker: &DeliveryWaker,
    tenant_id: Option<Uuid>,
) -> Result<BulkRetry, DbErr> {
    let now = store::now_ms();
    let (superseded, retried) = store::in_write_transaction(db, async |txn| {
        let superseded = delivery_ops::supersede_outdated_dead(txn, None, tenant_id, now).await?;
        let retried = match tenant_id {
            None => delivery_ops::requeue_dead(txn, None, now).await?,
            Some(tenant) => delivery_ops::requeue_dead_of_tenant(txn, tenant, now).await?,
        };
        Ok::<_, DbErr>((superseded, retried))
    })
    .await?;
    if retried > 0 {
        waker.wake();
    }
    Ok(BulkRetry {
        retried,
        superseded,
    })
}

/// The deliveries with `payload` as it is (or was) sent. A vendor webhook's outbox row
/// leaves out the start request, which its assessment already holds: it is put back here,
/// as the sender does. (When the assessment is gone, the stored part is all there is.)
///
/// # Errors
/// Database errors.
pub async fn with_sent_payloads(
    db: &DatabaseConnection,
    mut rows: Vec<Delivery>,
) -> Result<Vec<Delivery>, DbErr> {
    let mut start_requests: HashMap<AssessmentId, Option<serde_json::Value>> = HashMap::new();
    for row in &mut rows {
        if row.kind != DeliveryKind::VendorWebhook {
            continue;
        }
        let start_request = match start_requests.entry(row.assessment_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(new) => {
                let found = assessments::find_any(db, row.assessment_id).await?;
                new.insert(found.map(|a| a.start_request))
            }
        };
        if let Some(start_request) = start_request {
            row.payload = rendered_body(&row.payload, start_request);
        }
    }
    Ok(rows)
}

/// A page of deliveries, newest first, with payloads as sent.
///
/// # Errors
/// Database errors.
pub async fn list_deliveries(
    db: &DatabaseConnection,
    filter: &delivery_ops::DeliveryFilter,
    limit: u64,
) -> Result<Vec<Delivery>, DbErr> {
    let rows = delivery_ops::page(db, filter, limit).await?;
    with_sent_payloads(db, rows).await
}

/// One delivery (payload as sent) with every attempt, oldest first.
///
/// # Errors
/// Database errors.
pub async fn show_delivery(
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<(Delivery, Vec<Attempt>)>, DbErr> {
    let Some(row) = delivery_ops::find(db, id).await? else {
        return Ok(None);
    };
    let attempts = delivery_ops::attempts_of(db, id).await?;
    let mut rows = with_sent_payloads(db, vec![row]).await?;
    Ok(rows.pop().map(|row| (row, attempts)))
}

/// What dismissing a delivery did.
#[derive(Debug)]
pub enum DismissOutcome {
    /// Now `dismissed`: final, not counted as dead.
    Dismissed(Delivery),
    /// Only a dead delivery can be dismissed; this one is not.
    NotDead(Delivery),
    NotFound,
}

/// An operator gives up on a dead delivery: it is never sent and no longer counts as dead.
///
/// # Errors
/// Database errors.
pub async fn dismiss_delivery(db: &DatabaseConnection, id: Uuid) -> Result<DismissOutcome, DbErr> {
    let now = store::now_ms();
    let dismissed = store::in_write_transaction(db, async |txn| {
        delivery_ops::dismiss_dead(txn, id, now).await
    })
    .await?;
    Ok(match delivery_ops::find(db, id).await? {
        None => DismissOutcome::NotFound,
        Some(row) if dismissed => {
            let mut rows = with_sent_payloads(db, vec![row]).await?;
            rows.pop()
                .map_or(DismissOutcome::NotFound, DismissOutcome::Dismissed)
        }
        Some(row) => DismissOutcome::NotDead(row),
    })
}
