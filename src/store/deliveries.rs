//! The outbox protocol: enqueueing in the transaction of a change, claiming due rows with
//! a lease, recording each attempt's outcome. What operators read and replay is in
//! `delivery_ops.rs`; what metrics read, in `delivery_stats.rs`.

use entity::{delivery, delivery_attempt, delivery_pause};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait as _, InsertStatement, LockBehavior, LockType, OnConflict, Query,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    DbErr, EntityTrait as _, Iterable as _, ModelTrait as _, PaginatorTrait as _, QueryFilter as _,
    QuerySelect as _, Statement, TransactionTrait as _, TryInsertResult,
};
use uuid::Uuid;

use crate::domain::delivery::{Delivery, DeliveryKind, DeliveryStatus};
use crate::domain::ids::{AssessmentId, DeliveryId, TenantId};
use crate::domain::tenant::AshbyOutcome;

/// A delivery to write in the transaction of the change that causes it.
pub struct NewDelivery {
    pub kind: DeliveryKind,
    pub tenant_id: Uuid,
    pub assessment_id: Uuid,
    /// Order among deliveries with the same ordering key (per assessment, increasing).
    pub position: i64,
    pub payload: serde_json::Value,
    /// With the fingerprint of the request: see [`enqueue_once`].
    pub idempotency: Option<(String, String)>,
    /// The W3C `traceparent` of the span queueing it ([`crate::telemetry::current_traceparent`]).
    pub trace_parent: Option<String>,
}

/// # Errors
/// Database errors.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    new: NewDelivery,
    now_ms: i64,
) -> Result<Delivery, DbErr> {
    decode(enqueue_row(db, new_row(new, now_ms)).await?)
}

/// Enqueues unless the tenant already has a delivery with the same idempotency key
/// (the unique index decides, atomically). Returns the delivery with that key and
/// whether it is the one just written.
///
/// # Errors
/// Database errors.
pub async fn enqueue_once(
    db: &impl ConnectionTrait,
    new: NewDelivery,
    now_ms: i64,
) -> Result<(Delivery, bool), DbErr> {
    let row = new_row(new, now_ms);
    let Some(key) = row.idempotency_key.clone() else {
        return Ok((decode(enqueue_row(db, row).await?)?, true));
    };
    let inserted = delivery::Entity::insert(delivery::ActiveModel::from(row.clone()))
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .try_insert()
        .exec_without_returning(db)
        .await?;
    if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
        return Ok((decode(row)?, true));
    }
    let existing = delivery::Entity::find()
        .filter(delivery::Column::TenantId.eq(row.tenant_id))
        .filter(delivery::Column::IdempotencyKey.eq(key));
    crate::store::unique_row(existing, db)
        .await?
        .map(|existing| decode(existing).map(|existing| (existing, false)))
        .transpose()?
        .ok_or_else(|| DbErr::RecordNotFound("the delivery of an idempotency key".into()))
}

/// `INSERT INTO deliveries … SELECT … FROM source`: `new` written once for each row of
/// `source`, a common table expression of the statement this goes into (see
/// [`crate::store::assessments::start_in_one_statement`]).
///
/// # Errors
/// None in practice: the values are the columns', one each.
pub fn insert_per_row_of(
    source: &str,
    new: NewDelivery,
    now_ms: i64,
) -> Result<InsertStatement, DbErr> {
    let row = new_row(new, now_ms);
    let mut values = Query::select();
    values
        .exprs(delivery::Column::iter().map(|column| Expr::val(row.get(column))))
        .from(Alias::new(source));
    let mut insert = Query::insert();
    insert
        .into_table(delivery::Entity)
        .columns(delivery::Column::iter())
        .select_from(values)
        .map_err(|error| DbErr::Custom(format!("the outbox insert: {error}")))?;
    Ok(insert)
}

