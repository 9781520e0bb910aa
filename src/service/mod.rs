//! Operations on assessments, shared by every HTTP surface: each one a database
//! transaction around a lifecycle decision.

mod cancel;
mod start;

pub use cancel::{CancelOutcome, cancel_by_ashby};
pub use start::{StartOutcome, start_assessment};
