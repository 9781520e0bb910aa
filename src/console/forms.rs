//! What every action form goes through: the CSRF token and the scope, then a redirect
//! back to the page the form came from (POST-redirect-GET) carrying a flash message.
//!
//! The flash travels in the query string, signed: a link made elsewhere cannot put words
//! of its own on a console page.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;

use super::error::ConsoleError;
use super::session::{FLASH_PURPOSE, Session, sign, verify};
use crate::state::AppState;

/// A posted form's fields.
pub type Fields = HashMap<String, String>;

/// A state-changing form may go on: its CSRF token is this session's, and the session
/// may act (`admin`).
///
/// # Errors
/// [`ConsoleError::Forbidden`] otherwise.
pub fn authorize(
    session: &Session,
    secret: &SecretString,
    fields: &Fields,
) -> Result<(), ConsoleError> {
    let csrf = fields.get("csrf").map(String::as_str).unwrap_or_default();
    if !session.csrf_is_valid(secret, csrf) {
        return Err(ConsoleError::Forbidden(
            "This form has expired or did not come from the console (its CSRF token does not match your session). Reload the page and try again.".into(),
        ));
    }
    if !session.is_admin() {
        return Err(ConsoleError::read_only());
    }
    Ok(())
}

/// A state-changing form, allowed to go on (see [`authorize`]): the handlers of the
/// console's actions take it instead of checking the session, the CSRF token and the
/// scope each in turn.
pub struct ActionForm {
    pub session: Session,
    pub fields: Fields,
}

impl FromRequest for ActionForm {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = Session::from_request(req, payload);
        let form = web::Form::<Fields>::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let session = session.await?;
            let fields = form.await?.into_inner();
            let state = state.ok_or(ConsoleError::SignedOut { post: true })?;
            authorize(&session, &state.secrets.token_secret, &fields)?;
            Ok(Self { session, fields })
        })
    }
}

/// The page to return to: the form's `back` when it is a console path, else `default`.
/// Only relative `/console` paths are accepted, so a form cannot send the browser away.
pub fn back_or(fields: &Fields, default: &str) -> String {
    fields
        .get("back")
        .map(String::as_str)
        .filter(|back| is_console_path(back))
        .unwrap_or(default)
        .to_owned()
}

fn is_console_path(path: &str) -> bool {
    let rest = path.strip_prefix("/console").unwrap_or("-");
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        && path.len() <= 2000
        && !path.contains("//")
        && !path.contains('\\')
        && !path.contains("/..")
        && !path.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A 303 to `back` with `message` as its flash.
pub fn redirect_with_flash(back: &str, message: &str, secret: &SecretString) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, with_flash(back, message, secret)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `back` with the flash (replacing any it had) in its query string.
fn with_flash(back: &str, message: &str, secret: &SecretString) -> String {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name != "flash" && name != "fs" {
            out.append_pair(&name, &value);
        }
    }
    out.append_pair("flash", message);
    out.append_pair(
        "fs",
        &URL_SAFE_NO_PAD.encode(sign(secret, FLASH_PURPOSE, message)),
    );
    format!("{path}?{}", out.finish())
}

/// The flash in a page's query string, when the server wrote it.
pub fn flash_of(query: &HashMap<String, String>, secret: &SecretString) -> Option<String> {
    let message = query.get("flash")?;
    let mac = URL_SAFE_NO_PAD.decode(query.get("fs")?).ok()?;
    verify(secret, FLASH_PURPOSE, message, &mac).then(|| message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        "0123456789abcdef0123456789abcdef".to_owned().into()
    }

    #[test]
    fn only_console_paths_are_places_to_go_back_to() {
        for good in [
            "/console",
            "/console/",
            "/console/assessments/x?q=a%40b",
            "/console?x=1",
        ] {
            assert!(is_console_path(good), "{good}");
        }
        for bad in [
            "https://evil.example/console",
            "//evil.example/console",
            "/console//evil.example",
            "/consoles",
            "/v1/tenants",
            "/console/../v1",
            "/console\\x",
            "/console/\nx",
            "",
        ] {
            assert!(!is_console_path(bad), "{bad}");
        }
        let fields = Fields::from([("back".to_owned(), "//evil.example".to_owned())]);
        assert_eq!(back_or(&fields, "/console"), "/console");
    }

    #[test]
    fn a_flash_is_shown_only_when_the_server_signed_it() {
        let location = with_flash(
            "/console/deliveries?status=dead&flash=old&fs=x",
            "Retried 2",
            &secret(),
        );
        let (path, query) = location.split_once('?').unwrap();
        assert_eq!(path, "/console/deliveries");
        let query: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(query["status"], "dead");
        assert_eq!(flash_of(&query, &secret()).as_deref(), Some("Retried 2"));
        let mut forged = query.clone();
        forged.insert("flash".into(), "Visit evil.example".into());
        assert_eq!(flash_of(&forged, &secret()), None);
    }
}
