//! What operators do with the outbox: look deliveries up, page through them, read their
//! attempts, replay dead ones (superseding outdated updates) and dismiss them.

use entity::{delivery, delivery_attempt};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};
use uuid::Uuid;

use super::deliveries::decode;
use crate::domain::delivery::{Attempt, Delivery, DeliveryKind, DeliveryStatus};

/// # Errors
/// Database errors.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Delivery>, DbErr> {
    crate::store::unique_row(delivery::Entity::find_by_id(id), db)
        .await?
        .map(decode)
        .transpose()
}

/// An assessment's deliveries, in the order they go out.
///
/// # Errors
/// Database errors.
pub async fn for_assessment(
    db: &impl ConnectionTrait,
    assessment_id: Uuid,
) -> Result<Vec<Delivery>, DbErr> {
    delivery::Entity::find()
        .filter(delivery::Column::AssessmentId.eq(assessment_id))
        .order_by_asc(delivery::Column::Position)
        .order_by_asc(delivery::Column::CreatedAtMs)
        .all(db)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// Deliveries for operators, newest first.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &impl ConnectionTrait,
    status: Option<DeliveryStatus>,
    tenant_id: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Delivery>, DbErr> {
    let mut query = delivery::Entity::find();
    if let Some(status) = status {
        query = query.filter(delivery::Column::Status.eq(status.as_str()));
    }
    if let Some(tenant_id) = tenant_id {
        query = query.filter(delivery::Column::TenantId.eq(tenant_id));
    }
    query
        .order_by_desc(delivery::Column::CreatedAtMs)
        .order_by_desc(delivery::Column::Position)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// Re-queues dead deliveries (one, or all when `id` is None) for an immediate attempt
/// with a fresh attempt budget. Returns how many were re-queued.
///
/// # Errors
/// Database errors.
pub async fn requeue_dead(
    db: &impl ConnectionTrait,
    id: Option<Uuid>,
    now_ms: i64,
) -> Result<u64, DbErr> {
    let mut update = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::val(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(delivery::Column::Attempts, Expr::val(0))
        .col_expr(
            delivery::Column::FailingSinceMs,
            Expr::val(Option::<i64>::None),
        )
        .col_expr(delivery::Column::NextAttemptAtMs, Expr::val(now_ms))
        .col_expr(delivery::Column::UpdatedAtMs, Expr::val(now_ms))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Dead.as_str()));
    if let Some(id) = id {
        update = update.filter(delivery::Column::Id.eq(id));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// Marks `superseded` the dead `assessment.update`s — one (`id`), or all — that a later
/// update of the same assessment has already replaced in Ashby (it was delivered), of one
/// tenant when given: replaying one would move Ashby backwards. Call it before putting dead deliveries back in line.
/// Returns how many.
///
/// # Errors
/// Database errors.
pub async fn supersede_outdated_dead(
    db: &impl ConnectionTrait,
    id: Option<Uuid>,
    tenant_id: Option<Uuid>,
    now_ms: i64,
) -> Result<u64, DbErr> {
    let later = Alias::new("later");
    let update = DeliveryKind::AshbyUpdate.as_str();
    let delivered_later = Query::select()
        .expr(Expr::val(1))
        .from_as(delivery::Entity, later.clone())
        // The same assessment, so its index serves the probe, and the same ordering key.
        .and_where(
            Expr::col((later.clone(), delivery::Column::AssessmentId))
                .equals((delivery::Entity, delivery::Column::AssessmentId)),
        )
        .and_where(
            Expr::col((later.clone(), delivery::Column::OrderingKey))
                .equals((delivery::Entity, delivery::Column::OrderingKey)),
        )
        .and_where(Expr::col((later.clone(), delivery::Column::Kind)).eq(update))
        // Written so that no index can serve it: taken through an index (the finished
        // rows'), it made PostgreSQL intersect every delivered row with each dead one's
        // assessment — 75–230 ms to put 2,000 dead deliveries back in line.
        .and_where(Expr::cust(format!(
            "\"later\".\"status\" || '' = '{}'",
            DeliveryStatus::Delivered.as_str()
        )))
        .and_where(
            Expr::col((later.clone(), delivery::Column::Position))
                .gt(Expr::col((delivery::Entity, delivery::Column::Position))),
        )
        .to_owned();
    let mut superseded = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::val(DeliveryStatus::Superseded.as_str()),
        )
        .col_expr(delivery::Column::UpdatedAtMs, Expr::val(now_ms))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Dead.as_str()))
        .filter(delivery::Column::Kind.eq(update))
        .filter(Expr::exists(delivered_later));
    if let Some(id) = id {
        superseded = superseded.filter(delivery::Column::Id.eq(id));
    }
    if let Some(tenant_id) = tenant_id {
        superseded = superseded.filter(delivery::Column::TenantId.eq(tenant_id));
    }
    Ok(superseded.exec(db).await?.rows_affected)
}

