//! The console's one error type, rendered once as an HTML page (never JSON, never a
//! stack trace): what went wrong and where to go from there.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use super::layout::{page, respond};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session, or it ended (expired, the token revoked, a cookie that does not
    /// verify). A page is sent to sign in; a form post is refused.
    #[error("signed out")]
    SignedOut { post: bool },
    /// A missing or wrong CSRF token, or a `read` session trying to act.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A form or query the console cannot use.
    #[error("{0}")]
    Invalid(String),
    /// The database (or another part) failed; the cause is logged, not shown.
    #[error("{0}")]
    Failed(String),
}

impl ConsoleError {
    pub fn read_only() -> Self {
        Self::Forbidden(
            "Your session is read-only: actions need a token of scope admin. Sign out and sign in with one.".into(),
        )
    }
}

impl From<sea_orm::DbErr> for ConsoleError {
    fn from(error: sea_orm::DbErr) -> Self {
        tracing::error!(%error, "console: database error");
        Self::Failed("The database did not answer as expected; the server log has the details. Try again in a moment.".into())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignedOut { post: false } => StatusCode::SEE_OTHER,
            Self::SignedOut { post: true } | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::SignedOut { post: false } = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/sign-in"))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
        }
        let (title, message) = match self {
            Self::SignedOut { .. } => (
                "Signed out",
                "Your session has ended (or this form came from elsewhere). Sign in again.",
            ),
            Self::Forbidden(message) => ("Not allowed", message.as_str()),
            Self::NotFound(message) => ("Not found", message.as_str()),
            Self::Invalid(message) => ("Cannot do that", message.as_str()),
            Self::Failed(message) => ("Something went wrong", message.as_str()),
        };
        let body = html! {
            h1 { (title) }
            p.error { (message) }
            p { a href="/console" { "Back to the console" } " · " a href="/console/sign-in" { "Sign in" } }
        };
        respond(self.status_code(), page(title, None, body))
    }
}
