//! The domain: typed ids, the assessment lifecycle, parsed requests. No IO here.

pub mod catalog;
pub mod ids;
pub mod lifecycle;
pub mod start_request;
