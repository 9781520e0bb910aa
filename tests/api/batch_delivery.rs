//! Deliveries claimed and recorded in batches: a claim takes many assessments' next
//! deliveries at once but never two of one assessment, never a row another claim holds,
//! and a round's attempts, recorded together, keep each assessment's order.

use std::collections::HashSet;

use ashby_partner::domain::delivery::{DeliveryKind, DeliveryStatus};
use ashby_partner::store::{self, deliveries, delivery_ops, delivery_records};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ASHBY_OK, TestApp, TestTenant};

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

/// A finished success of `claimed`, answered at `now_ms`.
fn delivered(
    claimed: ashby_partner::domain::delivery::Delivery,
    now_ms: i64,
) -> delivery_records::Finished {
    delivery_records::Finished {
        claimed,
        record: deliveries::AttemptRecord {
            started_ms: now_ms - 3,
            duration_ms: 3,
            http_status: Some(200),
            result: deliveries::AttemptResult::Delivered,
        },
        now_ms,
    }
}

/// On PostgreSQL a batch of successes is recorded in one statement, on SQLite in one
/// transaction: the same outcome either way.
/// An app that sends vendor webhooks too (to nowhere), with the tenants Acme and Globex.
async fn app_with_webhooks_and_two_tenants() -> (TestApp, TestTenant, TestTenant) {
    let app = TestApp::spawn_with(|s| {
        s.vendor.webhook_url = "http://127.0.0.1:9/hook".into();
        s.vendor.webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned().into();
    })
    .await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    (app, acme, globex)
}

#[tokio::test]
async fn a_batch_of_successes_is_recorded_only_under_its_leases_numbered_after_earlier_attempts_and_each_tenant_noted()
 {
    use entity::{delivery, tenant};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

    let (app, acme, globex) = app_with_webhooks_and_two_tenants().await;
    let (retried, lost, plain) = (
        app.start_in_progress(&acme, "app-retried").await,
        app.start_in_progress(&acme, "app-lost").await,
        app.start_in_progress(&acme, "app-plain").await,
    );
    let other = app.start_in_progress(&globex, "app-other").await;
    // Which delivery of an assessment: its Ashby update or its vendor webhook.
    let of = |kind: DeliveryKind, id: &str| {
        let id: Uuid = id.parse().unwrap();
        move |d: &ashby_partner::domain::delivery::Delivery| {
            d.assessment_id.0 == id && d.kind == kind
        }
    };
    let update_of = |id: &str| of(DeliveryKind::AshbyUpdate, id);
    let webhook_of = |id: &str| of(DeliveryKind::VendorWebhook, id);
    // Acme's last delivery failed, and one of its updates has failed once already.
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::LastDeliveryError,
            Expr::value("Ashby answered 500"),
        )
        .filter(tenant::Column::Id.eq(acme.id.0))
        .exec(&app.db)
        .await
        .unwrap();
    let now = store::now_ms();
    let first_try = claim(&app, now, 100).await;
    let earlier = first_try
        .iter()
        .find(|d| update_of(&retried)(d))
        .unwrap()
        .clone();
    let mut record = delivered(earlier.clone(), now).record;
    record.result = deliveries::AttemptResult::RetryAt {
        next_attempt_at_ms: now,
        error: "Ashby answered 500".into(),
    };
    assert!(
        deliveries::finish_attempt(&app.db, &earlier, record, now)
            .await
            .unwrap()
    );

    // Every due delivery claimed at once (the first claim's other leases have run out);
    // then another claim takes one of them over.
    let claimed = claim(&app, now + 20_000, 100).await;
    assert_eq!(claimed.len(), 8, "four updates and four webhooks");
    let pick = |matches: &dyn Fn(&ashby_partner::domain::delivery::Delivery) -> bool| {
        claimed.iter().find(|d| matches(d)).unwrap().clone()
    };
    let lost_update = pick(&update_of(&lost));
    let other_lease = Uuid::new_v4();
    delivery::Entity::update_many()
        .col_expr(delivery::Column::LeaseOwner, Expr::value(other_lease))
        .filter(delivery::Column::Id.eq(lost_update.id.0))
        .exec(&app.db)
        .await
        .unwrap();

    let at = now + 21_000;
    let batch = vec![
        delivered(pick(&update_of(&retried)), at + 1),
        delivered(lost_update.clone(), at + 9),
        delivered(pick(&update_of(&plain)), at + 2),
        delivered(pick(&webhook_of(&plain)), at + 8),
        delivered(pick(&webhook_of(&other)), at + 7),
    ];
    let recorded: Vec<bool> = delivery_records::finish_attempts(&app.db, &batch)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(recorded, [true, false, true, true, true]);
    for (one, recorded) in batch.iter().zip(&recorded) {
        let row = delivery::Entity::find_by_id(one.claimed.id.0)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        let attempts = delivery_ops::attempts_of(&app.db, row.id).await.unwrap();
        let outcomes: Vec<(i32, &str)> = attempts
            .iter()
            .map(|a| (a.number, a.outcome.as_str()))
            .collect();
        if *recorded {
            assert_eq!(row.status, DeliveryStatus::Delivered.as_str());
            assert_eq!(row.delivered_at_ms, Some(one.now_ms));
            assert_eq!((row.lease_owner, row.lease_until_ms), (None, None));
            assert_eq!(row.attempts, one.claimed.attempts + 1);
            assert_eq!(outcomes.last(), Some(&(row.attempts, "delivered")));
        } else {
            assert_eq!(row.status, DeliveryStatus::Pending.as_str());
            assert_eq!(row.lease_owner, Some(other_lease));
            assert!(
                outcomes.is_empty(),
                "a lost lease logs nothing: {outcomes:?}"
            );
        }
    }
    let retried_row = &batch[0].claimed;
    let attempts = delivery_ops::attempts_of(&app.db, retried_row.id.0)
        .await
        .unwrap();
    let outcomes: Vec<(i32, &str)> = attempts
        .iter()
        .map(|a| (a.number, a.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [(1, "retry"), (2, "delivered")]);

    // Acme heard from Ashby as of its latest recorded update (not the lost one, not a
    // webhook); Globex only had a webhook delivered, which says nothing of its Ashby key.
    let acme_row = tenant::Entity::find_by_id(acme.id.0)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acme_row.last_delivered_at_ms, Some(at + 2));
    assert_eq!(acme_row.last_delivery_error, None);
    assert_eq!(acme_row.ashby_key_status, "verified");
    let globex_row = tenant::Entity::find_by_id(globex.id.0)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(globex_row.last_delivered_at_ms, None);
}

