//! The vendor API's bodies (CONTRACT §5), built from rows; their OpenAPI schemas come
//! from the same types.

use entity::delivery;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::candidate_links::CandidateLinks;
use crate::domain::assessment::Assessment as StoredAssessment;
use crate::domain::data_block::DataBlock;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::lifecycle::Source;
use crate::domain::status::AssessmentStatus;
use crate::time::rfc3339;

/// An assessment as the vendor sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Assessment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub status: AssessmentStatus,
    pub assessment_type_id: Uuid,
    /// As Ashby sent it in `assessment.start`.
    #[schema(value_type = Object)]
    pub candidate: Value,
    #[schema(value_type = Object)]
    pub application: Value,
    #[schema(value_type = Object)]
    pub job: Value,
    /// Custom-field values keyed by custom field id.
    #[schema(value_type = Object)]
    pub additional_fields: Value,
    pub result: Option<DataBlock>,
    pub profile_url: Option<String>,
    pub metadata: Vec<DataBlock>,
    /// The candidate's link, when `vendor.candidate_url_template` is set.
    pub candidate_url: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub status: AssessmentStatus,
    pub at: String,
    pub source: Source,
}

/// One message to Ashby or to the vendor's webhook, and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    /// `assessment.update`, `assessment.addCompletedToCandidate` or `vendor.webhook`.
    pub kind: String,
    pub status: DeliveryStatus,
    pub assessment_id: Uuid,
    pub tenant_id: Uuid,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Set while pending.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// The exact body sent.
    #[schema(value_type = Object)]
    pub payload: Value,
}

pub fn assessment(stored: &StoredAssessment, links: &CandidateLinks) -> Assessment {
    Assessment {
        id: stored.id.0,
        tenant_id: stored.tenant_id.0,
        status: stored.status,
        assessment_type_id: stored.assessment_type_id.0,
        candidate: stored.start_part("candidate"),
        application: stored.start_part("application"),
        job: stored.start_part("job"),
        additional_fields: stored
            .start_request
            .get("additional_fields")
            .cloned()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        result: stored.result.clone(),
        profile_url: stored.profile_url.clone(),
        metadata: stored.metadata.clone(),
        candidate_url: links.url_for(stored.id, stored.created_at_ms),
        created_at: rfc3339(stored.created_at_ms),
        updated_at: rfc3339(stored.updated_at_ms),
        history: stored
            .history
            .iter()
            .map(|entry| HistoryEntry {
                status: entry.status,
                at: rfc3339(entry.at_ms),
                source: entry.source,
            })
            .collect(),
    }
}

pub fn delivery(row: &delivery::Model) -> Delivery {
    let status = match row.status.as_str() {
        "delivered" => DeliveryStatus::Delivered,
        "dead" => DeliveryStatus::Dead,
        "superseded" => DeliveryStatus::Superseded,
        _ => DeliveryStatus::Pending,
    };
    Delivery {
        id: row.id,
        kind: row.kind.clone(),
        status,
        assessment_id: row.assessment_id,
        tenant_id: row.tenant_id,
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        next_attempt_at: (status == DeliveryStatus::Pending)
            .then(|| rfc3339(row.next_attempt_at_ms)),
        created_at: rfc3339(row.created_at_ms),
        delivered_at: row.delivered_at_ms.map(rfc3339),
        payload: row.payload.clone(),
    }
}
