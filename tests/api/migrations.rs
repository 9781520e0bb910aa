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
