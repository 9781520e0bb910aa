//! Updates reach Ashby (played by mockito) durably, in order, retried or dead as
//! CONTRACT §6 says. The engine is stepped by the test, with a clock it controls.

use std::sync::{Arc, Mutex};

use ashby_partner::domain::delivery::DeliveryStatus;
use ashby_partner::store::{self, deliveries, delivery_ops};
use base64::Engine as _;
use mockito::Matcher;
use serde_json::{Value, json};

use crate::helpers::{
    ASHBY_OK, TestApp, TestTenant, accept_updates, assert_matches_schema, start_body,
};

const ASHBY_KEY: &str = "ashby-secret-key";

/// Every request Ashby received, in arrival order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Value>>>);

impl Received {
    fn matcher(&self) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
        let log = self.0.clone();
        move |request| {
            let body = request.utf8_lossy_body().unwrap_or_default();
            log.lock()
                .unwrap()
                .push(serde_json::from_str(&body).unwrap_or(Value::Null));
            true
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

fn completion(score: i64) -> Value {
    json!({
        "status": "completed",
        "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": score},
        "profile_url": "https://tests.example/results/1"
    })
}

/// A tenant connected to the mock Ashby, and one started assessment.
async fn tenant_with_assessment(app: &TestApp, ashby: &mockito::Server) -> (TestTenant, String) {
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), ASHBY_KEY)
        .await;
    let id = app
        .start_assessment(&tenant, &start_body(&uuid::Uuid::new_v4().to_string()))
        .await;
    (tenant, id)
}

#[tokio::test]
async fn updates_reach_ashby_with_the_tenants_key_and_ashbys_schema() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let received = Received::default();
    let mock = ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic(ASHBY_KEY).as_str())
        .match_header("accept", "application/json; version=1")
        .match_header("user-agent", Matcher::Regex("^ashby-partner/".into()))
        .match_request(received.matcher())
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(2)
        .create_async()
        .await;
    let (_, id) = tenant_with_assessment(&app, &ashby).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.vendor_event(&id, &completion(80)).await;

    let report = app.engine.step_at(store::now_ms()).await.unwrap();
    assert_eq!(report.claimed, 1, "one at a time per assessment");
    app.deliver_everything().await;

    mock.assert_async().await;
    let bodies = received.bodies();
    for body in &bodies {
        assert_matches_schema("assessment.update.request.json", body);
    }
    let statuses: Vec<&str> = bodies
        .iter()
        .map(|b| b["assessment_status"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["In Progress", "Completed"]);
    for delivery in app.deliveries_of(&id).await {
        assert_eq!(delivery.status, "delivered");
        assert_eq!(delivery.attempts, 1);
        assert!(delivery.delivered_at_ms.is_some());
    }
}

#[tokio::test]
async fn a_flaky_ashby_gets_every_update_in_order_and_none_dies() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let received = Received::default();
    // Mockito answers with the first mock still short of its expected hits, then the last.
    ashby
        .mock("POST", "/assessment.update")
        .with_status(500)
        .expect(3)
        .create_async()
        .await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(429)
        .with_header("retry-after", "1")
        .expect(2)
        .create_async()
        .await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(r#"{"success": false, "errorInfo": {"code": "rate_limit_exceeded"}}"#)
        .expect(2)
        .create_async()
        .await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(503)
        .expect(2)
        .create_async()
        .await;
    let succeeded = ashby
        .mock("POST", "/assessment.update")
        .match_request(received.matcher())
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(9)
        .create_async()
        .await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), ASHBY_KEY)
        .await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = app
            .start_assessment(&tenant, &start_body(&format!("app-{n}")))
            .await;
        for _ in 0..2 {
            app.vendor_event(&id, &json!({"status": "in_progress"}))
                .await;
        }
        app.vendor_event(&id, &completion(n)).await;
        ids.push(id);
    }

    app.deliver_everything().await;

    // The matcher sees every attempt, failed or not, in arrival order.
    let attempts = received.bodies();
    assert_eq!(attempts.len(), 9 + 9, "nine failures were retried");
    succeeded.assert_async().await;
    for id in &ids {
        let rows = app.deliveries_of(id).await;
        assert!(rows.iter().all(|d| d.status == "delivered"), "{rows:#?}");
        // Per assessment, never an earlier update after a later one was tried.
        let timestamps: Vec<i64> = attempts
            .iter()
            .filter(|b| b["assessment_id"] == id.as_str())
            .map(|b| b["timestamp"].as_i64().unwrap())
            .collect();
        assert!(
            timestamps.windows(2).all(|w| w[0] <= w[1]),
            "{timestamps:?}"
        );
        let mut distinct = timestamps.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), 3);
    }
    let total_attempts: i32 =
        futures_util::future::join_all(ids.iter().map(|id| app.deliveries_of(id)))
            .await
            .iter()
            .flatten()
            .map(|d| d.attempts)
            .sum();
    // Nine successes and five failures (500s, 503s); the four throttled answers (429s and
    // throttling `success: false`) are not counted as attempts (CONTRACT §6).
    assert_eq!(total_attempts, 9 + 5);
}

