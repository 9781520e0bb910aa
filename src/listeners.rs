//! Which listener serves which route when `server.admin_bind` is set (CONTRACT §2, §10):
//! the public listener serves what the internet needs (Ashby's endpoints, candidate
//! sessions, health); the admin listener serves the vendor API, the OpenAPI document and
//! metrics (and health, for probes). Both listeners run one application; each request is
//! told apart by the local address it arrived on.

use std::net::SocketAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, ResponseError as _, web};

use crate::partner_api::{PartnerError, failure_envelope};
use crate::vendor_api::VendorError;

/// The admin listener's address, when there is one (an application-data item).
#[derive(Debug, Clone, Copy)]
pub struct AdminListener(pub Option<SocketAddr>);

/// Where a path belongs.
#[derive(Debug, PartialEq, Eq)]
enum Side {
    Public,
    Admin,
    Both,
}

fn side_of(path: &str) -> Side {
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if under("/v1/candidate-sessions") {
        Side::Public
    } else if under("/v1") || under("/console") || path == "/openapi.json" || path == "/metrics" {
        Side::Admin
    } else if path == "/healthz" || path == "/readyz" {
        Side::Both
    } else {
        Side::Public
    }
}

/// Answers a route on the wrong listener as if it did not exist there (404), so the
/// public listener does not even reveal the admin routes.
///
/// # Errors
/// Those of the inner service.
pub async fn route_by_listener(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let admin = req
        .app_data::<web::Data<AdminListener>>()
        .and_then(|listener| listener.0);
    if let Some(admin) = admin {
        let on_admin = req.app_config().local_addr() == admin;
        let allowed = match side_of(req.path()) {
            Side::Both => true,
            Side::Admin => on_admin,
            Side::Public => !on_admin,
        };
        if !allowed {
            let (req, _) = req.into_parts();
            let response = not_found(&req);
            return Ok(ServiceResponse::new(req, response).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The 404 each API gives for a path it does not have, in that API's error shape.
fn not_found(req: &HttpRequest) -> HttpResponse {
    if req.path().starts_with("/v1") {
        return VendorError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no {} {}", req.method(), req.path()),
        )
        .error_response();
    }
    let request_id = PartnerError::request_id_of(req);
    let message = format!("There is no endpoint at {}.", req.path());
    HttpResponse::build(StatusCode::NOT_FOUND).json(failure_envelope(
        "not_found",
        &message,
        &request_id,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sorted_by_listener() {
        let cases = [
            ("/v1/assessments", Side::Admin),
            ("/v1", Side::Admin),
            ("/v1/candidate-sessions/abc", Side::Public),
            ("/openapi.json", Side::Admin),
            ("/metrics", Side::Admin),
            ("/console/tenants", Side::Admin),
            ("/healthz", Side::Both),
            ("/assessment.list", Side::Public),
            ("/ashby/assessment.list", Side::Public),
            ("/v1x", Side::Public),
        ];
        for (path, side) in cases {
            assert_eq!(side_of(path), side, "{path}");
        }
    }
}
