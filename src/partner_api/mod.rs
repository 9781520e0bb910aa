//! The endpoints Ashby calls (CONTRACT §4): RPC-style `POST /<method>`.

mod auth;
mod body;
mod cancel;
mod custom_fields;
mod error;
mod list;
mod start;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

pub use auth::AshbyCaller;
pub use error::{PartnerError, failure_envelope};

/// Registers the partner routes. Ashby appends the method name to the base URL it was
/// given, so they live at the root.
pub fn routes(config: &mut web::ServiceConfig) {
    routes_under(config, "");
}

/// Registers the partner routes under `prefix` (`""`, or a path such as `/ashby`): the
/// path of `server.public_url`, which is the base URL Ashby was given. Each route is
/// registered on its own (not as a scope), so other routes under the same prefix stay
/// reachable.
pub fn routes_under(config: &mut web::ServiceConfig, prefix: &str) {
    let rpc = |method: &str| rpc(&format!("{prefix}/{method}"));
    config
        .service(rpc("assessment.list").route(web::post().to(list::list)))
        .service(rpc("assessment.start").route(web::post().to(start::start)))
        .service(rpc("assessment.cancel").route(web::post().to(cancel::cancel)))
        // Ashby has named the custom-field listing three ways; serve them all.
        .service(rpc("assessment.customField.list").route(web::post().to(custom_fields::list)))
        .service(rpc("customField.list").route(web::post().to(custom_fields::list)))
        .service(rpc("customFields.fetch").route(web::post().to(custom_fields::list)));
}

/// One RPC method's path: POST only, any other HTTP method a JSON 405.
fn rpc(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let request_id = PartnerError::request_id_of(&req);
    let message = format!("{} is not allowed here; use POST.", req.method());
    HttpResponse::build(StatusCode::METHOD_NOT_ALLOWED).json(failure_envelope(
        "method_not_allowed",
        &message,
        &request_id,
    ))
}
