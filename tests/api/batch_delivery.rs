//! Deliveries claimed and recorded in batches: a claim takes many assessments' next
//! deliveries at once but never two of one assessment, never a row another claim holds,
//! and a round's attempts, recorded together, keep each assessment's order.

use std::collections::HashSet;

use ashby_partner::domain::delivery::{DeliveryKind, DeliveryStatus};
use ashby_partner::store::{self, deliveries, delivery_ops};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ASHBY_OK, TestApp};

/// A claim of up to `limit` deliveries as of `now_ms`, under a lease of its own (10 s).
async fn claim(
    app: &TestApp,
    now_ms: i64,
    limit: u64,
) -> Vec<ashby_partner::domain::delivery::Delivery> {
    deliveries::claim(&app.db, Uuid::new_v4(), now_ms, 10_000, limit)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_claim_takes_one_delivery_per_assessment_first_in_line_and_two_claims_never_share_a_row()
 {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    for n in 0..6 {
        // Two updates each: in progress, then completed.
        let id = app.start_in_progress(&tenant, &format!("app-{n}")).await;
        app.vendor_event(&id, &json!({"status": "cancelled", "reason": "test"}))
            .await;
    }
    let now = store::now_ms();

    let first = claim(&app, now, 4).await;
    let second = claim(&app, now, 100).await;
    let third = claim(&app, now, 100).await;

    assert_eq!((first.len(), second.len()), (4, 2), "{first:?} {second:?}");
    let claimed: Vec<_> = first.iter().chain(&second).collect();
    let assessments: HashSet<_> = claimed.iter().map(|d| d.assessment_id).collect();
    let rows: HashSet<_> = claimed.iter().map(|d| d.id).collect();
    assert_eq!(assessments.len(), 6, "never two of one assessment");
    assert_eq!(rows.len(), 6, "no row in two claims");
    for claimed in &claimed {
        let rows = delivery_ops::for_assessment(&app.db, claimed.assessment_id.0)
            .await
            .unwrap();
        let same_kind: Vec<_> = rows.iter().filter(|d| d.kind == claimed.kind).collect();
        assert_eq!(same_kind[0].id, claimed.id, "the first in line is claimed");
    }
    assert!(
        third.is_empty(),
        "the later ones wait while the first are in flight: {third:?}"
    );
}

#[tokio::test]
async fn a_round_recorded_together_keeps_each_assessments_order_and_numbers_its_attempts() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let log = received.clone();
    ashby
        .mock("POST", "/assessment.update")
        .match_request(move |request| {
            let body = request.utf8_lossy_body().unwrap_or_default();
            log.lock()
                .unwrap()
                .push(serde_json::from_str(&body).unwrap_or_default());
            true
        })
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect_at_least(1)
        .create_async()
        .await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "key")
        .await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = app.start_in_progress(&tenant, &format!("app-{n}")).await;
        app.vendor_event(&id, &json!({"status": "cancelled", "reason": "test"}))
            .await;
        ids.push(id);
    }

    let first = app.engine.step_at(store::now_ms()).await.unwrap();
    let second = app.engine.step_at(store::now_ms()).await.unwrap();

    assert_eq!((first.claimed, first.delivered), (5, 5));
    assert_eq!((second.claimed, second.delivered), (5, 5));
    for id in &ids {
        let rows = app.deliveries_of(id).await;
        let updates: Vec<_> = rows
            .iter()
            .filter(|d| d.kind == "assessment.update")
            .collect();
        assert_eq!(updates.len(), 2);
        for row in &updates {
            assert_eq!(row.status, DeliveryStatus::Delivered.as_str());
            assert_eq!(row.attempts, 1);
            assert!(row.lease_owner.is_none());
            let attempts = delivery_ops::attempts_of(&app.db, row.id).await.unwrap();
            assert_eq!(attempts.len(), 1);
            assert_eq!(
                (attempts[0].number, attempts[0].outcome.as_str()),
                (1, "delivered")
            );
        }
        // Ashby saw this assessment's updates in order: in progress, then cancelled.
        let statuses: Vec<serde_json::Value> = received
            .lock()
            .unwrap()
            .iter()
            .filter(|body| body["assessment_id"] == json!(id))
            .map(|body| match body.get("cancelled_reason") {
                Some(_) => json!("cancelled"),
                None => body["assessment_status"]["value"].clone(),
            })
            .collect();
        assert_eq!(statuses, [json!("In Progress"), json!("cancelled")]);
    }
}

#[tokio::test]
async fn a_claim_reaches_past_a_long_queue_of_deliveries_waiting_their_turn() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let now = store::now_ms();
    let enqueue = |assessment: Uuid, position: i64, at_ms: i64| {
        let new = deliveries::NewDelivery {
            kind: DeliveryKind::AshbyUpdate,
            tenant_id: tenant.id.0,
            assessment_id: assessment,
            position,
            payload: json!({"position": position}),
            idempotency: None,
            trace_parent: None,
        };
        deliveries::enqueue(&app.db, new, at_ms)
    };
    // One assessment's long queue, earliest of all...
    let busy = Uuid::new_v4();
    let queued = 100;
    for position in 1..=queued {
        enqueue(busy, position, now - 1_000).await.unwrap();
    }
    // ...and another assessment's one delivery, due after all of them.
    let other = enqueue(Uuid::new_v4(), 1, now - 500).await.unwrap();

    let first = claim(&app, now, 1).await;
    // The busy assessment's first delivery is in flight: the rest of its queue waits.
    let second = claim(&app, now, 1).await;

    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].assessment_id.0, first[0].position),
        (busy, 1),
        "the earliest is claimed first"
    );
    let second: Vec<_> = second.iter().map(|d| d.id).collect();
    assert_eq!(
        second,
        vec![other.id],
        "the one claimable delivery is found behind {} waiting ones",
        queued - 1
    );
}
