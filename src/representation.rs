//! The vendor API's Assessment and Delivery bodies (CONTRACT §5), built from rows.

use entity::{assessment, delivery};
use serde_json::{Value, json};

use crate::candidate_links::CandidateLinks;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::ids::AssessmentId;
use crate::store::assessments;
use crate::time::rfc3339;

/// # Errors
/// A stored history that is not a list of entries.
pub fn assessment(
    row: &assessment::Model,
    links: &CandidateLinks,
) -> Result<Value, sea_orm::DbErr> {
    let request = &row.start_request;
    let history: Vec<Value> = assessments::parse_history(&row.history)?
        .into_iter()
        .map(|entry| json!({ "status": entry.status, "at": rfc3339(entry.at_ms), "source": entry.source }))
        .collect();
    Ok(json!({
        "id": row.id,
        "tenant_id": row.tenant_id,
        "status": row.status,
        "assessment_type_id": row.assessment_type_id,
        "candidate": request.get("candidate").cloned().unwrap_or(Value::Null),
        "application": request.get("application").cloned().unwrap_or(Value::Null),
        "job": request.get("job").cloned().unwrap_or(Value::Null),
        "additional_fields": request.get("additional_fields").cloned().unwrap_or_else(|| json!({})),
        "result": row.result,
        "profile_url": row.profile_url,
        "metadata": row.metadata.clone().unwrap_or_else(|| json!([])),
        "candidate_url": links.url_for(AssessmentId(row.id), row.created_at_ms),
        "created_at": rfc3339(row.created_at_ms),
        "updated_at": rfc3339(row.updated_at_ms),
        "history": history,
    }))
}

pub fn delivery(row: &delivery::Model) -> Value {
    let pending = row.status == DeliveryStatus::Pending.as_str();
    json!({
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "assessment_id": row.assessment_id,
        "tenant_id": row.tenant_id,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "next_attempt_at": pending.then(|| rfc3339(row.next_attempt_at_ms)),
        "created_at": rfc3339(row.created_at_ms),
        "delivered_at": row.delivered_at_ms.map(rfc3339),
        "payload": row.payload,
    })
}
