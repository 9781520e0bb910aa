//! Deleting what is kept no longer (CONTRACT §12), in bounded batches.

use entity::{assessment, delivery};
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};
use uuid::Uuid;

use crate::domain::delivery::DeliveryStatus;
use crate::domain::status::AssessmentStatus;

/// Deletes up to `limit` finished deliveries (delivered, dismissed, superseded) last changed
/// before `before_ms`; their attempt logs go with them (foreign key cascade). Returns how
/// many.
///
/// # Errors
/// Database errors.
pub async fn delete_finished_deliveries(
    db: &impl ConnectionTrait,
    before_ms: i64,
    limit: u64,
) -> Result<u64, DbErr> {
    let ids: Vec<Uuid> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(is_finished())
        .filter(delivery::Column::UpdatedAtMs.lt(before_ms))
        .order_by_asc(delivery::Column::UpdatedAtMs)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let deleted = delivery::Entity::delete_many()
        .filter(delivery::Column::Id.is_in(ids))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

/// Erases up to `limit` terminal assessments last changed before `before_ms` — with all
/// their deliveries and attempt logs — unless one of their deliveries is still pending
/// (the last word to Ashby must not be lost). Returns how many assessments.
///
/// # Errors
/// Database errors.
pub async fn erase_terminal_assessments(
    db: &impl ConnectionTrait,
    before_ms: i64,
    limit: u64,
) -> Result<u64, DbErr> {
    let terminal = [
        AssessmentStatus::Completed,
        AssessmentStatus::Cancelled,
        AssessmentStatus::Expired,
    ]
    .map(AssessmentStatus::as_str);
    let pending = Query::select()
        .expr(Expr::val(1))
        .from(delivery::Entity)
        .and_where(
            Expr::col((delivery::Entity, delivery::Column::AssessmentId))
                .equals((assessment::Entity, assessment::Column::Id)),
        )
        .and_where(
            Expr::col((delivery::Entity, delivery::Column::Status))
                .eq(DeliveryStatus::Pending.as_str()),
        )
        .to_owned();
    let ids: Vec<Uuid> = assessment::Entity::find()
        .select_only()
        .column(assessment::Column::Id)
        .filter(assessment::Column::Status.is_in(terminal))
        .filter(assessment::Column::UpdatedAtMs.lt(before_ms))
        .filter(Expr::exists(pending).not())
        .order_by_asc(assessment::Column::UpdatedAtMs)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    delivery::Entity::delete_many()
        .filter(delivery::Column::AssessmentId.is_in(ids.clone()))
        .exec(db)
        .await?;
    let erased = assessment::Entity::delete_many()
        .filter(assessment::Column::Id.is_in(ids))
        .exec(db)
        .await?;
    Ok(erased.rows_affected)
}

/// `status IN ('delivered', 'dismissed', 'superseded')`, written out as the condition of
/// the index over finished rows (`ix_deliveries_status_updated`): a partial index serves a
/// query only when its condition is provably implied, which SQLite sees only for the same
/// term, literals in the same order.
fn is_finished() -> Expr {
    let listed: Vec<String> = DeliveryStatus::FINISHED
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect();
    Expr::cust(format!("\"status\" IN ({})", listed.join(", ")))
}
