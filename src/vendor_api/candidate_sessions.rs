//! `GET /v1/candidate-sessions/{token}`: what the vendor's test page needs to know about
//! the candidate behind a link. No bearer: the link's token is the credential.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::VendorError;
use crate::domain::ids::AssessmentTypeId;
use crate::startup::AppState;
use crate::store::assessments;
use crate::tokens::TokenError;

pub async fn resolve(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    let keys = state.outbound.candidate_links.keys();
    let id = keys
        .verify_candidate_token(&path)
        .map_err(|error| match error {
            TokenError::Expired => VendorError::new(
                StatusCode::UNAUTHORIZED,
                "link_expired",
                "this candidate link has expired",
            ),
            _ => VendorError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_link",
                "this candidate link is not valid",
            ),
        })?;
    let row = assessments::find_any(&state.db, id)
        .await
        .map_err(|e| VendorError::unavailable(&e))?
        .ok_or_else(|| {
            VendorError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "the assessment of this link no longer exists",
            )
        })?;
    let candidate = row
        .start_request
        .get("candidate")
        .cloned()
        .unwrap_or(Value::Null);
    let type_name = state
        .catalog
        .find(AssessmentTypeId(row.assessment_type_id))
        .map(|t| t.name.clone());
    Ok(HttpResponse::Ok().json(json!({
        "assessment_id": row.id,
        "status": row.status,
        "assessment_type": { "id": row.assessment_type_id, "name": type_name },
        "candidate": {
            "first_name": candidate.get("first_name"),
            "last_name": candidate.get("last_name"),
            "email": candidate.get("email"),
        },
    })))
}
