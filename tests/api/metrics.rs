//! `GET /metrics`: Prometheus text for requests, latency and deliveries.

use serde_json::json;

use crate::helpers::{TestApp, start_body};

/// The value of the sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// The text of one `GET /metrics`.
async fn scrape(app: &TestApp) -> String {
    app.client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_deliveries_by_kind_and_status() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.start_assessment(&tenant, &start_body("app-1")).await;
    app.forget_ashby_key(&tenant).await;
    app.client
        .post(app.url("/assessment.start"))
        .send()
        .await
        .unwrap(); // 401
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    // The tenant has no Ashby key: the first update goes dead, the second stays pending.
    app.engine
        .step_at(ashby_partner::store::now_ms())
        .await
        .unwrap();

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let started = r#"ashby_partner_http_requests_total{method="POST",route="/assessment.start",status="200"}"#;
    assert_eq!(sample(&text, started), Some(2.0), "{text}");
    let refused = r#"ashby_partner_http_requests_total{method="POST",route="/assessment.start",status="401"}"#;
    assert_eq!(sample(&text, refused), Some(1.0));
    let events = r#"ashby_partner_http_requests_total{method="POST",route="/v1/assessments/{id}/events",status="200"}"#;
    assert_eq!(
        sample(&text, events),
        Some(2.0),
        "routes are patterns, not paths"
    );
    let latency_count = r#"ashby_partner_http_request_duration_seconds_count{method="POST",route="/assessment.start",status="200"}"#;
    assert_eq!(sample(&text, latency_count), Some(2.0));
    let dead = r#"ashby_partner_deliveries{kind="assessment.update",status="dead"}"#;
    assert_eq!(sample(&text, dead), Some(1.0));
    let pending = r#"ashby_partner_deliveries{kind="assessment.update",status="pending"}"#;
    assert_eq!(sample(&text, pending), Some(1.0));
    let attempts =
        r#"ashby_partner_delivery_attempts_total{kind="assessment.update",outcome="dead"}"#;
    assert_eq!(sample(&text, attempts), Some(1.0));
    let age = sample(&text, "ashby_partner_delivery_oldest_pending_age_seconds").unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
    assert!(!text.contains(&tenant.key), "no secrets in metrics");
}

#[tokio::test]
async fn invented_methods_and_unknown_paths_do_not_grow_the_label_set() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        app.client
            .request(method, app.url(&format!("/no-such-path-{i}")))
            .send()
            .await
            .unwrap();
    }

    let text = scrape(&app).await;

    assert!(!text.contains("INVENTED"), "{text}");
    assert!(!text.contains("no-such-path"), "{text}");
    let other =
        r#"ashby_partner_http_requests_total{method="OTHER",route="unmatched",status="404"}"#;
    assert_eq!(sample(&text, other), Some(5.0), "{text}");
}

#[tokio::test]
async fn the_oldest_pending_delivery_is_found_among_pending_ones_only() {
    use ashby_partner::domain::delivery::DeliveryStatus;
    use ashby_partner::store::{delivery_ops, delivery_stats};
    use sea_orm::ConnectionTrait as _;

    let app = TestApp::spawn().await;
    let oldest = || delivery_stats::oldest_pending_created_ms(&app.db);
    assert_eq!(oldest().await.unwrap(), None, "nothing pending");

    // Once the tenant has lost its Ashby key, the first update goes dead when attempted.
    let tenant = app.create_tenant("Acme").await;
    app.start_in_progress(&tenant, "app-1").await;
    let second = app.start_assessment(&tenant, &start_body("app-2")).await;
    app.forget_ashby_key(&tenant).await;
    app.engine.step().await.unwrap();
    let dead = delivery_ops::list(&app.db, Some(DeliveryStatus::Dead), None, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    // The dead delivery is by far the oldest row: it must not count.
    app.db
        .execute_unprepared(&format!(
            "UPDATE deliveries SET created_at_ms = 1 WHERE id = '{}'",
            dead[0].id
        ))
        .await
        .unwrap();
    app.vendor_event(&second, &json!({"status": "in_progress"}))
        .await;

    let pending = delivery_ops::list(&app.db, Some(DeliveryStatus::Pending), None, 10)
        .await
        .unwrap();
    assert!(!pending.is_empty());
    let expected = pending.iter().map(|d| d.created_at_ms).min();
    assert_eq!(oldest().await.unwrap(), expected);
}

#[tokio::test]
async fn a_scrape_reports_finished_deliveries_as_of_itself() {
    let app = TestApp::spawn().await;
    let (tenant, _ashby) = app.tenant_on_accepting_ashby("Acme").await;
    let delivered = r#"ashby_partner_deliveries{kind="assessment.update",status="delivered"}"#;
    let delivered_now = async || sample(&scrape(&app).await, delivered);
    app.start_in_progress(&tenant, "app-1").await;
    assert_eq!(delivered_now().await, Some(0.0));

    app.deliver_everything().await;
    assert_eq!(
        delivered_now().await,
        Some(1.0),
        "counted at once, not a minute later"
    );
    app.start_in_progress(&tenant, "app-2").await;
    app.deliver_everything().await;
    assert_eq!(delivered_now().await, Some(2.0));
}
