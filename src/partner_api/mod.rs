//! The endpoints Ashby calls (CONTRACT §4): RPC-style `POST /<method>`.

mod auth;
mod body;
mod cancel;
mod custom_fields;
mod error;
mod list;
mod start;

use actix_web::web;

pub use auth::AshbyCaller;
pub use error::{PartnerError, failure_envelope};

/// Registers the partner routes. Ashby appends the method name to the base URL it was
/// given, so they live at the root.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/assessment.list", web::post().to(list::list))
        .route("/assessment.start", web::post().to(start::start))
        .route("/assessment.cancel", web::post().to(cancel::cancel))
        // Ashby has named the custom-field listing three ways; serve them all.
        .route(
            "/assessment.customField.list",
            web::post().to(custom_fields::list),
        )
        .route("/customField.list", web::post().to(custom_fields::list))
        .route("/customFields.fetch", web::post().to(custom_fields::list));
}
