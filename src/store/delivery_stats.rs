//! What `/metrics` reads about the outbox.

use entity::{delivery, tenant};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbBackend, DbErr, EntityTrait as _, QueryFilter as _,
    QuerySelect as _,
};

use super::deliveries::is_pending;
use crate::domain::delivery::DeliveryStatus;

/// How many deliveries there are per (kind, status), among those with one of `statuses`.
/// Pending and dead deliveries are few and found through the (status, due) index; the
/// finished ones (delivered, superseded, dismissed) grow without bound, and counting them
/// reads every row: read their tallies instead (`super::delivery_tallies`).
///
/// # Errors
/// Database errors.
pub async fn counts(
    db: &impl ConnectionTrait,
    statuses: &[DeliveryStatus],
) -> Result<Vec<(String, String, i64)>, DbErr> {
    delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Kind)
        .column(delivery::Column::Status)
        .column_as(delivery::Column::Id.count(), "n")
        .filter(delivery::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
        .group_by(delivery::Column::Kind)
        .group_by(delivery::Column::Status)
        .into_tuple::<(String, String, i64)>()
        .all(db)
        .await
}

/// How many tenants there are per Ashby key status (a small table).
///
/// # Errors
/// Database errors.
pub async fn tenants_by_key_status(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    tenant::Entity::find()
        .select_only()
        .column(tenant::Column::AshbyKeyStatus)
        .column_as(tenant::Column::Id.count(), "n")
        .group_by(tenant::Column::AshbyKeyStatus)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await
}

/// When the oldest pending delivery was created.
///
/// No index orders the pending rows by creation. Asked for `MIN(created_at_ms) WHERE
/// status = 'pending'`, PostgreSQL walked the creation index from the oldest delivery ever
/// made until it met a pending one — through every row when none is pending (17–19 ms
/// per scrape on the bench's database of 12,000 rows, and growing with the table). Read
/// from a subquery PostgreSQL may not merge (`OFFSET 0`), it takes the pending rows alone,
/// through a pending index, and their minimum: work in proportion to the backlog.
///
/// # Errors
/// Database errors.
pub async fn oldest_pending_created_ms(db: &impl ConnectionTrait) -> Result<Option<i64>, DbErr> {
    let mut pending = Query::select()
        .column(delivery::Column::CreatedAtMs)
        .from(delivery::Entity)
        .and_where(is_pending("deliveries"))
        .to_owned();
    if db.get_database_backend() == DbBackend::Postgres {
        pending.offset(0);
    }
    let p = Alias::new("p");
    let oldest = Query::select()
        .expr_as(
            Expr::col((p.clone(), delivery::Column::CreatedAtMs)).min(),
            "smallest",
        )
        .from_subquery(pending, p)
        .to_owned();
    let rows = db.query_all(&oldest).await?;
    rows.first()
        .map_or(Ok(None), |row| row.try_get::<Option<i64>>("", "smallest"))
}

/// How many deliveries were delivered at or after `since_ms` (the console's rate).
///
/// # Errors
/// Database errors.
pub async fn delivered_since(db: &impl ConnectionTrait, since_ms: i64) -> Result<u64, DbErr> {
    use sea_orm::{PaginatorTrait as _, QueryFilter as _};
    delivery::Entity::find()
        .filter(delivery::Column::DeliveredAtMs.gte(since_ms))
        .count(db)
        .await
}
