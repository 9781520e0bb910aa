//! Structured logs on stderr: text, or JSON when `ASHBY_PARTNER_LOG_FORMAT=json`.
//! One line per request, with its id, route pattern, status and latency — never its
//! headers or raw path (a candidate link's token travels in a path).
//!
//! With `telemetry.otlp_endpoint` set, the same spans are also exported as OpenTelemetry
//! traces over OTLP/HTTP (see [`TraceExport`] and "Tracing" in docs/deployment.md): a span
//! per request (a W3C `traceparent` that comes in is its parent) and per delivery attempt,
//! and the current span's `traceparent` goes out with every call to Ashby and to the
//! vendor's webhook (`outgoing::trace_headers`).

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use actix_web::Error;
use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use opentelemetry::KeyValue;
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use tracing::{Dispatch, Span};
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt as _};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Registry};

use crate::settings::TelemetrySettings;

/// The default filter: `info` for the server and the operator commands (the exporter's
/// own messages only when something is wrong).
pub const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,opentelemetry=warn";

/// How long one export to the collector may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs the global subscriber, with `default_filter` unless `RUST_LOG` says
/// otherwise. Call once, when the configuration has been read (`Cli::run`).
///
/// With `export`, the subscriber also exports its spans. It is a layer of the subscriber from
/// the start, not one swapped in later (a `reload` layer): the export layer is found by a
/// downcast — to give a request its caller's `traceparent` as parent and to read a span's
/// context for the outgoing `traceparent` — and a `reload` layer refuses downcasts.
pub fn init(default_filter: &str, export: Option<&TraceExport>) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("ASHBY_PARTNER_LOG_FORMAT").is_ok_and(|f| f == "json");
    // Colour codes only for a person at a terminal, never into a file or a log collector.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let export = export.map(TraceExport::layer::<Registry>);
    let registry = tracing_subscriber::registry().with(export).with(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    if json {
        registry
            .with(
                fmt.json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .init();
    } else {
        registry.with(fmt).init();
    }
}

#[derive(Debug, thiserror::Error)]
#[error("telemetry.otlp_endpoint: {0}")]
pub struct TelemetryError(String);

/// Trace export to an OTLP/HTTP collector: a batch exporter running as a task on the
/// tokio runtime it was started on. Spans reach it through a subscriber: the global one
/// ([`Self::install`], the server) or one of its own ([`Self::dispatch`], tests running
/// several applications in one process).
pub struct TraceExport {
    provider: SdkTracerProvider,
}

impl TraceExport {
    /// Starts the exporter when `telemetry.otlp_endpoint` is set; `None` when it is not.
    /// Must run on the tokio runtime that is to carry the exports.
    ///
    /// # Errors
    /// The exporter cannot be built (its HTTP client, or an endpoint it refuses).
    pub fn start(settings: &TelemetrySettings) -> Result<Option<Self>, TelemetryError> {
        let Some(url) = settings.traces_url() else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|error| TelemetryError(error.to_string()))?;
        let processor =
            opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
                exporter,
                opentelemetry_sdk::runtime::Tokio,
            )
            .build();
        // The detectors read OTEL_RESOURCE_ATTRIBUTES (deployment.environment, ...); the
        // configured name wins over OTEL_SERVICE_NAME.
        let resource = Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            // A caller's sampling decision (its traceparent) wins over the ratio.
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                settings.sample_ratio,
            ))))
            .with_resource(resource)
            .build();
        Ok(Some(Self { provider }))
    }

    fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("ashby-partner"))
            .with_threads(false)
    }

    /// A subscriber of its own that exports (and logs nothing), for an application
    /// given [`SpanScope::of`] it.
    pub fn dispatch(&self) -> Dispatch {
        Dispatch::new(
            tracing_subscriber::registry()
                .with(self.layer())
                .with(EnvFilter::new(DEFAULT_FILTER)),
        )
    }

    /// Exports every finished span now, and waits for the collector's answer.
    ///
    /// # Errors
    /// The export failed (the collector is unreachable or refused it).
    pub async fn flush(&self) -> Result<(), TelemetryError> {
        let provider = self.provider.clone();
        // The processor waits for its task by blocking: off the runtime's threads, so
        // that the task can run even on a single-threaded runtime.
        tokio::task::spawn_blocking(move || provider.force_flush())
            .await
            .map_err(|error| TelemetryError(error.to_string()))?
            .map_err(|error| TelemetryError(error.to_string()))
    }

    /// Exports what is left and stops the exporter (at the end of `serve`).
    ///
    /// # Errors
    /// The last export failed.
    pub async fn shutdown(self) -> Result<(), TelemetryError> {
        let provider = self.provider;
        tokio::task::spawn_blocking(move || provider.shutdown())
            .await
            .map_err(|error| TelemetryError(error.to_string()))?
            .map_err(|error| TelemetryError(error.to_string()))
    }
}

