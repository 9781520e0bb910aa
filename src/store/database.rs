//! Connecting to SQLite or PostgreSQL, migrating, and starting write transactions.

use std::path::PathBuf;
use std::time::Duration;

use migration::{Migrator, MigratorTrait as _};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait as _,
};

use crate::settings::DatabaseSettings;

/// Where `database.url` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    Postgres,
    SqliteFile(PathBuf),
    SqliteMemory,
}

impl DatabaseLocation {
    /// Classifies a database URL; anything that is not SQLite is taken to be PostgreSQL.
    pub fn from_url(url: &str) -> Self {
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Self::Postgres;
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory") {
            Self::SqliteMemory
        } else {
            Self::SqliteFile(PathBuf::from(path))
        }
    }
}

/// Opens the connection pool. For a SQLite file, creates its directory first.
///
/// # Errors
/// The database is unreachable, the URL is malformed, or the directory cannot be made.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    if let DatabaseLocation::SqliteFile(path) = DatabaseLocation::from_url(&settings.url)
        && let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|error| {
            DbErr::Custom(format!(
                "cannot create directory {}: {error}",
                dir.display()
            ))
        })?;
    }
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(10))
        // Statements carry key hashes and sealed keys as parameters: keep them out of logs.
        .sqlx_logging(false)
        // FULL: a commit survives power loss before we answer 200 (NORMAL in WAL mode can
        // drop the last commits, e.g. an assessment id already handed to Ashby).
        .map_sqlx_sqlite_opts(|options| {
            options
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    Database::connect(options).await
}

/// Key of the PostgreSQL advisory lock that serialises migrations ("ashbypar").
const MIGRATION_LOCK_KEY: i64 = 0x6173_6862_7970_6172;

/// Applies every pending migration.
///
/// Processes starting together (replicas, or `serve` and a CLI command) would race to
/// create the same tables: the whole run is one transaction that first takes a lock —
/// an advisory lock on PostgreSQL, the write lock on SQLite — so one process migrates
/// and the others, waiting on the lock, then find nothing left to do. Both databases
/// have transactional DDL, so a failed run applies nothing.
///
/// # Errors
/// A migration fails.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    let txn = begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
        ))
        .await?;
    }
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// Answers whether the database responds.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of one failing
/// with SQLITE_BUSY when it upgrades a read lock.
///
/// # Errors
/// The database is unreachable or stays locked past the busy timeout.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_classified() {
        let file = |p: &str| DatabaseLocation::SqliteFile(PathBuf::from(p));
        let cases = [
            (
                "sqlite://data/ashby-partner.db?mode=rwc",
                file("data/ashby-partner.db"),
            ),
            ("sqlite:data.db", file("data.db")),
            ("sqlite:///var/lib/ap.db", file("/var/lib/ap.db")),
            ("sqlite::memory:", DatabaseLocation::SqliteMemory),
            ("sqlite://db?mode=memory", DatabaseLocation::SqliteMemory),
            ("postgres://u@h/db", DatabaseLocation::Postgres),
            ("postgresql://u@h/db", DatabaseLocation::Postgres),
        ];
        for (url, expected) in cases {
            assert_eq!(DatabaseLocation::from_url(url), expected, "{url}");
        }
    }
}