async fn enqueue_row(
    db: &impl ConnectionTrait,
    row: delivery::Model,
) -> Result<delivery::Model, DbErr> {
    delivery::Entity::insert(delivery::ActiveModel::from(row.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(row)
}

fn new_row(new: NewDelivery, now_ms: i64) -> delivery::Model {
    let (idempotency_key, request_fingerprint) = new.idempotency.unzip();
    delivery::Model {
        id: Uuid::new_v4(),
        kind: new.kind.as_str().to_owned(),
        tenant_id: new.tenant_id,
        assessment_id: new.assessment_id,
        ordering_key: new.kind.ordering_key(new.assessment_id),
        position: new.position,
        status: DeliveryStatus::Pending.as_str().to_owned(),
        attempts: 0,
        next_attempt_at_ms: now_ms,
        lease_until_ms: None,
        lease_owner: None,
        last_error: None,
        payload: new.payload,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
        delivered_at_ms: None,
        idempotency_key,
        request_fingerprint,
        failing_since_ms: None,
        trace_parent: new.trace_parent,
    }
}

/// "Now" for claims and leases, in epoch milliseconds. On PostgreSQL the database's
/// clock: replicas compare leases against one clock, so a replica whose clock is off can
/// neither take over a live lease (sending twice) nor hold on to a dead one. On SQLite the
/// process's clock, moved by `skew_ms` (how far this process's clock runs ahead; 0 outside
/// tests): every process on a SQLite file runs on one machine, with one clock.
///
/// # Errors
/// Database errors.
pub async fn lease_clock_ms(db: &impl ConnectionTrait, skew_ms: i64) -> Result<i64, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(crate::store::now_ms().saturating_add(skew_ms));
    }
    // clock_timestamp(), not now(): now() is frozen at the start of a transaction.
    db.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
    ))
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("the database clock".into()))?
    .try_get_by_index::<i64>(0)
}

/// Leases up to `limit` deliveries that are due, not leased by a live worker, and first
/// in line for their ordering key: no earlier pending delivery with the same key, and no
/// other delivery with the same key in flight (a replayed older one, say). `lease_id`
/// identifies this one claim; only its holder can record the outcome.
///
/// One statement, `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`, in a
/// transaction of its own: on PostgreSQL concurrent workers (and processes) never lease
/// the same row; on SQLite the transaction queues for this process's write turn (see
/// `begin_write`) and runs under the single-writer lock, which gives the same guarantee.
/// Run as a statement on its own, a claim met the recorder's and the starts'
/// transactions at SQLite's file lock, whose busy handler sleeps between tries.
///
/// # Errors
/// Database errors.
pub async fn claim(
    db: &DatabaseConnection,
    lease_id: Uuid,
    now_ms: i64,
    lease_ms: i64,
    limit: u64,
) -> Result<Vec<Delivery>, DbErr> {
    let (_, claimed) = claim_as_of(db, lease_id, ClaimTime::At(now_ms), lease_ms, limit).await?;
    Ok(claimed)
}

/// [`claim`] as of now on the lease clock (see [`lease_clock_ms`]), and that instant. On
/// PostgreSQL the clock is read inside the claim's transaction, with the statement that
/// sets up its plan: four round trips where a clock read of its own made five.
///
/// # Errors
/// Database errors.
pub async fn claim_on_lease_clock(
    db: &DatabaseConnection,
    lease_id: Uuid,
    skew_ms: i64,
    lease_ms: i64,
    limit: u64,
) -> Result<(i64, Vec<Delivery>), DbErr> {
    claim_as_of(
        db,
        lease_id,
        ClaimTime::LeaseClock { skew_ms },
        lease_ms,
        limit,
    )
    .await
}

/// As of when a claim leases.
#[derive(Clone, Copy)]
enum ClaimTime {
    At(i64),
    /// Now on the lease clock, moved by `skew_ms` on SQLite (see [`lease_clock_ms`]).
    LeaseClock {
        skew_ms: i64,
    },
}

