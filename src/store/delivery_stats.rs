//! What `/metrics` reads about the outbox.

use entity::delivery;
use sea_orm::{ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, QuerySelect as _};

use super::deliveries::min_over_pending;

/// How many deliveries there are per (kind, status).
///
/// # Errors
/// Database errors.
pub async fn counts(db: &impl ConnectionTrait) -> Result<Vec<(String, String, i64)>, DbErr> {
    delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Kind)
        .column(delivery::Column::Status)
        .column_as(delivery::Column::Id.count(), "n")
        .group_by(delivery::Column::Kind)
        .group_by(delivery::Column::Status)
        .into_tuple::<(String, String, i64)>()
        .all(db)
        .await
}

/// When the oldest pending delivery was created.
///
/// # Errors
/// Database errors.
pub async fn oldest_pending_created_ms(db: &impl ConnectionTrait) -> Result<Option<i64>, DbErr> {
    min_over_pending(db, delivery::Column::CreatedAtMs).await
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
