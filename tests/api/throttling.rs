//! Throttling is not failure (CONTRACT §6): a 429 from Ashby holds back that tenant — or,
//! with `X-RateLimit-Scope: integration-partner`, every tenant — until `Retry-After`, and
//! throttled attempts neither count nor kill. The engine is stepped on the test's clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ashby_partner::store;
use base64::Engine as _;
use entity::delivery_attempt;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde_json::json;

use crate::helpers::{ASHBY_OK, TestApp, TestTenant, accept_updates, start_body};

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

/// A tenant on the mock Ashby with its own key, and one assessment with a progress update
/// waiting to be sent.
async fn tenant_with_update(
    app: &TestApp,
    ashby: &mockito::Server,
    name: &str,
    key: &str,
) -> (TestTenant, String) {
    let tenant = app.create_tenant(name).await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), key)
        .await;
    let id = update_for(app, &tenant).await;
    (tenant, id)
}

async fn update_for(app: &TestApp, tenant: &TestTenant) -> String {
    let id = app
        .start_assessment(tenant, &start_body(&uuid::Uuid::new_v4().to_string()))
        .await;
    let (status, body) = app
        .vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    assert_eq!(status, 200, "{body}");
    id
}

/// Counts what Ashby received with one key.
fn counted(count: &Arc<AtomicUsize>) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
    let count = Arc::clone(count);
    move |_| {
        count.fetch_add(1, Ordering::SeqCst);
        true
    }
}

async fn status_of_update(app: &TestApp, id: &str) -> String {
    app.deliveries_of(id).await[0].status.clone()
}

#[tokio::test]
async fn a_partner_wide_429_holds_back_another_tenant_until_retry_after_has_passed() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let throttle = ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic("key-a").as_str())
        .with_status(429)
        .with_header("retry-after", "30")
        .with_header("x-ratelimit-scope", "integration-partner")
        .expect(1)
        .create_async()
        .await;
    let (_, first) = tenant_with_update(&app, &ashby, "A", "key-a").await;
    let t0 = store::now_ms();

    app.engine.step_at(t0).await.unwrap();
    throttle.assert_async().await;
    let b_received = Arc::new(AtomicUsize::new(0));
    ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic("key-b").as_str())
        .match_request(counted(&b_received))
        .with_status(200)
        .with_body(ASHBY_OK)
        .create_async()
        .await;
    let (_, second) = tenant_with_update(&app, &ashby, "B", "key-b").await;

    // Another tenant, but the whole partner is throttled: nothing goes out.
    let report = app.engine.step_at(t0 + 29_000).await.unwrap();
    assert_eq!(report.claimed, 0, "{report:?}");
    assert_eq!(b_received.load(Ordering::SeqCst), 0);
    assert_eq!(status_of_update(&app, &second).await, "pending");

    // Once Retry-After has passed, both go.
    ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic("key-a").as_str())
        .with_status(200)
        .with_body(ASHBY_OK)
        .create_async()
        .await;
    app.engine.step_at(t0 + 31_000).await.unwrap();
    assert_eq!(b_received.load(Ordering::SeqCst), 1);
    assert_eq!(status_of_update(&app, &first).await, "delivered");
    assert_eq!(status_of_update(&app, &second).await, "delivered");
}

