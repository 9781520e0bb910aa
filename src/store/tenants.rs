//! Tenants and their partner keys.

use entity::{partner_key, tenant};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
};

use super::now_ms;
use crate::crypto::IssuedPartnerKey;
use crate::domain::ids::TenantId;

/// A tenant as the operator sees it.
#[derive(Debug, Clone)]
pub struct TenantSummary {
    pub tenant: tenant::Model,
    pub active_keys: u64,
}

/// Inserts a tenant and its first partner key. Run it in a transaction.
///
/// # Errors
/// Database errors.
pub async fn create(
    db: &impl ConnectionTrait,
    id: TenantId,
    name: &str,
    ashby_api_key_sealed: Option<String>,
    ashby_base_url: Option<String>,
    key: &IssuedPartnerKey,
) -> Result<tenant::Model, DbErr> {
    let now = now_ms();
    let model = tenant::Model {
        id: id.0,
        name: name.to_owned(),
        ashby_api_key_sealed,
        ashby_base_url,
        created_at_ms: now,
    };
    tenant::Entity::insert(tenant::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await?;
    add_key(db, id, key).await?;
    Ok(model)
}

/// Adds a partner key to a tenant; older keys keep working until revoked.
///
/// The key's `created_at_ms` is made strictly later than any earlier key of the tenant,
/// so "the newest key" ([`revoke_keys_except_newest`]) is well defined even when two
/// keys are issued within one millisecond.
///
/// # Errors
/// Database errors.
pub async fn add_key(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    key: &IssuedPartnerKey,
) -> Result<(), DbErr> {
    let latest = partner_key::Entity::find()
        .filter(partner_key::Column::TenantId.eq(tenant_id.0))
        .order_by_desc(partner_key::Column::CreatedAtMs)
        .one(db)
        .await?;
    let created_at_ms = latest.map_or(now_ms(), |k| now_ms().max(k.created_at_ms + 1));
    let row = partner_key::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        tenant_id: Set(tenant_id.0),
        key_hash: Set(key.hash.clone()),
        key_prefix: Set(key.display_prefix.clone()),
        created_at_ms: Set(created_at_ms),
        revoked_at_ms: Set(None),
    };
    partner_key::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Revokes every key of a tenant but the newest. Returns how many were revoked.
///
/// # Errors
/// Database errors.
pub async fn revoke_keys_except_newest(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
) -> Result<u64, DbErr> {
    let newest = partner_key::Entity::find()
        .filter(partner_key::Column::TenantId.eq(tenant_id.0))
        .filter(partner_key::Column::RevokedAtMs.is_null())
        .order_by_desc(partner_key::Column::CreatedAtMs)
        .order_by_desc(partner_key::Column::Id)
        .one(db)
        .await?;
    let Some(newest) = newest else {
        return Ok(0);
    };
    let result = partner_key::Entity::update_many()
        .col_expr(
            partner_key::Column::RevokedAtMs,
            sea_orm::sea_query::Expr::value(now_ms()),
        )
        .filter(partner_key::Column::TenantId.eq(tenant_id.0))
        .filter(partner_key::Column::RevokedAtMs.is_null())
        .filter(partner_key::Column::Id.ne(newest.id))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Every tenant, oldest first, with its number of usable keys.
///
/// # Errors
/// Database errors.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<TenantSummary>, DbErr> {
    let tenants = tenant::Entity::find()
        .order_by_asc(tenant::Column::CreatedAtMs)
        .order_by_asc(tenant::Column::Id)
        .all(db)
        .await?;
    let mut summaries = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let active_keys = partner_key::Entity::find()
            .filter(partner_key::Column::TenantId.eq(tenant.id))
            .filter(partner_key::Column::RevokedAtMs.is_null())
            .count(db)
            .await?;
        summaries.push(TenantSummary {
            tenant,
            active_keys,
        });
    }
    Ok(summaries)
}

/// # Errors
/// Database errors.
pub async fn find(db: &impl ConnectionTrait, id: TenantId) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find_by_id(id.0).one(db).await
}

/// Stores a (sealed) Ashby API key. Returns false when the tenant does not exist.
///
/// # Errors
/// Database errors.
pub async fn set_ashby_key(
    db: &impl ConnectionTrait,
    id: TenantId,
    sealed: String,
) -> Result<bool, DbErr> {
    let result = tenant::Entity::update_many()
        .col_expr(
            tenant::Column::AshbyApiKeySealed,
            sea_orm::sea_query::Expr::value(sealed),
        )
        .filter(tenant::Column::Id.eq(id.0))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The tenant owning an unrevoked partner key with this hash.
///
/// # Errors
/// Database errors.
pub async fn find_by_key_hash(
    db: &impl ConnectionTrait,
    key_hash: &str,
) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find()
        .inner_join(partner_key::Entity)
        .filter(partner_key::Column::KeyHash.eq(key_hash))
        .filter(partner_key::Column::RevokedAtMs.is_null())
        .one(db)
        .await
}