async fn claim_as_of(
    db: &DatabaseConnection,
    lease_id: Uuid,
    time: ClaimTime,
    lease_ms: i64,
    limit: u64,
) -> Result<(i64, Vec<Delivery>), DbErr> {
    let lease = |now_ms: i64| Lease {
        id: lease_id,
        now_ms,
        until_ms: now_ms + lease_ms,
    };
    if db.get_database_backend() != DbBackend::Postgres {
        let now_ms = match time {
            ClaimTime::At(now_ms) => now_ms,
            ClaimTime::LeaseClock { skew_ms } => lease_clock_ms(db, skew_ms).await?,
        };
        let txn = crate::store::begin_write(db).await?;
        let claimed = claim_in(&txn, &lease(now_ms), limit).await?;
        txn.commit().await?;
        return Ok((now_ms, claimed));
    }
    let txn = db.begin().await?;
    // The claim must walk the due rows in order and stop once it has `limit`. The planner
    // picks that walk only when it knows how many rows are pending, and its statistics
    // rarely do: a backlog forms faster than autovacuum analyzes, and a table analyzed
    // while little was pending keeps saying so. Believing the backlog small, it chose a
    // bitmap scan of every due row and a sort, each row filtered and probed before the
    // first was taken: 3–10 ms a claim at a backlog of 2,000–4,000, against 0.2 ms for
    // the ordered walk. With bitmap scans off for this transaction (`set_config`'s `true`:
    // `SET LOCAL`), the ordered index scan is the plan whatever the statistics say. The
    // same statement reads the database's clock (`clock_timestamp()`, not `now()`, which
    // is frozen at the start of a transaction).
    let clock = txn
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT set_config('enable_bitmapscan', 'off', true), \
             (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the database clock".into()))?
        .try_get_by_index::<i64>(1)?;
    let now_ms = match time {
        ClaimTime::At(now_ms) => now_ms,
        ClaimTime::LeaseClock { .. } => clock,
    };
    let claimed = claim_in(&txn, &lease(now_ms), limit).await?;
    txn.commit().await?;
    Ok((now_ms, claimed))
}

/// One claim's lease: who holds it, as of when, until when.
struct Lease {
    id: Uuid,
    now_ms: i64,
    until_ms: i64,
}

/// The claim's statement (see [`claim`]).
async fn claim_in(
    db: &impl ConnectionTrait,
    lease: &Lease,
    limit: u64,
) -> Result<Vec<Delivery>, DbErr> {
    let now_ms = lease.now_ms;
    let (d, e) = (Alias::new("d"), Alias::new("e"));
    let col = |table: &Alias, column: delivery::Column| Expr::col((table.clone(), column));
    let mut ahead_or_in_flight = Query::select()
        .expr(Expr::val(1))
        .from_as(delivery::Entity, e.clone())
        .and_where(
            col(&e, delivery::Column::OrderingKey)
                .equals((d.clone(), delivery::Column::OrderingKey)),
        )
        .and_where(is_pending("e"))
        .and_where(col(&e, delivery::Column::Id).ne(Expr::col((d.clone(), delivery::Column::Id))))
        .and_where(
            col(&e, delivery::Column::Position)
                .lt(Expr::col((d.clone(), delivery::Column::Position)))
                .or(col(&e, delivery::Column::LeaseUntilMs).gte(now_ms)),
        )
        .to_owned();
    if db.get_database_backend() == DbBackend::Postgres {
        // OFFSET 0 keeps PostgreSQL from turning the probe into an anti-join: planned as a
        // join while its statistics still say nothing is pending (a backlog forms faster
        // than autovacuum analyzes), it rescanned every pending row per candidate. As a
        // subplan it is planned alone, as one lookup by ordering key per candidate.
        ahead_or_in_flight.offset(0);
    }
    let due = Query::select()
        .column((d.clone(), delivery::Column::Id))
        .from_as(delivery::Entity, d.clone())
        .cond_where(is_candidate("d", now_ms))
        .and_where(Expr::exists(ahead_or_in_flight).not())
        .order_by(
            (d.clone(), delivery::Column::NextAttemptAtMs),
            sea_orm::Order::Asc,
        )
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    delivery::Entity::update_many()
        .col_expr(delivery::Column::LeaseOwner, Expr::val(lease.id))
        .col_expr(delivery::Column::LeaseUntilMs, Expr::val(lease.until_ms))
        // Only the lease columns, which no index covers: PostgreSQL can then write the
        // leased version in place of the old one, without touching any index (see the
        // fill factor migration). `updated_at_ms` dates changes of state; a lease is none.
        .filter(delivery::Column::Id.in_subquery(due))
        .exec_with_returning(db)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// A candidate for a claim, as the row `table`: pending, due, not leased by a live worker,
/// its tenant enabled, and not held back by a pause. Whether it is first in line for its
/// ordering key is the claim's own probe.
fn is_candidate(table: &str, now_ms: i64) -> Condition {
    let t = &Alias::new(table);
    // Ashby asked us to slow down: its deliveries wait while a pause covers their tenant
    // (or the whole partner). The pause rows are shared, so every replica holds back.
    let p = Alias::new("p");
    let paused = Query::select()
        .expr(Expr::val(1))
        .from_as(delivery_pause::Entity, p.clone())
        .and_where(Expr::col((p.clone(), delivery_pause::Column::UntilMs)).gt(now_ms))
        .and_where(
            Expr::col((p.clone(), delivery_pause::Column::TenantId))
                .is_null()
                .or(Expr::col((p.clone(), delivery_pause::Column::TenantId))
                    .equals((t.clone(), delivery::Column::TenantId))),
        )
        .to_owned();
    let to_ashby =
        [DeliveryKind::AshbyUpdate, DeliveryKind::AshbyAddCompleted].map(DeliveryKind::as_str);
    Condition::all()
        .add(is_pending(table))
        .add(Expr::col((t.clone(), delivery::Column::NextAttemptAtMs)).lte(now_ms))
        .add(
            Expr::col((t.clone(), delivery::Column::LeaseUntilMs))
                .is_null()
                .or(Expr::col((t.clone(), delivery::Column::LeaseUntilMs)).lt(now_ms)),
        )
        .add(
            Expr::col((t.clone(), delivery::Column::Kind))
                .is_not_in(to_ashby)
                .or(Expr::exists(paused).not()),
        )
        .add(tenant_is_enabled(t))
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    RetryAt {
        next_attempt_at_ms: i64,
        error: String,
    },
    /// The destination is throttling: try again at `next_attempt_at_ms`, without spending
    /// an attempt; `pause` holds back what the throttle covers until then.
    Throttled {
        next_attempt_at_ms: i64,
        error: String,
        pause: Option<Pause>,
    },
    Dead {
        error: String,
    },
}

/// What a throttle holds back, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// `None`: every tenant (the partner is throttled as a whole).
    pub tenant_id: Option<Uuid>,
    pub until_ms: i64,
}

/// The record of one attempt, for the attempt log.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub started_ms: i64,
    pub duration_ms: i64,
    pub http_status: Option<u16>,
    pub result: AttemptResult,
}

