//! The domain: typed ids, the assessment lifecycle, parsed requests. No IO here.

pub mod catalog;
pub mod data_block;
pub mod delivery;
pub mod ids;
pub mod json_text;
pub mod lifecycle;
pub mod start_request;
pub mod text;
pub mod vendor_event;
