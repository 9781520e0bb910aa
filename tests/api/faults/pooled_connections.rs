//! A pooled SQLite connection is reused only outside any transaction. A session's temporary
//! table tells whether the next statement ran on the same connection.
//!
//! SQLite can end a transaction by itself (a statement failing with SQLITE_FULL rolls it
//! back) and leave sqlx's bookkeeping wrong, so every released connection is asked. On
//! PostgreSQL a transaction begins and ends only when the client says so, and sqlx's
//! bookkeeping is checked without a round trip (`store/database.rs`): a BEGIN sent behind
//! sqlx's back, as this test does, is not looked for there, and nothing of ours sends one.

use ashby_partner::store;
use sea_orm::ConnectionTrait as _;

use crate::helpers::{TestDatabase, test_settings};

#[tokio::test]
async fn a_connection_is_reused_when_clean_and_closed_when_left_inside_a_transaction() {
    let database = TestDatabase::create().await;
    if database.is_postgres() {
        return;
    }
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
