//! Two replicas whose clocks are 60 s apart share one PostgreSQL: each delivery still goes
//! out once. The skew is played in-process (`DeliveryEngine::with_clock_skew`), not with
//! faketime: it moves exactly the clock a replica's engine reads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::Notify;

use crate::helpers::{ASHBY_OK, TestApp, start_body};

const ASSESSMENTS: usize = 6;
const SKEW_MS: i64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_with_clocks_a_minute_apart_send_each_delivery_once() {
    let app = TestApp::spawn_with(|s| s.delivery.request_timeout_ms = 2_000).await;
    if !app.database.is_postgres() {
        println!("skipped: replicas share a PostgreSQL database (set TEST_DATABASE_URL)");
        return;
    }
    // Ashby holds the first request for a moment, so the first replica's sends are still in
    // flight (under their leases) when the second replica looks for work.
    let received: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let first_arrived = Arc::new(Notify::new());
    let held = Arc::new(AtomicBool::new(false));
    let mut ashby = mockito::Server::new_async().await;
    let (log, arrived) = (received.clone(), first_arrived.clone());
    ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body_from_request(move |request| {
            let body = request.utf8_lossy_body().unwrap_or_default();
            *log.lock().unwrap().entry(body.into_owned()).or_default() += 1;
            if !held.swap(true, Ordering::SeqCst) {
                arrived.notify_one();
                std::thread::sleep(Duration::from_millis(300));
            }
            ASHBY_OK.into()
        })
        .create_async()
        .await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "key")
        .await;
    for _ in 0..ASSESSMENTS {
        let id = app
            .start_assessment(&tenant, &start_body(&uuid::Uuid::new_v4().to_string()))
            .await;
        let event = json!({
            "status": "completed",
            "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 7},
            "profile_url": "https://tests.example/results/1"
        });
        let (status, body) = app.vendor_event(&id, &event).await;
        assert_eq!(status, 200, "{body}");
    }
    let pending = ashby_partner::store::delivery_ops::list(&app.db, None, None, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|d| d.kind == ashby_partner::domain::delivery::DeliveryKind::AshbyUpdate)
        .count();

    let on_time = (*app.engine).clone();
    let ahead = (*app.engine).clone().with_clock_skew(SKEW_MS);
    let first = tokio::spawn(async move { on_time.step().await.unwrap() });
    first_arrived.notified().await;
    let second = ahead.step().await.unwrap();
    let first = first.await.unwrap();
    // Whatever is left (nothing, when claims agree) goes out on either replica.
    for _ in 0..ASSESSMENTS {
        ahead.step().await.unwrap();
    }

    let received = received.lock().unwrap().clone();
    let twice: Vec<(&String, &usize)> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:#?}");
    assert_eq!(received.len(), pending, "every delivery reaches Ashby");
    assert_eq!(
        second.claimed, 0,
        "the second replica took over live leases"
    );
    assert_eq!(first.delivered, pending);
}
