//! Bodies we send to Ashby (or embed in answers to it), spelled as Ashby's schemas spell
//! them: snake_case for `assessment.update`.

use serde::Serialize;

use crate::domain::ids::AssessmentId;

/// Ashby's data block: one typed value with a stable identifier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataBlock {
    pub identifier: String,
    pub label: String,
    #[serde(rename = "type")]
    pub value_type: &'static str,
    pub value: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl DataBlock {
    /// The `status` block Ashby shows as the assessment's status ("Started", ...).
    pub fn status(label: &str) -> Self {
        Self {
            identifier: "status".into(),
            label: "Status".into(),
            value_type: "string",
            value: serde_json::Value::String(label.to_owned()),
            description: None,
        }
    }
}

/// The body of `assessment.update` (also `update_request` in a start answer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateRequest {
    pub assessment_id: AssessmentId,
    /// Milliseconds since the epoch; strictly increasing per assessment.
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment_status: Option<DataBlock>,
}
