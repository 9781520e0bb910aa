//! Recording many attempts in one transaction. Under load the workers finish sends
//! faster than one commit each could keep up with (a commit is an fsync on both
//! databases), so the engine hands every finished attempt to one recorder, which writes
//! whatever has piled up meanwhile in one transaction: a group commit. Each attempt is
//! still recorded only under its own lease, exactly as [`super::deliveries::finish_attempt`]
//! does one.

use std::collections::{HashMap, HashSet};

use entity::{delivery, delivery_attempt};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait as _, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait as _, QueryFilter as _, QuerySelect as _, Statement,
};
use uuid::Uuid;

use super::deliveries::{AttemptRecord, AttemptResult, finish_attempt, record_attempt};
use crate::domain::delivery::{Delivery, DeliveryKind, DeliveryStatus};
use crate::domain::tenant::{AshbyKeyStatus, AshbyOutcome};

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
    let all_delivered = batch
        .iter()
        .all(|one| one.record.result == AttemptResult::Delivered);
    if all_delivered && db.get_database_backend() == DbBackend::Postgres {
        return match record_delivered_in_one_statement(db, batch).await {
            Ok(recorded) => recorded.into_iter().map(Ok).collect(),
            Err(error) => one_by_one(db, batch, &error).await,
        };
    }
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
        Err(error) => one_by_one(db, batch, &error).await,
    }
}

/// After the batch failed as a whole: each attempt recorded in a transaction of its own.
async fn one_by_one(
    db: &DatabaseConnection,
    batch: &[Finished],
    error: &DbErr,
) -> Vec<Result<bool, DbErr>> {
    tracing::warn!(%error, attempts = batch.len(), "could not record a batch of delivery attempts; recording them one by one");
    let mut results = Vec::with_capacity(batch.len());
    for one in batch {
        results.push(finish_attempt(db, &one.claimed, one.record.clone(), one.now_ms).await);
    }
    results
}

/// The successes' record on PostgreSQL, written as [`record_all`] writes it in a
/// transaction (each delivery marked only under its own lease, its attempt logged and
/// numbered, each tenant's Ashby key noted as working), in one statement: the batch goes
/// over as one JSON parameter and the writes are common table expressions, all in the
/// statement's one transaction. One round trip where the transaction took six (`BEGIN`,
/// the mark, the count of earlier attempts, the log, the tenants, `COMMIT`); the same
/// text for any batch size, so each connection prepares it once.
async fn record_delivered_in_one_statement(
    db: &DatabaseConnection,
    batch: &[Finished],
) -> Result<Vec<bool>, DbErr> {
    let rows: Vec<serde_json::Value> = batch
        .iter()
        .map(|one| {
            serde_json::json!({
                "id": one.claimed.id.0,
                "lease_owner": one.claimed.lease_owner,
                "tenant_id": one.claimed.tenant_id.0,
                "to_ashby": one.claimed.kind != DeliveryKind::VendorWebhook,
                "at_ms": one.now_ms,
                "attempt_id": Uuid::new_v4(),
                "started_ms": one.record.started_ms,
                "duration_ms": one.record.duration_ms,
                "http_status": one.record.http_status,
            })
        })
        .collect();
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        RECORD_DELIVERED_SQL.as_str(),
        [serde_json::Value::Array(rows).into()],
    );
    let marked: HashSet<Uuid> = db
        .query_all_raw(statement)
        .await?
        .into_iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect::<Result<_, _>>()?;
    Ok(batch
        .iter()
        .map(|one| marked.contains(&one.claimed.id.0))
        .collect())
}

