//! The domain: typed ids, the assessment lifecycle, parsed requests. No IO here, and no
//! ATS: nothing in `domain/` imports anything outside it.

pub mod assessment;
pub mod catalog;
pub mod data_block;
pub mod delivery;
pub mod erasure;
pub mod ids;
pub mod json_text;
pub mod lifecycle;
pub mod report;
pub mod start_request;
pub mod status;
pub mod tenant;
pub mod text;
pub mod vendor_event;
