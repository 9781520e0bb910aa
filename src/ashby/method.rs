//! The RPC methods of Ashby's API that this server calls.

use crate::domain::delivery::DeliveryKind;

/// A method is called by POSTing to the tenant's Ashby base URL followed by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Update,
    AddCompletedToCandidate,
    /// Finds a candidate by email, for a completed assessment that names only an email.
    CandidateSearch,
    /// Registers a webhook for one event type (not a delivery: called when an operator
    /// sets up a tenant's webhooks).
    WebhookCreate,
    /// Says whether an API key works (and what it is): checks a tenant's key.
    ApiKeyInfo,
}

impl Method {
    pub fn path(self) -> &'static str {
        match self {
            Self::Update => "assessment.update",
            Self::AddCompletedToCandidate => "assessment.addCompletedToCandidate",
            Self::CandidateSearch => "candidate.search",
            Self::WebhookCreate => "webhook.create",
            Self::ApiKeyInfo => "apiKey.info",
        }
    }

    /// The method that sends a delivery of `kind`; `None` when it does not go to Ashby.
    pub fn for_delivery(kind: DeliveryKind) -> Option<Self> {
        match kind {
            DeliveryKind::AshbyUpdate => Some(Self::Update),
            DeliveryKind::AshbyAddCompleted => Some(Self::AddCompletedToCandidate),
            DeliveryKind::VendorWebhook => None,
        }
    }
}
