//! A tenant's own catalog (assessment types, custom fields), as JSON documents.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_catalogs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// NULL: the default `[[assessment_types]]` apply.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub assessment_types: Option<Json>,
    /// NULL: the default `[[custom_fields]]` apply.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub custom_fields: Option<Json>,
    /// Types no longer offered, kept so their assessments keep a name.
    #[sea_orm(column_type = "JsonBinary")]
    pub retired_types: Json,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenant::Entity",
        from = "Column::TenantId",
        to = "super::tenant::Column::Id"
    )]
    Tenant,
}

impl Related<super::tenant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
