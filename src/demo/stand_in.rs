//! A stand-in for Ashby's API (and the vendor's webhook receiver) on loopback: checks
//! credentials and every body against Ashby's own schema, records what it got, and
//! answers like Ashby — once with a 503 first, to show a retry, then once with a 429
//! throttling the whole integration partner, to show that throttling is not failure. It
//! also plays Ashby's webhooks: it accepts `webhook.create`, pings the request URL as
//! Ashby does, and sends signed webhooks when the demo asks it to.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::timeline::Timeline;
use crate::ashby::webhooks::{self as ashby_webhooks, SIGNATURE_HEADER};
use crate::delivery::webhook::sign;

const UPDATE_SCHEMA: &str =
    include_str!("../../tests/ashby-schemas/assessment.update.request.json");

/// What the stand-in received.
#[derive(Default)]
pub struct Received {
    pub updates: Vec<Value>,
    pub webhooks: Vec<Value>,
    pub problems: Vec<String>,
    /// The webhooks registered through `webhook.create`, in order.
    pub registered: Vec<Registered>,
    /// Whether the partner-wide 429 was answered (before the update was accepted).
    pub throttled_once: bool,
    failed_once: bool,
}

/// One `webhook.create`, as Ashby keeps it: where to send, and the key to sign with.
pub struct Registered {
    pub webhook_type: String,
    pub request_url: String,
    secret_token: String,
}

pub struct StandIn {
    pub base_url: String,
    pub received: Arc<Mutex<Received>>,
    pub arrived: Arc<Notify>,
    handle: ServerHandle,
    timeline: Timeline,
}

struct State {
    api_key: String,
    webhook_key: Vec<u8>,
    received: Arc<Mutex<Received>>,
    arrived: Arc<Notify>,
    timeline: Timeline,
    schema: jsonschema::Validator,
    http: reqwest::Client,
}

impl StandIn {
    /// Starts on 127.0.0.1, on a free port.
    ///
    /// # Errors
    /// The port cannot be bound, or the embedded schema does not compile.
    pub fn start(api_key: &str, webhook_key: Vec<u8>, timeline: Timeline) -> anyhow::Result<Self> {
        let schema: Value = serde_json::from_str(UPDATE_SCHEMA)?;
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| anyhow::anyhow!("Ashby's schema does not compile: {e}"))?;
        let received = Arc::new(Mutex::new(Received::default()));
        let arrived = Arc::new(Notify::new());
        let state = web::Data::new(State {
            api_key: api_key.to_owned(),
            webhook_key,
            received: Arc::clone(&received),
            arrived: Arc::clone(&arrived),
            timeline: timeline.clone(),
            schema: validator,
            http: reqwest::Client::new(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/assessment.update", web::post().to(update))
                .route("/webhook.create", web::post().to(webhook_create))
                .route("/vendor/webhook", web::post().to(webhook))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            base_url,
            received,
            arrived,
            handle,
            timeline,
        })
    }

    /// Sends `body` as Ashby sends a webhook of `webhook_type`: to the registered request
    /// URL, signed with the registered secret over the exact bytes sent. The HTTP status
    /// of the answer.
    ///
    /// # Errors
    /// No such webhook was registered, or the server cannot be reached.
    pub async fn send_webhook(&self, webhook_type: &str, body: &Value) -> anyhow::Result<u16> {
        let (url, secret) = {
            let received = lock(&self.received);
            let registered = received
                .registered
                .iter()
                .find(|r| r.webhook_type == webhook_type)
                .ok_or_else(|| anyhow::anyhow!("no {webhook_type} webhook was registered"))?;
            (
                registered.request_url.clone(),
                registered.secret_token.clone(),
            )
        };
        let status = post_signed(&reqwest::Client::new(), &url, &secret, body).await?;
        self.timeline.note(
            Instant::now(),
            "Ashby (stand-in)",
            format!(
                "sends signed {webhook_type} {} for application {} → {status}",
                body["data"]["application"]["status"],
                body["data"]["application"]["id"].as_str().unwrap_or("-")
            ),
        );
        Ok(status)
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

fn lock(received: &Mutex<Received>) -> std::sync::MutexGuard<'_, Received> {
    received
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `Authorization: Basic` with the tenant's key as username, as Ashby requires.
fn authorised(req: &HttpRequest, state: &State) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", state.api_key))
    );
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .json(json!({"success": false, "errorInfo": {"code": "unauthorized"}}))
}

