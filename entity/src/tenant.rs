//! A tenant is one customer organisation that uses Ashby.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// The tenant's Ashby API key, sealed with the server's AEAD key. Never plaintext.
    pub ashby_api_key_sealed: Option<String>,
    /// Overrides `ashby.base_url` for this tenant.
    pub ashby_base_url: Option<String>,
    pub created_at_ms: i64,
    /// The vendor's own id for this customer; unique when set.
    pub external_id: Option<String>,
    /// A disabled tenant is refused by the partner endpoints; its deliveries wait.
    pub disabled: bool,
    /// `unset`, `unverified`, `verified` or `rejected`.
    pub ashby_key_status: String,
    pub ashby_key_checked_at_ms: Option<i64>,
    /// Why Ashby rejected the key, when it did.
    pub ashby_key_error: Option<String>,
    pub last_delivered_at_ms: Option<i64>,
    pub last_delivery_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::partner_key::Entity")]
    PartnerKey,
    #[sea_orm(has_many = "super::assessment::Entity")]
    Assessment,
}

impl Related<super::partner_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PartnerKey.def()
    }
}

impl Related<super::assessment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assessment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
