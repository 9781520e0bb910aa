//! The client for Ashby's API, and the classification of every answer (CONTRACT §6):
//! delivered, worth retrying (with Ashby's `Retry-After`), or refused for good. The
//! transport (client, timeouts, bounded reading) is [`crate::outgoing`]'s.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;

use super::method::Method;
use crate::outgoing::{self, CallOutcome, ThrottleScope, read_answer};

/// Ashby's `X-RateLimit-Scope` for a limit on the partner across all its customers.
const PARTNER_SCOPE: &str = "integration-partner";

#[derive(Clone)]
pub struct AshbyClient {
    http: reqwest::Client,
}

impl AshbyClient {
    /// # Errors
    /// The TLS backend cannot be initialised.
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: outgoing::http_client(timeout)?,
        })
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
        match self.post(base_url, method, api_key, body).await {
            Ok((outcome, _)) | Err(outcome) => outcome,
        }
    }

    /// The request every call makes, and its answer: classified, with the body read (up to
    /// the limit). `Err` when there was no answer to read.
    async fn post(
        &self,
        base_url: &str,
        method: &str,
        api_key: &SecretString,
        body: &Value,
    ) -> Result<(CallOutcome, outgoing::Answer), CallOutcome> {
        let url = format!("{}/{method}", base_url.trim_end_matches('/'));
        let response = self
            .http
            .post(url)
            .basic_auth(api_key.expose_secret(), Some(""))
            .header(ACCEPT, "application/json; version=1")
            .header(CONTENT_TYPE, "application/json")
            .headers(outgoing::trace_headers())
            .json(body)
            .send()
            .await
            .map_err(|error| outgoing::unanswered("", error))?;
        let answer = read_answer(response).await?;
        let outcome = match classify(answer.status, answer.retry_after, &answer.body) {
            // Ashby throttles the partner as a whole: every tenant must hold back.
            CallOutcome::Throttled {
                status,
                reason,
                retry_after,
                ..
            } if answer.rate_limit_scope.as_deref() == Some(PARTNER_SCOPE) => {
                CallOutcome::Throttled {
                    status,
                    reason: format!("{reason} (the whole integration partner is throttled)"),
                    retry_after,
                    scope: ThrottleScope::Partner,
                }
            }
            outcome => outcome,
        };
        Ok((outcome, answer))
    }

    /// The ids of the candidates whose email is `email` (`candidate.search`).
    ///
    /// # Errors
    /// The call's outcome when it is not a success with a list of results.
    pub async fn search_candidates_by_email(
        &self,
        base_url: &str,
        api_key: &SecretString,
        email: &str,
    ) -> Result<Vec<String>, CallOutcome> {
        let body = serde_json::json!({ "email": email });
        let (outcome, answer) = self
            .post(base_url, Method::CandidateSearch.path(), api_key, &body)
            .await?;
        if !matches!(outcome, CallOutcome::Delivered { .. }) {
            return Err(outcome);
        }
        let parsed: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        let Some(results) = parsed.get("results").and_then(Value::as_array) else {
            return Err(CallOutcome::Retry {
                status: Some(answer.status),
                reason: "candidate.search answered without a results list".into(),
                retry_after: None,
            });
        };
        Ok(results
            .iter()
            .filter_map(|candidate| candidate.get("id").and_then(Value::as_str))
            .map(str::to_owned)
            .collect())
    }
}

impl AshbyClient {
    /// Asks Ashby whether `api_key` works (`apiKey.info`), classified like any call:
    /// delivered = accepted; a refusal with 401/403 = the key is rejected.
    pub async fn check_key(&self, base_url: &str, api_key: &SecretString) -> CallOutcome {
        let method = Method::ApiKeyInfo.path();
        self.call(base_url, method, api_key, &serde_json::json!({}))
            .await
    }
}

/// Classifies an answer by status and body. A 429, or `success: false` with a throttling
/// code, is [`CallOutcome::Throttled`] for the tenant; the caller widens it to the partner
/// when Ashby says so.
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
    let throttled = |reason: String| CallOutcome::Throttled {
        status: Some(status),
        reason,
        retry_after,
        scope: ThrottleScope::Tenant,
    };
    match status {
        200..=299 => match parsed
            .as_ref()
            .and_then(|v| v.get("success"))
            .and_then(Value::as_bool)
        {
            Some(true) => CallOutcome::Delivered { status },
            Some(false) => match &error {
                Some((code, _)) if is_throttling(code) => throttled(described("throttled".into())),
                _ => refused(described("Ashby answered success: false".into())),
            },
            // A 2xx that is not Ashby's envelope (a proxy?): not known to be delivered.
            None => retry(format!("HTTP {status} without Ashby's success flag")),
        },
        429 => throttled(described("HTTP 429".into())),
        408 => retry(described(format!("HTTP {status}"))),
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
