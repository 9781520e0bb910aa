//! The webhooks Ashby sends us about candidates and applications (CONTRACT §11): an edge
//! like `partner_api/`, on the public listener. A handler verifies, parses, calls one
//! service function and answers.

mod payload;
mod receive;

use actix_web::web;

/// Registers `POST /ashby/webhooks/{tenant_id}`.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route(
        "/ashby/webhooks/{tenant_id}",
        web::post().to(receive::receive),
    );
}
