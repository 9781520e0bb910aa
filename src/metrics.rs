//! Prometheus metrics (CONTRACT §8): requests and latency by route and status, delivery
//! attempts by outcome (counted by this process), deliveries by kind and status, the
//! oldest pending delivery's age and tenants by Ashby key status (read from the database,
//! so every replica reports the same, true numbers).
//!
//! A scrape reads only what is small: pending and dead deliveries (through an index),
//! tenants, and the tallies of the finished deliveries (delivered, superseded,
//! dismissed), which grow by the million and which the database keeps counted as they
//! change (`store::delivery_tallies`). So every figure is exact as of the scrape, and a
//! scrape costs the same at any size.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::DbErr;

use crate::domain::delivery::{DeliveryKind, DeliveryStatus};
use crate::domain::tenant::AshbyKeyStatus;
use crate::store::{self, delivery_stats, delivery_tallies};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// The methods a label may name. Anything else a client invents is "OTHER": every label
/// value comes from a fixed set, or one client can grow `/metrics` without bound.
const KNOWN_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The label for a request method: itself when standard, else "OTHER".
fn method_label(method: &actix_web::http::Method) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|known| **known == method.as_str())
        .copied()
        .unwrap_or("OTHER")
}

/// The label for a request's route: the pattern it matched (a finite set, fixed by the
/// code), never the raw path, which carries ids and tokens.
const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    kind: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    key_status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottleLabels {
    scope: String,
}

/// The `scope` label of a throttle: one tenant, or Ashby's `integration-partner`.
pub const THROTTLE_SCOPES: [&str; 2] = ["tenant", "integration-partner"];

struct Inner {
    registry: Registry,
    throttled: Family<ThrottleLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
    attempts: Family<AttemptLabels, Counter>,
    deliveries: Family<DeliveryLabels, Gauge>,
    oldest_pending: Gauge<f64, AtomicU64>,
    tenants: Family<TenantLabels, Gauge>,
    /// One scrape at a time refreshes the database gauges and encodes them.
    scrape: tokio::sync::Mutex<()>,
}

/// Cheap to clone; shared by the HTTP middleware, the delivery engine and `/metrics`.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ashby_partner");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and status",
            latency.clone(),
        );
        let attempts = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "delivery_attempts",
            "Delivery attempts made by this process, by kind and outcome (delivered, retry, throttled, dead)",
            attempts.clone(),
        );
        let throttled = Family::<ThrottleLabels, Counter>::default();
        // Both scopes from the start, at 0: a rate() over them is defined before the first.
        for scope in THROTTLE_SCOPES {
            throttled
                .get_or_create(&ThrottleLabels {
                    scope: scope.to_owned(),
                })
                .inc_by(0);
        }
        registry.register(
            "ashby_throttled",
            "Answers from Ashby asking this process to slow down, by scope (tenant, integration-partner)",
            throttled.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Gauge>::default();
        registry.register(
            "deliveries",
            "Deliveries by kind and status",
            deliveries.clone(),
        );
        let oldest_pending = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "delivery_oldest_pending_age_seconds",
            "Age of the oldest pending delivery (0 when none is pending)",
            oldest_pending.clone(),
        );
        let tenants = Family::<TenantLabels, Gauge>::default();
        registry.register(
            "tenants",
            "Tenants by the status of their Ashby API key (unset, unverified, verified, rejected)",
            tenants.clone(),
        );
        Self(Arc::new(Inner {
            tenants,
            registry,
            throttled,
            requests,
            latency,
            attempts,
            deliveries,
            oldest_pending,
            scrape: tokio::sync::Mutex::new(()),
        }))
    }
}

impl Metrics {
    fn observe_request(&self, method: &'static str, route: String, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            method,
            route,
            status,
        };
        self.0.requests.get_or_create(&labels).inc();
        self.0
            .latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one throttling answer from Ashby; `scope` is one of [`THROTTLE_SCOPES`].
    pub fn observe_throttle(&self, scope: &'static str) {
        self.0
            .throttled
            .get_or_create(&ThrottleLabels {
                scope: scope.to_owned(),
            })
            .inc();
    }

    /// Counts one delivery attempt's outcome.
    pub fn observe_attempt(&self, kind: &str, outcome: &str) {
        let labels = AttemptLabels {
            kind: kind.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.0.attempts.get_or_create(&labels).inc();
    }

    /// The text exposition, with the delivery gauges read fresh from the database.
    ///
    /// # Errors
    /// Database errors.
    pub async fn render(&self, db: &sea_orm::DatabaseConnection) -> Result<String, DbErr> {
        let _one_scrape_at_a_time = self.0.scrape.lock().await;
        let counts = delivery_tallies::counts_by_kind_and_status(db).await?;
        let oldest = delivery_stats::oldest_pending_created_ms(db).await?;
        // Every kind and status is reported, 0 when there is none: an alert on dead
        // deliveries must see them go back to 0, not vanish.
        for kind in DeliveryKind::ALL {
            for status in DeliveryStatus::ALL {
                let count = counts
                    .iter()
                    .find(|(k, s, _)| k == kind.as_str() && s == status.as_str())
                    .map_or(0, |(_, _, n)| *n);
                let labels = DeliveryLabels {
                    kind: kind.as_str().to_owned(),
                    status: status.as_str().to_owned(),
                };
                self.0.deliveries.get_or_create(&labels).set(count);
            }
        }
        let tenants = delivery_stats::tenants_by_key_status(db).await?;
        for status in AshbyKeyStatus::ALL {
            let count = tenants
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n);
            let labels = TenantLabels {
                key_status: status.as_str().to_owned(),
            };
            self.0.tenants.get_or_create(&labels).set(count);
        }
        #[allow(clippy::cast_precision_loss)]
        let age = oldest.map_or(0.0, |created| {
            (store::now_ms() - created).max(0) as f64 / 1000.0
        });
        self.0.oldest_pending.set(age);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.0.registry)
            .map_err(|e| DbErr::Custom(format!("encoding metrics: {e}")))?;
        Ok(text)
    }
}

/// Middleware: counts and times every request by its route pattern (never the raw
/// path: paths can carry tokens, and would explode the label set).
pub async fn track_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let metrics = req
        .app_data::<web::Data<Metrics>>()
        .map(|metrics| Metrics::clone(metrics));
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        // Asked once the request has been routed: actix then names the pattern from the
        // route it took, where before routing it matches the path against every pattern.
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| UNMATCHED_ROUTE.into());
        metrics.observe_request(method, route, response.status().as_u16(), started.elapsed());
    }
    Ok(response)
}

/// `GET /metrics`
pub async fn endpoint(
    metrics: web::Data<Metrics>,
    db: web::Data<sea_orm::DatabaseConnection>,
) -> HttpResponse {
    match metrics.render(&db).await {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(error) => {
            tracing::warn!(%error, "cannot read delivery metrics");
            HttpResponse::ServiceUnavailable()
                .body("metrics unavailable: the database does not answer\n")
        }
    }
}