#[tokio::test]
async fn a_later_update_waits_while_an_earlier_one_is_backing_off() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(500)
        .expect(1)
        .create_async()
        .await;
    accept_updates(&mut ashby).await;
    let (_, id) = tenant_with_assessment(&app, &ashby).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.vendor_event(&id, &completion(1)).await;
    let now = store::now_ms();

    let first = app.engine.step_at(now).await.unwrap();
    let while_backing_off = app.engine.step_at(now).await.unwrap();

    assert_eq!((first.claimed, first.retried), (1, 1));
    assert_eq!(
        while_backing_off.claimed, 0,
        "the completion must not overtake the progress update"
    );
    let rows = app.deliveries_of(&id).await;
    assert_eq!((rows[0].attempts, rows[1].attempts), (1, 0));
    app.deliver_everything().await;
}

#[tokio::test]
async fn a_replayed_older_update_waits_while_a_later_one_is_in_flight() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.forget_ashby_key(&tenant).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await; // no Ashby key: dead
    app.vendor_event(&id, &completion(5)).await;
    let now = store::now_ms();
    let later = deliveries::claim(&app.db, uuid::Uuid::new_v4(), now, 10_000, 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1, "the completion is in flight");

    assert_eq!(
        delivery_ops::requeue_dead(&app.db, None, now)
            .await
            .unwrap(),
        1
    );
    let while_in_flight = deliveries::claim(&app.db, uuid::Uuid::new_v4(), now, 10_000, 10)
        .await
        .unwrap();

    assert!(
        while_in_flight.is_empty(),
        "one delivery per assessment in flight at a time"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(429)
        .with_header("retry-after", "120")
        .expect(1)
        .create_async()
        .await;
    let ok = ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    let (_, id) = tenant_with_assessment(&app, &ashby).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    let t0 = store::now_ms();

    app.engine.step_at(t0).await.unwrap();
    let row = &app.deliveries_of(&id).await[0];
    assert!(
        row.next_attempt_at_ms >= t0 + 120_000,
        "{} < {}",
        row.next_attempt_at_ms,
        t0 + 120_000
    );
    assert!(row.last_error.as_deref().unwrap().contains("429"));
    assert_eq!(
        app.engine.step_at(t0 + 60_000).await.unwrap().claimed,
        0,
        "too early"
    );
    let later = app.engine.step_at(t0 + 121_000).await.unwrap();

    assert_eq!(later.delivered, 1);
    ok.assert_async().await;
}

