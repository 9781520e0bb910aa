//! A tenant's Ashby webhook set-up: the sealed secret and how the webhooks were created.

use entity::ashby_webhook;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait as _};

use super::now_ms;
use crate::domain::ids::TenantId;

/// How a tenant's Ashby webhooks were set up (CONTRACT §10 `ashby.webhooks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Created through Ashby's `webhook.create`.
    Registered,
    /// To be created by hand: the tenant's Ashby key lacks the permission.
    Manual,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Manual => "manual",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "registered" => Some(Self::Registered),
            "manual" => Some(Self::Manual),
            _ => None,
        }
    }
}

/// A tenant's stored set-up.
#[derive(Debug, Clone)]
pub struct StoredWebhooks {
    pub secret_sealed: String,
    pub status: WebhookStatus,
}

/// The tenant's set-up, if it has one.
///
/// # Errors
/// Database errors; a status that is neither spelling is stored data unreadable.
pub async fn find(
    db: &impl ConnectionTrait,
    tenant: TenantId,
) -> Result<Option<StoredWebhooks>, DbErr> {
    let Some(row) = super::unique_row(ashby_webhook::Entity::find_by_id(tenant.0), db).await?
    else {
        return Ok(None);
    };
    let status = WebhookStatus::parse(&row.status).ok_or_else(|| {
        super::unreadable(
            format!("ashby_webhooks {tenant} column status"),
            &row.status,
        )
    })?;
    Ok(Some(StoredWebhooks {
        secret_sealed: row.secret_sealed,
        status,
    }))
}

/// `"unset"`, `"registered"` or `"manual"`, for the Tenant body (CONTRACT §10).
///
/// # Errors
/// See [`find`].
pub async fn status_of(db: &impl ConnectionTrait, tenant: TenantId) -> Result<&'static str, DbErr> {
    Ok(find(db, tenant)
        .await?
        .map_or("unset", |stored| stored.status.as_str()))
}

/// Stores the set-up, replacing the previous one (the creation time is kept).
///
/// # Errors
/// Database errors (a tenant that does not exist violates the foreign key).
pub async fn save(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    secret_sealed: &str,
    status: WebhookStatus,
) -> Result<(), DbErr> {
    let now = now_ms();
    let row = ashby_webhook::Model {
        tenant_id: tenant.0,
        secret_sealed: secret_sealed.to_owned(),
        status: status.as_str().to_owned(),
        created_at_ms: now,
        updated_at_ms: now,
    };
    ashby_webhook::Entity::insert(ashby_webhook::ActiveModel::from(row))
        .on_conflict(
            OnConflict::column(ashby_webhook::Column::TenantId)
                .update_columns([
                    ashby_webhook::Column::SecretSealed,
                    ashby_webhook::Column::Status,
                    ashby_webhook::Column::UpdatedAtMs,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(drop)
}