/// POSTs `body` signed as Ashby signs its webhooks; the status of the answer.
async fn post_signed(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    body: &Value,
) -> anyhow::Result<u16> {
    let raw = body.to_string();
    let signature = ashby_webhooks::sign(secret.as_bytes(), raw.as_bytes());
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(raw)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// `webhook.create`: records the webhook, then pings its URL as Ashby does — a URL that
/// does not answer the signed ping with 2xx would leave the webhook disabled in Ashby.
async fn webhook_create(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
) -> HttpResponse {
    if !authorised(&req, &state) {
        return unauthorized();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let field = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    let (webhook_type, request_url, secret_token) = (
        field("webhookType"),
        field("requestUrl"),
        field("secretToken"),
    );
    if webhook_type.is_empty() || request_url.is_empty() || secret_token.is_empty() {
        lock(&state.received).problems.push(format!(
            "webhook.create lacks webhookType, requestUrl or secretToken: {:?}",
            body.as_object().map(|o| o.keys().collect::<Vec<_>>())
        ));
        return HttpResponse::Ok()
            .json(json!({"success": false, "errorInfo": {"code": "invalid_input"}}));
    }
    let ping = post_signed(
        &state.http,
        &request_url,
        &secret_token,
        &json!({"action": "ping", "data": {"webhookType": webhook_type}}),
    )
    .await;
    let answered = match &ping {
        Ok(status) => status.to_string(),
        Err(error) => format!("not at all ({error})"),
    };
    state.timeline.note(
        Instant::now(),
        "Ashby (stand-in)",
        format!("webhook.create \"{webhook_type}\" → ping answered {answered}"),
    );
    let mut received = lock(&state.received);
    if !matches!(ping, Ok(200..=299)) {
        received.problems.push(format!(
            "the ping of the {webhook_type} webhook was answered {answered}"
        ));
    }
    let id = received.registered.len() + 1;
    received.registered.push(Registered {
        webhook_type,
        request_url,
        secret_token,
    });
    drop(received);
    HttpResponse::Ok().json(json!({"success": true, "results": {"id": format!("webhook-{id}")}}))
}

async fn update(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    if !authorised(&req, &state) {
        return unauthorized();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let status = body["assessment_status"]["value"]
        .as_str()
        .unwrap_or("-")
        .to_owned();
    {
        let mut received = lock(&state.received);
        // Ashby is briefly unavailable once: the update must come back by itself.
        if !received.failed_once {
            received.failed_once = true;
            state.timeline.note(
                Instant::now(),
                "Ashby (stand-in)",
                format!("answers 503 to assessment.update \"{status}\" (a planned hiccup)"),
            );
            return HttpResponse::ServiceUnavailable().finish();
        }
        // Then Ashby limits the partner across all its customers, once: every tenant must
        // hold back for a second, and the update must still arrive.
        if !received.throttled_once {
            received.throttled_once = true;
            state.timeline.note(
                Instant::now(),
                "Ashby (stand-in)",
                format!(
                    "answers 429 integration-partner: every tenant holds back 1 s \
                     (assessment.update \"{status}\", Retry-After: 1)"
                ),
            );
            return HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", "1"))
                .insert_header(("X-RateLimit-Scope", "integration-partner"))
                .json(json!({"success": false, "errorInfo": {"code": "rate_limit_exceeded"}}));
        }
        let errors: Vec<String> = state
            .schema
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        if errors.is_empty() {
            state.timeline.note(
                Instant::now(),
                "Ashby (stand-in)",
                format!(
                    "receives assessment.update \"{status}\" timestamp={} — matches Ashby's schema",
                    body["timestamp"]
                ),
            );
        } else {
            received.problems.push(format!(
                "assessment.update does not match Ashby's schema: {errors:?}"
            ));
        }
        received.updates.push(body);
    }
    state.arrived.notify_one();
    HttpResponse::Ok().json(json!({"success": true, "results": {}}))
}

async fn webhook(req: HttpRequest, raw: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let Ok(body) = serde_json::from_slice::<Value>(&raw) else {
        return HttpResponse::BadRequest().finish();
    };
    // What a vendor must do: recompute the signature over the exact bytes received.
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or_default();
    let expected = sign(
        &state.webhook_key,
        header("webhook-id"),
        timestamp,
        &String::from_utf8_lossy(&raw),
    );
    let verified = header("webhook-signature") == expected;
    // A cancel says why; the others carry the candidate's link.
    let detail = match body["data"]["reason"].as_str() {
        Some(reason) => format!("reason {reason}"),
        None => format!(
            "candidate link {}",
            shortened(body["data"]["candidate_url"].as_str().unwrap_or("-"))
        ),
    };
    state.timeline.note(
        Instant::now(),
        "vendor (stand-in)",
        format!(
            "receives webhook {} {}— {detail}",
            body["type"],
            if verified {
                "(signature verified) "
            } else {
                "(BAD SIGNATURE) "
            },
        ),
    );
    let mut received = lock(&state.received);
    if !verified {
        received
            .problems
            .push(format!("webhook {} has a bad signature", body["type"]));
    }
    received.webhooks.push(body);
    drop(received);
    state.arrived.notify_one();
    HttpResponse::NoContent().finish()
}

/// A candidate link with its long token cut short, for the timeline.
fn shortened(link: &str) -> String {
    match link.char_indices().nth(48) {
        Some((cut, _)) => format!("{}…", &link[..cut]),
        None => link.to_owned(),
    }
}
