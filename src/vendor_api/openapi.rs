//! `GET /openapi.json`: the OpenAPI 3 document of the vendor API, generated from the
//! handlers' annotations and the very types they answer with.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use uuid::Uuid;

use super::{
    ashby_webhooks, assessments, candidate_sessions, catalogs, completed, deliveries, feed, tenants,
};
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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ashby-partner vendor API",
        description = "What an assessment vendor's engine and product call: read the assessments Ashby started, report progress and results, manage tenants, inspect and replay deliveries. Token scopes: engine, read, admin. Errors are {\"error\": {\"code\", \"message\"}}; timestamps are RFC 3339 UTC."
    ),
    paths(
        assessments::list_types,
        feed::list,
        assessments::get,
        assessments::post_event,
        deliveries::for_assessment,
        completed::create,
        deliveries::retry,
        candidate_sessions::resolve,
        ashby_webhooks::register,
        tenants::create,
        tenants::list,
        tenants::get,
        tenants::patch,
        tenants::delete,
        tenants::rotate_key,
        tenants::revoke_keys,
        tenants::put_ashby_key,
        tenants::verify_ashby_key,
        deliveries::list,
        deliveries::show,
        deliveries::dismiss,
        deliveries::retry_all,
        // Per-tenant catalogs (CONTRACT §10).
        catalogs::get_types,
        catalogs::put_types,
        catalogs::delete_types,
        catalogs::get_fields,
        catalogs::put_fields,
        catalogs::delete_fields,
    ),
    modifiers(&BearerToken),
    security(("bearer" = [])),
)]
pub struct VendorApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A token from `ashby-partner token create`."))
                    .build(),
            ),
        );
    }
}

/// `GET /openapi.json`
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(VendorApiDoc::openapi())
}