/// Where an application's spans go: the process's subscriber (the server), or a
/// subscriber of its own (tests, where several applications share one process and the
/// global subscriber cannot be per application).
#[derive(Clone, Default)]
pub struct SpanScope(Option<Dispatch>);

impl SpanScope {
    pub fn of(dispatch: Dispatch) -> Self {
        Self(Some(dispatch))
    }

    /// Runs `f` (creating a span, calling a service) with this scope's subscriber.
    pub fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.0 {
            Some(dispatch) => tracing::dispatcher::with_default(dispatch, f),
            None => f(),
        }
    }

    /// `future`, polled with this scope's subscriber.
    pub fn run<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        use futures_util::future::Either;
        use tracing::instrument::WithSubscriber as _;
        match &self.0 {
            Some(dispatch) => Either::Left(future.with_subscriber(dispatch.clone())),
            None => Either::Right(future),
        }
    }
}

/// Records the tenant on the current request's span (and its exported span).
pub fn record_tenant(id: impl Display) {
    Span::current().record("ashby_partner.tenant_id", tracing::field::display(id));
}

/// Records the assessment on the current request's span.
pub fn record_assessment(id: impl Display) {
    Span::current().record("ashby_partner.assessment_id", tracing::field::display(id));
}

/// The W3C `traceparent` of the current span, kept with a delivery it queues so that
/// each attempt's span can link back to it ([`link_to_queuer`]). `None` when the span is
/// not exported (no `telemetry.otlp_endpoint`, or not sampled): there is nothing to link.
pub fn current_traceparent() -> Option<String> {
    let context = Span::current().context();
    if !context.span().span_context().is_sampled() {
        return None;
    }
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// Links `span` (a delivery attempt's) to the span that queued the delivery, given that
/// span's `traceparent` as stored. A value that does not parse is ignored: a link is a
/// convenience, never a reason for a delivery to fail.
pub fn link_to_queuer(span: &Span, traceparent: &str) {
    let carrier =
        std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    let queuer = context.span().span_context().clone();
    if queuer.is_valid() {
        span.add_link(queuer);
    }
}

struct IncomingHeaders<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for IncomingHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(actix_web::http::header::HeaderName::as_str)
            .collect()
    }
}

/// The per-request span: the route pattern, not the raw path, so no token in a path
/// can reach a log line or a trace. Exported as a server span named `METHOD route`.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = %request_id,
            status = tracing::field::Empty,
            ashby_partner.tenant_id = tracing::field::Empty,
            ashby_partner.assessment_id = tracing::field::Empty,
            otel.name = %format!("{} {route}", request.method()),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
        );
        // A caller that traces (a W3C traceparent) makes this span part of its trace.
        if request.headers().contains_key("traceparent") {
            let parent = TraceContextPropagator::new().extract(&IncomingHeaders(request.headers()));
            let _ = span.set_parent(parent);
        }
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
        if status >= 500 {
            span.record("otel.status_code", "error");
        }
        span.in_scope(|| tracing::info!(status, "request"));
    }
}
