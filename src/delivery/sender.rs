//! Sending one delivery: find its destination and credentials, call, classify.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::ashby::client::AshbyClient;
use crate::ashby::method::Method;
use crate::ashby::updates;
use crate::crypto::Sealer;
use crate::domain::delivery::Delivery;
use crate::domain::ids::TenantId;
use crate::outgoing::CallOutcome;
use crate::settings::{Settings, SettingsError};
use crate::store::{assessments, tenants};
use crate::telemetry::SpanScope;

use super::coalesced::CoalescedReads;
use super::webhook::{WebhookClient, WebhookTarget, rendered_body};

#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// Everything needed to send deliveries: the HTTP clients and where the keys are.
#[derive(Clone)]
pub struct Sender {
    /// The rows a send needs, read together with those other sends ask for meanwhile.
    tenants: CoalescedReads<Uuid, entity::tenant::Model>,
    start_requests: CoalescedReads<Uuid, serde_json::Value>,
    ashby: AshbyClient,
    sealer: Sealer,
    default_ashby_base_url: String,
    webhooks: Option<Arc<WebhookClient>>,
    /// Where the delivery spans go.
    scope: SpanScope,
}

impl Sender {
    /// Spawns the tasks that read for it (on the current tokio runtime).
    ///
    /// # Errors
    /// The HTTP clients cannot be built (TLS initialisation), or the webhook secret is
    /// malformed (settings validation already refuses that).
    pub fn new(
        db: DatabaseConnection,
        sealer: Sealer,
        settings: &Settings,
    ) -> Result<Self, SenderError> {
        let timeout = Duration::from_millis(settings.delivery.request_timeout_ms);
        let webhooks = if settings.vendor.webhook_url.is_empty() {
            None
        } else {
            let target = WebhookTarget {
                url: settings.vendor.webhook_url.clone(),
                key: settings.vendor.webhook_key()?,
            };
            Some(Arc::new(WebhookClient::new(target, timeout)?))
        };
        let tenants = {
            let db = db.clone();
            CoalescedReads::new(move |ids| {
                let db = db.clone();
                async move { tenants::find_many(&db, ids).await }
            })
        };
        let start_requests = {
            let db = db.clone();
            CoalescedReads::new(move |ids| {
                let db = db.clone();
                async move { assessments::start_requests(&db, ids).await }
            })
        };
        Ok(Self {
            tenants,
            start_requests,
            ashby: AshbyClient::new(timeout)?,
            sealer,
            default_ashby_base_url: settings.ashby.base_url.clone(),
            webhooks,
            scope: SpanScope::default(),
        })
    }

    /// Sends its spans to `scope`'s subscriber rather than the process's.
    #[must_use]
    pub fn with_scope(mut self, scope: SpanScope) -> Self {
        self.scope = scope;
        self
    }

    /// Everything a delivery needs before its request can go out — the destination and,
    /// for Ashby, the tenant's decrypted key (a database read, coalesced with the other
    /// sends' reads). Done before the lease check, so that once the check passes only the
    /// request itself remains.
    ///
    /// # Errors
    /// The outcome to record when the delivery cannot be sent (no key, no tenant, ...).
    pub async fn prepare(&self, delivery: &Delivery) -> Result<Prepared, CallOutcome> {
        let refused = |reason: String| CallOutcome::Refused {
            status: None,
            reason,
        };
        if let Some(method) = Method::for_delivery(delivery.kind) {
            {
                let tenant = match self.tenants.get(delivery.tenant_id.0).await {
                    Ok(Some(tenant)) => tenant,
                    Ok(None) => {
                        return Err(refused(format!(
                            "tenant {} no longer exists",
                            delivery.tenant_id
                        )));
                    }
                    Err(error) => {
                        return Err(CallOutcome::Retry {
                            status: None,
                            reason: format!("database: {error}"),
                            retry_after: None,
                        });
                    }
                };
                let Some(sealed) = tenant.ashby_api_key_sealed.as_deref() else {
                    return Err(refused(format!(
                        "tenant {} has no Ashby API key: set it with `ashby-partner tenant set-ashby-key`, then retry",
                        tenant.id
                    )));
                };
                let key = self
                    .sealer
                    .open_ashby_key(sealed, TenantId(tenant.id))
                    .map_err(|error| refused(error.to_string()))?;
                let base_url = tenant
                    .ashby_base_url
                    .unwrap_or_else(|| self.default_ashby_base_url.clone());
                let body = match updates::candidate_email_to_resolve(&delivery.payload) {
                    None => delivery.payload.clone(),
                    Some(email) => {
                        let id = self.find_candidate(&base_url, &key, email).await?;
                        updates::with_candidate_id(&delivery.payload, id)
                    }
                };
                Ok(Prepared::Ashby {
                    base_url,
                    method,
                    key,
                    body,
                })
            }
        } else if self.webhooks.is_some() {
            // The outbox row leaves the start request out: it is read back here.
            match self.start_requests.get(delivery.assessment_id.0).await {
                Ok(Some(start_request)) => Ok(Prepared::Webhook {
                    body: rendered_body(&delivery.payload, &start_request),
                }),
                Ok(None) => Err(refused(format!(
                    "assessment {} no longer exists (its data was deleted)",
                    delivery.assessment_id
                ))),
                Err(error) => Err(CallOutcome::Retry {
                    status: None,
                    reason: format!("database: {error}"),
                    retry_after: None,
                }),
            }
        } else {
            Err(refused("vendor.webhook_url is no longer set".into()))
        }
    }