#[tokio::test]
async fn a_tenant_429_holds_back_that_tenant_only() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic("key-a").as_str())
        .with_status(429)
        .with_header("retry-after", "60")
        .expect(1)
        .create_async()
        .await;
    let (tenant_a, _) = tenant_with_update(&app, &ashby, "A", "key-a").await;
    let t0 = store::now_ms();
    app.engine.step_at(t0).await.unwrap();

    let a_received = Arc::new(AtomicUsize::new(0));
    ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic("key-a").as_str())
        .match_request(counted(&a_received))
        .with_status(200)
        .with_body(ASHBY_OK)
        .create_async()
        .await;
    ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic("key-b").as_str())
        .with_status(200)
        .with_body(ASHBY_OK)
        .create_async()
        .await;
    let another_of_a = update_for(&app, &tenant_a).await;
    let (_, of_b) = tenant_with_update(&app, &ashby, "B", "key-b").await;

    app.engine.step_at(t0 + 1_000).await.unwrap();

    assert_eq!(status_of_update(&app, &of_b).await, "delivered");
    assert_eq!(status_of_update(&app, &another_of_a).await, "pending");
    assert_eq!(a_received.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_delivery_throttled_more_often_than_max_attempts_is_still_delivered() {
    let app = TestApp::spawn_with(|s| s.delivery.max_attempts = 2).await;
    let mut ashby = mockito::Server::new_async().await;
    // Mockito answers with the first mock still short of its expected hits.
    ashby
        .mock("POST", "/assessment.update")
        .with_status(429)
        .with_header("retry-after", "1")
        .expect(5)
        .create_async()
        .await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(r#"{"success": false, "errorInfo": {"code": "rate_limit_exceeded"}}"#)
        .expect(1)
        .create_async()
        .await;
    accept_updates(&mut ashby).await;
    let (_, id) = tenant_with_update(&app, &ashby, "A", "key-a").await;

    let mut now = store::now_ms();
    for _ in 0..7 {
        app.engine.step_at(now).await.unwrap();
        now += 120_000;
    }

    let delivery = &app.deliveries_of(&id).await[0];
    assert_eq!(delivery.status, "delivered");
    assert_eq!(delivery.attempts, 1, "throttled attempts are not counted");
    let log: Vec<String> = delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::DeliveryId.eq(delivery.id))
        .order_by_asc(delivery_attempt::Column::Attempt)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|attempt| attempt.outcome)
        .collect();
    assert_eq!(
        log,
        [
            "throttled",
            "throttled",
            "throttled",
            "throttled",
            "throttled",
            "throttled",
            "delivered"
        ]
    );
}

#[tokio::test]
async fn a_failing_delivery_goes_dead_only_after_retry_for() {
    let app = TestApp::spawn_with(|s| {
        s.delivery.max_attempts = 0;
        s.delivery.retry_for = Some(std::time::Duration::from_secs(3600));
    })
    .await;
    let mut ashby = mockito::Server::new_async().await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(503)
        .create_async()
        .await;
    let (_, id) = tenant_with_update(&app, &ashby, "A", "key-a").await;
    let t0 = store::now_ms();

    // Many attempts within the hour: still pending (no cap on attempts).
    let mut now = t0;
    while now < t0 + 3_500_000 {
        app.engine.step_at(now).await.unwrap();
        now += 300_000;
    }
    let delivery = &app.deliveries_of(&id).await[0];
    assert_eq!(delivery.status, "pending");
    assert!(delivery.attempts >= 3, "{}", delivery.attempts);

    app.engine.step_at(t0 + 7_200_000).await.unwrap();
    let delivery = &app.deliveries_of(&id).await[0];
    assert_eq!(delivery.status, "dead");
    assert!(
        delivery
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("gave up after failing for 1h")),
        "{:?}",
        delivery.last_error
    );
}

#[tokio::test]
async fn replaying_an_update_that_a_later_delivered_one_replaced_never_sends_it() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    // The first update is refused for good; the later one (completion) goes through.
    ashby
        .mock("POST", "/assessment.update")
        .with_status(400)
        .with_body(r#"{"success": false, "errorInfo": {"code": "invalid_input"}}"#)
        .expect(1)
        .create_async()
        .await;
    let later = ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    let (_, id) = tenant_with_update(&app, &ashby, "A", "key-a").await;
    let now = store::now_ms();
    app.engine.step_at(now).await.unwrap();
    let (status, body) = app
        .vendor_event(
            &id,
            &json!({
                "status": "completed",
                "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 90},
                "profile_url": "https://tests.example/r/1"
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.engine.step_at(now + 1_000).await.unwrap();
    later.assert_async().await;
    let deliveries = app.deliveries_of(&id).await;
    assert_eq!(
        (deliveries[0].status.as_str(), deliveries[1].status.as_str()),
        ("dead", "delivered")
    );

    // The operator replays every dead delivery: the outdated one is superseded, not sent.
    let response = app
        .admin(
            reqwest::Method::POST,
            &format!("/v1/deliveries/{}/retry", deliveries[0].id),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "superseded");
    app.engine.step_at(now + 60_000).await.unwrap();
    later.assert_async().await; // still exactly one update received after the refusal
    assert_eq!(app.deliveries_of(&id).await[0].status, "superseded");
}
