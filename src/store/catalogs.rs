//! Tenants' own catalogs: one row per tenant, JSON documents decoded into
//! [`TenantCatalog`] here and only here.

use entity::tenant_catalog;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait as _, QuerySelect as _};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{from_json_column, json_column, now_ms};
use crate::domain::catalog::{AssessmentType, CustomField, TenantCatalog};
use crate::domain::ids::{AssessmentTypeId, TenantId};

/// An assessment type as stored in the JSON documents.
#[derive(Serialize, Deserialize)]
struct StoredType {
    id: Uuid,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    active: bool,
}

impl From<StoredType> for AssessmentType {
    fn from(t: StoredType) -> Self {
        Self {
            id: AssessmentTypeId(t.id),
            name: t.name,
            description: t.description,
            active: t.active,
        }
    }
}

impl From<&AssessmentType> for StoredType {
    fn from(t: &AssessmentType) -> Self {
        Self {
            id: t.id.0,
            name: t.name.clone(),
            description: t.description.clone(),
            active: t.active,
        }
    }
}

/// The tenant's catalog; a tenant that never had one reads as all-default.
///
/// # Errors
/// Database errors; a stored document that does not decode is "stored data unreadable".
pub async fn find(db: &impl ConnectionTrait, tenant: TenantId) -> Result<TenantCatalog, DbErr> {
    match crate::store::unique_row(tenant_catalog::Entity::find_by_id(tenant.0), db).await? {
        Some(row) => decode(row),
        None => Ok(TenantCatalog::default()),
    }
}

/// Whether the tenant exists, locking its row until the transaction ends (PostgreSQL; on
/// SQLite the write transaction already excludes other writers): changes to one tenant's
/// catalog are serialised.
///
/// # Errors
/// Database errors.
pub async fn lock_tenant(db: &impl ConnectionTrait, tenant: TenantId) -> Result<bool, DbErr> {
    let select = entity::tenant::Entity::find_by_id(tenant.0).lock_exclusive();
    Ok(crate::store::unique_row(select, db).await?.is_some())
}

/// Writes the tenant's catalog (inserting or replacing its row). The tenant must exist.
///
/// # Errors
/// Database errors.
pub async fn save(
    db: &impl ConnectionTrait,
    tenant: TenantId,
    catalog: &TenantCatalog,
) -> Result<(), DbErr> {
    let types = |list: &[AssessmentType]| -> Vec<StoredType> {
        list.iter().map(StoredType::from).collect()
    };
    let row = tenant_catalog::ActiveModel {
        tenant_id: Set(tenant.0),
        assessment_types: Set(catalog
            .assessment_types
            .as_deref()
            .map(|list| json_column(&types(list)))
            .transpose()?),
        custom_fields: Set(catalog
            .custom_fields
            .as_ref()
            .map(json_column)
            .transpose()?),
        retired_types: Set(json_column(&types(&catalog.retired_types))?),
        updated_at_ms: Set(now_ms()),
    };
    tenant_catalog::Entity::insert(row)
        .on_conflict(
            OnConflict::column(tenant_catalog::Column::TenantId)
                .update_columns([
                    tenant_catalog::Column::AssessmentTypes,
                    tenant_catalog::Column::CustomFields,
                    tenant_catalog::Column::RetiredTypes,
                    tenant_catalog::Column::UpdatedAtMs,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn decode(row: tenant_catalog::Model) -> Result<TenantCatalog, DbErr> {
    let tenant = row.tenant_id;
    let types = |value: serde_json::Value, column: &'static str| {
        from_json_column::<Vec<StoredType>>(value, || {
            format!("tenant_catalogs.{column} of tenant {tenant}")
        })
        .map(|list| {
            list.into_iter()
                .map(AssessmentType::from)
                .collect::<Vec<_>>()
        })
    };
    Ok(TenantCatalog {
        assessment_types: row
            .assessment_types
            .map(|value| types(value, "assessment_types"))
            .transpose()?,
        custom_fields: row
            .custom_fields
            .map(|value| {
                from_json_column::<Vec<CustomField>>(value, || {
                    format!("tenant_catalogs.custom_fields of tenant {tenant}")
                })
            })
            .transpose()?,
        retired_types: types(row.retired_types, "retired_types")?,
    })
}
