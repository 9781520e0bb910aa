//! Trace export: with `telemetry.otlp_endpoint` set, the spans of requests and deliveries
//! reach an OTLP/HTTP collector (a stand-in here, decoding the protobuf) with the tenant and
//! assessment ids; calls to Ashby and the vendor's webhook carry the delivery span's
//! `traceparent`; an incoming `traceparent` is the parent of its request's span.
//!
//! The export test runs the real `serve` in a process of its own, as production does: its
//! global subscriber, its exporter, its shutdown flush.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use mockito::Matcher;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;

use crate::crash::Serve;
use crate::helpers::{ASHBY_OK, TestApp, start_body};

const ASHBY_KEY: &str = "ashby-secret-key";
const VENDOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A caller's trace: trace id, then its span's id.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP collector on a port of its own: keeps every span it is sent.
struct Collector {
    url: String,
    spans: Arc<Mutex<Vec<Span>>>,
    handle: ServerHandle,
}

impl Collector {
    async fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = web::Data::from(spans.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(kept.clone())
                .route("/v1/traces", web::post().to(receive))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}"),
            spans,
            handle,
        }
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

async fn receive(body: web::Bytes, spans: web::Data<Mutex<Vec<Span>>>) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut kept = spans.lock().unwrap();
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            kept.extend(scope.spans);
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// An attribute's value as text (strings and integers).
fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span.attributes.iter().find(|kv| kv.key == key)?;
    match value.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(text) => Some(text.clone()),
        any_value::Value::IntValue(number) => Some(number.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// Every `traceparent` a mock received.
#[derive(Clone, Default)]
struct TraceParents(Arc<Mutex<Vec<String>>>);

impl TraceParents {
    fn matcher(&self) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
        let seen = self.0.clone();
        move |request| {
            let value = request
                .header("traceparent")
                .first()
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_owned();
            seen.lock().unwrap().push(value);
            true
        }
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// The span a `traceparent` (`00-<trace id>-<span id>-<flags>`) names: of the same trace.
fn span_of<'a>(spans: &'a [Span], traceparent: &str) -> &'a Span {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "not a traceparent: {traceparent:?}");
    let span = spans
        .iter()
        .find(|span| hex(&span.span_id) == parts[2])
        .unwrap_or_else(|| panic!("no exported span is the parent of {traceparent}"));
    assert_eq!(parts[1], hex(&span.trace_id), "the span's trace");
    span
}

