//! The tallies of finished deliveries (`store::delivery_tallies`, migration 17): whatever
//! changes a delivery's status — the engine, an operator, retention, a cascade from a
//! deleted tenant, plain SQL — they agree with a full count, before and after a fold,
//! and folds running at once (two replicas) never count a change twice.

use ashby_partner::domain::delivery::DeliveryStatus;
use ashby_partner::store::{delivery_stats, delivery_tallies};
use entity::delivery;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _};

use crate::helpers::TestApp;

type Counts = Vec<(String, String, i64)>;

fn sorted(mut counts: Counts) -> Counts {
    counts.sort();
    counts
}

/// The tallies, and the same figures counted row by row.
async fn tallied_and_counted(app: &TestApp) -> (Counts, Counts) {
    let tallied = delivery_tallies::finished_counts(&app.db).await.unwrap();
    let counted = delivery_stats::counts(&app.db, &DeliveryStatus::FINISHED)
        .await
        .unwrap();
    (sorted(tallied), sorted(counted))
}

/// Asserts that the tallies, and what `/metrics` reads (every status, in one statement),
/// agree with a count of the rows; returns the tallies.
async fn assert_tallies_agree(app: &TestApp, after: &str) -> Counts {
    let (tallied, counted) = tallied_and_counted(app).await;
    assert_eq!(tallied, counted, "after {after}");
    let scraped = delivery_tallies::counts_by_kind_and_status(&app.db)
        .await
        .unwrap();
    let every_row = delivery_stats::counts(&app.db, &DeliveryStatus::ALL)
        .await
        .unwrap();
    assert_eq!(
        sorted(scraped),
        sorted(every_row),
        "after {after}: all statuses"
    );
    tallied
}

async fn tally_rows(app: &TestApp) -> i64 {
    app.db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM delivery_tallies",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

/// Sets the status of the delivery with `id` (as any code path, or an operator's SQL,
/// would).
async fn set_status(app: &TestApp, id: uuid::Uuid, status: DeliveryStatus) {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value(status.as_str()))
        .filter(delivery::Column::Id.eq(id))
        .exec(&app.db)
        .await
        .unwrap();
}

fn of(kind: &str, status: &str, n: i64) -> (String, String, i64) {
    (kind.to_owned(), status.to_owned(), n)
}

#[tokio::test]
async fn the_tallies_follow_every_change_of_a_finished_status() {
    let app = TestApp::spawn().await;
    let (acme, _ashby) = app.tenant_on_accepting_ashby("Acme").await;
    let (globex, _ashby_too) = app.tenant_on_accepting_ashby("Globex").await;
    assert_eq!(assert_tallies_agree(&app, "nothing").await, vec![]);
    let mut updates = Vec::new();
    for n in 0..4 {
        let id = app.start_in_progress(&acme, &format!("acme-{n}")).await;
        updates.push(app.deliveries_of(&id).await[0].id);
    }
    app.start_in_progress(&globex, "globex-0").await;
    assert_eq!(
        assert_tallies_agree(&app, "starts (pending only)").await,
        vec![]
    );

    app.deliver_everything().await;
    let update = "assessment.update";
    assert_eq!(
        assert_tallies_agree(&app, "the engine delivered").await,
        vec![of(update, "delivered", 5)]
    );

    set_status(&app, updates[0], DeliveryStatus::Dismissed).await;
    set_status(&app, updates[1], DeliveryStatus::Superseded).await;
    set_status(&app, updates[2], DeliveryStatus::Pending).await;
    set_status(&app, updates[3], DeliveryStatus::Delivered).await; // no change
    assert_eq!(
        assert_tallies_agree(&app, "changes of status").await,
        vec![
            of(update, "delivered", 2),
            of(update, "dismissed", 1),
            of(update, "superseded", 1),
        ]
    );

    delivery::Entity::delete_by_id(updates[0])
        .exec(&app.db)
        .await
        .unwrap();
    assert_tallies_agree(&app, "a delete").await;
    entity::tenant::Entity::delete_by_id(globex.id.0)
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(
        assert_tallies_agree(&app, "a tenant's deletion cascading").await,
        vec![of(update, "delivered", 1), of(update, "superseded", 1)]
    );

    let rows = tally_rows(&app).await;
    assert_eq!(
        delivery_tallies::fold(&app.db, u64::try_from(rows).unwrap())
            .await
            .unwrap(),
        0,
        "no more rows than the threshold: left alone"
    );
    assert_eq!(
        delivery_tallies::fold(&app.db, 0).await.unwrap(),
        u64::try_from(rows).unwrap()
    );
    assert_eq!(tally_rows(&app).await, 2, "one row per (kind, status)");
    assert_eq!(
        assert_tallies_agree(&app, "the fold").await,
        vec![of(update, "delivered", 1), of(update, "superseded", 1)]
    );
    set_status(&app, updates[3], DeliveryStatus::Dismissed).await;
    assert_eq!(
        assert_tallies_agree(&app, "a change after the fold").await,
        vec![of(update, "dismissed", 1), of(update, "superseded", 1)]
    );
}

