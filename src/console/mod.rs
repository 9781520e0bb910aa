//! The operator console (`/console`, CONTRACT §13): server-rendered pages for the
//! vendor's support and operations team, another client of the same service functions
//! as the vendor API. Sign-in with an `admin` or `read` token (`session.rs`); every
//! state-changing form is CSRF-protected and needs `admin` (`forms.rs`). Pages work
//! without JavaScript and load nothing but `/console/style.css`, served from the binary.
//!
//! Links are absolute paths under `/console`: the console is served at that path on the
//! admin listener (or the one listener), whatever path `server.public_url` has.

mod assessments;
mod deliveries;
mod error;
mod forms;
mod layout;
mod overview;
mod session;
mod sign_in;
mod tenants;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

pub use error::ConsoleError;
use forms::{Fields, flash_of};
use layout::{Chrome, Nav};
use session::Session;

use crate::state::AppState;

/// The stylesheet, compiled into the binary: no asset comes from anywhere else.
const STYLE: &str = include_str!("style.css");

/// The largest form the console reads.
const FORM_LIMIT_BYTES: usize = 64 * 1024;

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/console")
            .app_data(
                web::FormConfig::default()
                    .limit(FORM_LIMIT_BYTES)
                    .error_handler(|error, _| {
                        ConsoleError::Invalid(format!("The form could not be read: {error}."))
                            .into()
                    }),
            )
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                ConsoleError::Invalid(format!("The address could not be read: {error}.")).into()
            }))
            .route("", web::get().to(overview::show))
            .route("/", web::get().to(overview::show))
            .route("/style.css", web::get().to(style))
            .route("/sign-in", web::get().to(sign_in::form))
            .route("/sign-in", web::post().to(sign_in::submit))
            .route("/sign-out", web::post().to(sign_in::sign_out))
            .route("/tenants", web::get().to(tenants::list))
            .route("/tenants", web::post().to(tenants::create))
            .route("/tenants/new", web::get().to(tenants::new_form))
            .route("/tenants/{id}", web::get().to(tenants::show))
            .route(
                "/tenants/{id}/partner-keys",
                web::post().to(tenants::rotate_key),
            )
            .route(
                "/tenants/{id}/partner-keys/revoke",
                web::post().to(tenants::revoke_keys),
            )
            .route(
                "/tenants/{id}/ashby-key/verify",
                web::post().to(tenants::verify_key),
            )
            .route("/tenants/{id}/disable", web::post().to(tenants::disable))
            .route("/tenants/{id}/enable", web::post().to(tenants::enable))
            .route("/assessments", web::get().to(assessments::search))
            .route("/assessments/{id}", web::get().to(assessments::timeline))
            .route("/deliveries", web::get().to(deliveries::list))
            .route("/deliveries/retry", web::post().to(deliveries::retry_all))
            .route("/deliveries/{id}/retry", web::post().to(deliveries::retry))
            .route(
                "/deliveries/{id}/dismiss",
                web::post().to(deliveries::dismiss),
            )
            .default_service(web::to(no_such_page)),
    );
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLE)
}

async fn no_such_page(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::NotFound(format!(
        "There is no console page at {}.",
        req.path()
    )))
}

/// The frame of a signed-in page: the session, its CSRF token, a flash left by an action.
fn chrome<'a>(session: &'a Session, state: &AppState, query: &Fields, nav: Nav) -> Chrome<'a> {
    let secret = &state.secrets.token_secret;
    Chrome {
        session,
        csrf: session.csrf_token(secret),
        flash: flash_of(query, secret),
        now_ms: crate::time::now_ms(),
        search: String::new(),
        nav,
    }
}
