//! The database's ceiling: a bare transaction of two inserts, the shape of a new start (an
//! assessment row and its outbox row), on the server's own pool with its durability
//! settings (SQLite WAL with `synchronous=FULL`; PostgreSQL as configured), into scratch
//! tables the bench creates and drops. Rows about the size of a start's two rows, each
//! table with a primary key and one secondary index.

use std::sync::Arc;

use ashby_partner::store;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::load::{self, Measured};

const TABLES: [&str; 2] = ["bench_bare_a", "bench_bare_b"];

pub async fn create_tables(db: &DatabaseConnection) {
    drop_tables(db).await;
    for table in TABLES {
        db.execute_unprepared(&format!(
            "CREATE TABLE {table} (id VARCHAR(36) PRIMARY KEY, k VARCHAR(64) NOT NULL, \
             body TEXT NOT NULL, at_ms BIGINT NOT NULL)"
        ))
        .await
        .expect("create a scratch table");
        db.execute_unprepared(&format!("CREATE INDEX ix_{table}_k ON {table} (k)"))
            .await
            .expect("index a scratch table");
    }
}

pub async fn drop_tables(db: &DatabaseConnection) {
    for table in TABLES {
        db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
            .await
            .expect("drop a scratch table");
    }
}

/// `total` transactions by `concurrency` clients. With `single_writer`, one transaction
/// at a time, queued in-process: SQLite's ceiling (one writer; several connections would
/// measure their fight over the file lock instead).
pub async fn measure(
    db: &DatabaseConnection,
    total: usize,
    concurrency: usize,
    single_writer: bool,
) -> Measured {
    let db = db.clone();
    let writer = Arc::new(tokio::sync::Mutex::new(()));
    load::run(total, concurrency, move |_| {
        let (db, writer) = (db.clone(), Arc::clone(&writer));
        async move {
            let _turn = if single_writer {
                Some(writer.lock().await)
            } else {
                None
            };
            two_inserts(&db).await.is_ok()
        }
    })
    .await
}

async fn two_inserts(db: &DatabaseConnection) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let txn = store::begin_write(db).await?;
    let now = store::now_ms();
    // About a start request's size, then an outbox payload's.
    for (table, body_len) in [(TABLES[0], 700), (TABLES[1], 300)] {
        let sql = match backend {
            DbBackend::Postgres => {
                format!("INSERT INTO {table} (id, k, body, at_ms) VALUES ($1, $2, $3, $4)")
            }
            _ => format!("INSERT INTO {table} (id, k, body, at_ms) VALUES (?, ?, ?, ?)"),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let values: [sea_orm::Value; 4] = [
            id.clone().into(),
            format!("key-{id}").into(),
            "x".repeat(body_len).into(),
            now.into(),
        ];
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    txn.commit().await
}
