//! Sending one delivery: find its destination and credentials, call, classify.

use std::time::Duration;

use entity::delivery;
use sea_orm::DatabaseConnection;

use crate::ashby::client::{AshbyClient, CallOutcome};
use crate::crypto::Sealer;
use crate::domain::delivery::DeliveryKind;
use crate::store::tenants;

/// Everything needed to send deliveries: the HTTP clients and where the keys are.
#[derive(Clone)]
pub struct Sender {
    pub(super) db: DatabaseConnection,
    pub(super) ashby: AshbyClient,
    pub(super) sealer: Sealer,
    pub(super) default_ashby_base_url: String,
}

impl Sender {
    /// # Errors
    /// The HTTP client cannot be built (TLS initialisation).
    pub fn new(
        db: DatabaseConnection,
        sealer: Sealer,
        default_ashby_base_url: String,
        request_timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            db,
            ashby: AshbyClient::new(request_timeout)?,
            sealer,
            default_ashby_base_url,
        })
    }

    /// Sends one delivery and says how it went. Never fails: every problem is an outcome.
    pub async fn send(&self, delivery: &delivery::Model) -> CallOutcome {
        let refused = |reason: String| CallOutcome::Refused {
            status: None,
            reason,
        };
        let Some(kind) = DeliveryKind::parse(&delivery.kind) else {
            return refused(format!("unknown delivery kind {:?}", delivery.kind));
        };
        match kind {
            DeliveryKind::AshbyUpdate | DeliveryKind::AshbyAddCompleted => {
                let method = kind.as_str();
                let tenant =
                    match tenants::find(&self.db, crate::domain::ids::TenantId(delivery.tenant_id))
                        .await
                    {
                        Ok(Some(tenant)) => tenant,
                        Ok(None) => {
                            return refused(format!(
                                "tenant {} no longer exists",
                                delivery.tenant_id
                            ));
                        }
                        Err(error) => {
                            return CallOutcome::Retry {
                                status: None,
                                reason: format!("database: {error}"),
                                retry_after: None,
                            };
                        }
                    };
                let Some(sealed) = tenant.ashby_api_key_sealed.as_deref() else {
                    return refused(format!(
                        "tenant {} has no Ashby API key: set it with `ashby-partner tenant set-ashby-key`, then retry",
                        tenant.id
                    ));
                };
                let key = match self.sealer.open(sealed, &tenant.id.to_string()) {
                    Ok(key) => key,
                    Err(error) => return refused(error.to_string()),
                };
                let base_url = tenant
                    .ashby_base_url
                    .as_deref()
                    .unwrap_or(&self.default_ashby_base_url);
                self.ashby
                    .call(base_url, method, &key, &delivery.payload)
                    .await
            }
            DeliveryKind::VendorWebhook => refused("vendor webhooks are not configured".into()),
        }
    }
}
