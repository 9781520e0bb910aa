//! Onboarding customer organisations and managing them: their partner keys, their Ashby
//! key (checked with Ashby), enabling, disabling and erasing them. Each use case once,
//! for the vendor API and the command line alike.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr, SqlErr};
use secrecy::{ExposeSecret as _, SecretString};

use crate::ashby::client::AshbyClient;
use crate::crypto::{SealError, Sealer, issue_partner_key};
use crate::domain::ids::TenantId;
use crate::domain::tenant::{AshbyKeyStatus, TenantOverview, TenantPatch};
use crate::outgoing::CallOutcome;
use crate::settings::Settings;
use crate::store::{self, tenants};

/// A customer organisation to onboard; the values already checked at the edge.
pub struct NewTenant {
    pub name: String,
    pub ashby_api_key: Option<SecretString>,
    /// Ashby's API base URL for this tenant, when not `ashby.base_url`.
    pub ashby_base_url: Option<String>,
    /// The vendor's own id for the customer; unique.
    pub external_id: Option<String>,
}

/// A tenant just created, with its first partner key — the only time it is shown.
pub struct Onboarded {
    pub id: TenantId,
    pub name: String,
    pub partner_api_key: SecretString,
    pub tenant: TenantOverview,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("no tenant with id {0}")]
    NotFound(TenantId),
    #[error("another tenant already has external_id {0:?}")]
    ExternalIdTaken(String),
    #[error("Ashby rejected the API key: {0}")]
    KeyRejected(String),
    #[error("tenant {0} has no Ashby API key to check: set one first")]
    NoAshbyKey(TenantId),
    #[error("cannot encrypt the Ashby API key: {0}")]
    Seal(#[from] SealError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Asks Ashby whether a key works: the HTTP client and the default base URL.
pub struct AshbyKeyCheck {
    client: AshbyClient,
    default_base_url: String,
}

impl AshbyKeyCheck {
    /// # Errors
    /// The HTTP client cannot be built (TLS initialisation).
    pub fn new(settings: &Settings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: AshbyClient::new(Duration::from_millis(settings.delivery.request_timeout_ms))?,
            default_base_url: settings.ashby.base_url.clone(),
        })
    }
}

/// Creates a tenant with its first partner key (only its hash is stored) and, when
/// given, its Ashby API key (sealed; `unverified` until checked), in one transaction.
///
/// # Errors
/// [`TenantError::ExternalIdTaken`], the key cannot be sealed, or database errors.
pub async fn onboard_tenant(
    db: &DatabaseConnection,
    sealer: &Sealer,
    new: NewTenant,
) -> Result<Onboarded, TenantError> {
    let id = TenantId::new_random();
    let sealed = new
        .ashby_api_key
        .map(|key| sealer.seal_ashby_key(key.expose_secret(), id))
        .transpose()?;
    let key = issue_partner_key();
    let txn = store::begin_write(db).await?;
    if let Some(external_id) = &new.external_id
        && tenants::find_by_external_id(&txn, external_id)
            .await?
            .is_some()
    {
        return Err(TenantError::ExternalIdTaken(external_id.clone()));
    }
    let tenant = tenants::create(&txn, id, &new.name, sealed, new.ashby_base_url, &key).await?;
    if new.external_id.is_some() {
        let patch = TenantPatch {
            external_id: Some(new.external_id.clone()),
            ..TenantPatch::default()
        };
        tenants::update(&txn, id, &patch)
            .await
            .map_err(|e| taken_or(e, new.external_id.as_deref()))?;
    }
    let overview = tenants::overview(&txn, id)
        .await?
        .ok_or(TenantError::NotFound(id))?;
    txn.commit()
        .await
        .map_err(|e| taken_or(e, new.external_id.as_deref()))?;
    Ok(Onboarded {
        id,
        name: tenant.name,
        partner_api_key: key.plaintext,
        tenant: overview,
    })
}

/// A unique violation on the external id (two concurrent creates) is a conflict.
fn taken_or(error: DbErr, external_id: Option<&str>) -> TenantError {
    match (error.sql_err(), external_id) {
        (Some(SqlErr::UniqueConstraintViolation(_)), Some(id)) => {
            TenantError::ExternalIdTaken(id.to_owned())
        }
        _ => TenantError::Database(error),
    }
}