/// Run as `serve` runs: the real binary, its global subscriber and its exporter, stopped
/// with SIGTERM, which sends the last spans. (In-process, next to the suite's other apps,
/// an app's own scoped subscriber sometimes lost every span; a process of its own is also
/// what production runs.)
#[cfg(unix)]
#[tokio::test]
async fn requests_and_deliveries_are_exported_with_their_ids_and_propagate_their_trace() {
    let collector = Collector::start().await;
    let mut ashby = mockito::Server::new_async().await;
    let to_ashby = TraceParents::default();
    let to_vendor = TraceParents::default();
    let update = ashby
        .mock("POST", "/assessment.update")
        .match_request(to_ashby.matcher())
        .with_status(200)
        .with_body(ASHBY_OK)
        .create_async()
        .await;
    let webhook = ashby
        .mock("POST", "/hooks")
        .match_request(to_vendor.matcher())
        .with_status(204)
        .create_async()
        .await;
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), ASHBY_KEY)
        .await;
    let hooks = format!("{}/hooks", ashby.url());
    let serve = Serve::start_with(
        &app,
        &[
            ("ASHBY_PARTNER__TELEMETRY__OTLP_ENDPOINT", &collector.url),
            ("ASHBY_PARTNER__VENDOR__WEBHOOK_URL", &hooks),
            ("ASHBY_PARTNER__VENDOR__WEBHOOK_SECRET", VENDOR_SECRET),
        ],
    )
    .await;

    let response = app
        .client
        .post(format!("{}/assessment.start", serve.address))
        .basic_auth(&tenant.key, Some(""))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .json(&start_body(&uuid::Uuid::new_v4().to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let id = body["results"]["assessment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .client
        .post(format!("{}/v1/assessments/{id}/events", serve.address))
        .bearer_auth(app.token_with_scope("engine"))
        .json(&json!({"status": "in_progress"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The server's own workers deliver: wait (bounded) until Ashby and the vendor have it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !(update.matched_async().await && webhook.matched_async().await) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not delivered within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    serve.terminate();
    let spans = collector.spans();
    assert!(
        spans.iter().any(|s| s.name == "POST /assessment.start"),
        "the start request's span, among {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );

    let tenant_id = tenant.id.to_string();

    let start = spans
        .iter()
        .find(|span| span.name == "POST /assessment.start")
        .expect("the start request's span");
    assert_eq!(hex(&start.trace_id), TRACE_ID, "the caller's trace");
    assert_eq!(hex(&start.parent_span_id), PARENT_ID, "the caller's span");
    assert_eq!(
        attribute(start, "ashby_partner.tenant_id"),
        Some(tenant_id.clone())
    );
    assert_eq!(
        attribute(start, "ashby_partner.assessment_id"),
        Some(id.clone())
    );
    assert_eq!(attribute(start, "status").as_deref(), Some("200"));

    let event = spans
        .iter()
        .find(|span| span.name == "POST /v1/assessments/{id}/events")
        .expect("the vendor event's span");
    assert_eq!(
        attribute(event, "ashby_partner.assessment_id"),
        Some(id.clone())
    );
    assert!(event.parent_span_id.is_empty(), "no caller's trace: a root");

    // Each attempt's span links to the span of the request that queued its delivery.
    let id_of = |span: &Span| (hex(&span.trace_id), hex(&span.span_id));
    let queued_by = |span: &Span| {
        span.links
            .iter()
            .map(|link| (hex(&link.trace_id), hex(&link.span_id)))
            .collect::<Vec<_>>()
    };
    let mut webhooks_queued_by_the_start = 0;
    for (kind, traceparents, status) in [
        ("assessment.update", to_ashby.all(), "200"),
        ("vendor.webhook", to_vendor.all(), "204"),
    ] {
        assert!(!traceparents.is_empty(), "{kind} was sent");
        for traceparent in traceparents {
            // The request went out inside its delivery's span, which says what it was.
            let span = span_of(&spans, &traceparent);
            assert_eq!(span.name, format!("deliver {kind}"));
            assert_eq!(
                attribute(span, "ashby_partner.delivery_kind").as_deref(),
                Some(kind)
            );
            assert_eq!(
                attribute(span, "ashby_partner.tenant_id"),
                Some(tenant_id.clone())
            );
            assert_eq!(
                attribute(span, "ashby_partner.assessment_id"),
                Some(id.clone())
            );
            assert!(attribute(span, "ashby_partner.delivery_id").is_some_and(|id| !id.is_empty()));
            assert_eq!(
                attribute(span, "ashby_partner.outcome").as_deref(),
                Some("delivered")
            );
            assert_eq!(
                attribute(span, "http.response.status_code").as_deref(),
                Some(status)
            );
            let links = queued_by(span);
            if kind == "assessment.update" {
                assert_eq!(
                    links,
                    vec![id_of(event)],
                    "the update was queued by the event"
                );
            } else {
                assert!(
                    links == vec![id_of(start)] || links == vec![id_of(event)],
                    "a webhook links to the request that queued it: {links:?}"
                );
                webhooks_queued_by_the_start += usize::from(links == vec![id_of(start)]);
            }
        }
    }
    assert!(
        webhooks_queued_by_the_start >= 1,
        "assessment.started links to the start request"
    );

    // Nothing secret or personal in any attribute.
    let everything = format!(
        "{:?}",
        spans.iter().map(|s| &s.attributes).collect::<Vec<_>>()
    );
    for secret in [
        ASHBY_KEY,
        tenant.key.as_str(),
        "ada@example.com",
        "Lovelace",
    ] {
        assert!(!everything.contains(secret), "{secret} in an attribute");
    }
    collector.handle.stop(true).await;
}

#[tokio::test]
async fn without_an_endpoint_no_traceparent_goes_out() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let update = ashby
        .mock("POST", "/assessment.update")
        .match_header("traceparent", Matcher::Missing)
        .with_status(200)
        .with_body(ASHBY_OK)
        .create_async()
        .await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), ASHBY_KEY)
        .await;
    let id = app
        .start_assessment(&tenant, &start_body(&uuid::Uuid::new_v4().to_string()))
        .await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await;
    update.assert_async().await;
}