#[tokio::test]
async fn a_rejected_key_is_dead_after_one_attempt_and_delivered_after_the_fix_and_a_retry() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let refused = ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic("old-key").as_str())
        .with_status(401)
        .with_body(
            r#"{"success": false, "errorInfo": {"code": "unauthorized", "message": "bad key"}}"#,
        )
        .expect(1)
        .create_async()
        .await;
    let accepted = ashby
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic("new-key").as_str())
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "old-key")
        .await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;

    app.deliver_everything().await;
    let listed: Value = app
        .vendor_get(&format!("/v1/assessments/{id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    let dead = &listed["data"][0];
    assert_eq!(dead["status"], "dead");
    assert_eq!(dead["attempts"], 1);
    assert!(
        dead["last_error"].as_str().unwrap().contains("401"),
        "{dead}"
    );
    assert!(!dead["last_error"].as_str().unwrap().contains("old-key"));
    refused.assert_async().await;

    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "new-key")
        .await;
    let delivery_id = dead["id"].as_str().unwrap();
    let engine_token = app
        .vendor_post(&format!("/v1/deliveries/{delivery_id}/retry"), &json!({}))
        .await;
    assert_eq!(engine_token.status(), 403, "retrying takes an admin token");
    let response = app
        .admin(
            reqwest::Method::POST,
            &format!("/v1/deliveries/{delivery_id}/retry"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "pending");
    app.deliver_everything().await;

    accepted.assert_async().await;
    assert_eq!(app.deliveries_of(&id).await[0].status, "delivered");
    let again = app
        .admin(
            reqwest::Method::POST,
            &format!("/v1/deliveries/{delivery_id}/retry"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "only dead deliveries can be retried");
}

#[tokio::test]
async fn success_false_is_dead_with_ashbys_code() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(r#"{"success": false, "errorInfo": {"code": "assessment_not_found", "message": "no such assessment", "requestId": "r-1"}}"#)
        .expect(1)
        .create_async()
        .await;
    let (_, id) = tenant_with_assessment(&app, &ashby).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;

    app.deliver_everything().await;

    let row = &app.deliveries_of(&id).await[0];
    assert_eq!(row.status, "dead");
    assert_eq!(row.attempts, 1);
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("assessment_not_found")
    );
}

#[tokio::test]
async fn a_timeout_is_retried_until_ashby_answers() {
    let app = TestApp::spawn_with(|s| s.delivery.request_timeout_ms = 200).await;
    // An "Ashby" that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &silent, ASHBY_KEY)
        .await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;

    let report = app.engine.step_at(store::now_ms()).await.unwrap();
    assert_eq!(report.retried, 1);
    let row = &app.deliveries_of(&id).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert!(row.last_error.as_deref().unwrap().contains("timed out"));

    let mut ashby = mockito::Server::new_async().await;
    let ok = ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), ASHBY_KEY)
        .await;
    app.deliver_everything().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn a_tenant_without_an_ashby_key_gets_dead_deliveries_that_say_what_to_do() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.forget_ashby_key(&tenant).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;

    app.deliver_everything().await;

    let row = &app.deliveries_of(&id).await[0];
    assert_eq!(row.status, "dead");
    assert!(row.last_error.as_deref().unwrap().contains("set-ashby-key"));
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_by_another_worker() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    let (crashed, survivor) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let now = store::now_ms();

    let taken = deliveries::claim(&app.db, crashed, now, 10_000, 10)
        .await
        .unwrap();
    let while_leased = deliveries::claim(&app.db, survivor, now + 5_000, 10_000, 10)
        .await
        .unwrap();
    let after_expiry = deliveries::claim(&app.db, survivor, now + 10_001, 10_000, 10)
        .await
        .unwrap();

    assert_eq!(taken.len(), 1);
    assert!(while_leased.is_empty());
    assert_eq!(after_expiry.len(), 1);
    assert_eq!(after_expiry[0].id, taken[0].id);
    assert_eq!(after_expiry[0].lease_owner, Some(survivor));
    // The crashed worker's late outcome no longer counts.
    let record = deliveries::AttemptRecord {
        started_ms: now,
        duration_ms: 1,
        http_status: Some(200),
        result: deliveries::AttemptResult::Delivered,
    };
    assert!(
        !deliveries::finish_attempt(&app.db, &taken[0], record, now + 10_002)
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_delivery_engines_on_one_database_send_each_delivery_exactly_once() {
    let app = TestApp::spawn_with(|s| s.delivery.concurrency = 4).await;
    let (_ashby, received, tenant) = acme_on_an_ashby_accepting_updates(&app).await;
    for n in 0..12 {
        let id = app.start_in_progress(&tenant, &format!("app-{n}")).await;
        app.vendor_event(&id, &completion(n)).await;
    }
    let second = second_engine(&app);

    let mut now = store::now_ms();
    loop {
        let (a, b) = tokio::join!(app.engine.step_at(now), second.step_at(now));
        let (a, b) = (a.unwrap(), b.unwrap());
        if a.claimed + b.claimed == 0 {
            break;
        }
        now += 1;
    }

    let bodies = received.bodies();
    assert_eq!(bodies.len(), 24);
    let mut keys: Vec<String> = bodies
        .iter()
        .map(|b| format!("{}/{}", b["assessment_id"], b["timestamp"]))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 24, "no delivery was sent twice");
    let dead_or_pending = delivery_ops::list(&app.db, Some(DeliveryStatus::Pending), None, 100)
        .await
        .unwrap();
    assert!(dead_or_pending.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_engine_claims_three_times_its_concurrency_ahead_of_its_sends_but_sends_only_its_concurrency()
 {
    use std::time::Duration;
    let app = TestApp::spawn_with(|s| s.delivery.concurrency = 2).await;
    // An "Ashby" that accepts connections, says when, and never answers: every request
    // the engine sends stays out, each on a connection of its own.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    let (accepted, mut connections) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            let _ = accepted.send(());
        }
    });
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &silent, ASHBY_KEY)
        .await;
    for n in 0..12 {
        app.start_in_progress(&tenant, &format!("app-{n}")).await;
    }

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(Arc::new(second_engine(&app)).run(shutdown));
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), connections.recv())
            .await
            .expect("the engine sends up to its concurrency");
    }
    let leased = || leased_deliveries(&app);
    // The two sends starting free two places ahead, which the engine claims again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while leased().await < 8 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The six claimed ahead wait for a send slot: no third request, and no more claims.
    let third = tokio::time::timeout(Duration::from_millis(300), connections.recv()).await;
    assert!(
        third.is_err(),
        "a third request went out while two were in flight"
    );
    assert_eq!(
        leased().await,
        8,
        "the two being sent and, claimed ahead, three times delivery.concurrency, of 12 due"
    );
    stop.send(true).unwrap();
    running.abort();
}

