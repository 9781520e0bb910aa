//! What the ATS should be told when an assessment changes, in no ATS's words. The
//! lifecycle decides a report; each ATS module (`ashby/updates.rs`) turns it into that
//! ATS's body.

use super::data_block::DataBlock;
use super::status::AssessmentStatus;
use super::vendor_event::VendorEvent;

/// One status report about one assessment (which one, and when, the service adds).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub status: AssessmentStatus,
    /// The score or verdict; only with `Completed`.
    pub result: Option<DataBlock>,
    /// Where the candidate's results can be seen on the vendor's site.
    pub profile_url: Option<String>,
    /// Why it ended early, as the vendor worded it; only with `Cancelled` or `Expired`.
    pub reason: Option<String>,
    /// Anything else the vendor reports (progress, sections, proctoring flags, ...).
    pub metadata: Vec<DataBlock>,
}

impl StatusReport {
    /// Just the status, with nothing else (the answer to a start, say).
    pub fn status_only(status: AssessmentStatus) -> Self {
        Self {
            status,
            result: None,
            profile_url: None,
            reason: None,
            metadata: Vec::new(),
        }
    }

    /// Everything a vendor event says, for the ATS.
    pub fn of_vendor_event(event: &VendorEvent) -> Self {
        Self {
            status: event.status.status(),
            result: event.result.clone(),
            profile_url: event.profile_url.clone(),
            reason: event.reason.clone(),
            metadata: event.metadata.clone(),
        }
    }
}
