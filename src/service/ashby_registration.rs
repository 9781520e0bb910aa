//! Setting up a tenant's Ashby webhooks (CONTRACT §11): the secret they are signed with,
//! and their registration through Ashby's `webhook.create` — or, when the tenant's key
//! may not manage webhooks, what an operator needs to create them by hand.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};
use secrecy::{ExposeSecret as _, SecretString};

use crate::ashby::client::AshbyClient;
use crate::ashby::method::Method;
use crate::ashby::webhooks;
use crate::crypto::{SealError, Sealer, new_webhook_secret};
use crate::domain::ids::TenantId;
use crate::outgoing::CallOutcome;
use crate::settings::Settings;
use crate::store::ashby_webhooks::{self, WebhookStatus};
use crate::store::{self, tenants};

/// The webhook types this server handles, registered for every tenant.
pub const ASHBY_WEBHOOK_TYPES: [&str; 4] = [
    "candidateDelete",
    "candidateMerge",
    "applicationUpdate",
    "candidateHire",
];

/// How the webhooks were set up.
pub enum Registration {
    Registered {
        url: String,
    },
    /// The operator creates them in Ashby (Admin > Integrations > Webhooks) with this
    /// URL and secret; `message` says why and how.
    Manual {
        url: String,
        secret_token: SecretString,
        message: String,
    },
}