/// PostgreSQL only: there a test can hold up the recorder alone, by locking the tenant row
/// that a batch of successes notes as delivered, while claims (which only read tenants)
/// go on. On SQLite every write, claims included, waits for the same one writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_recorder_waits_a_running_engine_sends_until_three_times_its_concurrency_await_recording()
 {
    use sea_orm::{ConnectionTrait as _, DbBackend, Statement, TransactionTrait as _};
    use std::time::{Duration, Instant};
    let app = TestApp::spawn_with(|s| s.delivery.concurrency = 1).await;
    if !app.database.is_postgres() {
        return;
    }
    let (_ashby, received, tenant) = acme_on_an_ashby_accepting_updates(&app).await;
    for n in 0..12 {
        app.start_in_progress(&tenant, &format!("app-{n}")).await;
    }
    let lock = app.db.begin().await.unwrap();
    lock.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT id FROM tenants WHERE id = $1 FOR UPDATE",
        [tenant.id.0.into()],
    ))
    .await
    .unwrap();
    let leased = || leased_deliveries(&app);
    let sent = || received.bodies().len();

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(Arc::new(second_engine(&app)).run(shutdown));
    // The first success is held up in the recorder; two more wait in its queue, and the
    // next send, with no room left among the unrecorded, keeps its send slot.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (sent() < 4 || leased().await < 7) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sent(),
        4,
        "three awaiting the recorder, and one more holding the only send slot"
    );
    assert_eq!(
        leased().await,
        7,
        "and three times delivery.concurrency claimed ahead of the sends"
    );

    lock.rollback().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !delivery_ops::list(&app.db, Some(DeliveryStatus::Pending), None, 100)
        .await
        .unwrap()
        .is_empty()
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sent(), 12, "each delivery sent once, once recorded");
    stop.send(true).unwrap();
    running.await.unwrap();
}

/// A tenant, Acme, connected to a mock Ashby that accepts every update and records it.
async fn acme_on_an_ashby_accepting_updates(
    app: &TestApp,
) -> (mockito::ServerGuard, Received, TestTenant) {
    let mut ashby = mockito::Server::new_async().await;
    let received = Received::default();
    ashby
        .mock("POST", "/assessment.update")
        .match_request(received.matcher())
        .with_status(200)
        .with_body(ASHBY_OK)
        .create_async()
        .await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), ASHBY_KEY)
        .await;
    (ashby, received, tenant)
}

/// How many pending deliveries are leased.
async fn leased_deliveries(app: &TestApp) -> usize {
    delivery_ops::list(&app.db, Some(DeliveryStatus::Pending), None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.lease_owner.is_some())
        .count()
}

/// Another engine (another process's worth of workers) on the test's database.
fn second_engine(app: &TestApp) -> ashby_partner::delivery::DeliveryEngine {
    use ashby_partner::delivery::{DeliveryEngine, DeliveryWaker, Sender};
    let sender = Sender::new(app.db.clone(), app.secrets().sealer, &app.settings).unwrap();
    DeliveryEngine::new(
        app.db.clone(),
        sender,
        app.settings.delivery.clone(),
        DeliveryWaker::default(),
    )
}

