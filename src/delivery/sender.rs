//! Sending one delivery: find its destination and credentials, call, classify.

use std::collections::HashMap;
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
    /// Where the rows a send needs are read (see [`Self::read_inputs`]).
    db: DatabaseConnection,
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
        Ok(Self {
            db,
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

    /// The rows the sends of a claimed batch need, read together right after the claim:
    /// the tenants of its Ashby deliveries (their keys) and the start requests of its
    /// vendor webhooks (the outbox row leaves them out). One query each for the whole
    /// batch, where a read per delivery (later coalesced into a few) was the drain's
    /// largest count of round trips (BENCHMARKS.md, 2026-11-29 evening). Never fails: a
    /// database error is kept, and each delivery that needed the read is retried.
    pub async fn read_inputs(&self, batch: &[Delivery]) -> SendInputs {
        let mut tenant_ids = Vec::new();
        let mut assessment_ids = Vec::new();
        for delivery in batch {
            if Method::for_delivery(delivery.kind).is_some() {
                tenant_ids.push(delivery.tenant_id.0);
            } else if self.webhooks.is_some() {
                assessment_ids.push(delivery.assessment_id.0);
            }
        }
        tenant_ids.sort_unstable();
        tenant_ids.dedup();
        assessment_ids.sort_unstable();
        assessment_ids.dedup();
        let tenants = if tenant_ids.is_empty() {
            Ok(HashMap::new())
        } else {
            tenants::find_many(&self.db, tenant_ids).await
        };
        let start_requests = if assessment_ids.is_empty() {
            Ok(HashMap::new())
        } else {
            assessments::start_requests(&self.db, assessment_ids).await
        };
        let unreadable = |error: sea_orm::DbErr| format!("database: {error}");
        SendInputs {
            tenants: tenants.map_err(unreadable),
            start_requests: start_requests.map_err(unreadable),
        }
    }

    /// Everything a delivery needs before its request can go out — the destination and,
    /// for Ashby, the tenant's decrypted key, from `inputs` (the batch's reads). Done
    /// before the lease check, so that once the check passes only the request itself
    /// remains.
    ///
    /// # Errors
    /// The outcome to record when the delivery cannot be sent (no key, no tenant, ...).
    pub async fn prepare(
        &self,
        delivery: &Delivery,
        inputs: &SendInputs,
    ) -> Result<Prepared, CallOutcome> {
        let refused = |reason: String| CallOutcome::Refused {
            status: None,
            reason,
        };
        if let Some(method) = Method::for_delivery(delivery.kind) {
            let tenant = read_row(&inputs.tenants, delivery.tenant_id.0, || {
                format!("tenant {} no longer exists", delivery.tenant_id)
            })?;
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
                .clone()
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
        } else if self.webhooks.is_some() {
            let start_request = read_row(&inputs.start_requests, delivery.assessment_id.0, || {
                format!(
                    "assessment {} no longer exists (its data was deleted)",
                    delivery.assessment_id
                )
            })?;
            Ok(Prepared::Webhook {
                body: rendered_body(&delivery.payload, start_request),
            })
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

/// The rows a claimed batch's sends need ([`Sender::read_inputs`]) by id, or why they
/// could not be read.
pub struct SendInputs {
    tenants: Result<HashMap<Uuid, entity::tenant::Model>, String>,
    start_requests: Result<HashMap<Uuid, serde_json::Value>, String>,
}

/// The row of `id`; when it is missing, a refusal with `missing`'s reason (it does not
/// exist), or a retry when it could not be read.
fn read_row<V>(
    rows: &Result<HashMap<Uuid, V>, String>,
    id: Uuid,
    missing: impl FnOnce() -> String,
) -> Result<&V, CallOutcome> {
    match rows {
        Ok(rows) => rows.get(&id).ok_or_else(|| CallOutcome::Refused {
            status: None,
            reason: missing(),
        }),
        Err(reason) => Err(CallOutcome::Retry {
            status: None,
            reason: reason.clone(),
            retry_after: None,
        }),
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
