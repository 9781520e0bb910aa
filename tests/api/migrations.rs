//! Migrations: processes starting together on one database all succeed.

use ashby_partner::store;

use crate::helpers::{TestDatabase, test_settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_on_a_fresh_database_all_succeed() {
    let database = TestDatabase::create().await;
    let settings = test_settings(&database.url);

    let runs = (0..4).map(|_| {
        let settings = settings.database.clone();
        tokio::spawn(async move {
            let db = store::connect(&settings).await.unwrap();
            let result = store::migrate(&db).await;
            db.close().await.unwrap();
            result
        })
    });
    let results = futures_util::future::join_all(runs).await;

    for result in results {
        result.unwrap().unwrap();
    }
    let db = store::connect(&settings.database).await.unwrap();
    store::migrate(&db).await.unwrap();
    assert!(store::ping(&db).await);
}

/// Rows written before tenant management: a tenant with a stored Ashby key reads as
/// `unverified`, one without as `unset`, and existing assessments can be found by their
/// candidate's email.
#[tokio::test]
async fn tenant_management_columns_are_filled_for_rows_written_before_them() {
    use sea_orm::EntityTrait as _;

    let (_database, db) = migrated_to(4).await;
    let (with_key, without_key, assessment) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    insert_tenant_row(&db, with_key, Some("sealed")).await;
    insert_tenant_row(&db, without_key, None).await;
    let start = serde_json::json!({"candidate": {"email": "Old.Timer@Example.com"}});
    insert_assessment_row(&db, assessment, with_key, start, None).await;

    store::migrate(&db).await.unwrap();

    let status = |id| {
        let db = &db;
        async move {
            entity::tenant::Entity::find_by_id(id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .ashby_key_status
        }
    };
    assert_eq!(status(with_key).await, "unverified");
    assert_eq!(status(without_key).await, "unset");
    let row = assessment_row(&db, assessment).await;
    assert_eq!(
        row.candidate_email.as_deref(),
        Some("old.timer@example.com")
    );
}

/// A candidate erased before erasing also cleared the email lookup column kept their
/// email there; the migration clears it — and only on erased assessments.
#[tokio::test]
async fn emails_of_candidates_erased_before_the_fix_are_cleared() {
    let (_database, db) = migrated_to(14).await;
    let tenant = uuid::Uuid::new_v4();
    insert_tenant_row(&db, tenant, None).await;
    let (erased, kept) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let erased_start = serde_json::json!({"candidate": {"ashby_id": "c-1", "erased": true}});
    insert_assessment_row(&db, erased, tenant, erased_start, Some("ada@example.com")).await;
    let kept_start = serde_json::json!({"candidate": {"email": "Grace@Example.com"}});
    insert_assessment_row(&db, kept, tenant, kept_start, Some("grace@example.com")).await;

    store::migrate(&db).await.unwrap();

    assert_eq!(assessment_row(&db, erased).await.candidate_email, None);
    assert_eq!(
        assessment_row(&db, kept).await.candidate_email.as_deref(),
        Some("grace@example.com")
    );
}

async fn assessment_row(
    db: &sea_orm::DatabaseConnection,
    id: uuid::Uuid,
) -> entity::assessment::Model {
    use sea_orm::EntityTrait as _;
    entity::assessment::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

/// A fresh database with the first `migrations` migrations applied (kept while the
/// returned `TestDatabase` lives).
async fn migrated_to(migrations: u32) -> (TestDatabase, sea_orm::DatabaseConnection) {
    use migration::MigratorTrait as _;
    let database = TestDatabase::create().await;
    let settings = test_settings(&database.url);
    let db = store::connect(&settings.database).await.unwrap();
    migration::Migrator::up(&db, Some(migrations))
        .await
        .unwrap();
    (database, db)
}

/// A tenant row as any schema since the first has it.
async fn insert_tenant_row(db: &sea_orm::DatabaseConnection, id: uuid::Uuid, key: Option<&str>) {
    use sea_orm::ConnectionTrait as _;
    use sea_orm::sea_query::{Query, SimpleExpr};

    let insert = Query::insert()
        .into_table("tenants")
        .columns(["id", "name", "ashby_api_key_sealed", "created_at_ms"])
        .values_panic([
            SimpleExpr::from(id),
            "Old".into(),
            key.map(str::to_owned).into(),
            1_i64.into(),
        ])
        .to_owned();
    db.execute_raw(db.get_database_backend().build(&insert))
        .await
        .unwrap();
}

/// An assessment row as the first schema has it, plus the email lookup column when given
/// (the schema has it from migration 6 on).
async fn insert_assessment_row(
    db: &sea_orm::DatabaseConnection,
    id: uuid::Uuid,
    tenant: uuid::Uuid,
    start_request: serde_json::Value,
    candidate_email: Option<&str>,
) {
    use sea_orm::sea_query::SimpleExpr;

    let mut columns = vec![
        "id",
        "tenant_id",
        "assessment_type_id",
        "application_ashby_id",
        "candidate_ashby_id",
        "status",
        "start_request",
        "history",
        "last_update_ms",
        "created_at_ms",
        "updated_at_ms",
    ];
    let mut values: Vec<SimpleExpr> = vec![
        id.into(),
        tenant.into(),
        uuid::Uuid::new_v4().into(),
        format!("app-{id}").into(),
        "cand".into(),
        "started".into(),
        start_request.into(),
        serde_json::json!([]).into(),
        1_i64.into(),
        1_i64.into(),
        1_i64.into(),
    ];
    if let Some(email) = candidate_email {
        columns.push("candidate_email");
        values.push(email.into());
    }
    insert_row(db, "assessments", columns, values).await;
}

/// One row into `table`, as given.
async fn insert_row(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    columns: Vec<&'static str>,
    values: Vec<sea_orm::sea_query::SimpleExpr>,
) {
    use sea_orm::ConnectionTrait as _;
    let insert = sea_orm::sea_query::Query::insert()
        .into_table(table.to_owned())
        .columns(columns)
        .values_panic(values)
        .to_owned();
    db.execute_raw(db.get_database_backend().build(&insert))
        .await
        .unwrap();
}

/// The delivery index migrations roll back and apply again, and in either state a
/// repeated idempotency key is still refused (the unique index, partial or not, holds).
#[tokio::test]
async fn the_delivery_index_migrations_roll_back_and_apply_again() {
    use migration::MigratorTrait as _;
    use sea_orm::ConnectionTrait as _;

    // Up to the delivery index migrations (13 and 14), so that two steps down undo them.
    let (_database, db) = migrated_to(14).await;
    let tenant = uuid::Uuid::new_v4();
    db.execute_unprepared(&format!(
        "INSERT INTO tenants (id, name, created_at_ms) VALUES ('{tenant}', 'Acme', 1)"
    ))
    .await
    .unwrap();
    let insert_keyed = |n: u32| {
        format!(
            "INSERT INTO deliveries (id, kind, tenant_id, assessment_id, ordering_key, position, \
             status, attempts, next_attempt_at_ms, payload, created_at_ms, updated_at_ms, \
             idempotency_key) VALUES ('{}', 'assessment.addCompletedToCandidate', '{tenant}', \
             '{}', 'ashby:{n}', 1, 'pending', 0, 1, '{{}}', 1, 1, 'key-1')",
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        )
    };
    db.execute_unprepared(&insert_keyed(1)).await.unwrap();

    let has_index = async |name: &str| {
        let sql = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                format!("SELECT 1 AS one FROM pg_indexes WHERE indexname = '{name}'")
            }
            _ => format!("SELECT 1 AS one FROM sqlite_master WHERE name = '{name}'"),
        };
        let found = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .unwrap();
        found.is_some()
    };
    assert!(!has_index("ix_deliveries_ordering").await);

    migration::Migrator::down(&db, Some(2)).await.unwrap();
    assert!(has_index("ix_deliveries_ordering").await, "rolled back");
    assert!(
        db.execute_unprepared(&insert_keyed(2)).await.is_err(),
        "rolled back: the key is still unique"
    );
    migration::Migrator::up(&db, None).await.unwrap();
    assert!(!has_index("ix_deliveries_ordering").await, "applied again");
    assert!(
        db.execute_unprepared(&insert_keyed(3)).await.is_err(),
        "applied again: the key is still unique"
    );
    assert!(
        migration::Migrator::get_pending_migrations(&db)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Migration 16 adds the deliveries' `trace_parent` (empty for those queued before it),
/// and rolls back without losing a delivery.
#[tokio::test]
async fn the_trace_parent_column_is_added_empty_and_rolls_back_keeping_the_deliveries() {
    use migration::MigratorTrait as _;
    use sea_orm::ConnectionTrait as _;

    let (_database, db) = migrated_to(15).await;
    let tenant = uuid::Uuid::new_v4();
    let delivery = uuid::Uuid::new_v4();
    db.execute_unprepared(&format!(
        "INSERT INTO tenants (id, name, created_at_ms) VALUES ('{tenant}', 'Acme', 1)"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO deliveries (id, kind, tenant_id, assessment_id, ordering_key, position, \
         status, attempts, next_attempt_at_ms, payload, created_at_ms, updated_at_ms) \
         VALUES ('{delivery}', 'assessment.update', '{tenant}', '{}', 'ashby:1', 1, 'pending', \
         0, 1, '{{}}', 1, 1)",
        uuid::Uuid::new_v4(),
    ))
    .await
    .unwrap();
    let backend = db.get_database_backend();
    let has_column = async || {
        let sql = match backend {
            sea_orm::DbBackend::Postgres => "SELECT 1 AS one FROM information_schema.columns \
                 WHERE table_name = 'deliveries' AND column_name = 'trace_parent'"
                .to_owned(),
            _ => "SELECT 1 AS one FROM pragma_table_info('deliveries') WHERE name = 'trace_parent'"
                .to_owned(),
        };
        db.query_one_raw(sea_orm::Statement::from_string(backend, sql))
            .await
            .unwrap()
            .is_some()
    };
    let deliveries = async || {
        db.query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM deliveries".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
    };
    assert!(!has_column().await);

    migration::Migrator::up(&db, Some(1)).await.unwrap();
    assert!(has_column().await, "applied");
    let trace_parent = db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            format!("SELECT trace_parent FROM deliveries WHERE id = '{delivery}'"),
        ))
        .await
        .unwrap()
        .expect("the delivery queued before")
        .try_get::<Option<String>>("", "trace_parent")
        .unwrap();
    assert_eq!(trace_parent, None);

    migration::Migrator::down(&db, Some(1)).await.unwrap();
    assert!(!has_column().await, "rolled back");
    assert_eq!(deliveries().await, 1, "rolled back: the delivery is kept");
    migration::Migrator::up(&db, Some(1)).await.unwrap();
    assert!(has_column().await, "applied again");
    assert_eq!(deliveries().await, 1);
}

/// Migration 17 starts the tallies from a count of the finished deliveries already there
/// (pending and dead ones are not tallied), and rolls back without touching a delivery.
#[tokio::test]
async fn the_first_tallies_count_the_finished_deliveries_already_there() {
    use migration::MigratorTrait as _;
    use sea_orm::ConnectionTrait as _;

    let (_database, db) = migrated_to(16).await;
    let tenant = uuid::Uuid::new_v4();
    insert_tenant_row(&db, tenant, None).await;
    for (n, (kind, status)) in [
        ("assessment.update", "delivered"),
        ("assessment.update", "delivered"),
        ("assessment.update", "dismissed"),
        ("assessment.update", "pending"),
        ("assessment.update", "dead"),
        ("vendor.webhook", "delivered"),
    ]
    .into_iter()
    .enumerate()
    {
        use sea_orm::sea_query::SimpleExpr;
        let columns = [
            "id",
            "kind",
            "tenant_id",
            "assessment_id",
            "ordering_key",
            "position",
            "status",
            "attempts",
            "next_attempt_at_ms",
            "payload",
            "created_at_ms",
            "updated_at_ms",
        ];
        let values: Vec<SimpleExpr> = vec![
            uuid::Uuid::new_v4().into(),
            kind.into(),
            tenant.into(),
            uuid::Uuid::new_v4().into(),
            format!("ashby:{n}").into(),
            1_i32.into(),
            status.into(),
            0_i32.into(),
            1_i64.into(),
            serde_json::json!({}).into(),
            1_i64.into(),
            1_i64.into(),
        ];
        insert_row(&db, "deliveries", columns.to_vec(), values).await;
    }

    migration::Migrator::up(&db, Some(1)).await.unwrap();
    let mut tallied = store::delivery_tallies::finished_counts(&db).await.unwrap();
    tallied.sort();
    let of = |kind: &str, status: &str, n| (kind.to_owned(), status.to_owned(), n);
    let expected = vec![
        of("assessment.update", "delivered", 2),
        of("assessment.update", "dismissed", 1),
        of("vendor.webhook", "delivered", 1),
    ];
    assert_eq!(tallied, expected);

    migration::Migrator::down(&db, Some(1)).await.unwrap();
    let tables = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "SELECT 1 FROM information_schema.tables WHERE table_name = 'delivery_tallies'"
                }
                _ => "SELECT 1 FROM sqlite_master WHERE name LIKE 'delivery_tallies%'",
            },
        ))
        .await
        .unwrap();
    assert!(tables.is_empty(), "rolled back: no table, no trigger");
    migration::Migrator::up(&db, None).await.unwrap();
    let mut again = store::delivery_tallies::finished_counts(&db).await.unwrap();
    again.sort();
    assert_eq!(again, expected, "applied again");
}