#[tokio::test]
async fn completed_assessments_are_delivered_with_add_completed_to_candidate() {
    let partner_id = uuid::Uuid::new_v4();
    let app = TestApp::spawn_with(|s| s.ashby.partner_id = Some(partner_id)).await;
    let mut ashby = mockito::Server::new_async().await;
    let received = Received::default();
    let mock = ashby
        .mock("POST", "/assessment.addCompletedToCandidate")
        .match_header("authorization", basic(ASHBY_KEY).as_str())
        .match_request(received.matcher())
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), ASHBY_KEY)
        .await;
    let candidate_id = uuid::Uuid::new_v4();

    let response = app
        .vendor_post(
            "/v1/completed-assessments",
            &json!({
                "tenant_id": tenant.id,
                "candidate_id": candidate_id,
                "assessment_type_id": crate::helpers::TYPE_ID,
                "result": {"identifier": "passed", "label": "Passed", "type": "boolean_success", "value": true},
                "completed_at": "2026-11-01T10:00:00Z"
            }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(
        accepted["delivery"]["kind"],
        "assessment.addCompletedToCandidate"
    );
    assert_eq!(accepted["delivery"]["status"], "pending");
    app.deliver_everything().await;

    mock.assert_async().await;
    let body = &received.bodies()[0];
    assert_matches_schema("assessment.addCompletedToCandidate.request.json", body);
    assert_eq!(body["candidateId"], candidate_id.to_string());
    assert_eq!(body["partnerId"], partner_id.to_string());
    assert_eq!(body["timestamp"], 1_793_527_200_000_i64);
    assert_eq!(body["assessment"]["assessmentId"], accepted["id"]);
    assert_eq!(body["assessment"]["assessmentName"], "Backend take-home");
    assert_eq!(body["assessment"]["metadata"], json!([]));
}

#[tokio::test]
async fn completed_assessments_are_refused_without_a_partner_id_or_with_bad_input() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let body = |tenant_id: Value, result: Value| {
        json!({
            "tenant_id": tenant_id,
            "candidate_id": uuid::Uuid::new_v4(),
            "assessment_type_id": crate::helpers::TYPE_ID,
            "result": result
        })
    };
    let ok_result = json!({"identifier": "s", "label": "S", "type": "numeric_score", "value": 3});
    let response = app
        .vendor_post(
            "/v1/completed-assessments",
            &body(json!(tenant.id), ok_result.clone()),
        )
        .await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "partner_id_not_configured");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ashby.partner_id")
    );

    let app = TestApp::spawn_with(|s| s.ashby.partner_id = Some(uuid::Uuid::new_v4())).await;
    let tenant = app.create_tenant("Acme").await;
    let cases = [
        body(json!(uuid::Uuid::new_v4()), ok_result.clone()),
        body(json!("not-a-uuid"), ok_result.clone()),
        body(
            json!(tenant.id),
            json!({"identifier": "s", "label": "S", "type": "numeric_score", "value": "3"}),
        ),
        json!({"tenant_id": tenant.id, "result": ok_result}),
        // Identifiers are unique across the result and the metadata.
        json!({
            "tenant_id": tenant.id,
            "candidate_id": uuid::Uuid::new_v4(),
            "assessment_type_id": crate::helpers::TYPE_ID,
            "result": ok_result,
            "metadata": [ok_result]
        }),
    ];
    for case in cases {
        let response = app.vendor_post("/v1/completed-assessments", &case).await;
        assert_eq!(response.status(), 422, "{case}");
    }
    assert!(
        delivery_ops::list(&app.db, None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_completed_assessment_retried_with_its_idempotency_key_is_attached_once() {
    let app = TestApp::spawn_with(|s| s.ashby.partner_id = Some(uuid::Uuid::new_v4())).await;
    let tenant = app.create_tenant("Acme").await;
    let body = json!({
        "tenant_id": tenant.id,
        "candidate_id": uuid::Uuid::new_v4(),
        "assessment_type_id": crate::helpers::TYPE_ID,
        "result": {"identifier": "s", "label": "S", "type": "numeric_score", "value": 3}
    });
    let post = |key: Option<&'static str>, body: Value| {
        let mut request = app
            .client
            .post(app.url("/v1/completed-assessments"))
            .bearer_auth(app.vendor_token())
            .json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send()
    };

    let first = post(Some("vendor-result-17"), body.clone()).await.unwrap();
    let retried = post(Some("vendor-result-17"), body.clone()).await.unwrap();
    let mut other = body.clone();
    other["result"]["value"] = json!(4);
    let reused = post(Some("vendor-result-17"), other).await.unwrap();
    let unkeyed = post(None, body.clone()).await.unwrap();

    assert_eq!(
        (first.status().as_u16(), retried.status().as_u16()),
        (202, 202)
    );
    let (first, retried): (Value, Value) =
        (first.json().await.unwrap(), retried.json().await.unwrap());
    assert_eq!(first["id"], retried["id"]);
    assert_eq!(first["delivery"]["id"], retried["delivery"]["id"]);
    assert_eq!(reused.status(), 422);
    assert_eq!(
        reused.json::<Value>().await.unwrap()["error"]["code"],
        "idempotency_key_reused"
    );
    assert_eq!(unkeyed.status(), 202);
    let all = delivery_ops::list(&app.db, None, None, 10).await.unwrap();
    assert_eq!(all.len(), 2, "the keyed request once, the unkeyed one once");
}