/// Records an attempt and its effect on the delivery, if the claim that returned
/// `claimed` still holds the lease — both, or neither, in one transaction. Returns false
/// when the lease was lost (it expired and another claim took the delivery over): that
/// claim's outcome counts.
///
/// # Errors
/// Database errors.
pub async fn finish_attempt(
    db: &DatabaseConnection,
    claimed: &Delivery,
    record: AttemptRecord,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let txn = crate::store::begin_write(db).await?;
    let recorded = record_attempt(&txn, claimed, &record, now_ms).await?;
    txn.commit().await?;
    Ok(recorded)
}

pub(super) async fn record_attempt(
    db: &impl ConnectionTrait,
    claimed: &Delivery,
    record: &AttemptRecord,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let mut attempt = claimed.attempts + 1;
    let mut failing_since = claimed.failing_since_ms;
    let (status, next_at, last_error, delivered_at, outcome) = match &record.result {
        AttemptResult::Delivered => (
            DeliveryStatus::Delivered,
            claimed.next_attempt_at_ms,
            None,
            Some(now_ms),
            "delivered",
        ),
        AttemptResult::RetryAt {
            next_attempt_at_ms,
            error,
        } => {
            failing_since.get_or_insert(now_ms);
            (
                DeliveryStatus::Pending,
                *next_attempt_at_ms,
                Some(error.clone()),
                None,
                "retry",
            )
        }
        AttemptResult::Throttled {
            next_attempt_at_ms,
            error,
            pause,
        } => {
            // Throttling is not failure: no attempt is spent.
            attempt = claimed.attempts;
            if let Some(pause) = pause {
                pause_sending(db, pause, error, now_ms).await?;
            }
            (
                DeliveryStatus::Pending,
                *next_attempt_at_ms,
                Some(error.clone()),
                None,
                "throttled",
            )
        }
        AttemptResult::Dead { error } => (
            DeliveryStatus::Dead,
            claimed.next_attempt_at_ms,
            Some(error.clone()),
            None,
            "dead",
        ),
    };
    let updated = delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::val(status.as_str()))
        .col_expr(delivery::Column::Attempts, Expr::val(attempt))
        .col_expr(delivery::Column::NextAttemptAtMs, Expr::val(next_at))
        .col_expr(delivery::Column::LastError, Expr::val(last_error.clone()))
        .col_expr(delivery::Column::DeliveredAtMs, Expr::val(delivered_at))
        .col_expr(delivery::Column::FailingSinceMs, Expr::val(failing_since))
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::val(Option::<Uuid>::None),
        )
        .col_expr(
            delivery::Column::LeaseUntilMs,
            Expr::val(Option::<i64>::None),
        )
        .col_expr(delivery::Column::UpdatedAtMs, Expr::val(now_ms))
        .filter(delivery::Column::Id.eq(claimed.id.0))
        .filter(delivery::Column::LeaseOwner.eq(claimed.lease_owner))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Ok(false);
    }
    // Numbered over the delivery's whole life: a replay resets `attempts` (the budget),
    // not the log.
    let logged = delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::DeliveryId.eq(claimed.id.0))
        .count(db)
        .await?;
    let log = delivery_attempt::ActiveModel {
        id: Set(Uuid::new_v4()),
        delivery_id: Set(claimed.id.0),
        attempt: Set(i32::try_from(logged).unwrap_or(i32::MAX).saturating_add(1)),
        at_ms: Set(record.started_ms),
        duration_ms: Set(record.duration_ms),
        outcome: Set(outcome.to_owned()),
        http_status: Set(record.http_status.map(i32::from)),
        error: Set(last_error),
    };
    delivery_attempt::Entity::insert(log)
        .exec_without_returning(db)
        .await?;
    if let Some(outcome) = ashby_outcome(claimed, record) {
        super::tenants::record_ashby_outcome(db, claimed.tenant_id, &outcome, now_ms).await?;
    }
    Ok(true)
}

