//! `vendor.expire_after` (CONTRACT §12): an open assessment nobody reported on for that long
//! becomes expired — Ashby is told "Expired", the vendor gets `assessment.expired` — once,
//! however many replicas look.

use ashby_partner::store;
use serde_json::json;

use crate::helpers::{TestApp, assert_matches_schema, start_body};

const HOUR_MS: i64 = 3_600_000;

async fn read(app: &TestApp, id: &str) -> serde_json::Value {
    let response = app.vendor_get(&format!("/v1/assessments/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn app_expiring_after_an_hour() -> TestApp {
    TestApp::spawn_with(|s| {
        s.vendor.expire_after = Some(std::time::Duration::from_secs(3600));
        // Webhooks are queued, not sent: the engine is not stepped here.
        s.vendor.webhook_url = "http://127.0.0.1:9/hooks".into();
        s.vendor.webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string().into();
    })
    .await
}

#[tokio::test]
async fn an_assessment_nobody_reported_on_expires_once_even_with_two_replicas_looking() {
    let app = app_expiring_after_an_hour().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    let later = store::now_ms() + HOUR_MS + 1_000;

    let (first, second) = tokio::join!(
        app.housekeeping.round_at(later),
        app.housekeeping.round_at(later)
    );

    assert_eq!(first.unwrap().expired + second.unwrap().expired, 1);
    let assessment = read(&app, &id).await;
    assert_eq!(assessment["status"], "expired");
    let last = assessment["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["status"].as_str(), last["source"].as_str()),
        (Some("expired"), Some("system"))
    );
    let deliveries = app.deliveries_of(&id).await;
    let kinds: Vec<&str> = deliveries.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["vendor.webhook", "assessment.update", "vendor.webhook"]
    );
    let update = &deliveries[1].payload;
    assert_matches_schema("assessment.update.request.json", update);
    assert_eq!(update["cancelled_reason"]["value"], "Expired");
    assert_eq!(deliveries[2].payload["type"], "assessment.expired");

    // A later round finds nothing more to do.
    assert_eq!(
        app.housekeeping
            .round_at(later + HOUR_MS)
            .await
            .unwrap()
            .expired,
        0
    );
    assert_eq!(app.deliveries_of(&id).await.len(), 3);
}

/// Makes an assessment look last changed `ago_ms` before now.
async fn backdate(app: &TestApp, id: &str, ago_ms: i64) {
    use sea_orm::{ActiveValue::Set, EntityTrait as _};
    let row = entity::assessment::ActiveModel {
        id: Set(id.parse().unwrap()),
        updated_at_ms: Set(store::now_ms() - ago_ms),
        ..Default::default()
    };
    entity::assessment::Entity::update(row)
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn only_open_assessments_without_a_recent_event_expire() {
    let app = app_expiring_after_an_hour().await;
    let tenant = app.create_tenant("Acme").await;
    let silent = app.start_assessment(&tenant, &start_body("app-1")).await;
    let reported = app.start_assessment(&tenant, &start_body("app-2")).await;
    let ended = app.start_assessment(&tenant, &start_body("app-3")).await;
    app.vendor_event(&ended, &json!({"status": "cancelled"}))
        .await;
    for id in [&silent, &reported, &ended] {
        backdate(&app, id, 2 * HOUR_MS).await;
    }
    // The vendor reports progress now: the hour starts again for this one.
    let (status, body) = app
        .vendor_event(&reported, &json!({"status": "in_progress"}))
        .await;
    assert_eq!(status, 200, "{body}");

    let round = app.housekeeping.round_at(store::now_ms()).await.unwrap();

    assert_eq!(round.expired, 1);
    assert_eq!(read(&app, &silent).await["status"], "expired");
    assert_eq!(read(&app, &reported).await["status"], "in_progress");
    assert_eq!(read(&app, &ended).await["status"], "cancelled");
}
