//! `GET /v1/candidate-sessions/{token}`: what the vendor's test page needs to know about
//! the candidate behind a link. No bearer: the link's token is the credential.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::VendorError;
use super::dto::{CandidateSession, CandidateSessionPerson, CandidateSessionType, ErrorBody};
use crate::service::catalog_for;
use crate::state::AppState;
use crate::store::assessments;
use crate::tokens::TokenError;

/// What the vendor's test page needs about the candidate behind a link. No bearer: the
/// link's token is the credential. Once the assessment is completed, cancelled or
/// expired, the candidate's name and email are null.
#[utoipa::path(get, path = "/v1/candidate-sessions/{token}", params(("token" = String, Path)),
    security(()),
    responses(
        (status = 200, body = CandidateSession),
        (status = 401, description = "invalid or expired link", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
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
    let row = assessments::find_any(&state.db, id).await?.ok_or_else(|| {
        VendorError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the assessment of this link no longer exists",
        )
    })?;
    // A link outlives its assessment (it is a bearer credential until it expires, and
    // may sit in an inbox or a browser history): once the assessment is over, the page
    // needs only to say so, and the candidate's name and email stay private.
    let candidate = if row.status.is_terminal() {
        Value::Null
    } else {
        row.start_part("candidate")
    };
    let text = |name: &str| {
        candidate
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    // The tenant's catalog, where a type since made inactive or removed keeps its name.
    let type_name = catalog_for(&state.db, &state.catalog, row.tenant_id)
        .await?
        .name_of(row.assessment_type_id)
        .map(str::to_owned);
    Ok(HttpResponse::Ok().json(CandidateSession {
        assessment_id: row.id.0,
        status: row.status,
        assessment_type: CandidateSessionType {
            id: row.assessment_type_id.0,
            name: type_name,
        },
        candidate: CandidateSessionPerson {
            first_name: text("first_name"),
            last_name: text("last_name"),
            email: text("email"),
        },
    }))
}