/// See [`record_delivered_in_one_statement`]. Data-modifying common table expressions
/// all see the snapshot the statement started with: the count of a delivery's earlier
/// attempts leaves out the one logged here, and each delivery is in a batch once (one
/// lease each). `status || ''` as in [`still_pending`]. The deliveries are found through
/// `id = ANY (ARRAY(…))`, by their primary key: joined to the batch alone, the planner
/// (expecting a hundred rows from the JSON and few pending) chose a scan of the whole
/// table, hashed — 7 ms a record at 8,000 rows. A tenant's row is written only
/// when something about its key changes, or its last success is more than a second old
/// (as `tenants::record_ashby_outcome` does).
static RECORD_DELIVERED_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let (pending, delivered, verified) = (
        DeliveryStatus::Pending.as_str(),
        DeliveryStatus::Delivered.as_str(),
        AshbyKeyStatus::Verified.as_str(),
    );
    format!(
        r#"WITH finished AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS f(
        id uuid, lease_owner uuid, tenant_id uuid, to_ashby boolean, at_ms bigint,
        attempt_id uuid, started_ms bigint, duration_ms bigint, http_status integer)
), marked AS (
    UPDATE deliveries AS d
    SET status = '{delivered}', attempts = d.attempts + 1, last_error = NULL,
        delivered_at_ms = f.at_ms, lease_owner = NULL, lease_until_ms = NULL,
        updated_at_ms = f.at_ms
    FROM finished AS f
    WHERE d.id = ANY (ARRAY(SELECT id FROM finished)) AND d.id = f.id
      AND d.lease_owner = f.lease_owner AND d.status || '' = '{pending}'
    RETURNING d.id
), logged AS (
    INSERT INTO delivery_attempts
        (id, delivery_id, attempt, at_ms, duration_ms, outcome, http_status, error)
    SELECT f.attempt_id, f.id,
        (SELECT COUNT(*) FROM delivery_attempts AS a WHERE a.delivery_id = f.id) + 1,
        f.started_ms, f.duration_ms, '{delivered}', f.http_status, NULL
    FROM finished AS f JOIN marked AS m ON m.id = f.id
), heard AS (
    SELECT f.tenant_id, MAX(f.at_ms) AS at_ms
    FROM finished AS f JOIN marked AS m ON m.id = f.id
    WHERE f.to_ashby
    GROUP BY f.tenant_id
), tenants_noted AS (
    UPDATE tenants AS t
    SET ashby_key_status = '{verified}', ashby_key_error = NULL,
        last_delivered_at_ms = h.at_ms, last_delivery_error = NULL
    FROM heard AS h
    WHERE t.id = h.tenant_id
      AND (t.ashby_key_status <> '{verified}' OR t.ashby_key_error IS NOT NULL
           OR t.last_delivery_error IS NOT NULL OR t.last_delivered_at_ms IS NULL
           OR t.last_delivered_at_ms < h.at_ms - 1000)
)
SELECT id FROM marked"#
    )
});

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
        let answered: Vec<(Uuid, i64)> = indexes
            .iter()
            .map(|&i| (batch[i].claimed.id.0, batch[i].now_ms))
            .collect();
        let updated = mark_delivered(db, lease_owner, &answered).await?;
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

/// Marks delivered those of `answered` (each delivery with when Ashby answered it) still
/// pending under the lease `lease_owner`; returns the ids it marked.
async fn mark_delivered(
    db: &impl ConnectionTrait,
    lease_owner: Option<Uuid>,
    answered: &[(Uuid, i64)],
) -> Result<HashSet<Uuid>, DbErr> {
    let ids = answered.iter().map(|&(id, _)| id);
    // Each row stamped with its own answer's time.
    let at_ms: Expr = answered
        .iter()
        .fold(CaseStatement::new(), |case, &(id, at_ms)| {
            case.case(delivery::Column::Id.eq(id), at_ms)
        })
        .finally(Expr::col(delivery::Column::UpdatedAtMs))
        .into();
    let mut update = Query::update();
    update
        .table(delivery::Entity)
        .value(delivery::Column::Status, DeliveryStatus::Delivered.as_str())
        .value(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .value(delivery::Column::LastError, Option::<String>::None)
        .value(delivery::Column::DeliveredAtMs, at_ms.clone())
        .value(delivery::Column::LeaseOwner, Option::<Uuid>::None)
        .value(delivery::Column::LeaseUntilMs, Option::<i64>::None)
        .value(delivery::Column::UpdatedAtMs, at_ms)
        .and_where(delivery::Column::Id.is_in(ids))
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