/// A page of tenants, oldest first, after `after` (`(created_at_ms, id)` of the last one
/// seen); only the one with `external_id` when given.
///
/// # Errors
/// Database errors.
pub async fn list_tenants(
    db: &DatabaseConnection,
    external_id: Option<&str>,
    after: Option<(i64, uuid::Uuid)>,
    limit: u64,
) -> Result<Vec<TenantOverview>, TenantError> {
    Ok(tenants::page(db, external_id, after, limit).await?)
}

/// # Errors
/// [`TenantError::NotFound`], or database errors.
pub async fn show_tenant(
    db: &DatabaseConnection,
    id: TenantId,
) -> Result<TenantOverview, TenantError> {
    tenants::overview(db, id)
        .await?
        .ok_or(TenantError::NotFound(id))
}

/// Renames, re-identifies, disables or enables a tenant, or points it at another Ashby.
/// Disabling is immediate: the partner endpoints refuse it and its deliveries wait;
/// enabling lets them go again.
///
/// # Errors
/// [`TenantError::NotFound`], [`TenantError::ExternalIdTaken`], or database errors.
pub async fn update_tenant(
    db: &DatabaseConnection,
    id: TenantId,
    patch: TenantPatch,
) -> Result<TenantOverview, TenantError> {
    let external_id = patch.external_id.clone().flatten();
    let txn = store::begin_write(db).await?;
    if let Some(wanted) = &external_id
        && let Some(holder) = tenants::find_by_external_id(&txn, wanted).await?
        && holder.id != id.0
    {
        return Err(TenantError::ExternalIdTaken(wanted.clone()));
    }
    if !tenants::update(&txn, id, &patch)
        .await
        .map_err(|e| taken_or(e, external_id.as_deref()))?
    {
        return Err(TenantError::NotFound(id));
    }
    let overview = tenants::overview(&txn, id)
        .await?
        .ok_or(TenantError::NotFound(id))?;
    txn.commit()
        .await
        .map_err(|e| taken_or(e, external_id.as_deref()))?;
    Ok(overview)
}

/// Erases a tenant and everything of it: keys, assessments, deliveries and their
/// attempts. Nothing more is sent for it.
///
/// # Errors
/// [`TenantError::NotFound`], or database errors.
pub async fn delete_tenant(db: &DatabaseConnection, id: TenantId) -> Result<(), TenantError> {
    let txn = store::begin_write(db).await?;
    if !tenants::delete(&txn, id).await? {
        return Err(TenantError::NotFound(id));
    }
    txn.commit().await?;
    Ok(())
}

/// Issues a new partner key; older keys keep working until revoked.
///
/// # Errors
/// [`TenantError::NotFound`], or database errors.
pub async fn rotate_partner_key(
    db: &DatabaseConnection,
    id: TenantId,
) -> Result<SecretString, TenantError> {
    let txn = store::begin_write(db).await?;
    if tenants::find(&txn, id).await?.is_none() {
        return Err(TenantError::NotFound(id));
    }
    let key = issue_partner_key();
    tenants::add_key(&txn, id, &key).await?;
    txn.commit().await?;
    Ok(key.plaintext)
}

/// Revokes every partner key of a tenant but the newest; returns how many.
///
/// # Errors
/// [`TenantError::NotFound`], or database errors.
pub async fn revoke_partner_keys(
    db: &DatabaseConnection,
    id: TenantId,
) -> Result<u64, TenantError> {
    store::in_write_transaction(db, async |txn| {
        if tenants::find(txn, id).await?.is_none() {
            return Err(TenantError::NotFound(id));
        }
        Ok(tenants::revoke_keys_except_newest(txn, id).await?)
    })
    .await
}

/// Stores a tenant's Ashby API key, sealed, without asking Ashby (`unverified`).
///
/// # Errors
/// No such tenant, the key cannot be sealed, or database errors.
pub async fn set_ashby_key(
    db: &DatabaseConnection,
    sealer: &Sealer,
    id: TenantId,
    key: &SecretString,
) -> Result<(), TenantError> {
    let sealed = sealer.seal_ashby_key(key.expose_secret(), id)?;
    store_ashby_key(db, id, sealed, AshbyKeyStatus::Unverified, None).await
}

/// What Ashby said of a key.
enum Verdict {
    Accepted,
    Rejected(String),
    /// Unreachable, 5xx, timeout: nothing is known.
    Unknown,
}

