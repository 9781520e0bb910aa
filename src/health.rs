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

/// 200 when the database answers, else 503.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if store::ping(&state.db).await {
        HttpResponse::Ok().json(json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "reason": "the database does not answer" }))
    }
}
