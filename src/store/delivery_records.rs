//! Recording many attempts in one transaction. Under load the workers finish sends
//! faster than one commit each could keep up with (a commit is an fsync on both
//! databases), so the engine hands every finished attempt to one recorder, which writes
//! whatever has piled up meanwhile in one transaction: a group commit. Each attempt is
//! still recorded only under its own lease, exactly as [`super::deliveries::finish_attempt`]
//! does one.

use std::collections::{HashMap, HashSet};

use entity::{delivery, delivery_attempt};
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait as _, QueryFilter as _, QuerySelect as _,
};
use uuid::Uuid;

use super::deliveries::{AttemptRecord, AttemptResult, finish_attempt, record_attempt};
use crate::domain::delivery::{Delivery, DeliveryKind, DeliveryStatus};
use crate::domain::tenant::AshbyOutcome;

/// One finished attempt to record: the claimed delivery, what happened, and when it was
/// answered on the lease clock.
#[derive(Debug, Clone)]
pub struct Finished {
    pub claimed: Delivery,
    pub record: AttemptRecord,
    pub now_ms: i64,
}

/// Records every attempt of `batch`, each only if its claim still holds the lease, in one
/// transaction. Returns, in the batch's order, whether each was recorded (false: the
/// lease was lost and another claim's outcome counts).
///
/// Should the batch fail as a whole (one row's tenant deleted meanwhile, say), every
/// attempt is recorded again on its own, so one bad row costs only its own record.
pub async fn finish_attempts(
    db: &DatabaseConnection,
    batch: &[Finished],
) -> Vec<Result<bool, DbErr>> {
    if let [one] = batch {
        return vec![finish_attempt(db, &one.claimed, one.record.clone(), one.now_ms).await];
    }
    let together = async {
        let txn = super::begin_write(db).await?;
        let recorded = record_all(&txn, batch).await?;
        txn.commit().await?;
        Ok::<_, DbErr>(recorded)
    };
    match together.await {
        Ok(recorded) => recorded.into_iter().map(Ok).collect(),
        Err(error) => {
            tracing::warn!(%error, attempts = batch.len(), "could not record a batch of delivery attempts; recording them one by one");
            let mut results = Vec::with_capacity(batch.len());
            for one in batch {
                results
                    .push(finish_attempt(db, &one.claimed, one.record.clone(), one.now_ms).await);
            }
            results
        }
    }
}

async fn record_all(db: &impl ConnectionTrait, batch: &[Finished]) -> Result<Vec<bool>, DbErr> {
    let mut recorded = vec![false; batch.len()];
    // Deliveries that succeeded, the bulk of the traffic, are recorded a lease at a time
    // in one UPDATE; the rest (retries, throttles, dead ends) one by one.
    let mut delivered: HashMap<Option<Uuid>, Vec<usize>> = HashMap::new();
    for (index, one) in batch.iter().enumerate() {
        if one.record.result == AttemptResult::Delivered {
            delivered
                .entry(one.claimed.lease_owner)
                .or_default()
                .push(index);
        } else {
            recorded[index] = record_attempt(db, &one.claimed, &one.record, one.now_ms).await?;
        }
    }
    let mut newly_delivered = Vec::new();
    for (lease_owner, indexes) in delivered {
        let ids: Vec<Uuid> = indexes.iter().map(|&i| batch[i].claimed.id.0).collect();
        let at_ms = indexes
            .iter()
            .map(|&i| batch[i].now_ms)
            .max()
            .unwrap_or_default();
        let updated = mark_delivered(db, lease_owner, &ids, at_ms).await?;
        for index in indexes {
            if updated.contains(&batch[index].claimed.id.0) {
                recorded[index] = true;
                newly_delivered.push(index);
            }
        }
    }
    log_attempts(db, batch, &newly_delivered).await?;
    // What a success says about the tenant's Ashby key: once per tenant per batch.
    let mut tenants: HashMap<Uuid, i64> = HashMap::new();
    for &index in &newly_delivered {
        let one = &batch[index];
        if one.claimed.kind != DeliveryKind::VendorWebhook {
            let at = tenants.entry(one.claimed.tenant_id.0).or_insert(one.now_ms);
            *at = std::cmp::max(*at, one.now_ms);
        }
    }
    for (tenant, at_ms) in tenants {
        super::tenants::record_ashby_outcome(
            db,
            crate::domain::ids::TenantId(tenant),
            &AshbyOutcome::Delivered,
            at_ms,
        )
        .await?;
    }
    Ok(recorded)
}

/// Marks delivered those of `ids` still pending under the lease `lease_owner`; returns
/// the ids it marked.
async fn mark_delivered(
    db: &impl ConnectionTrait,
    lease_owner: Option<Uuid>,
    ids: &[Uuid],
    at_ms: i64,
) -> Result<HashSet<Uuid>, DbErr> {
    let mut update = Query::update();
    update
        .table(delivery::Entity)
        .value(delivery::Column::Status, DeliveryStatus::Delivered.as_str())
        .value(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .value(delivery::Column::LastError, Option::<String>::None)
        .value(delivery::Column::DeliveredAtMs, at_ms)
        .value(delivery::Column::LeaseOwner, Option::<Uuid>::None)
        .value(delivery::Column::LeaseUntilMs, Option::<i64>::None)
        .value(delivery::Column::UpdatedAtMs, at_ms)
        .and_where(delivery::Column::Id.is_in(ids.iter().copied()))
        .and_where(delivery::Column::LeaseOwner.eq(lease_owner))
        .and_where(still_pending())
        .returning_col(delivery::Column::Id);
    db.query_all(&update)
        .await?
        .into_iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect()
}

/// `status = 'pending'`, written so that no index can serve it: the rows are found by
/// their ids. Written plainly, it let PostgreSQL pick the pending-only index (which its
/// statistics, taken when nothing was pending, call empty) and filter every pending row
/// for each batch — 5–8 ms per record at a backlog of 2,000.
fn still_pending() -> Expr {
    Expr::cust(format!(
        "\"status\" || '' = '{}'",
        DeliveryStatus::Pending.as_str()
    ))
}

/// Appends the attempt log rows of the recorded successes, numbered over each delivery's
/// whole life.
async fn log_attempts(
    db: &impl ConnectionTrait,
    batch: &[Finished],
    indexes: &[usize],
) -> Result<(), DbErr> {
    if indexes.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = indexes.iter().map(|&i| batch[i].claimed.id.0).collect();
    let logged: HashMap<Uuid, i64> = delivery_attempt::Entity::find()
        .select_only()
        .column(delivery_attempt::Column::DeliveryId)
        .column_as(delivery_attempt::Column::Id.count(), "n")
        .filter(delivery_attempt::Column::DeliveryId.is_in(ids))
        .group_by(delivery_attempt::Column::DeliveryId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let rows = indexes.iter().map(|&index| {
        let one = &batch[index];
        let before = logged.get(&one.claimed.id.0).copied().unwrap_or(0);
        delivery_attempt::ActiveModel {
            id: Set(Uuid::new_v4()),
            delivery_id: Set(one.claimed.id.0),
            attempt: Set(i32::try_from(before).unwrap_or(i32::MAX).saturating_add(1)),
            at_ms: Set(one.record.started_ms),
            duration_ms: Set(one.record.duration_ms),
            outcome: Set("delivered".to_owned()),
            http_status: Set(one.record.http_status.map(i32::from)),
            error: Set(None),
        }
    });
    delivery_attempt::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
