//! Tenants and their partner keys.

use std::collections::HashMap;

use entity::{partner_key, tenant};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
};

use sea_orm::sea_query::{Expr, Query};
use uuid::Uuid;

use super::now_ms;
use crate::crypto::IssuedPartnerKey;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::TenantId;
use crate::domain::tenant::{AshbyKeyStatus, AshbyOutcome, Tenant, TenantOverview, TenantPatch};

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
    let key_status = if ashby_api_key_sealed.is_some() {
        AshbyKeyStatus::Unverified
    } else {
        AshbyKeyStatus::Unset
    };
    let model = tenant::Model {
        id: id.0,
        name: name.to_owned(),
        ashby_api_key_sealed,
        ashby_base_url,
        created_at_ms: now,
        external_id: None,
        disabled: false,
        ashby_key_status: key_status.as_str().to_owned(),
        ashby_key_checked_at_ms: None,
        ashby_key_error: None,
        last_delivered_at_ms: None,
        last_delivery_error: None,
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
    // One statement, so the newest key is the newest as of the revocation itself: a key
    // issued between a separate read and the update would have been revoked too.
    let newest = Query::select()
        .column(partner_key::Column::Id)
        .from(partner_key::Entity)
        .and_where(partner_key::Column::TenantId.eq(tenant_id.0))
        .and_where(partner_key::Column::RevokedAtMs.is_null())
        .order_by(partner_key::Column::CreatedAtMs, sea_orm::Order::Desc)
        .order_by(partner_key::Column::Id, sea_orm::Order::Desc)
        .limit(1)
        .to_owned();
    let result = partner_key::Entity::update_many()
        .col_expr(
            partner_key::Column::RevokedAtMs,
            sea_orm::sea_query::Expr::value(now_ms()),
        )
        .filter(partner_key::Column::TenantId.eq(tenant_id.0))
        .filter(partner_key::Column::RevokedAtMs.is_null())
        .filter(partner_key::Column::Id.not_in_subquery(newest))
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
    crate::store::unique_row(tenant::Entity::find_by_id(id.0), db).await
}

/// The tenants of `ids` that exist, by id.
///
/// # Errors
/// Database errors.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, tenant::Model>, DbErr> {
    let rows = tenant::Entity::find()
        .filter(tenant::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.id, row)).collect())
}

