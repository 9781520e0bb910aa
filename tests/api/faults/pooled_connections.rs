//! A pooled connection is reused only outside any transaction. A session's temporary table
//! tells whether the next statement ran on the same connection.

use ashby_partner::store;
use sea_orm::ConnectionTrait as _;

use crate::helpers::{TestDatabase, test_settings};

#[tokio::test]
async fn a_connection_is_reused_when_clean_and_closed_when_left_inside_a_transaction() {
    let database = TestDatabase::create().await;
    let mut settings = test_settings(&database.url);
    settings.database.max_connections = 1;
    let db = store::connect(&settings.database).await.unwrap();
    db.execute_unprepared("CREATE TEMPORARY TABLE marker (x INTEGER)")
        .await
        .unwrap();
    // Clean: the same connection comes back (its temporary table is there).
    db.execute_unprepared("SELECT count(*) FROM marker")
        .await
        .expect("a clean connection was not reused");

    // A transaction begun behind the pool's back and never ended, as a failed
    // rollback leaves one.
    db.execute_unprepared("BEGIN").await.unwrap();
    let next = db.execute_unprepared("SELECT count(*) FROM marker").await;
    assert!(
        next.is_err(),
        "a connection left inside a transaction was reused"
    );
    db.execute_unprepared("SELECT 1")
        .await
        .expect("a fresh connection replaces the closed one");
}
