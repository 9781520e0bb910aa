//! Signing in to the console with an `admin` or `read` vendor API token, and the session
//! cookie it becomes.
//!
//! The cookie never holds the token: it holds the token's id, its scope and when the
//! session ends (12 hours, or the token's own expiry if sooner), signed with an HMAC keyed
//! by `security.token_secret`. Every request checks the signature, the end, and that the
//! token has not been revoked since, so revoking the token ends its sessions. The CSRF
//! token of a session is another HMAC of the cookie's value: a form from another site
//! cannot know it.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;
use uuid::Uuid;

use super::error::ConsoleError;
use crate::state::AppState;
use crate::store::vendor_tokens;
use crate::tokens::{Scope, TokenError};

/// The session cookie's name.
pub const COOKIE: &str = "ap_console";
/// The longest a session lasts.
const SESSION_SECONDS: i64 = 12 * 3600;
/// Each use of the secret is kept apart from the others (and from the JWTs).
const SESSION_PURPOSE: &str = "ashby-partner/console-session";
const CSRF_PURPOSE: &str = "ashby-partner/console-csrf";
pub(super) const FLASH_PURPOSE: &str = "ashby-partner/console-flash";

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_id: Uuid,
    pub scope: Scope,
    pub expires_at_s: i64,
    /// The cookie's value, from which the CSRF token is derived.
    value: String,
}

/// Why a token cannot sign in; each says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    Invalid,
    Expired,
    Revoked,
    /// An `engine` token: the vendor's engine, not a person.
    EngineScope,
    /// A token without an id cannot be revoked, so it cannot open a session either.
    WithoutId,
}

impl SignInRefusal {
    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => {
                "That is not a valid token. Paste a token made with `ashby-partner token create --scope read` (or admin)."
            }
            Self::Expired => "That token has expired: mint a new one.",
            Self::Revoked => "That token has been revoked: mint a new one.",
            Self::EngineScope => {
                "That is an engine token, for the vendor's engine. The console needs a token of scope read or admin: `ashby-partner token create --scope read`."
            }
            Self::WithoutId => {
                "That token predates revocable tokens and cannot open a session: mint a new one."
            }
        }
    }
}

/// Checks a pasted token and opens a session for it.
///
/// # Errors
/// Database errors (the revocation check).
pub async fn sign_in(
    state: &AppState,
    token: &str,
    now_s: i64,
) -> Result<Result<Session, SignInRefusal>, sea_orm::DbErr> {
    let verified = match state.tokens.verify_vendor_token(token.trim()) {
        Ok(verified) => verified,
        Err(TokenError::Expired) => return Ok(Err(SignInRefusal::Expired)),
        Err(_) => return Ok(Err(SignInRefusal::Invalid)),
    };
    if verified.scope == Scope::Engine {
        return Ok(Err(SignInRefusal::EngineScope));
    }
    let Some(id) = verified.id else {
        return Ok(Err(SignInRefusal::WithoutId));
    };
    if vendor_tokens::is_revoked(&state.db, id).await? {
        return Ok(Err(SignInRefusal::Revoked));
    }
    let expires_at_s = verified.expires_at_s.min(now_s + SESSION_SECONDS);
    Ok(Ok(Session::new(
        &state.secrets.token_secret,
        id,
        verified.scope,
        expires_at_s,
    )))
}

impl Session {
    fn new(secret: &SecretString, token_id: Uuid, scope: Scope, expires_at_s: i64) -> Self {
        let payload = format!("v1.{token_id}.{}.{expires_at_s}", scope.as_str());
        let mac = URL_SAFE_NO_PAD.encode(sign(secret, SESSION_PURPOSE, &payload));
        Self {
            token_id,
            scope,
            expires_at_s,
            value: format!("{payload}.{mac}"),
        }
    }

