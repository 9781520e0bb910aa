//! Outbound HTTP shared by every destination (Ashby's API, the vendor's webhook
//! endpoint): the client, the outcome of one call, `Retry-After`, reading an answer with
//! a size limit, and the trace context every request carries. What an answer *means* is
//! each destination's business.

use std::time::Duration;

use opentelemetry::propagation::{Injector, TextMapPropagator as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Sent with every request: Ashby's edge rejects empty or default agents.
pub const USER_AGENT: &str = concat!("ashby-partner/", env!("CARGO_PKG_VERSION"));

/// The most of an answer we read. Ashby's envelopes and a webhook receiver's
/// acknowledgement are a few hundred bytes; reading more would let one misbehaving (or
/// hostile) endpoint take the process's memory, once per concurrent delivery.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What became of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// The destination took it (for Ashby: HTTP 2xx and `"success": true`).
    Delivered { status: u16 },
    /// Worth another try later, not before `retry_after` when the destination said so.
    Retry {
        status: Option<u16>,
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Refused for good: retrying the same request cannot succeed.
    Refused { status: Option<u16>, reason: String },
    /// The destination asks us to slow down. Not a failure of this delivery: it waits
    /// (at least `retry_after`) without spending its attempts, and so do the others that
    /// the throttle covers.
    Throttled {
        status: Option<u16>,
        reason: String,
        retry_after: Option<Duration>,
        scope: ThrottleScope,
    },
}

/// Whom a throttle holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleScope {
    /// Everything sent with the same credentials (for Ashby: one tenant's key).
    Tenant,
    /// Everything this partner sends, whatever the tenant (Ashby's
    /// `X-RateLimit-Scope: integration-partner`).
    Partner,
}

impl CallOutcome {
    /// A word for the outcome, for traces and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Delivered { .. } => "delivered",
            Self::Retry { .. } => "retry",
            Self::Refused { .. } => "refused",
            Self::Throttled { .. } => "throttled",
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Delivered { status } => Some(*status),
            Self::Retry { status, .. }
            | Self::Refused { status, .. }
            | Self::Throttled { status, .. } => *status,
        }
    }
}

/// The HTTP client every destination uses: our User-Agent, the delivery timeout for
/// connecting and for the whole call, and no redirects — following one would replay the
/// POST as a bodiless GET whose 2xx proves nothing, so a 3xx is an answer (a refusal).
///
/// # Errors
/// The TLS backend cannot be initialised.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
}

/// The outcome of a request that got no answer: always worth a retry. `what` names the
/// destination in the reason ("webhook", or empty). The URL is left out of the reason:
/// it can carry credentials.
pub fn unanswered(what: &str, error: reqwest::Error) -> CallOutcome {
    let failure = failure_kind(&error);
    let prefix = if what.is_empty() {
        String::new()
    } else {
        format!("{what} ")
    };
    CallOutcome::Retry {
        status: None,
        reason: format!("{prefix}{failure}: {}", error.without_url()),
        retry_after: None,
    }
}

/// What kind of failure a request without an answer met, for `last_error` and the logs:
/// "error sending request" alone does not tell an operator whether to fix DNS, a
/// firewall, a certificate or the destination's speed.
fn failure_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        return "timed out";
    }
    let mut causes = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused",
                std::io::ErrorKind::ConnectionReset => return "connection reset",
                std::io::ErrorKind::TimedOut => return "timed out",
                _ => {}
            }
        }
        causes.push_str(&cause.to_string().to_ascii_lowercase());
        causes.push('\n');
        source = cause.source();
    }
    let mentions = |words: &[&str]| words.iter().any(|word| causes.contains(word));
    if mentions(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no address associated",
    ]) {
        "DNS lookup failed"
    } else if mentions(&["certificate", "tls", "handshake", "invalidcertificate"]) {
        "TLS failed"
    } else if mentions(&["connection refused"]) {
        "connection refused"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    }
}

/// The W3C `traceparent` (and `tracestate`) of the current span, for an outbound call.
/// Empty when the span is not exported (no `telemetry.otlp_endpoint`): then there is no
/// trace for the other side to join.
pub fn trace_headers() -> HeaderMap {
    let mut headers = OutgoingHeaders(HeaderMap::new());
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut headers);
    headers.0
}

struct OutgoingHeaders(HeaderMap);

impl Injector for OutgoingHeaders {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(key.as_bytes()),
            reqwest::header::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
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

/// An answer's status, `Retry-After` and body, the body at most [`MAX_ANSWER_BYTES`].
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// `X-RateLimit-Scope`, when the destination said which limit it applied.
    pub rate_limit_scope: Option<String>,
    pub body: Vec<u8>,
}

/// Reads an answer's body, stopping as soon as it passes [`MAX_ANSWER_BYTES`] (an
/// announced length over the limit stops it before reading anything).
///
/// # Errors
/// The outcome to record instead: a retry, because an answer we could not read whole
/// (too large, or cut off) does not tell us the request was taken.
pub async fn read_answer(mut response: reqwest::Response) -> Result<Answer, CallOutcome> {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let rate_limit_scope = response
        .headers()
        .get("x-ratelimit-scope")
        .and_then(|value| value.to_str().ok())
        .map(|scope| scope.trim().to_ascii_lowercase());
    let retry = |reason: String| CallOutcome::Retry {
        status: Some(status),
        reason,
        retry_after,
    };
    let too_large = || {
        retry(format!(
            "HTTP {status} with an answer larger than {} KiB: not read",
            MAX_ANSWER_BYTES / 1024
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(error) => {
                return Err(retry(format!(
                    "reading the answer failed: {}",
                    error.without_url()
                )));
            }
        }
    }
    Ok(Answer {
        status,
        retry_after,
        rate_limit_scope,
        body,
    })
}

#[cfg(test)]
#[path = "outgoing_tests.rs"]
mod tests;
