//! The webhooks Ashby sends us about candidates and applications (CONTRACT §11): an edge
//! like `partner_api/`, on the public listener. A handler verifies, parses, calls one
//! service function and answers.

mod payload;
mod receive;

use actix_web::web;

/// Registers `POST /ashby/webhooks/{tenant_id}`.
pub fn routes(config: &mut web::ServiceConfig) {
    routes_under(config, "");
}

/// The same under the path of `server.public_url` (`/ashby` → `/ashby/ashby/webhooks/…`):
/// the URL registered with Ashby is `<public_url>/ashby/webhooks/<tenant_id>`.
pub fn routes_under(config: &mut web::ServiceConfig, prefix: &str) {
    config.route(
        &format!("{prefix}/ashby/webhooks/{{tenant_id}}"),
        web::post().to(receive::receive),
    );
}