impl Registration {
    /// The answer of the API route and the CLI command (CONTRACT §11); the secret only in
    /// the manual one, where the operator needs it.
    pub fn answer(&self) -> serde_json::Value {
        match self {
            Self::Registered { url } => serde_json::json!({
                "status": "registered",
                "url": url,
                "webhook_types": ASHBY_WEBHOOK_TYPES,
            }),
            Self::Manual {
                url,
                secret_token,
                message,
            } => serde_json::json!({
                "status": "manual",
                "url": url,
                "secret_token": secret_token.expose_secret(),
                "webhook_types": ASHBY_WEBHOOK_TYPES,
                "message": message,
            }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("no tenant with id {0}")]
    NotFound(TenantId),
    #[error("a stored secret of the tenant cannot be used: {0}")]
    Seal(#[from] SealError),
    #[error("Ashby could not be reached or refused webhook.create: {0}")]
    Ashby(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The tenant's webhook secret, when it has one (for checking a webhook's signature).
///
/// # Errors
/// The sealed secret does not open (wrong `security.encryption_key`), or database errors.
pub async fn ashby_webhook_secret(
    db: &DatabaseConnection,
    sealer: &Sealer,
    tenant: TenantId,
) -> Result<Option<SecretString>, RegistrationError> {
    let Some(stored) = ashby_webhooks::find(db, tenant).await? else {
        return Ok(None);
    };
    Ok(Some(
        sealer.open_webhook_secret(&stored.secret_sealed, tenant)?,
    ))
}

/// Creates the tenant's secret (or keeps the one it has) and registers the four webhook
/// types with Ashby. The secret is committed *before* Ashby is called: creating a webhook
/// makes Ashby send a signed `ping` at once, and a URL that cannot check it answers 401,
/// which leaves the webhook disabled in Ashby.
///
/// # Errors
/// No such tenant; Ashby unreachable or refusing for another reason than a missing
/// permission; a stored secret that does not open; database errors.
pub async fn register_ashby_webhooks(
    db: &DatabaseConnection,
    sealer: &Sealer,
    settings: &Settings,
    tenant_id: TenantId,
) -> Result<Registration, RegistrationError> {
    let tenant = tenants::find(db, tenant_id)
        .await?
        .ok_or(RegistrationError::NotFound(tenant_id))?;
    let url = format!(
        "{}/ashby/webhooks/{tenant_id}",
        settings.server.public_url.trim_end_matches('/')
    );
    let secret = match ashby_webhooks::find(db, tenant_id).await? {
        Some(stored) => {
            let secret = sealer.open_webhook_secret(&stored.secret_sealed, tenant_id)?;
            (secret, stored)
        }
        None => {
            let secret = new_webhook_secret();
            let sealed = sealer.seal_webhook_secret(secret.expose_secret(), tenant_id)?;
            save_status(db, tenant_id, &sealed, WebhookStatus::Manual).await?;
            let stored = ashby_webhooks::StoredWebhooks {
                secret_sealed: sealed,
                status: WebhookStatus::Manual,
            };
            (secret, stored)
        }
    };
    let (secret, stored) = secret;
    let manual = |why: String| Registration::Manual {
        url: url.clone(),
        secret_token: secret.clone(),
        message: format!(
            "{why} In Ashby (Admin > Integrations > Webhooks) create one webhook for each of \
             the webhook types, with this request URL and secret token."
        ),
    };

    let Some(sealed_key) = tenant.ashby_api_key_sealed else {
        save_status(db, tenant_id, &stored.secret_sealed, WebhookStatus::Manual).await?;
        return Ok(manual("The tenant has no Ashby API key.".into()));
    };
    let key = sealer.open_ashby_key(&sealed_key, tenant_id)?;
    let base_url = tenant
        .ashby_base_url
        .unwrap_or_else(|| settings.ashby.base_url.clone());
    let client = AshbyClient::new(Duration::from_millis(settings.delivery.request_timeout_ms))?;
    for webhook_type in ASHBY_WEBHOOK_TYPES {
        let body = webhooks::create_body(webhook_type, &url, secret.expose_secret());
        match client
            .call(&base_url, Method::WebhookCreate.path(), &key, &body)
            .await
        {
            CallOutcome::Delivered { .. } => {}
            CallOutcome::Refused { status, reason } if lacks_permission(status, &reason) => {
                save_status(db, tenant_id, &stored.secret_sealed, WebhookStatus::Manual).await?;
                return Ok(manual(format!(
                    "Ashby refused webhook.create ({reason}): the tenant's API key may not \
                     manage webhooks."
                )));
            }
            CallOutcome::Refused { reason, .. }
            | CallOutcome::Retry { reason, .. }
            | CallOutcome::Throttled { reason, .. } => {
                return Err(RegistrationError::Ashby(reason));
            }
        }
    }
    save_status(
        db,
        tenant_id,
        &stored.secret_sealed,
        WebhookStatus::Registered,
    )
    .await?;
    Ok(Registration::Registered { url })
}

/// 401/403, or Ashby's `success: false` naming a permission.
fn lacks_permission(status: Option<u16>, reason: &str) -> bool {
    matches!(status, Some(401 | 403)) || reason.to_ascii_lowercase().contains("permission")
}

async fn save_status(
    db: &DatabaseConnection,
    tenant: TenantId,
    sealed: &str,
    status: WebhookStatus,
) -> Result<(), DbErr> {
    store::in_write_transaction(db, async |txn| {
        ashby_webhooks::save(txn, tenant, sealed, status).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::lacks_permission;
    use crate::ashby::client::classify;
    use crate::outgoing::CallOutcome;

    fn refused(status: u16, body: &str) -> (Option<u16>, String) {
        match classify(status, None, body.as_bytes()) {
            CallOutcome::Refused { status, reason } => (status, reason),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_key_refused_or_lacking_the_permission_means_manual_set_up() {
        for (status, body) in [
            (401, "{}"),
            (403, r#"{"success": false}"#),
            (
                200,
                r#"{"success": false, "errors": ["missing_permission"]}"#,
            ),
            (
                200,
                r#"{"success": false, "errorInfo": {"code": "forbidden", "message": "The API key lacks the required permission"}}"#,
            ),
        ] {
            let (status, reason) = refused(status, body);
            assert!(lacks_permission(status, &reason), "{reason}");
        }
        let (status, reason) = refused(400, r#"{"success": false, "errors": ["invalid_input"]}"#);
        assert!(!lacks_permission(status, &reason), "{reason}");
    }
}
