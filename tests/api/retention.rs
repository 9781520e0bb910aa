//! `retention.*` (CONTRACT §12): finished deliveries and terminal assessments are deleted in
//! the background once they are old enough — and nothing that still has work to do.

use ashby_partner::store;
use entity::{assessment, delivery, delivery_attempt};
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use serde_json::json;

use crate::helpers::{TestApp, start_body};

const HOUR_MS: i64 = 3_600_000;

/// Makes every row look last changed `ago_ms` before now.
async fn age_everything(app: &TestApp, ago_ms: i64) {
    let then = store::now_ms() - ago_ms;
    assessment::Entity::update_many()
        .col_expr(
            assessment::Column::UpdatedAtMs,
            sea_orm::sea_query::Expr::val(then),
        )
        .exec(&app.db)
        .await
        .unwrap();
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::UpdatedAtMs,
            sea_orm::sea_query::Expr::val(then),
        )
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn old_finished_deliveries_and_terminal_assessments_are_deleted_and_nothing_else() {
    let app = TestApp::spawn_with(|s| {
        s.retention.deliveries = Some(std::time::Duration::from_secs(3600));
        s.retention.assessments = Some(std::time::Duration::from_secs(2 * 3600));
    })
    .await;
    let (tenant, _ashby) = app.tenant_on_accepting_ashby("Acme").await;
    let finished = app.start_assessment(&tenant, &start_body("app-1")).await;
    let open = app.start_assessment(&tenant, &start_body("app-2")).await;
    app.vendor_event(&finished, &json!({"status": "cancelled"}))
        .await;
    app.vendor_event(&open, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await;
    // A later update of the open one that is still waiting to be sent.
    app.vendor_event(&open, &json!({"status": "in_progress"}))
        .await;

    // Ninety minutes on: the delivered deliveries are past their hour, the cancelled
    // assessment not yet past its two.
    age_everything(&app, 90 * 60_000).await;
    let round = app.housekeeping.round_at(store::now_ms()).await.unwrap();
    assert_eq!((round.deliveries_deleted, round.assessments_erased), (2, 0));
    assert_eq!(
        delivery_attempt::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    let left: Vec<String> = app
        .deliveries_of(&open)
        .await
        .into_iter()
        .map(|d| d.status)
        .collect();
    assert_eq!(left, ["pending"], "the waiting update stays");

    // Three hours on: the cancelled assessment is erased; the open one stays.
    age_everything(&app, 3 * HOUR_MS).await;
    let round = app.housekeeping.round_at(store::now_ms()).await.unwrap();
    assert_eq!(round.assessments_erased, 1);
    let ids: Vec<uuid::Uuid> = assessment::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, [open.parse::<uuid::Uuid>().unwrap()]);
    assert_eq!(
        delivery::Entity::find()
            .filter(delivery::Column::AssessmentId.eq(finished.parse::<uuid::Uuid>().unwrap()))
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_terminal_assessment_with_a_pending_delivery_is_kept() {
    let app = TestApp::spawn_with(|s| {
        s.retention.assessments = Some(std::time::Duration::from_secs(3600));
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    // Its final update to Ashby is still pending (the engine is not stepped).
    app.vendor_event(&id, &json!({"status": "cancelled"})).await;
    age_everything(&app, 2 * HOUR_MS).await;

    let round = app.housekeeping.round_at(store::now_ms()).await.unwrap();

    assert_eq!(round.assessments_erased, 0);
    assert_eq!(app.deliveries_of(&id).await.len(), 1);
}