impl AshbyKeyCheck {
    async fn judge(&self, base_url: Option<&str>, key: &SecretString) -> Verdict {
        let base_url = base_url.unwrap_or(&self.default_base_url);
        match self.client.check_key(base_url, key).await {
            CallOutcome::Delivered { .. } => Verdict::Accepted,
            CallOutcome::Refused {
                status: Some(401 | 403),
                reason,
            } => Verdict::Rejected(reason),
            // Another refusal (`success: false`, say: `apiKey.info` needs the
            // `apiKeysRead` permission, which a key made for assessments may lack) does
            // not show that the key fails for what we send: nothing is known.
            CallOutcome::Refused { reason, .. }
            | CallOutcome::Retry { reason, .. }
            | CallOutcome::Throttled { reason, .. } => {
                tracing::warn!(%reason, "could not check an Ashby API key");
                Verdict::Unknown
            }
        }
    }
}

/// Replaces a tenant's Ashby API key after asking Ashby (`apiKey.info`): accepted →
/// stored, `verified`; refused → not stored; Ashby unreachable → stored, `unverified`.
///
/// # Errors
/// [`TenantError::NotFound`], [`TenantError::KeyRejected`], sealing or database errors.
pub async fn replace_ashby_key(
    db: &DatabaseConnection,
    sealer: &Sealer,
    check: &AshbyKeyCheck,
    id: TenantId,
    key: &SecretString,
) -> Result<TenantOverview, TenantError> {
    let tenant = tenants::find(db, id)
        .await?
        .ok_or(TenantError::NotFound(id))?;
    let status = match check.judge(tenant.ashby_base_url.as_deref(), key).await {
        Verdict::Accepted => AshbyKeyStatus::Verified,
        Verdict::Rejected(reason) => return Err(TenantError::KeyRejected(reason)),
        Verdict::Unknown => AshbyKeyStatus::Unverified,
    };
    let sealed = sealer.seal_ashby_key(key.expose_secret(), id)?;
    store_ashby_key(db, id, sealed, status, Some(store::now_ms())).await?;
    show_tenant(db, id).await
}

/// Asks Ashby again whether the stored key works and records the answer (`verified`,
/// `rejected` with the reason, or unchanged when Ashby cannot be reached).
///
/// # Errors
/// [`TenantError::NotFound`], [`TenantError::NoAshbyKey`], or database errors.
pub async fn verify_ashby_key(
    db: &DatabaseConnection,
    sealer: &Sealer,
    check: &AshbyKeyCheck,
    id: TenantId,
) -> Result<TenantOverview, TenantError> {
    let tenant = tenants::find(db, id)
        .await?
        .ok_or(TenantError::NotFound(id))?;
    let Some(sealed) = tenant.ashby_api_key_sealed.as_deref() else {
        return Err(TenantError::NoAshbyKey(id));
    };
    let key = sealer.open_ashby_key(sealed, id)?;
    let now = store::now_ms();
    match check.judge(tenant.ashby_base_url.as_deref(), &key).await {
        Verdict::Accepted => record_key_check(db, id, AshbyKeyStatus::Verified, None, now).await?,
        Verdict::Rejected(reason) => {
            record_key_check(db, id, AshbyKeyStatus::Rejected, Some(reason), now).await?;
        }
        Verdict::Unknown => {}
    }
    show_tenant(db, id).await
}

/// Stores a sealed key and what is known of it, in the process's queue of writers.
async fn store_ashby_key(
    db: &DatabaseConnection,
    id: TenantId,
    sealed: String,
    status: AshbyKeyStatus,
    checked_at_ms: Option<i64>,
) -> Result<(), TenantError> {
    let stored = store::in_write_transaction(db, async |txn| {
        tenants::set_ashby_key(txn, id, sealed, status, checked_at_ms).await
    })
    .await?;
    if stored {
        Ok(())
    } else {
        Err(TenantError::NotFound(id))
    }
}

/// Records what asking Ashby said of the key, in the process's queue of writers.
async fn record_key_check(
    db: &DatabaseConnection,
    id: TenantId,
    status: AshbyKeyStatus,
    reason: Option<String>,
    now_ms: i64,
) -> Result<(), DbErr> {
    store::in_write_transaction(db, async |txn| {
        tenants::record_key_check(txn, id, status, reason, now_ms).await
    })
    .await
}
