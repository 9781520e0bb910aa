//! The HTTP client for Ashby's API, and the classification of every answer (CONTRACT §6):
//! delivered, worth retrying (with Ashby's `Retry-After`), or refused for good.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

/// Sent with every request: Ashby's edge rejects empty or default agents.
pub const USER_AGENT: &str = concat!("ashby-partner/", env!("CARGO_PKG_VERSION"));

/// What became of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// HTTP 2xx and `"success": true`.
    Delivered { status: u16 },
    /// Worth another try later, not before `retry_after` when Ashby said so.
    Retry {
        status: Option<u16>,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Refused for good: retrying the same request cannot succeed.
    Refused { status: Option<u16>, reason: String },
}

#[derive(Clone)]
pub struct AshbyClient {
    http: reqwest::Client,
}

impl AshbyClient {
    /// # Errors
    /// The TLS backend cannot be initialised.
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // Never follow a redirect: it would replay the POST as a GET without its body.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self { http })
    }

    /// POSTs `body` to `<base_url>/<method>` with the tenant's API key (HTTP Basic,
    /// key as username, empty password) and classifies the answer.
    pub async fn call(
        &self,
        base_url: &str,
        method: &str,
        api_key: &SecretString,
        body: &Value,
    ) -> CallOutcome {
        let url = format!("{}/{method}", base_url.trim_end_matches('/'));
        let sent = self
            .http
            .post(url)
            .basic_auth(api_key.expose_secret(), Some(""))
            .header(ACCEPT, "application/json; version=1")
            .header(CONTENT_TYPE, "application/json")
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let what = if error.is_timeout() {
                    "timed out"
                } else if error.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                return CallOutcome::Retry {
                    status: None,
                    reason: format!("{what}: {}", error.without_url()),
                    retry_after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        match response.bytes().await {
            Ok(bytes) => classify(status, retry_after, &bytes),
            Err(error) => CallOutcome::Retry {
                status: Some(status),
                reason: format!("reading the answer failed: {}", error.without_url()),
                retry_after,
            },
        }
    }
}

/// `Retry-After` in seconds or as an HTTP date, as a wait from now.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Classifies an answer by status and body.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> CallOutcome {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(error_code);
    let described = |prefix: String| match &error {
        Some((code, Some(message))) => format!("{prefix}: {code}: {message}"),
        Some((code, None)) => format!("{prefix}: {code}"),
        None => prefix,
    };
    let retry = |reason: String| CallOutcome::Retry {
        status: Some(status),
        reason,
        retry_after,
    };
    let refused = |reason: String| CallOutcome::Refused {
        status: Some(status),
        reason,
    };
    match status {
        200..=299 => match parsed
            .as_ref()
            .and_then(|v| v.get("success"))
            .and_then(Value::as_bool)
        {
            Some(true) => CallOutcome::Delivered { status },
            Some(false) => match &error {
                Some((code, _)) if is_throttling(code) => retry(described("throttled".into())),
                _ => refused(described("Ashby answered success: false".into())),
            },
            // A 2xx that is not Ashby's envelope (a proxy?): not known to be delivered.
            None => retry(format!("HTTP {status} without Ashby's success flag")),
        },
        408 | 429 => retry(described(format!("HTTP {status}"))),
        500..=599 => retry(described(format!("HTTP {status}"))),
        401 => refused(described(
            "HTTP 401: Ashby rejected the API key (missing?)".into(),
        )),
        403 => refused(described(
            "HTTP 403: wrong or deactivated API key, or a missing permission".into(),
        )),
        _ => refused(described(format!("HTTP {status}"))),
    }
}

/// `errorInfo.code` (with its message), or the first of the older `errors: [code]`.
fn error_code(body: &Value) -> Option<(String, Option<String>)> {
    if let Some(info) = body.get("errorInfo")
        && let Some(code) = info.get("code").and_then(Value::as_str)
    {
        let message = info
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        return Some((code.to_owned(), message));
    }
    body.get("errors")?
        .as_array()?
        .first()?
        .as_str()
        .map(|code| (code.to_owned(), None))
}

/// Ashby's throttling codes are not documented; these spellings cover the known ones.
fn is_throttling(code: &str) -> bool {
    let code = code.to_ascii_lowercase();
    ["rate_limit", "ratelimit", "throttl", "too_many_requests"]
        .iter()
        .any(|marker| code.contains(marker))
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
