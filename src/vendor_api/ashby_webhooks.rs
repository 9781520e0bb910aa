//! `PUT /v1/tenants/{id}/ashby-webhooks` (admin, CONTRACT §11): set up the tenant's Ashby
//! webhooks; the same operation as `tenant ashby-webhooks ID`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::{VendorCaller, VendorError};
use crate::domain::ids::TenantId;
use crate::service::{RegistrationError, register_ashby_webhooks};
use crate::state::AppState;

pub async fn register(
    _caller: VendorCaller, // scope: admin
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
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
