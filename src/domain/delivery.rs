//! What a delivery is and where it stands. No IO.

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
