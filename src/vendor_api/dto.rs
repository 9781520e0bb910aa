//! The bodies the vendor API answers with, beside `representation.rs`'s Assessment and
//! Delivery; the OpenAPI document (`openapi.rs`) describes them from these types.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::representation::{Assessment, Delivery};

/// `{"error": {"code", "message"}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct AssessmentType {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AssessmentTypeList {
    pub data: Vec<AssessmentType>,
}

#[derive(Serialize, ToSchema)]
pub struct AssessmentPage {
    pub data: Vec<Assessment>,
    /// After the last row of a non-empty page; null when the page is empty (caught up).
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryList {
    pub data: Vec<Delivery>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub data: Vec<Delivery>,
    /// After the last row of a full page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RetriedDeliveries {
    /// Dead deliveries put back in line.
    pub retried: u64,
    /// Dead updates older than a delivered one, marked superseded instead (always 0 for now).
    pub superseded: u64,
}

/// Accepted for delivery as `assessment.addCompletedToCandidate`.
#[derive(Serialize, ToSchema)]
pub struct CompletedAccepted {
    /// The id given to the completed assessment (Ashby's `assessmentId`).
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub candidate_id: Option<Uuid>,
    /// Set when the candidate is to be looked up by email at delivery time.
    pub candidate_email: Option<String>,
    pub assessment_type_id: Uuid,
    pub delivery: Delivery,
}

#[derive(Serialize, ToSchema)]
pub struct CandidateSession {
    pub assessment_id: Uuid,
    pub status: crate::domain::lifecycle::AssessmentStatus,
    pub assessment_type: CandidateSessionType,
    pub candidate: CandidateSessionPerson,
}

#[derive(Serialize, ToSchema)]
pub struct CandidateSessionType {
    pub id: Uuid,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CandidateSessionPerson {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}
