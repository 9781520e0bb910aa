//! `[limits]`: per-tenant and per-token request rates, the cap on stored
//! `additional_fields`, and the deadline for a request body.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, assert_error_envelope, start_body};

/// Enough requests that a bucket of 2 refilling at 1/s empties, however slow the machine:
/// the bucket would only keep up if each request took a second or more.
const ATTEMPTS: usize = 50;

fn slow_rates(settings: &mut ashby_partner::settings::Settings) {
    settings.limits.partner_requests_per_second = 1;
    settings.limits.partner_burst = 2;
    settings.limits.vendor_requests_per_second = 1;
    settings.limits.vendor_burst = 2;
}

async fn list_as(app: &TestApp, tenant: &TestTenant) -> reqwest::Response {
    app.post_as(tenant, "/assessment.list", &json!({})).await
}

/// The first refused answer among `ATTEMPTS` requests; panics if none was.
async fn first_refusal<F, Fut>(mut send: F) -> reqwest::Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    for _ in 0..ATTEMPTS {
        let response = send().await;
        if response.status() != 200 {
            return response;
        }
    }
    panic!("{ATTEMPTS} requests in a row were all accepted");
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_tenant_over_its_rate_gets_429_with_retry_after_and_other_tenants_do_not() {
    let app = TestApp::spawn_with(slow_rates).await;
    let busy = app.create_tenant("Busy").await;
    let quiet = app.create_tenant("Quiet").await;

    let refused = first_refusal(|| list_as(&app, &busy)).await;

    assert!(retry_after(&refused) >= 1);
    assert_error_envelope(refused, 429, "rate_limited").await;
    assert_eq!(list_as(&app, &quiet).await.status(), 200);
}

#[tokio::test]
async fn a_vendor_token_over_its_rate_gets_429_in_the_vendor_envelope() {
    let app = TestApp::spawn_with(slow_rates).await;
    let busy = app.vendor_token();
    let get = |token: String| {
        app.client
            .get(app.url("/v1/assessment-types"))
            .bearer_auth(token)
            .send()
    };

    let refused = first_refusal(|| async { get(busy.clone()).await.unwrap() }).await;

    assert_eq!(refused.status(), 429);
    assert!(retry_after(&refused) >= 1);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(body["error"]["message"].as_str().is_some(), "{body}");
    assert_eq!(get(app.vendor_token()).await.unwrap().status(), 200);
}

#[tokio::test]
async fn rates_of_zero_turn_the_limits_off() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.partner_requests_per_second = 0;
        settings.limits.partner_burst = 0;
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    for _ in 0..ATTEMPTS {
        assert_eq!(list_as(&app, &tenant).await.status(), 200);
    }
}

#[tokio::test]
async fn additional_fields_over_the_cap_are_refused_naming_the_field() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.max_additional_fields_bytes = 1024;
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    let mut body = start_body("app-big");
    body["additional_fields"] = json!({ "notes": "x".repeat(2048) });

    let response = app.post_as(&tenant, "/assessment.start", &body).await;

    let body = assert_error_envelope(response, 422, "invalid_request").await;
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("additional_fields"), "{message}");
    assert!(message.contains("1024"), "{message}");
    assert_eq!(assessments_stored(&app).await, 0, "nothing is stored");
}

#[tokio::test]
async fn additional_fields_under_the_cap_are_stored() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.max_additional_fields_bytes = 1024;
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    let mut body = start_body("app-small");
    body["additional_fields"] = json!({ "notes": "x".repeat(900) });

    app.start_assessment(&tenant, &body).await;
}

async fn assessments_stored(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait as _, PaginatorTrait as _};
    entity::assessment::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}
