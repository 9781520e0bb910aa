//! `POST /v1/completed-assessments` → `assessment.addCompletedToCandidate`, durably.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::body::VendorJson;
use super::dto::{CompletedAccepted, ErrorBody};
use super::{Access, VendorCaller, VendorError};
use crate::ashby::updates::CandidateRef;
use crate::domain::data_block::{self, DataBlock};
use crate::domain::ids::{AssessmentTypeId, TenantId};
use crate::domain::vendor_event::parse_event_time;
use crate::representation;
use crate::service::{
    CompletedError, NewCompletedAssessment, add_completed_assessment, catalog_for,
};
use crate::state::AppState;

/// An assessment the candidate took outside Ashby's flow.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedBody {
    tenant_id: Uuid,
    /// Ashby's candidate id; or give `candidate_email`, and the candidate is looked up
    /// with Ashby's `candidate.search` when the result is sent.
    candidate_id: Option<Uuid>,
    candidate_email: Option<String>,
    assessment_type_id: Uuid,
    assessment_name: Option<String>,
    result: DataBlock,
    metadata: Option<Vec<DataBlock>>,
    completed_at: Option<String>,
}

/// Attach an assessment taken outside Ashby's flow to a candidate
/// (`assessment.addCompletedToCandidate`, delivered durably). Needs `ashby.partner_id`.
#[utoipa::path(post, path = "/v1/completed-assessments", request_body = CompletedBody,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Retrying with the same key (and body) returns the first answer instead of attaching the result twice")),
    responses(
    (status = 202, body = CompletedAccepted),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
    (status = 422, description = "invalid input, unknown tenant, or ashby.partner_id not configured", body = ErrorBody),
))]
pub async fn create(
    caller: VendorCaller,
    req: HttpRequest,
    body: VendorJson<CompletedBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Report)?;
    let body = body.0;
    let idempotency = idempotency_key(&req)?
        .map(|key| Ok::<_, VendorError>((key, fingerprint(&body)?)))
        .transpose()?;
    body.result
        .validate("result")
        .map_err(VendorError::invalid)?;
    let metadata = body.metadata.unwrap_or_default();
    data_block::validate_list("metadata", &metadata).map_err(VendorError::invalid)?;
    data_block::check_unique_identifiers(Some(&body.result), &metadata)
        .map_err(VendorError::invalid)?;
    let candidate = match (body.candidate_id, body.candidate_email.clone()) {
        (Some(id), None) => CandidateRef::Id(id),
        (None, Some(email)) => CandidateRef::Email(candidate_email(&email)?),
        _ => {
            return Err(VendorError::invalid(
                "give exactly one of candidate_id (Ashby's candidate id) and candidate_email",
            ));
        }
    };
    let type_id = AssessmentTypeId(body.assessment_type_id);
    let catalog = catalog_for(&state.db, &state.catalog, TenantId(body.tenant_id)).await?;
    let catalog_name = catalog.name_of(type_id).map(str::to_owned);
    let assessment_name = match (body.assessment_name, catalog_name) {
        (Some(name), _) if !name.trim().is_empty() => name,
        (_, Some(name)) => name,
        _ => {
            return Err(VendorError::invalid(format!(
                "assessment_type_id {type_id} is not in the catalog: give assessment_name"
            )));
        }
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let completed_at_ms = body
        .completed_at
        .map(|text| parse_event_time("completed_at", &text, now_ms))
        .transpose()
        .map_err(VendorError::invalid)?;
    let new = NewCompletedAssessment {
        tenant_id: TenantId(body.tenant_id),
        candidate,
        assessment_type_id: type_id,
        assessment_name,
        result: body.result,
        metadata,
        completed_at_ms,
        idempotency,
    };
    let (id, delivery) = add_completed_assessment(
        &state.db,
        &state.outbound,
        state.settings.ashby.partner_id,
        new,
    )
    .await
    .map_err(|error| match error {
        CompletedError::PartnerIdNotConfigured => VendorError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "partner_id_not_configured",
            error.to_string(),
        ),
        CompletedError::UnknownTenant(_) => VendorError::invalid(error.to_string()),
        CompletedError::IdempotencyKeyReused => VendorError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            error.to_string(),
        ),
        CompletedError::Database(e) => VendorError::from(e),
    })?;
    Ok(HttpResponse::Accepted().json(CompletedAccepted {
        id: id.0,
        tenant_id: body.tenant_id,
        candidate_id: body.candidate_id,
        candidate_email: body.candidate_email,
        assessment_type_id: type_id.0,
        delivery: representation::delivery(&delivery),
    }))
}

/// An email to look a candidate up by: trimmed, one `@` with text on both sides, no
/// control characters, at most 254 bytes (the longest an address can be).
fn candidate_email(text: &str) -> Result<String, VendorError> {
    let email = text.trim();
    let well_formed = email.len() <= 254
        && !email.chars().any(char::is_control)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if well_formed {
        Ok(email.to_owned())
    } else {
        Err(VendorError::invalid(format!(
            "candidate_email must be an email address (got {text:?})"
        )))
    }
}

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// The optional `Idempotency-Key` header: printable, at most 255 bytes.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, VendorError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str().map(str::trim) {
        Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_BYTES => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(VendorError::invalid(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} printable characters"
        ))),
    }
}

/// SHA-256 of the request body as parsed, to tell a retry from a different request.
fn fingerprint(body: &CompletedBody) -> Result<String, VendorError> {
    use sha2::Digest as _;
    let canonical = serde_json::to_vec(body).map_err(|e| VendorError::unavailable(&e))?;
    Ok(sha2::Sha256::digest(canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
