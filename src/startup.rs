//! Building and running the HTTP server. The server binds its own listener (port 0 in
//! tests) and can be stopped by a handle, so tests start and stop it without sleeps.

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use sea_orm::DatabaseConnection;
use tracing_actix_web::TracingLogger;

use std::sync::Arc;
use std::time::Duration;

use crate::background::{self, BackgroundRuntime};
use crate::candidate_links::CandidateLinks;
use crate::delivery::{DeliveryEngine, DeliveryWaker, Sender};
use crate::housekeeping::Housekeeping;
use crate::listeners::{self, AdminListener};
use crate::lookup_cache::LookupCache;
use crate::metrics::{self, Metrics};
use crate::partner_api::{self, PartnerError};
use crate::rate_limit::RateLimits;
use crate::secrets::ServerSecrets;
use crate::service::{Outbound, Starter};
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::PoolShares;
use crate::telemetry::{RequestSpan, SpanScope};
use crate::tokens::TokenKeys;
use crate::{health, vendor_api};

pub struct Application {
    port: u16,
    /// The port of `server.admin_bind`, when set.
    admin_port: Option<u16>,
    server: Server,
    engine: Arc<DeliveryEngine>,
    housekeeping: Arc<Housekeeping>,
    lookups: LookupCache,
    /// The nice value of the threads the delivery workers and housekeeping run on.
    background_nice: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error("security.token_secret: {0}")]
    Tokens(#[from] crate::tokens::TokenError),
    #[error(transparent)]
    Sender(#[from] crate::delivery::SenderError),
}

impl Application {
    /// Opens the database and checks it as `serve` does (a newer schema refused, migrated
    /// unless `database.auto_migrate` is false, the encryption key checked; see
    /// [`crate::preflight`]), and binds `server.bind`.
    ///
    /// # Errors
    /// Any of those steps failing, with a message saying which.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (db, secrets) = crate::preflight::open_for_serving(&settings).await?;
        Ok(Self::build_with(settings, db, secrets)?)
    }

    /// Builds on an existing connection (already migrated), which the background work
    /// uses; on PostgreSQL the actix workers open pools of their own besides it (see
    /// [`PoolShares`]), sized from `settings` as if `db` held the background's share.
    ///
    /// # Errors
    /// The listener cannot be bound.
    pub fn build_with(
        settings: Settings,
        db: DatabaseConnection,
        secrets: ServerSecrets,
    ) -> Result<Self, StartupError> {
        Self::build_in_scope(settings, db, secrets, SpanScope::default())
    }

    /// [`Self::build_with`], with the spans of its requests and deliveries going to
    /// `scope`'s subscriber rather than the process's (tests tracing one application).
    ///
    /// # Errors
    /// The listener cannot be bound.
    pub fn build_in_scope(
        settings: Settings,
        db: DatabaseConnection,
        secrets: ServerSecrets,
        scope: SpanScope,
    ) -> Result<Self, StartupError> {
        let bind = settings.server.bind;
        let listener = TcpListener::bind(bind).map_err(|source| StartupError::Bind {
            bind: bind.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                bind: bind.to_string(),
                source,
            })?
            .port();
        let admin = match settings.server.admin_bind {
            Some(addr) => {
                let bind_error = |source| StartupError::Bind {
                    bind: addr.to_string(),
                    source,
                };
                let listener = TcpListener::bind(addr).map_err(bind_error)?;
                let local = listener.local_addr().map_err(bind_error)?;
                Some((listener, local))
            }
            None => None,
        };
        let admin_listener = web::Data::new(AdminListener(admin.as_ref().map(|(_, addr)| *addr)));
        let max_body_bytes = settings.server.max_body_bytes;
        let background_nice =
            background::nice_for(db.get_database_backend(), settings.server.background_nice);
        // Requests wake lower-priority delivery workers through a relay (see DeliveryWaker).
        let waker = if background_nice > 0 {
            DeliveryWaker::relayed()
        } else {
            DeliveryWaker::default()
        };
        let sender =
            Sender::new(db.clone(), secrets.sealer.clone(), &settings)?.with_scope(scope.clone());
        let metrics = Metrics::default();
        let engine = Arc::new(
            DeliveryEngine::new(db.clone(), sender, settings.delivery.clone(), waker.clone())
                .with_metrics(metrics.clone()),
        );
        let tokens = TokenKeys::new(&secrets.token_secret)?;
        let outbound = Outbound {
            candidate_links: CandidateLinks::new(&settings.vendor, tokens.clone()),
            vendor_webhooks: !settings.vendor.webhook_url.is_empty(),
            waker: waker.clone(),
        };
        let housekeeping = Arc::new(Housekeeping::new(
            db.clone(),
            outbound.clone(),
            settings.vendor.expire_after,
            settings.retention.clone(),
        ));
        let limits = web::Data::new(RateLimits::new(&settings.limits));
        let public_prefix = settings.server.public_path_prefix();
        let lookups = LookupCache::new(Duration::from_millis(settings.server.lookup_cache_ms));
        let starter = Starter::new(db.clone(), outbound.clone());
        let state = web::Data::new(AppState {
            lookups: lookups.clone(),
            starter,
            catalog: settings.catalog(),
            tokens,
            outbound,
            db,
            settings,
            secrets,
        });
        // Metrics and their database reads need nothing else: their own pieces of data.
        let request_metrics = web::Data::new(metrics);
        let metrics_db = web::Data::new(state.db.clone());
        let scope = web::Data::new(scope);
        let shares = PoolShares::for_this_machine(&state.settings.database);
        let server = HttpServer::new(move || {
            let state = match shares.per_worker {
                Some(size) => state_for_this_worker(&state, size),
                None => state.clone(),
            };
            App::new()
                .wrap(actix_web::middleware::from_fn(listeners::route_by_listener))
                .wrap(actix_web::middleware::from_fn(metrics::track_requests))
                .wrap(TracingLogger::<RequestSpan>::new())
                // Outermost: the request span is made, and the request served, in scope.
                .wrap(actix_web::middleware::from_fn(in_scope))
                .app_data(scope.clone())
                .app_data(state.clone())
                .app_data(request_metrics.clone())
                .app_data(metrics_db.clone())
                .app_data(limits.clone())
                .app_data(admin_listener.clone())
                .app_data(web::PayloadConfig::new(max_body_bytes))
                // Only the vendor API reads query strings; keep its errors JSON too.
                .app_data(web::QueryConfig::default().error_handler(|error, _| {
                    vendor_api::VendorError::invalid(format!("malformed query string: {error}"))
                        .into()
                }))
                .configure(health::routes)
                .route("/metrics", web::get().to(metrics::endpoint))
                .configure(partner_api::routes)
                .configure(crate::ashby_webhooks::routes)
                .configure(|config| {
                    if let Some(prefix) = &public_prefix {
                        partner_api::routes_under(config, prefix);
                        crate::ashby_webhooks::routes_under(config, prefix);
                    }
                })
                .configure(vendor_api::routes)
                .configure(crate::console::routes)
                .default_service(web::to(no_such_route))
        })
        .workers(shares.workers)
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            bind: bind.to_string(),
            source,
        })?;
        let admin_port = admin.as_ref().map(|(_, addr)| addr.port());
        let server = match admin {
            Some((listener, addr)) => {
                tracing::info!(%addr, "admin listener");
                server
                    .listen(listener)
                    .map_err(|source| StartupError::Bind {
                        bind: addr.to_string(),
                        source,
                    })?
            }
            None => server,
        }
        .run();
        tracing::info!(%bind, port, "listening");
        Ok(Self {
            port,
            admin_port,
            server,
            engine,
            housekeeping,
            lookups,
            background_nice,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin listener's port, when `server.admin_bind` is set.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin_port
    }

    /// A handle that stops the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The delivery engine, for tests that step it themselves.
    pub fn delivery_engine(&self) -> Arc<DeliveryEngine> {
        Arc::clone(&self.engine)
    }

    /// The in-process cache of partner keys and catalogs (tests move its clock).
    pub fn lookup_cache(&self) -> LookupCache {
        self.lookups.clone()
    }

    /// Expiry and the other background work, for tests that step it themselves.
    pub fn housekeeping(&self) -> Arc<Housekeeping> {
        Arc::clone(&self.housekeeping)
    }

    /// Serves, with the delivery workers, until stopped (SIGINT/SIGTERM, or
    /// [`ServerHandle::stop`]); then lets in-flight deliveries finish.
    ///
    /// The delivery workers and housekeeping run at `server.background_nice`, on a
    /// runtime of their own when that is above 0 (see [`background`]).
    ///
    /// # Errors
    /// The server fails while running, or the background runtime cannot be started.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let runtime = BackgroundRuntime::start(self.background_nice)?;
        // Here, at the requests' priority (ends at once unless the waker is relayed).
        let relay = tokio::spawn(self.engine.waker().relay());
        let (stop_workers, stopped) = tokio::sync::watch::channel(false);
        let workers = runtime.spawn(Arc::clone(&self.engine).run(stopped.clone()));
        let housekeeping = runtime.spawn(Arc::clone(&self.housekeeping).run(stopped));
        let served = self.server.await;
        let _ = stop_workers.send(true);
        if let Err(error) = workers.await {
            tracing::error!(%error, "delivery workers ended abnormally");
        }
        if let Err(error) = housekeeping.await {
            tracing::error!(%error, "housekeeping ended abnormally");
        }
        drop(runtime);
        relay.abort();
        served
    }

    /// Serves without delivery workers: tests step the engine deterministically.
    ///
    /// # Errors
    /// The server fails while running.
    pub async fn run_without_workers(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Serves the request with the application's [`SpanScope`].
async fn in_scope(
    scope: web::Data<SpanScope>,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let served = scope.enter(|| next.call(request));
    scope.run(served).await
}

/// No route has this path: a JSON 404 in the partner envelope, never HTML (`/v1` has its
/// own, in the vendor API's shape; a known path with the wrong method is a 405 from its
/// own resource).
async fn no_such_route(req: HttpRequest) -> HttpResponse {
    let request_id = PartnerError::request_id_of(&req);
    let message = format!("There is no endpoint at {}.", req.path());
    HttpResponse::build(StatusCode::NOT_FOUND).json(partner_api::failure_envelope(
        "not_found",
        &message,
        &request_id,
    ))
}

/// The handlers' state for the calling actix worker: the shared state with a pool of the
/// worker's own (opened here, so that its connections belong to this worker's runtime),
/// or the shared state itself should that pool not be made.
fn state_for_this_worker(shared: &web::Data<AppState>, pool_size: u32) -> web::Data<AppState> {
    match crate::store::connect_here_lazily(&shared.settings.database, pool_size) {
        Ok(db) => web::Data::new(AppState {
            starter: Starter::new(db.clone(), shared.outbound.clone()),
            db,
            ..AppState::clone(shared)
        }),
        Err(error) => {
            tracing::warn!(%error, "this worker's own database pool could not be made: it shares the background pool");
            shared.clone()
        }
    }
}