#[tokio::test]
async fn folds_running_at_once_count_each_change_once() {
    let app = TestApp::spawn().await;
    let (tenant, _ashby) = app.tenant_on_accepting_ashby("Acme").await;
    for n in 0..6 {
        app.start_in_progress(&tenant, &format!("app-{n}")).await;
    }
    app.deliver_everything().await;
    let before = assert_tallies_agree(&app, "delivering").await;
    assert_eq!(before, vec![of("assessment.update", "delivered", 6)]);

    for _ in 0..3 {
        let (first, second) = tokio::join!(
            delivery_tallies::fold(&app.db, 0),
            delivery_tallies::fold(&app.db, 0)
        );
        first.unwrap();
        second.unwrap();
        assert_eq!(
            assert_tallies_agree(&app, "two folds at once").await,
            before
        );
    }
    assert_eq!(tally_rows(&app).await, 1);
}

#[tokio::test]
async fn housekeeping_folds_the_tallies_once_enough_changes_piled_up() {
    let app = TestApp::spawn().await;
    let (tenant, _ashby) = app.tenant_on_accepting_ashby("Acme").await;
    let id = app.start_in_progress(&tenant, "app-1").await;
    app.deliver_everything().await;
    assert_eq!(
        app.housekeeping.fold_tallies().await.unwrap(),
        0,
        "one change is not worth a write"
    );

    // Out of and back into `delivered`, until more than a thousand changes piled up.
    let update = app.deliveries_of(&id).await[0].id;
    for _ in 0..500 {
        set_status(&app, update, DeliveryStatus::Pending).await;
        set_status(&app, update, DeliveryStatus::Delivered).await;
    }
    assert_eq!(tally_rows(&app).await, 1_001);

    assert_eq!(app.housekeeping.fold_tallies().await.unwrap(), 1_001);
    assert_eq!(tally_rows(&app).await, 1);
    assert_eq!(
        assert_tallies_agree(&app, "housekeeping's fold").await,
        vec![of("assessment.update", "delivered", 1)]
    );
}

#[tokio::test]
async fn a_pile_of_changes_is_folded_in_batches_to_one_row() {
    let app = TestApp::spawn().await;
    let (tenant, _ashby) = app.tenant_on_accepting_ashby("Acme").await;
    app.start_in_progress(&tenant, "app-1").await;
    app.deliver_everything().await;
    // 25,000 more changes that cancel out: more than two batches' worth.
    app.db
        .execute_unprepared(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 25000) \
             INSERT INTO delivery_tallies (kind, status, n) \
             SELECT 'assessment.update', 'delivered', CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END \
             FROM s",
        )
        .await
        .unwrap();
    assert_eq!(tally_rows(&app).await, 25_001);

    let folded = delivery_tallies::fold(&app.db, 0).await.unwrap();

    assert!(folded >= 25_001, "{folded}");
    assert_eq!(tally_rows(&app).await, 1, "every batch's sum folded too");
    assert_eq!(
        assert_tallies_agree(&app, "the batches").await,
        vec![of("assessment.update", "delivered", 1)]
    );
}