    /// The session a cookie value stands for, if its signature holds and it has not ended.
    fn from_cookie(secret: &SecretString, value: &str, now_s: i64) -> Option<Self> {
        let (payload, mac) = value.rsplit_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        if !verify(secret, SESSION_PURPOSE, payload, &mac) {
            return None;
        }
        let mut parts = payload.split('.');
        let (Some("v1"), Some(id), Some(scope), Some(exp), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let expires_at_s: i64 = exp.parse().ok()?;
        if expires_at_s <= now_s {
            return None;
        }
        Some(Self {
            token_id: id.parse().ok()?,
            scope: Scope::parse(scope)?,
            expires_at_s,
            value: value.to_owned(),
        })
    }

    pub fn is_admin(&self) -> bool {
        self.scope == Scope::Admin
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf_token(&self, secret: &SecretString) -> String {
        URL_SAFE_NO_PAD.encode(sign(secret, CSRF_PURPOSE, &self.value))
    }

    /// Whether `given` is this session's CSRF token (compared in constant time).
    pub fn csrf_is_valid(&self, secret: &SecretString, given: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(given)
            .is_ok_and(|mac| verify(secret, CSRF_PURPOSE, &self.value, &mac))
    }

    /// The `Set-Cookie` value that stores this session in the browser.
    pub fn set_cookie(&self, secure: bool, now_s: i64) -> String {
        let max_age = (self.expires_at_s - now_s).max(0);
        cookie(&self.value, max_age, secure)
    }
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    cookie("", 0, secure)
}

fn cookie(value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// Whether cookies must be `Secure`: when the server is reached over HTTPS.
pub fn cookies_are_secure(state: &AppState) -> bool {
    state.settings.server.public_url.starts_with("https://")
}

pub(super) fn sign(secret: &SecretString, purpose: &str, data: &str) -> Vec<u8> {
    mac_of(secret, purpose, data)
        .finalize()
        .into_bytes()
        .to_vec()
}

pub(super) fn verify(secret: &SecretString, purpose: &str, data: &str, mac: &[u8]) -> bool {
    mac_of(secret, purpose, data).verify_slice(mac).is_ok()
}

fn mac_of(secret: &SecretString, purpose: &str, data: &str) -> Hmac<Sha256> {
    // An HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(purpose.as_bytes());
    mac.update(b"\n");
    mac.update(data.as_bytes());
    mac
}

fn cookie_value(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl FromRequest for Session {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { current(&req).await })
    }
}

async fn current(req: &HttpRequest) -> Result<Session, ConsoleError> {
    let signed_out = || ConsoleError::SignedOut {
        post: req.method() == Method::POST,
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(signed_out)?;
    let value = cookie_value(req).ok_or_else(signed_out)?;
    let now_s = crate::time::now_ms() / 1000;
    let session =
        Session::from_cookie(&state.secrets.token_secret, &value, now_s).ok_or_else(signed_out)?;
    if vendor_tokens::is_revoked(&state.db, session.token_id).await? {
        return Err(signed_out());
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        "0123456789abcdef0123456789abcdef".to_owned().into()
    }

    #[test]
    fn a_session_round_trips_through_its_cookie_until_it_ends() {
        let id = Uuid::new_v4();
        let session = Session::new(&secret(), id, Scope::Read, 1_000);
        let back = Session::from_cookie(&secret(), &session.value, 999).unwrap();
        assert_eq!(
            (back.token_id, back.scope, back.expires_at_s),
            (id, Scope::Read, 1_000)
        );
        assert!(Session::from_cookie(&secret(), &session.value, 1_000).is_none());
        let other: SecretString = "another-secret-another-secret-xx".to_owned().into();
        assert!(Session::from_cookie(&other, &session.value, 0).is_none());
    }

    #[test]
    fn a_tampered_cookie_is_refused() {
        let session = Session::new(&secret(), Uuid::new_v4(), Scope::Read, 1_000);
        let promoted = session.value.replace(".read.", ".admin.");
        let extended = session.value.replace(".1000.", ".9999.");
        for bad in [promoted.as_str(), extended.as_str(), "", "v1", "a.b.c.d.e"] {
            assert!(Session::from_cookie(&secret(), bad, 0).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_csrf_token_belongs_to_its_session() {
        let one = Session::new(&secret(), Uuid::new_v4(), Scope::Admin, 1_000);
        let two = Session::new(&secret(), Uuid::new_v4(), Scope::Admin, 1_000);
        let token = one.csrf_token(&secret());
        assert!(one.csrf_is_valid(&secret(), &token));
        assert!(!two.csrf_is_valid(&secret(), &token));
        assert!(!one.csrf_is_valid(&secret(), ""));
        assert!(!one.csrf_is_valid(&secret(), "not base64!"));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_the_console() {
        let session = Session::new(&secret(), Uuid::new_v4(), Scope::Admin, 1_000);
        let set = session.set_cookie(true, 400);
        assert!(set.starts_with("ap_console=v1."), "{set}");
        for part in [
            "Path=/console",
            "Max-Age=600",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        assert!(!session.set_cookie(false, 400).contains("Secure"));
    }
}
