//! What a delivery is and where it stands. No IO.

use serde_json::Value;
use uuid::Uuid;

use super::ids::{AssessmentId, DeliveryId, TenantId};

/// One message in the outbox, as every layer above the store sees it: decoded once, in
/// `store/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub kind: DeliveryKind,
    pub tenant_id: TenantId,
    /// The assessment it is about (for `addCompletedToCandidate`: the id we gave it).
    pub assessment_id: AssessmentId,
    /// Its place in line among the deliveries to the same destination about the same
    /// assessment.
    pub position: i64,
    pub status: DeliveryStatus,
    /// Attempts spent (throttled ones aside); a replay resets it.
    pub attempts: i32,
    pub next_attempt_at_ms: i64,
    /// While a worker holds it: until when, and which claim.
    pub lease_until_ms: Option<i64>,
    pub lease_owner: Option<Uuid>,
    pub last_error: Option<String>,
    /// The body as stored (a vendor webhook's leaves the start request out).
    pub payload: Value,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
    pub idempotency_key: Option<String>,
    pub request_fingerprint: Option<String>,
    /// When its current run of retryable failures began.
    pub failing_since_ms: Option<i64>,
    /// The W3C `traceparent` of the span that queued it, when traces are exported.
    pub trace_parent: Option<String>,
}

/// One attempt to send a delivery, for the attempt log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1, 2, ... over the delivery's whole life (a replay does not restart it).
    pub number: i32,
    pub at_ms: i64,
    pub duration_ms: i64,
    pub http_status: Option<i32>,
    /// `delivered`, `retry`, `throttled` or `dead`.
    pub outcome: String,
    pub error: Option<String>,
}

/// What a delivery sends, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    AshbyUpdate,
    AshbyAddCompleted,
    VendorWebhook,
}

impl DeliveryKind {
    pub const ALL: [Self; 3] = [
        Self::AshbyUpdate,
        Self::AshbyAddCompleted,
        Self::VendorWebhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AshbyUpdate => "assessment.update",
            Self::AshbyAddCompleted => "assessment.addCompletedToCandidate",
            Self::VendorWebhook => "vendor.webhook",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Deliveries to the same destination about the same assessment go out in order;
    /// different destinations do not wait for each other.
    pub fn ordering_key(self, assessment_id: uuid::Uuid) -> String {
        let destination = match self {
            Self::AshbyUpdate | Self::AshbyAddCompleted => "ashby",
            Self::VendorWebhook => "vendor",
        };
        format!("{destination}:{assessment_id}")
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting to be sent, being sent, or waiting for its next attempt.
    Pending,
    Delivered,
    /// Given up: a permanent refusal, or `delivery.max_attempts` reached. `retry` revives it.
    Dead,
    /// A dead update that a later one of the same assessment already replaced in Ashby:
    /// replaying it would move Ashby backwards, so it is never sent. Final; not dead.
    Superseded,
    /// A dead delivery an operator chose not to send: final, and no longer counted as dead.
    Dismissed,
}

impl DeliveryStatus {
    /// Done with, for good: what retention may delete.
    pub const FINISHED: [Self; 3] = [Self::Delivered, Self::Dismissed, Self::Superseded];

    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Delivered,
        Self::Dead,
        Self::Dismissed,
        Self::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
            Self::Superseded => "superseded",
            Self::Dismissed => "dismissed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
