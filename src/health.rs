//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;
use crate::store;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

/// 200 while the process serves requests.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// 200 when the database takes writes, else 503: a request we cannot commit must go to
/// another replica, or wait. Each call commits one tiny write (see `store::probe_write`).
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match store::probe_write(&state.db, &state.settings.database.url).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(reason) => {
            tracing::warn!(%reason, "not ready: the database cannot take writes");
            HttpResponse::ServiceUnavailable().json(
                json!({ "status": "unavailable", "reason": "the database cannot take writes" }),
            )
        }
    }
}