#[tokio::test]
async fn a_claimed_batch_reads_what_its_sends_need_in_one_query_per_table_and_prepares_each_send_from_it()
 {
    use std::sync::{Arc, Mutex};

    use ashby_partner::delivery::{Prepared, Sender};
    use ashby_partner::outgoing::CallOutcome;
    use entity::tenant;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    use secrecy::ExposeSecret as _;

    let (app, acme, globex) = app_with_webhooks_and_two_tenants().await;
    app.connect_tenant_to_ashby(&acme, "http://ashby.test", "acme-key")
        .await;
    for (tenant, application) in [(&acme, "app-1"), (&acme, "app-2"), (&globex, "app-3")] {
        app.start_in_progress(tenant, application).await;
    }
    // Globex's key is gone by the time its update is sent.
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::AshbyApiKeySealed,
            Expr::value(Option::<String>::None),
        )
        .filter(tenant::Column::Id.eq(globex.id.0))
        .exec(&app.db)
        .await
        .unwrap();
    let claimed = claim(&app, store::now_ms(), 100).await;
    assert_eq!(claimed.len(), 6, "three updates and three webhooks");

    // The sender on a connection of its own, which notes every statement it runs.
    let statements = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut db = store::connect(&app.settings.database).await.unwrap();
    let noted = Arc::clone(&statements);
    db.set_metric_callback(move |info| noted.lock().unwrap().push(info.statement.sql.clone()));
    let sender = Sender::new(db.clone(), app.secrets().sealer, &app.settings).unwrap();

    let inputs = sender.read_inputs(&claimed).await;
    let mut prepared = Vec::new();
    for delivery in &claimed {
        prepared.push((delivery, sender.prepare(delivery, &inputs).await));
    }

    let read: Vec<String> = statements.lock().unwrap().clone();
    assert_eq!(
        read.len(),
        2,
        "one query per table for the batch: {read:#?}"
    );
    assert!(
        read.iter().any(|sql| sql.contains(r#"FROM "tenants""#)),
        "{read:#?}"
    );
    assert!(
        read.iter().any(|sql| sql.contains(r#"FROM "assessments""#)),
        "{read:#?}"
    );
    for (delivery, prepared) in &prepared {
        match (delivery.kind, prepared) {
            (DeliveryKind::AshbyUpdate, Ok(Prepared::Ashby { base_url, key, .. })) => {
                assert_eq!(delivery.tenant_id, acme.id, "only Acme has a key");
                assert_eq!(base_url, "http://ashby.test");
                assert_eq!(key.expose_secret(), "acme-key");
            }
            (DeliveryKind::AshbyUpdate, Err(CallOutcome::Refused { reason, .. })) => {
                assert_eq!(delivery.tenant_id, globex.id);
                assert!(reason.contains("has no Ashby API key"), "{reason}");
            }
            (DeliveryKind::VendorWebhook, Ok(Prepared::Webhook { body })) => {
                let application = &body["data"]["application"];
                assert!(
                    application.is_object(),
                    "the start request read back: {body}"
                );
            }
            (kind, other) => panic!("{kind:?}: unexpected {:?}", other.as_ref().err()),
        }
    }

    // A batch whose reads fail is retried, not refused: its rows may well exist.
    db.close_by_ref().await.unwrap();
    let unread = sender.read_inputs(&claimed).await;
    for delivery in &claimed {
        match sender.prepare(delivery, &unread).await {
            Err(CallOutcome::Retry { reason, .. }) => {
                assert!(reason.starts_with("database: "), "{reason}");
            }
            other => panic!("{:?}: {:?}", delivery.kind, other.err()),
        }
    }
}

#[tokio::test]
async fn a_claim_on_the_lease_clock_leases_as_of_the_instant_it_read_and_says_which() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    app.start_in_progress(&tenant, "app-1").await;
    // A process whose clock runs a minute ahead: on SQLite its own clock is the lease
    // clock; on PostgreSQL the database's clock is, whatever the process's says.
    let skew_ms = 60_000;
    let lease_ms = 10_000;
    let before = deliveries::lease_clock_ms(&app.db, skew_ms).await.unwrap();

    let (now_ms, claimed) =
        deliveries::claim_on_lease_clock(&app.db, Uuid::new_v4(), skew_ms, lease_ms, 100)
            .await
            .unwrap();

    let after = deliveries::lease_clock_ms(&app.db, skew_ms).await.unwrap();
    assert!(
        (before..=after).contains(&now_ms),
        "{before} <= {now_ms} <= {after}"
    );
    let wall = store::now_ms();
    let ahead = now_ms - wall;
    if app.database.is_postgres() {
        assert!(
            ahead.abs() < 5_000,
            "the database's clock, not the skewed one: {ahead} ms"
        );
    } else {
        assert!(ahead > 55_000, "the process's clock, skewed: {ahead} ms");
    }
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert_eq!(claimed[0].lease_until_ms, Some(now_ms + lease_ms));
}
