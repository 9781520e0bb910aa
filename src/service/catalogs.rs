//! Which catalog applies to a tenant, and changing a tenant's own catalog.
//!
//! The calls Ashby makes read the tenant's catalog through the in-process lookup cache
//! ([`cached_catalog_for`]): a change made on another replica is seen within
//! `server.lookup_cache_ms` (at most 1 s), one made here at once (the change forgets the
//! cache). The vendor API reads it from the database every time.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::domain::catalog::{AssessmentType, Catalog, CustomField, TenantCatalog};
use crate::domain::ids::TenantId;
use crate::lookup_cache::LookupCache;
use crate::store::{self, catalogs, tenants};

/// The catalog that applies to `tenant`: its own parts where it has them, else the
/// default (`[[assessment_types]]`, `[[custom_fields]]`). The one place this is decided:
/// `assessment.list`, the custom-field listing, `assessment.start` and the vendor API's
/// type names all ask here.
///
/// # Errors
/// Database errors, or a stored catalog that does not decode.
pub async fn catalog_for(
    db: &impl ConnectionTrait,
    default: &Catalog,
    tenant: TenantId,
) -> Result<Catalog, DbErr> {
    Ok(catalogs::find(db, tenant).await?.applied_over(default))
}

/// [`catalog_for`], served from `lookups` when read there within its bound.
///
/// # Errors
/// Database errors, or a stored catalog that does not decode.
pub async fn cached_catalog_for(
    db: &impl ConnectionTrait,
    lookups: &LookupCache,
    default: &Catalog,
    tenant: TenantId,
) -> Result<Arc<Catalog>, DbErr> {
    if let Some(catalog) = lookups.catalog(tenant) {
        return Ok(catalog);
    }
    let catalog = Arc::new(catalog_for(db, default, tenant).await?);
    lookups.remember_catalog(tenant, Arc::clone(&catalog));
    Ok(catalog)
}

/// One of the two parts of a tenant's catalog.
pub enum CatalogChange {
    /// Replace the tenant's own types (`None`: back to the default).
    AssessmentTypes(Option<Vec<AssessmentType>>),
    /// Replace the tenant's own custom fields (`None`: back to the default).
    CustomFields(Option<Vec<CustomField>>),
}

/// Reads a tenant's catalog for the vendor API. `None` when there is no such tenant.
///
/// # Errors
/// Database errors, or a stored catalog that does not decode.
pub async fn tenant_catalog(
    db: &DatabaseConnection,
    default: &Catalog,
    tenant: TenantId,
) -> Result<Option<(TenantCatalog, Catalog)>, DbErr> {
    if tenants::find(db, tenant).await?.is_none() {
        return Ok(None);
    }
    let own = catalogs::find(db, tenant).await?;
    let applied = own.applied_over(default);
    Ok(Some((own, applied)))
}

/// Applies a (validated) change to a tenant's catalog; idempotent. Returns the tenant's
/// catalog afterwards, or `None` when there is no such tenant.
///
/// # Errors
/// Database errors, or a stored catalog that does not decode.
pub async fn change_tenant_catalog(
    db: &DatabaseConnection,
    default: &Catalog,
    tenant: TenantId,
    change: CatalogChange,
) -> Result<Option<(TenantCatalog, Catalog)>, DbErr> {
    // One write transaction: two concurrent changes must not lose each other's retired
    // types (SQLite: BEGIN IMMEDIATE; PostgreSQL: the row lock of the tenant).
    let txn = store::begin_write(db).await?;
    if !catalogs::lock_tenant(&txn, tenant).await? {
        return Ok(None);
    }
    let mut own = catalogs::find(&txn, tenant).await?;
    match change {
        CatalogChange::AssessmentTypes(types) => own.replace_types(types, default),
        CatalogChange::CustomFields(fields) => own.custom_fields = fields,
    }
    catalogs::save(&txn, tenant, &own).await?;
    txn.commit().await?;
    let applied = own.applied_over(default);
    Ok(Some((own, applied)))
}
