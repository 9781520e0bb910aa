//! While a pause lasts, nothing is sent to Ashby for its tenant (or, for the partner-wide
//! pause, for any tenant): Ashby asked us to slow down.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_pauses")]
pub struct Model {
    /// `partner`, or `tenant:<id>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    /// Null for the partner-wide pause.
    pub tenant_id: Option<Uuid>,
    pub until_ms: i64,
    pub reason: String,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