/// Stores a (sealed) Ashby API key with what is known of it (`checked_at_ms`: when
/// Ashby was asked). Returns false when the tenant does not exist.
///
/// # Errors
/// Database errors.
pub async fn set_ashby_key(
    db: &impl ConnectionTrait,
    id: TenantId,
    sealed: String,
    status: AshbyKeyStatus,
    checked_at_ms: Option<i64>,
) -> Result<bool, DbErr> {
    let result = tenant::Entity::update_many()
        .col_expr(tenant::Column::AshbyApiKeySealed, Expr::value(sealed))
        .col_expr(tenant::Column::AshbyKeyStatus, Expr::value(status.as_str()))
        .col_expr(
            tenant::Column::AshbyKeyCheckedAtMs,
            Expr::value(checked_at_ms),
        )
        .col_expr(
            tenant::Column::AshbyKeyError,
            Expr::value(Option::<String>::None),
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
    let select = tenant::Entity::find()
        .inner_join(partner_key::Entity)
        .filter(partner_key::Column::KeyHash.eq(key_hash))
        .filter(partner_key::Column::RevokedAtMs.is_null());
    crate::store::unique_row(select, db).await
}

/// The one place a tenant row is decoded.
///
/// # Errors
/// A key status that is not one of ours ([`super::unreadable`]).
pub fn decode(row: tenant::Model) -> Result<Tenant, DbErr> {
    let key_status = AshbyKeyStatus::parse(&row.ashby_key_status).ok_or_else(|| {
        super::unreadable(
            format!("tenant {} column ashby_key_status", row.id),
            &row.ashby_key_status,
        )
    })?;
    Ok(Tenant {
        id: TenantId(row.id),
        name: row.name,
        external_id: row.external_id,
        disabled: row.disabled,
        created_at_ms: row.created_at_ms,
        ashby_base_url: row.ashby_base_url,
        has_ashby_key: row.ashby_api_key_sealed.is_some(),
        key_status,
        key_checked_at_ms: row.ashby_key_checked_at_ms,
        key_error: row.ashby_key_error,
        last_delivered_at_ms: row.last_delivered_at_ms,
        last_delivery_error: row.last_delivery_error,
    })
}

/// A tenant with its key count, catalog and delivery counts.
///
/// # Errors
/// Database errors.
pub async fn overview(
    db: &impl ConnectionTrait,
    id: TenantId,
) -> Result<Option<TenantOverview>, DbErr> {
    match find(db, id).await? {
        Some(row) => Ok(Some(overview_of(db, decode(row)?).await?)),
        None => Ok(None),
    }
}

async fn overview_of(db: &impl ConnectionTrait, tenant: Tenant) -> Result<TenantOverview, DbErr> {
    use entity::delivery;
    let partner_keys = partner_key::Entity::find()
        .filter(partner_key::Column::TenantId.eq(tenant.id.0))
        .filter(partner_key::Column::RevokedAtMs.is_null())
        .count(db)
        .await?;
    let count = |status: DeliveryStatus| {
        delivery::Entity::find()
            .filter(delivery::Column::TenantId.eq(tenant.id.0))
            .filter(delivery::Column::Status.eq(status.as_str()))
            .count(db)
    };
    let pending_deliveries = count(DeliveryStatus::Pending).await?;
    let dead_deliveries = count(DeliveryStatus::Dead).await?;
    let own_catalog = has_own_catalog(db, tenant.id).await?;
    let webhooks = super::ashby_webhooks::status_of(db, tenant.id).await?;
    Ok(TenantOverview {
        tenant,
        partner_keys,
        own_catalog,
        webhooks,
        pending_deliveries,
        dead_deliveries,
    })
}

/// Whether the tenant has its own catalog of assessment types (`tenant_catalogs`).
///
/// # Errors
/// Database errors, or a stored catalog that does not decode.
pub async fn has_own_catalog(db: &impl ConnectionTrait, id: TenantId) -> Result<bool, DbErr> {
    Ok(super::catalogs::find(db, id)
        .await?
        .assessment_types
        .is_some())
}

/// A page of tenants, oldest first, after `(created_at_ms, id)`, optionally only the one
/// with an external id.
///
/// # Errors
/// Database errors.
pub async fn page(
    db: &impl ConnectionTrait,
    external_id: Option<&str>,
    after: Option<(i64, uuid::Uuid)>,
    limit: u64,
) -> Result<Vec<TenantOverview>, DbErr> {
    use sea_orm::{Condition, QuerySelect as _};
    let mut query = tenant::Entity::find();
    if let Some(external_id) = external_id {
        query = query.filter(tenant::Column::ExternalId.eq(external_id));
    }
    if let Some((created_at_ms, id)) = after {
        query = query.filter(
            Condition::any()
                .add(tenant::Column::CreatedAtMs.gt(created_at_ms))
                .add(
                    Condition::all()
                        .add(tenant::Column::CreatedAtMs.eq(created_at_ms))
                        .add(tenant::Column::Id.gt(id)),
                ),
        );
    }
    let rows = query
        .order_by_asc(tenant::Column::CreatedAtMs)
        .order_by_asc(tenant::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut page = Vec::with_capacity(rows.len());
    for row in rows {
        page.push(overview_of(db, decode(row)?).await?);
    }
    Ok(page)
}

/// The tenant with this external id.
///
/// # Errors
/// Database errors.
pub async fn find_by_external_id(
    db: &impl ConnectionTrait,
    external_id: &str,
) -> Result<Option<tenant::Model>, DbErr> {
    let select = tenant::Entity::find().filter(tenant::Column::ExternalId.eq(external_id));
    crate::store::unique_row(select, db).await
}

/// Applies a patch. Returns false when the tenant does not exist. An external id taken
/// by another tenant fails on the unique index.
///
/// # Errors
/// Database errors, a unique violation among them.
pub async fn update(
    db: &impl ConnectionTrait,
    id: TenantId,
    patch: &TenantPatch,
) -> Result<bool, DbErr> {
    if find(db, id).await?.is_none() {
        return Ok(false);
    }
    let mut update = tenant::Entity::update_many().filter(tenant::Column::Id.eq(id.0));
    let mut changed = false;
    if let Some(name) = &patch.name {
        update = update.col_expr(tenant::Column::Name, Expr::value(name.clone()));
        changed = true;
    }
    if let Some(external_id) = &patch.external_id {
        update = update.col_expr(tenant::Column::ExternalId, Expr::value(external_id.clone()));
        changed = true;
    }
    if let Some(disabled) = patch.disabled {
        update = update.col_expr(tenant::Column::Disabled, Expr::value(disabled));
        changed = true;
    }
    if let Some(base_url) = &patch.ashby_base_url {
        update = update.col_expr(tenant::Column::AshbyBaseUrl, Expr::value(base_url.clone()));
        changed = true;
    }
    if changed {
        update.exec(db).await?;
    }
    Ok(true)
}

/// Deletes a tenant; its keys, assessments, deliveries and their attempts go with it
/// (every tenant-scoped table references `tenants` with `ON DELETE CASCADE`). Returns
/// false when there was no such tenant.
///
/// # Errors
/// Database errors.
pub async fn delete(db: &impl ConnectionTrait, id: TenantId) -> Result<bool, DbErr> {
    let result = tenant::Entity::delete_many()
        .filter(tenant::Column::Id.eq(id.0))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records what Ashby said of the tenant's key when asked (`apiKey.info`).
///
/// # Errors
/// Database errors.
pub async fn record_key_check(
    db: &impl ConnectionTrait,
    id: TenantId,
    status: AshbyKeyStatus,
    error: Option<String>,
    checked_at_ms: i64,
) -> Result<(), DbErr> {
    tenant::Entity::update_many()
        .col_expr(tenant::Column::AshbyKeyStatus, Expr::value(status.as_str()))
        .col_expr(
            tenant::Column::AshbyKeyCheckedAtMs,
            Expr::value(checked_at_ms),
        )
        .col_expr(tenant::Column::AshbyKeyError, Expr::value(error))
        .filter(tenant::Column::Id.eq(id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Records what a finished delivery to Ashby says about the tenant's connection: a
/// success proves the key (`verified`), a 401/403 refusal rejects it with the reason,
/// another dead end is the tenant's last error.
///
/// # Errors
/// Database errors.
pub async fn record_ashby_outcome(
    db: &impl ConnectionTrait,
    id: TenantId,
    outcome: &AshbyOutcome,
    at_ms: i64,
) -> Result<(), DbErr> {
    let update = tenant::Entity::update_many().filter(tenant::Column::Id.eq(id.0));
    let update = match outcome {
        // Every delivery succeeding would otherwise write the tenant's row, and concurrent
        // deliveries of one tenant would queue on its lock: write only when something
        // changes, or when `last_delivered_at` is more than a second old.
        AshbyOutcome::Delivered => update
            .filter(
                sea_orm::Condition::any()
                    .add(tenant::Column::AshbyKeyStatus.ne(AshbyKeyStatus::Verified.as_str()))
                    .add(tenant::Column::AshbyKeyError.is_not_null())
                    .add(tenant::Column::LastDeliveryError.is_not_null())
                    .add(tenant::Column::LastDeliveredAtMs.is_null())
                    .add(tenant::Column::LastDeliveredAtMs.lt(at_ms - 1_000)),
            )
            .col_expr(
                tenant::Column::AshbyKeyStatus,
                Expr::value(AshbyKeyStatus::Verified.as_str()),
            )
            .col_expr(
                tenant::Column::AshbyKeyError,
                Expr::value(Option::<String>::None),
            )
            .col_expr(tenant::Column::LastDeliveredAtMs, Expr::value(at_ms))
            .col_expr(
                tenant::Column::LastDeliveryError,
                Expr::value(Option::<String>::None),
            ),
        AshbyOutcome::KeyRejected(reason) => update
            .col_expr(
                tenant::Column::AshbyKeyStatus,
                Expr::value(AshbyKeyStatus::Rejected.as_str()),
            )
            .col_expr(tenant::Column::AshbyKeyError, Expr::value(reason.clone()))
            .col_expr(tenant::Column::AshbyKeyCheckedAtMs, Expr::value(at_ms))
            .col_expr(
                tenant::Column::LastDeliveryError,
                Expr::value(reason.clone()),
            ),
        AshbyOutcome::Failed(reason) => update.col_expr(
            tenant::Column::LastDeliveryError,
            Expr::value(reason.clone()),
        ),
    };
    update.exec(db).await?;
    Ok(())
}

/// A partner key as an operator sees it: never the key, only its first characters.
#[derive(Debug, Clone)]
pub struct PartnerKeySummary {
    pub prefix: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// A tenant's partner keys, newest first, revoked ones included.
///
/// # Errors
/// Database errors.
pub async fn partner_keys(
    db: &impl ConnectionTrait,
    id: TenantId,
) -> Result<Vec<PartnerKeySummary>, DbErr> {
    Ok(partner_key::Entity::find()
        .filter(partner_key::Column::TenantId.eq(id.0))
        .order_by_desc(partner_key::Column::CreatedAtMs)
        .order_by_desc(partner_key::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| PartnerKeySummary {
            prefix: row.key_prefix,
            created_at_ms: row.created_at_ms,
            revoked_at_ms: row.revoked_at_ms,
        })
        .collect())
}

/// Tenants whose Ashby key status is one of `statuses`, oldest first, at most `limit`.
///
/// # Errors
/// Database errors.
pub async fn with_key_status(
    db: &impl ConnectionTrait,
    statuses: &[AshbyKeyStatus],
    limit: u64,
) -> Result<Vec<TenantOverview>, DbErr> {
    use sea_orm::QuerySelect as _;
    let rows = tenant::Entity::find()
        .filter(tenant::Column::AshbyKeyStatus.is_in(statuses.iter().map(|s| s.as_str())))
        .order_by_asc(tenant::Column::CreatedAtMs)
        .order_by_asc(tenant::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        found.push(overview_of(db, decode(row)?).await?);
    }
    Ok(found)
}

/// Tenants' ids and names, by name, at most `limit` (a picker, a row's label).
///
/// # Errors
/// Database errors.
pub async fn names(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<(TenantId, String)>, DbErr> {
    use sea_orm::QuerySelect as _;
    let rows: Vec<(uuid::Uuid, String)> = tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .column(tenant::Column::Name)
        .order_by_asc(tenant::Column::Name)
        .order_by_asc(tenant::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (TenantId(id), name))
        .collect())
}
