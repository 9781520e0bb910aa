//! `GET /openapi.json`: the OpenAPI 3 document of the vendor API, generated from the
//! handlers' annotations and the very types they answer with.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    ashby_webhooks, assessments, candidate_sessions, catalogs, completed, deliveries, feed, tenants,
};

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