    /// The one candidate with this email, found with `candidate.search` (a read, so it is
    /// done while preparing, before the lease check). None or several is a refusal: the
    /// result cannot be attached until the vendor says whose it is.
    async fn find_candidate(
        &self,
        base_url: &str,
        key: &SecretString,
        email: &str,
    ) -> Result<Uuid, CallOutcome> {
        let found = self
            .ashby
            .search_candidates_by_email(base_url, key, email)
            .await?;
        let refused = |reason: String| CallOutcome::Refused {
            status: None,
            reason,
        };
        match found.as_slice() {
            [] => Err(refused(
                "candidate_not_found: no candidate in Ashby has this email".into(),
            )),
            [one] => one.parse().map_err(|_| {
                refused(format!(
                    "candidate.search answered an id that is not a UUID: {one:?}"
                ))
            }),
            several => Err(refused(format!(
                "candidate_ambiguous: {} candidates in Ashby have this email; send candidate_id instead",
                several.len()
            ))),
        }
    }

    /// Sends a prepared delivery and says how it went. Never fails: every problem is an
    /// outcome. One span per attempt, with the ids, the outcome and the HTTP status; the
    /// request carries its `traceparent`.
    pub async fn send(&self, prepared: &Prepared, delivery: &Delivery) -> CallOutcome {
        let span = self.scope.enter(|| {
            tracing::info_span!(
                "delivery",
                otel.name = %format!("deliver {}", delivery.kind.as_str()),
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                ashby_partner.tenant_id = %delivery.tenant_id,
                ashby_partner.assessment_id = %delivery.assessment_id,
                ashby_partner.delivery_id = %delivery.id,
                ashby_partner.delivery_kind = delivery.kind.as_str(),
                ashby_partner.attempt = delivery.attempts + 1,
                ashby_partner.outcome = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
            )
        });
        if let Some(queuer) = &delivery.trace_parent {
            crate::telemetry::link_to_queuer(&span, queuer);
        }
        let outcome = self
            .scope
            .run(
                self.send_unspanned(prepared, delivery)
                    .instrument(span.clone()),
            )
            .await;
        span.record("ashby_partner.outcome", outcome.kind());
        if let Some(status) = outcome.http_status() {
            span.record("http.response.status_code", status);
        }
        if !matches!(outcome, CallOutcome::Delivered { .. }) {
            span.record("otel.status_code", "error");
        }
        outcome
    }

    async fn send_unspanned(&self, prepared: &Prepared, delivery: &Delivery) -> CallOutcome {
        match (prepared, &self.webhooks) {
            (
                Prepared::Ashby {
                    base_url,
                    method,
                    key,
                    body,
                },
                _,
            ) => self.ashby.call(base_url, method.path(), key, body).await,
            (Prepared::Webhook { body }, Some(client)) => {
                client.send(&delivery.id.to_string(), body).await
            }
            (Prepared::Webhook { .. }, None) => CallOutcome::Refused {
                status: None,
                reason: "vendor.webhook_url is no longer set".into(),
            },
        }
    }
}

/// A delivery ready to go out.
pub enum Prepared {
    Ashby {
        base_url: String,
        method: Method,
        key: SecretString,
        /// The body to send: the stored one, completed with what was looked up.
        body: serde_json::Value,
    },
    /// The body rendered from the outbox row and the assessment.
    Webhook { body: serde_json::Value },
}
