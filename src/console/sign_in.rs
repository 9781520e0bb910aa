//! `GET/POST /console/sign-in` and `POST /console/sign-out`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use maud::{Markup, html};

use super::error::ConsoleError;
use super::forms::{Fields, flash_of};
use super::layout::{page, respond};
use super::session::{self, Session, SignInRefusal, clear_cookie, cookies_are_secure};
use crate::state::AppState;

/// The form; `?token=` fills it in (the link `demo --keep-running` prints) — signing in
/// still takes the POST, so a link alone opens no session.
pub async fn form(state: web::Data<AppState>, query: web::Query<Fields>) -> HttpResponse {
    let flash = flash_of(&query, &state.secrets.token_secret);
    let prefill = query
        .get("token")
        .map(String::as_str)
        .filter(|t| plausible_token(t));
    respond(
        StatusCode::OK,
        sign_in_page(flash.as_deref(), None, prefill),
    )
}

/// What may be put into the form from a link: token-sized, printable, no spaces. Anything
/// else is left out rather than refused: the page is still the sign-in form.
fn plausible_token(text: &str) -> bool {
    !text.is_empty() && text.len() <= 4096 && text.chars().all(|c| c.is_ascii_graphic())
}

pub async fn submit(
    state: web::Data<AppState>,
    fields: web::Form<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let token = fields.get("token").map(String::as_str).unwrap_or_default();
    let now_s = crate::time::now_ms() / 1000;
    match session::sign_in(&state, token, now_s).await? {
        Ok(session) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console"))
            .insert_header((
                header::SET_COOKIE,
                session.set_cookie(cookies_are_secure(&state), now_s),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()),
        Err(refusal) => {
            let status = match refusal {
                SignInRefusal::EngineScope => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            Ok(respond(
                status,
                sign_in_page(None, Some(refusal.message()), None),
            ))
        }
    }
}

/// Ends the session in the browser. The token itself stays valid: revoke it with
/// `ashby-partner token revoke` to end every session it opened.
pub async fn sign_out(
    session: Session,
    state: web::Data<AppState>,
    fields: web::Form<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let csrf = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !session.csrf_is_valid(&state.secrets.token_secret, csrf) {
        return Err(ConsoleError::Forbidden(
            "This sign-out form did not come from your session. Reload the page and try again."
                .into(),
        ));
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/sign-in"))
        .insert_header((header::SET_COOKIE, clear_cookie(cookies_are_secure(&state))))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

fn sign_in_page(flash: Option<&str>, error: Option<&str>, prefill: Option<&str>) -> Markup {
    let body = html! {
        div.narrow {
            h1 { "Sign in" }
            @if let Some(flash) = flash {
                p.flash role="status" { (flash) }
            }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form method="post" action="/console/sign-in" {
                label for="token" { "Vendor API token (scope read or admin)" }
                input #token type="password" name="token" autocomplete="off" required
                    value=[prefill];
                button #sign-in type="submit" { "Sign in" }
            }
            p.muted {
                "Mint one with " code { "ashby-partner token create --scope read" }
                " (look around) or " code { "--scope admin" }
                " (also retry, dismiss and manage tenants). The token is not stored in your browser: "
                "the session lasts 12 hours at most, and revoking the token ends it."
            }
        }
    };
    page("Sign in", None, body)
}
