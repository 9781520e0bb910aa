//! A stand-in for Ashby's API (and the vendor's webhook receiver) on loopback: checks
//! credentials and every body against Ashby's own schema, records what it got, and
//! answers like Ashby — once with a 503 first, to show a retry.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::timeline::Timeline;
use crate::delivery::webhook::sign;

const UPDATE_SCHEMA: &str =
    include_str!("../../tests/ashby-schemas/assessment.update.request.json");

/// What the stand-in received.
#[derive(Default)]
pub struct Received {
    pub updates: Vec<Value>,
    pub webhooks: Vec<Value>,
    pub problems: Vec<String>,
    failed_once: bool,
}

pub struct StandIn {
    pub base_url: String,
    pub received: Arc<Mutex<Received>>,
    pub arrived: Arc<Notify>,
    handle: ServerHandle,
}

struct State {
    api_key: String,
    webhook_key: Vec<u8>,
    received: Arc<Mutex<Received>>,
    arrived: Arc<Notify>,
    timeline: Timeline,
    schema: jsonschema::Validator,
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
            timeline,
            schema: validator,
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .route("/assessment.update", web::post().to(update))
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
        })
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

async fn update(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:", state.api_key))
    );
    let authorised = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorised {
        return HttpResponse::Unauthorized()
            .json(json!({"success": false, "errorInfo": {"code": "unauthorized"}}));
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
    state.timeline.note(
        Instant::now(),
        "vendor (stand-in)",
        format!(
            "receives webhook {} {}— candidate link {}",
            body["type"],
            if verified {
                "(signature verified) "
            } else {
                "(BAD SIGNATURE) "
            },
            shortened(body["data"]["candidate_url"].as_str().unwrap_or("-"))
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
