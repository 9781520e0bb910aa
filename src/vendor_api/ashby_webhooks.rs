//! `PUT /v1/tenants/{id}/ashby-webhooks` (admin, CONTRACT §11): set up the tenant's Ashby
//! webhooks; the same operation as `tenant ashby-webhooks ID`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::dto::ErrorBody;
use super::{Access, VendorCaller, VendorError};
use crate::domain::ids::TenantId;
use crate::service::{RegistrationError, register_ashby_webhooks};
use crate::state::AppState;

/// How a tenant's Ashby webhooks were set up (the shape of the answer, for the document).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookSetup {
    /// `registered` (through Ashby's webhook.create) or `manual` (create them by hand).
    pub status: String,
    /// The request URL the webhooks call.
    pub url: String,
    pub webhook_types: Vec<String>,
    /// Only when `manual`: the secret token to give Ashby.
    pub secret_token: Option<String>,
    /// Only when `manual`: why, and what to do.
    pub message: Option<String>,
}

/// Creates the tenant's webhook secret and registers its Ashby webhooks (admin).
#[utoipa::path(put, path = "/v1/tenants/{id}/ashby-webhooks", params(("id" = Uuid, Path)), responses(
    (status = 200, body = WebhookSetup),
    (status = 401, body = ErrorBody),
    (status = 403, description = "the token's scope is not admin", body = ErrorBody),
    (status = 404, body = ErrorBody),
    (status = 502, description = "Ashby could not be reached or refused for another reason", body = ErrorBody),
))]
pub async fn register(
    caller: VendorCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::Admin)?;
    let tenant: TenantId = path
        .parse()
        .map_err(|_| VendorError::not_found("tenant", &path))?;
    let registration =
        register_ashby_webhooks(&state.db, &state.secrets.sealer, &state.settings, tenant)
            .await
            .map_err(|error| match error {
                RegistrationError::NotFound(_) => VendorError::not_found("tenant", &path),
                RegistrationError::Ashby(reason) => VendorError::new(
                    StatusCode::BAD_GATEWAY,
                    "ashby_unavailable",
                    format!("Ashby did not register the webhooks: {reason}"),
                ),
                RegistrationError::Database(error) => error.into(),
                other => VendorError::unavailable(&other),
            })?;
    Ok(HttpResponse::Ok().json(registration.answer()))
}
