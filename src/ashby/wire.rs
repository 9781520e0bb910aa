//! Bodies we send to Ashby (or embed in answers to it), spelled exactly as Ashby's
//! schemas spell them: snake_case for `assessment.update`, camelCase for
//! `assessment.addCompletedToCandidate`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::domain::data_block::DataBlock;
use crate::domain::ids::{AssessmentId, AssessmentTypeId};

/// What an `assessment.update` says, apart from which assessment and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment_status: Option<DataBlock>,
    /// Its presence tells Ashby the assessment is complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment_result: Option<DataBlock>,
    /// Required with a result: a `url` block linking to the result on the vendor's site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment_profile_url: Option<DataBlock>,
    /// Its presence tells Ashby the assessment is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_reason: Option<DataBlock>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<DataBlock>,
}

/// The body of `assessment.update` (also `update_request` in a start answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRequest {
    pub assessment_id: AssessmentId,
    /// Milliseconds since the epoch; strictly increasing per assessment.
    pub timestamp: i64,
    #[serde(flatten)]
    pub fields: UpdateFields,
}

/// The body of `assessment.addCompletedToCandidate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddCompletedRequest {
    pub candidate_id: Uuid,
    pub partner_id: Uuid,
    pub timestamp: i64,
    pub assessment: CompletedAssessment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletedAssessment {
    pub assessment_type_id: AssessmentTypeId,
    pub assessment_id: AssessmentId,
    pub assessment_name: String,
    pub result: DataBlock,
    pub metadata: Vec<DataBlock>,
}
