//! On PostgreSQL each actix worker has a database pool of its own, opened on the worker's
//! runtime, and the process still opens at most `database.max_connections` sessions.

use ashby_partner::startup::Application;
use ashby_partner::store::{self, PoolShares};
use futures_util::future::join_all;

use crate::helpers::{TestDatabase, test_settings};

#[tokio::test]
async fn the_workers_pools_and_the_background_one_stay_within_max_connections() {
    let database = TestDatabase::create().await;
    if !database.is_postgres() {
        return;
    }
    let mut settings = test_settings(&database.url);
    let workers = PoolShares::for_this_machine(&settings.database).workers;
    // Two connections for each worker and two for the background work.
    settings.database.max_connections = 2 * (u32::try_from(workers).unwrap() + 1);
    let shares = PoolShares::for_this_machine(&settings.database);
    assert_eq!(shares.per_worker, Some(2));
    assert_eq!(shares.background, 2);

    let application = Application::build(settings.clone()).await.unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    tokio::spawn(application.run_without_workers());

    // Each /readyz commits a write through its worker's pool; many at once make every
    // pool open all it may.
    let client = reqwest::Client::new();
    let statuses = join_all((0..64).map(|_| {
        let request = client.get(format!("{address}/readyz")).send();
        async move { request.await.unwrap().status().as_u16() }
    }))
    .await;
    assert!(statuses.iter().all(|&status| status == 200), "{statuses:?}");

    let sessions = database.sessions_by_application().await;
    let http = sessions
        .get(store::HTTP_WORKER_APPLICATION_NAME)
        .copied()
        .unwrap_or(0);
    let background = sessions.get(store::APPLICATION_NAME).copied().unwrap_or(0);
    assert!(
        http >= 1,
        "no worker opened a pool of its own: {sessions:?}"
    );
    assert!(
        http <= 2 * i64::try_from(workers).unwrap(),
        "the workers opened more than their shares: {sessions:?}"
    );
    assert!(background <= 2, "{sessions:?}");
    assert_eq!(
        sessions.values().sum::<i64>(),
        http + background,
        "sessions nobody named: {sessions:?}"
    );
    handle.stop(true).await;
}

#[test]
fn max_connections_is_shared_out_on_postgresql_only() {
    let mut settings = test_settings("postgres://localhost/db").database;
    settings.max_connections = 10;
    let shares = PoolShares::split(&settings, 2);
    assert_eq!(
        (shares.workers, shares.per_worker, shares.background),
        (2, Some(3), 4)
    );
    // Too few to give each worker and the background work one: one pool for all.
    settings.max_connections = 2;
    assert_eq!(PoolShares::split(&settings, 2).per_worker, None);
    assert_eq!(PoolShares::split(&settings, 2).background, 2);
    settings.max_connections = 3;
    assert_eq!(PoolShares::split(&settings, 2).per_worker, Some(1));
    assert_eq!(PoolShares::split(&settings, 2).background, 1);
    // SQLite: one pool, whichever the number of workers.
    let mut sqlite = test_settings("sqlite://data/x.db?mode=rwc").database;
    sqlite.max_connections = 10;
    let shares = PoolShares::split(&sqlite, 2);
    assert_eq!((shares.per_worker, shares.background), (None, 10));
}

/// Every pooled SQLite connection is durable (WAL, `synchronous = FULL`) and keeps a small
/// page cache of its own (memory grows with each connection's cache at a million rows).
#[tokio::test]
async fn every_sqlite_connection_is_durable_and_keeps_a_small_page_cache() {
    use sea_orm::{ConnectionTrait as _, DatabaseTransaction, TransactionTrait as _};
    async fn pragma(txn: &DatabaseTransaction, name: &str) -> String {
        let sql = format!("SELECT CAST({name} AS TEXT) FROM pragma_{name}()");
        let statement = sea_orm::Statement::from_string(txn.get_database_backend(), sql);
        let row = txn.query_one_raw(statement).await.unwrap().unwrap();
        row.try_get_by_index::<String>(0).unwrap()
    }
    let database = TestDatabase::create().await;
    if database.is_postgres() {
        return;
    }
    let settings = test_settings(&database.url);
    let db = store::connect(&settings.database).await.unwrap();
    // Three transactions held at once: three different connections of the pool.
    let held = join_all((0..3).map(|_| db.begin())).await;
    for txn in held {
        let txn = txn.unwrap();
        assert_eq!(pragma(&txn, "cache_size").await, store::SQLITE_CACHE_SIZE);
        assert_eq!(pragma(&txn, "synchronous").await, "2", "FULL");
        assert_eq!(pragma(&txn, "journal_mode").await, "wal");
    }
}
