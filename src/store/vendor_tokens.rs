//! Issued vendor API tokens (never the token itself): recorded when minted, listed, and
//! revoked one by one.

use entity::vendor_token;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};
use uuid::Uuid;

use super::now_ms;
use crate::tokens::IssuedToken;

/// Records a freshly minted token.
///
/// # Errors
/// Database errors.
pub async fn record(
    db: &impl ConnectionTrait,
    issued: &IssuedToken,
    label: Option<String>,
) -> Result<vendor_token::Model, DbErr> {
    let model = vendor_token::Model {
        id: issued.id,
        label,
        scope: issued.scope.as_str().into(),
        created_at_ms: issued.issued_at.timestamp_millis(),
        expires_at_ms: issued.expires_at.timestamp_millis(),
        revoked_at_ms: None,
    };
    vendor_token::Entity::insert(vendor_token::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(model)
}

/// Every recorded token, oldest first.
///
/// # Errors
/// Database errors.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<vendor_token::Model>, DbErr> {
    vendor_token::Entity::find()
        .order_by_asc(vendor_token::Column::CreatedAtMs)
        .order_by_asc(vendor_token::Column::Id)
        .all(db)
        .await
}

/// Revokes a token; revoking it again keeps the first revocation time. `None` when no
/// token has that id.
///
/// # Errors
/// Database errors.
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<vendor_token::Model>, DbErr> {
    vendor_token::Entity::update_many()
        .col_expr(
            vendor_token::Column::RevokedAtMs,
            sea_orm::sea_query::Expr::value(now_ms()),
        )
        .filter(vendor_token::Column::Id.eq(id))
        .filter(vendor_token::Column::RevokedAtMs.is_null())
        .exec(db)
        .await?;
    crate::store::unique_row(vendor_token::Entity::find_by_id(id), db).await
}

/// Whether the token with this id has been revoked: one primary-key lookup. A token
/// that was never recorded (minted before tokens were recorded) is not revoked.
///
/// # Errors
/// Database errors.
pub async fn is_revoked(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let row = crate::store::unique_row(vendor_token::Entity::find_by_id(id), db).await?;
    Ok(row.is_some_and(|row| row.revoked_at_ms.is_some()))
}