/// Holds back sending to Ashby for the pause's tenant (or every tenant) until its end;
/// a pause already in place is replaced (Ashby's latest word counts).
async fn pause_sending(
    db: &impl ConnectionTrait,
    pause: &Pause,
    reason: &str,
    now_ms: i64,
) -> Result<(), DbErr> {
    let scope = pause
        .tenant_id
        .map_or_else(|| "partner".to_owned(), |tenant| format!("tenant:{tenant}"));
    let row = delivery_pause::ActiveModel {
        scope: Set(scope),
        tenant_id: Set(pause.tenant_id),
        until_ms: Set(pause.until_ms),
        reason: Set(reason.to_owned()),
        updated_at_ms: Set(now_ms),
    };
    delivery_pause::Entity::insert(row)
        .on_conflict(
            OnConflict::column(delivery_pause::Column::Scope)
                .update_columns([
                    delivery_pause::Column::UntilMs,
                    delivery_pause::Column::Reason,
                    delivery_pause::Column::UpdatedAtMs,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Gives a claimed delivery back unattempted (the claim came too late to send safely
/// within its lease).
///
/// # Errors
/// Database errors.
pub async fn release(db: &DatabaseConnection, claimed: &Delivery) -> Result<(), DbErr> {
    let txn = crate::store::begin_write(db).await?;
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LeaseOwner,
            Expr::val(Option::<Uuid>::None),
        )
        .col_expr(
            delivery::Column::LeaseUntilMs,
            Expr::val(Option::<i64>::None),
        )
        .filter(delivery::Column::Id.eq(claimed.id.0))
        .filter(delivery::Column::LeaseOwner.eq(claimed.lease_owner))
        .exec(&txn)
        .await?;
    txn.commit().await
}

/// The earliest time a pending delivery is due, to sleep until then.
///
/// # Errors
/// Database errors.
pub async fn next_due_ms(db: &impl ConnectionTrait) -> Result<Option<i64>, DbErr> {
    min_over_pending(db, delivery::Column::NextAttemptAtMs).await
}

/// The smallest value of a timestamp column among pending deliveries.
async fn min_over_pending(
    db: &impl ConnectionTrait,
    column: delivery::Column,
) -> Result<Option<i64>, DbErr> {
    // One row (an aggregate): `all`, since `one` binds a LIMIT (see `unique_row`).
    let rows = delivery::Entity::find()
        .select_only()
        .column_as(column.min(), "smallest")
        .filter(is_pending("deliveries"))
        .into_tuple::<Option<i64>>()
        .all(db)
        .await?;
    Ok(rows.into_iter().next().flatten())
}

/// `"<table>"."status" = 'pending'`, written out rather than bound: the partial index over
/// pending deliveries (`ix_deliveries_pending_ordering`) serves a query only when it
/// provably asks for pending rows — a bound value does not, in PostgreSQL's generic plans
/// — and on SQLite a bound value compared with an index's condition makes every call plan
/// the statement again (see `store::unique_row`).
/// `table` is one of our own aliases, the status our own constant.
pub(super) fn is_pending(table: &str) -> Expr {
    Expr::cust(format!(
        "\"{table}\".\"status\" = '{}'",
        DeliveryStatus::Pending.as_str()
    ))
}

/// A disabled tenant's deliveries wait (CONTRACT §10): pending, unattempted, until it is
/// enabled again. Kept a condition of its own so the claim reads as before plus this.
///
/// Written as `NOT IN` over the (few) disabled tenants rather than a correlated
/// `NOT EXISTS`: PostgreSQL turns the latter into a hash anti-join, whose output it treats
/// as unordered, and then sorts every due row before taking the first few — 15–20 ms per
/// claim at a backlog of 2,000. `NOT IN` stays a filter on the due-order index scan, which
/// stops after `limit` rows. Both ids are non-null, so the two mean the same.
fn tenant_is_enabled(d: &Alias) -> sea_orm::sea_query::SimpleExpr {
    use entity::tenant;
    let disabled = Query::select()
        .column(tenant::Column::Id)
        .from(tenant::Entity)
        .and_where(Expr::col(tenant::Column::Disabled).eq(true))
        .to_owned();
    Expr::col((d.clone(), delivery::Column::TenantId)).not_in_subquery(disabled)
}

/// What a recorded attempt says about the tenant's Ashby key, for deliveries to Ashby
/// that ended (delivered or dead); `None` otherwise.
fn ashby_outcome(claimed: &Delivery, record: &AttemptRecord) -> Option<AshbyOutcome> {
    if claimed.kind == DeliveryKind::VendorWebhook {
        return None;
    }
    match &record.result {
        AttemptResult::Delivered => Some(AshbyOutcome::Delivered),
        AttemptResult::Dead { error } if matches!(record.http_status, Some(401 | 403)) => {
            Some(AshbyOutcome::KeyRejected(error.clone()))
        }
        AttemptResult::Dead { error } => Some(AshbyOutcome::Failed(error.clone())),
        AttemptResult::RetryAt { .. } | AttemptResult::Throttled { .. } => None,
    }
}

/// The one place an outbox row is decoded. A kind or status this version does not know
/// (the database was edited by hand, or written by a newer version) is
/// [`super::unreadable`], not a connection problem.
///
/// # Errors
/// An unknown kind or status.
pub fn decode(row: delivery::Model) -> Result<Delivery, DbErr> {
    let what = |column: &str| format!("delivery {} column {column}", row.id);
    Ok(Delivery {
        kind: DeliveryKind::parse(&row.kind)
            .ok_or_else(|| super::unreadable(what("kind"), &row.kind))?,
        status: DeliveryStatus::parse(&row.status)
            .ok_or_else(|| super::unreadable(what("status"), &row.status))?,
        id: DeliveryId(row.id),
        tenant_id: TenantId(row.tenant_id),
        assessment_id: AssessmentId(row.assessment_id),
        position: row.position,
        attempts: row.attempts,
        next_attempt_at_ms: row.next_attempt_at_ms,
        lease_until_ms: row.lease_until_ms,
        lease_owner: row.lease_owner,
        last_error: row.last_error,
        payload: row.payload,
        created_at_ms: row.created_at_ms,
        updated_at_ms: row.updated_at_ms,
        delivered_at_ms: row.delivered_at_ms,
        idempotency_key: row.idempotency_key,
        request_fingerprint: row.request_fingerprint,
        failing_since_ms: row.failing_since_ms,
        trace_parent: row.trace_parent,
    })
}