/// Which deliveries an operator lists.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub tenant_id: Option<Uuid>,
    pub assessment_id: Option<Uuid>,
    pub kind: Option<DeliveryKind>,
    /// Resume after this (created_at_ms, id) position, newest first.
    pub before: Option<(i64, Uuid)>,
}

/// A page of deliveries, newest first, then by id (descending).
///
/// # Errors
/// Database errors.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &DeliveryFilter,
    limit: u64,
) -> Result<Vec<Delivery>, DbErr> {
    use sea_orm::Condition;
    let mut query = delivery::Entity::find();
    if let Some(status) = filter.status {
        query = query.filter(delivery::Column::Status.eq(status.as_str()));
    }
    if let Some(tenant_id) = filter.tenant_id {
        query = query.filter(delivery::Column::TenantId.eq(tenant_id));
    }
    if let Some(assessment_id) = filter.assessment_id {
        query = query.filter(delivery::Column::AssessmentId.eq(assessment_id));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(delivery::Column::Kind.eq(kind.as_str()));
    }
    if let Some((created_at_ms, id)) = filter.before {
        query = query.filter(
            Condition::any()
                .add(delivery::Column::CreatedAtMs.lt(created_at_ms))
                .add(
                    Condition::all()
                        .add(delivery::Column::CreatedAtMs.eq(created_at_ms))
                        .add(delivery::Column::Id.lt(id)),
                ),
        );
    }
    query
        .order_by_desc(delivery::Column::CreatedAtMs)
        .order_by_desc(delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// A delivery's attempts, oldest first.
///
/// # Errors
/// Database errors.
pub async fn attempts_of(db: &impl ConnectionTrait, id: Uuid) -> Result<Vec<Attempt>, DbErr> {
    Ok(delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::DeliveryId.eq(id))
        .order_by_asc(delivery_attempt::Column::Attempt)
        .all(db)
        .await?
        .into_iter()
        .map(|row| Attempt {
            number: row.attempt,
            at_ms: row.at_ms,
            duration_ms: row.duration_ms,
            http_status: row.http_status,
            outcome: row.outcome,
            error: row.error,
        })
        .collect())
}

/// Marks a dead delivery dismissed (final; not counted as dead). Returns whether it was
/// dead.
///
/// # Errors
/// Database errors.
pub async fn dismiss_dead(db: &impl ConnectionTrait, id: Uuid, now_ms: i64) -> Result<bool, DbErr> {
    let result = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::val(DeliveryStatus::Dismissed.as_str()),
        )
        .col_expr(delivery::Column::UpdatedAtMs, Expr::val(now_ms))
        .filter(delivery::Column::Id.eq(id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Dead.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Re-queues every dead delivery of one tenant, like [`requeue_dead`]. Returns how many.
///
/// # Errors
/// Database errors.
pub async fn requeue_dead_of_tenant(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    now_ms: i64,
) -> Result<u64, DbErr> {
    let result = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::val(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(delivery::Column::Attempts, Expr::val(0))
        .col_expr(
            delivery::Column::FailingSinceMs,
            Expr::val(Option::<i64>::None),
        )
        .col_expr(delivery::Column::NextAttemptAtMs, Expr::val(now_ms))
        .col_expr(delivery::Column::UpdatedAtMs, Expr::val(now_ms))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Dead.as_str()))
        .filter(delivery::Column::TenantId.eq(tenant_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
