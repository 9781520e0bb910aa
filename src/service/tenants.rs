//! Onboarding customer organisations and keeping their keys.

use sea_orm::{DatabaseConnection, DbErr};
use secrecy::SecretString;

use crate::crypto::{SealError, Sealer, issue_partner_key};
use crate::domain::ids::TenantId;
use crate::store::{self, tenants};

/// A customer organisation to onboard; the values already checked at the edge.
pub struct NewTenant {
    pub name: String,
    pub ashby_api_key: Option<SecretString>,
    /// Ashby's API base URL for this tenant, when not `ashby.base_url`.
    pub ashby_base_url: Option<String>,
}

/// A tenant just created, with its first partner key — the only time it is shown.
pub struct Onboarded {
    pub id: TenantId,
    pub name: String,
    pub partner_api_key: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("no tenant with id {0}")]
    NotFound(TenantId),
    #[error("cannot encrypt the Ashby API key: {0}")]
    Seal(#[from] SealError),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Creates a tenant with its first partner key (only its hash is stored) and, when
/// given, its Ashby API key (sealed), in one transaction.
///
/// # Errors
/// The key cannot be sealed, or database errors.
pub async fn onboard_tenant(
    db: &DatabaseConnection,
    sealer: &Sealer,
    new: NewTenant,
) -> Result<Onboarded, TenantError> {
    use secrecy::ExposeSecret as _;
    let id = TenantId::new_random();
    let sealed = new
        .ashby_api_key
        .map(|key| sealer.seal_ashby_key(key.expose_secret(), id))
        .transpose()?;
    let key = issue_partner_key();
    let txn = store::begin_write(db).await?;
    let tenant = tenants::create(&txn, id, &new.name, sealed, new.ashby_base_url, &key).await?;
    txn.commit().await?;
    Ok(Onboarded {
        id,
        name: tenant.name,
        partner_api_key: key.plaintext,
    })
}

/// Stores a tenant's Ashby API key, sealed.
///
/// # Errors
/// No such tenant, the key cannot be sealed, or database errors.
pub async fn set_ashby_key(
    db: &DatabaseConnection,
    sealer: &Sealer,
    id: TenantId,
    key: &SecretString,
) -> Result<(), TenantError> {
    use secrecy::ExposeSecret as _;
    let sealed = sealer.seal_ashby_key(key.expose_secret(), id)?;
    if tenants::set_ashby_key(db, id, sealed).await? {
        Ok(())
    } else {
        Err(TenantError::NotFound(id))
    }
}
