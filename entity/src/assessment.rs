//! One assessment Ashby started for a candidate, with everything we know about it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assessments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub assessment_type_id: Uuid,
    /// `application.ashby_id` from the start request: with the tenant and the type it
    /// identifies "the same start" for idempotency.
    pub application_ashby_id: String,
    pub candidate_ashby_id: String,
    /// `started`, `in_progress`, `completed`, `cancelled` or `expired`.
    pub status: String,
    /// The whole `assessment.start` body as Ashby sent it, unknown fields included.
    #[sea_orm(column_type = "JsonBinary")]
    pub start_request: Json,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub result: Option<Json>,
    pub profile_url: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub metadata: Option<Json>,
    /// Every status change: `[{"status", "at_ms", "source"}]`, oldest first.
    #[sea_orm(column_type = "JsonBinary")]
    pub history: Json,
    /// The `timestamp` of the last update reported to Ashby; the next one must be larger.
    pub last_update_ms: i64,
    /// The vendor event that made the assessment terminal, normalised: an exact repeat
    /// of it is answered 200 without a new delivery.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub terminal_event: Option<Json>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// `candidate.email` of the start request, lower-cased: support looks candidates up by it.
    pub candidate_email: Option<String>,
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
