//! The vendor API (`/v1`, CONTRACT §5): what the vendor's own engine calls.

mod ashby_webhooks;
mod assessments;
mod auth;
mod body;
mod candidate_sessions;
mod catalogs;
mod completed;
mod deliveries;
mod dto;
mod error;
mod feed;
mod openapi;
mod paging;
mod tenants;

use actix_web::web;

pub use auth::{Access, VendorCaller};
pub use error::VendorError;

pub use openapi::VendorApiDoc;

pub fn routes(config: &mut web::ServiceConfig) {
    config.route("/openapi.json", web::get().to(openapi::document));
    config.service(
        web::scope("/v1")
            .route("/assessment-types", web::get().to(assessments::list_types))
            .route("/assessments", web::get().to(feed::list))
            .route("/assessments/{id}", web::get().to(assessments::get))
            .route(
                "/assessments/{id}/events",
                web::post().to(assessments::post_event),
            )
            .route(
                "/assessments/{id}/deliveries",
                web::get().to(deliveries::for_assessment),
            )
            .route("/completed-assessments", web::post().to(completed::create))
            .route("/deliveries", web::get().to(deliveries::list))
            .route("/deliveries/retry", web::post().to(deliveries::retry_all))
            .route("/deliveries/{id}", web::get().to(deliveries::show))
            .route("/deliveries/{id}/retry", web::post().to(deliveries::retry))
            .service(
                web::resource("/tenants/{id}/assessment-types")
                    .route(web::get().to(catalogs::get_types))
                    .route(web::put().to(catalogs::put_types))
                    .route(web::delete().to(catalogs::delete_types)),
            )
            .service(
                web::resource("/tenants/{id}/custom-fields")
                    .route(web::get().to(catalogs::get_fields))
                    .route(web::put().to(catalogs::put_fields))
                    .route(web::delete().to(catalogs::delete_fields)),
            )
            .route(
                "/deliveries/{id}/dismiss",
                web::post().to(deliveries::dismiss),
            )
            .route("/tenants", web::get().to(tenants::list))
            .route("/tenants", web::post().to(tenants::create))
            .route("/tenants/{id}", web::get().to(tenants::get))
            .route("/tenants/{id}", web::patch().to(tenants::patch))
            .route("/tenants/{id}", web::delete().to(tenants::delete))
            .route(
                "/tenants/{id}/partner-keys",
                web::post().to(tenants::rotate_key),
            )
            .route(
                "/tenants/{id}/partner-keys",
                web::delete().to(tenants::revoke_keys),
            )
            .route(
                "/tenants/{id}/ashby-key",
                web::put().to(tenants::put_ashby_key),
            )
            .route(
                "/tenants/{id}/ashby-key/verify",
                web::post().to(tenants::verify_ashby_key),
            )
            .route(
                "/tenants/{id}/ashby-webhooks",
                web::put().to(ashby_webhooks::register),
            )
            .route(
                "/candidate-sessions/{token}",
                web::get().to(candidate_sessions::resolve),
            )
            .default_service(web::to(no_such_route)),
    );
}

async fn no_such_route(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError as _;
    VendorError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "not_found",
        format!("there is no {} {}", req.method(), req.path()),
    )
    .error_response()
}
