//! The outbox: one message to deliver (to Ashby or to the vendor), written in the same
//! transaction as the state change that caused it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `assessment.update`, `assessment.addCompletedToCandidate` or `vendor.webhook`.
    pub kind: String,
    pub tenant_id: Uuid,
    /// The assessment this is about (for addCompletedToCandidate: the id we gave it).
    pub assessment_id: Uuid,
    /// Deliveries with the same key go out in `position` order, one at a time.
    pub ordering_key: String,
    pub position: i64,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at_ms: i64,
    /// Set while a worker sends it; another worker may take it once this has passed.
    pub lease_until_ms: Option<i64>,
    pub lease_owner: Option<Uuid>,
    pub last_error: Option<String>,
    /// The exact body to send.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub created_at_ms: i64,
    /// When its status or schedule last changed (retention dates settled rows by it); a
    /// lease is no change.
    pub updated_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
    /// The vendor's `Idempotency-Key`, unique per tenant, for deliveries it asked for.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request that carried the key: a reuse with another body is refused.
    pub request_fingerprint: Option<String>,
    /// When its current run of retryable failures began (throttling aside): it goes dead
    /// once that is `delivery.retry_for` ago. Cleared by a replay.
    pub failing_since_ms: Option<i64>,
    /// The W3C `traceparent` of the span that queued it (only when traces are exported):
    /// each attempt's span links to it.
    pub trace_parent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::delivery_attempt::Entity")]
    DeliveryAttempt,
}

impl Related<super::delivery_attempt::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DeliveryAttempt.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
