//! Operations on assessments, shared by every HTTP surface: each one a database
//! transaction around a lifecycle decision, with its outbox rows.

mod cancel;
mod completed;
mod start;
mod transition;
mod vendor_event;

pub use cancel::{CancelOutcome, cancel_by_ashby};
pub use completed::{CompletedError, NewCompletedAssessment, add_completed_assessment};
pub use start::{StartOutcome, check_additional_fields, start_assessment};
pub use vendor_event::{EventOutcome, record_vendor_event};

use crate::candidate_links::CandidateLinks;

/// What writing outgoing messages needs beyond the database.
#[derive(Clone)]
pub struct Outbound {
    pub candidate_links: CandidateLinks,
    /// Whether `vendor.webhook_url` is set: webhooks are only queued when it is.
    pub vendor_webhooks: bool,
}
