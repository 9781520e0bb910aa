//! Connecting to SQLite or PostgreSQL, migrating, and starting write transactions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use migration::{Migrator, MigratorTrait as _};
use sea_orm::sqlx::sqlite::SqliteTransactionManager;
use sea_orm::sqlx::{self, PgConnection, SqliteConnection, postgres::PgTransactionManager};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, QueryResult, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait as _,
};
use sqlx_core::transaction::TransactionManager as _;
use tokio::sync::OwnedMutexGuard;

use super::private_files;

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

/// Opens the connection pool. For a SQLite file, creates its directory (0700) and the
/// file (0600) first: SQLite gives its -wal and -shm files the database file's mode.
///
/// Every connection handed back to the pool is checked to be outside any transaction
/// (see [`released_clean_sqlite`]); one that is not is closed, never reused.
///
/// # Errors
/// The database is unreachable, the URL is malformed, or the directory or file cannot be
/// made.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    if let DatabaseLocation::SqliteFile(path) = DatabaseLocation::from_url(&settings.url) {
        private_files::create(&path)?;
    }
    let options = connect_options(settings, settings.max_connections, APPLICATION_NAME);
    // Processes starting together on a fresh SQLite file race to switch it to WAL, which
    // takes an exclusive lock. SQLite answers the losers "database is locked" at once
    // instead of waiting (their lock upgrade could deadlock), so the busy timeout does not
    // cover it; once the file is in WAL mode the switch is a no-op. Try again within the
    // same five seconds the busy timeout allows.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Database::connect(options.clone()).await {
            Err(error) if is_sqlite_busy(&error) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            connected => return connected,
        }
    }
}

/// Each SQLite connection's page cache, as `PRAGMA cache_size` takes it (negative: KiB).
pub const SQLITE_CACHE_SIZE: &str = "-512";

/// How PostgreSQL's `pg_stat_activity` names the sessions of the background pool (and
/// of the commands), unless `database.url` sets `application_name` itself.
pub const APPLICATION_NAME: &str = "ashby-partner";
/// … and those of the actix workers' own pools.
pub const HTTP_WORKER_APPLICATION_NAME: &str = "ashby-partner http";

/// How every pool of the process connects: `max_connections` at most, durable SQLite,
/// statements kept out of the log, a connection returned inside a transaction closed, and
/// on PostgreSQL the sessions named (`application_name`).
fn connect_options(
    settings: &DatabaseSettings,
    max_connections: u32,
    application_name: &'static str,
) -> ConnectOptions {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(max_connections)
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
                // 512 KiB of page cache per connection, not SQLite's default 2 MiB: every
                // pooled connection fills its own as it reads, and the operating system
                // caches the file anyway. At a million rows the default had the bench's
                // process (20 connections) at 101–103 MiB; with this, 82 MiB.
                .pragma("cache_size", SQLITE_CACHE_SIZE)
        })
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_release(|conn, _| Box::pin(released_clean_sqlite(conn)))
        })
        .map_sqlx_postgres_pool_opts(|pool| {
            pool.after_release(|conn, _| Box::pin(released_clean_postgres(conn)))
        })
        .map_sqlx_postgres_opts(move |options| {
            if options.get_application_name().is_some() {
                options
            } else {
                options.application_name(application_name)
            }
        });
    options
}

/// How `database.max_connections` is spread over the process's pools.
///
/// On PostgreSQL each actix worker has a pool of its own (see [`connect_here_lazily`]) and
/// the background work (delivery, housekeeping, `/metrics`) the rest, so the process
/// still opens at most `max_connections`. SQLite keeps one pool: each of its connections
/// runs on a thread of its own, whichever runtime asks. So does a setting too small to
/// give every worker one connection and the background work one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolShares {
    /// The actix workers the server runs (one per core).
    pub workers: usize,
    /// Each worker's own pool, when the workers have their own.
    pub per_worker: Option<u32>,
    /// The pool the process opens at start-up.
    pub background: u32,
}

impl PoolShares {
    /// The shares on this machine: as many workers as cores, up to actix's most (512).
    pub fn for_this_machine(settings: &DatabaseSettings) -> Self {
        const MOST_WORKERS: usize = 512;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::split(settings, cores.min(MOST_WORKERS))
    }

    /// The shares for `workers` actix workers.
    pub fn split(settings: &DatabaseSettings, workers: usize) -> Self {
        let shared = Self {
            workers,
            per_worker: None,
            background: settings.max_connections,
        };
        if DatabaseLocation::from_url(&settings.url) != DatabaseLocation::Postgres {
            return shared;
        }
        let Some(pools) = u32::try_from(workers).ok().and_then(|w| w.checked_add(1)) else {
            return shared;
        };
        match settings.max_connections / pools {
            0 => shared,
            per_worker => Self {
                workers,
                per_worker: Some(per_worker),
                background: settings.max_connections - per_worker * (pools - 1),
            },
        }
    }
}

/// A PostgreSQL pool for the tasks of the calling thread's tokio runtime, opened lazily
/// so that each of its connections is opened there too.
///
/// Why: a connection's socket belongs to the runtime that opened it. Used from another
/// runtime's thread, each round trip's answer wakes the opening runtime's thread, which
/// then wakes the caller's: two thread wake-ups where one would do. Each actix worker
/// runs its own runtime, so each gets its own pool (see `startup`).
///
/// # Errors
/// The URL is malformed, or the pool could not be made without waiting (a lazy pool
/// never waits: it connects on first use).
pub fn connect_here_lazily(
    settings: &DatabaseSettings,
    max_connections: u32,
) -> Result<DatabaseConnection, DbErr> {
    use futures_util::FutureExt as _;
    let mut options = connect_options(settings, max_connections, HTTP_WORKER_APPLICATION_NAME);
    options.connect_lazy(true);
    Database::connect(options)
        .now_or_never()
        .unwrap_or_else(|| {
            Err(DbErr::Custom(
                "a lazily connected pool asked to wait".into(),
            ))
        })
}

/// SQLITE_BUSY, in any of its extended forms ("database is locked").
fn is_sqlite_busy(error: &DbErr) -> bool {
    const SQLITE_BUSY: i64 = 5;
    let DbErr::Conn(sea_orm::RuntimeErr::SqlxError(error)) = error else {
        return false;
    };
    error
        .as_database_error()
        .filter(|database| {
            database
                .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                .is_some()
        })
        .and_then(|database| database.code())
        .and_then(|code| code.parse::<i64>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

/// Whether a SQLite connection coming back to the pool may be reused: outside any
/// transaction, both in sqlx's bookkeeping and in SQLite itself.
///
/// Why: when a statement fails with SQLITE_FULL, SQLite may roll the whole transaction
/// back by itself; the ROLLBACK sqlx then sends fails ("no transaction is active"), so
/// sqlx still counts one open transaction. The next `BEGIN IMMEDIATE` on that connection
/// becomes a SAVEPOINT, a failed statement under it becomes `ROLLBACK TO`, which leaves a
/// real transaction open: from then on every "commit" only releases a savepoint — the
/// caller answers 200 for a write that never commits — and the connection holds the write
/// lock, so every other connection fails with "database is locked", even after the disk
/// has space again. Closing such a connection rolls back whatever it holds.
async fn released_clean_sqlite(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    if SqliteTransactionManager::get_transaction_depth(conn) != 0 {
        // Also what a transaction dropped on an early return leaves (its rollback is only
        // queued): routine, so not a warning; closing it is the rollback.
        tracing::debug!("closing a database connection left inside a transaction");
        return Ok(false);
    }
    // BEGIN fails inside a transaction; in autocommit mode BEGIN (deferred) and ROLLBACK
    // touch neither the file nor any lock.
    match sqlx::raw_sql(sqlx::AssertSqlSafe("BEGIN; ROLLBACK"))
        .execute(&mut *conn)
        .await
    {
        Ok(_) => Ok(true),
        Err(error) => {
            tracing::warn!(%error, "closing a database connection that is not in autocommit mode");
            Ok(false)
        }
    }
}

/// The same check on PostgreSQL, from sqlx's bookkeeping alone: no round trip on every
/// release. PostgreSQL never ends or opens a transaction behind the client's back — an
/// error inside one leaves it open (failed) until the ROLLBACK sqlx sends, and a COMMIT
/// that fails leaves sqlx's depth above zero, so such a connection is closed here. What
/// SQLite can do on a full disk (roll back by itself, see [`released_clean_sqlite`]) has
/// no PostgreSQL counterpart.
#[allow(clippy::unused_async)] // the pool's hook takes a future
async fn released_clean_postgres(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    if PgTransactionManager::get_transaction_depth(conn) != 0 {
        // Also what a transaction dropped on an early return leaves (its rollback is only
        // queued): routine, so not a warning; closing it is the rollback.
        tracing::debug!("closing a database connection left inside a transaction");
        return Ok(false);
    }
    Ok(true)
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
    Migrator::up(txn.transaction(), None).await?;
    txn.commit().await
}

/// Below this much free space on the SQLite file's filesystem, writes are about to fail:
/// a write transaction appends whole pages to the WAL, and a checkpoint may grow the file.
const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// Proves the database takes writes now, or says why not. One committed write to the
/// one-row `write_probe` table: a full disk, a read-only or failed-over server, a lost
/// connection or a write lock held past the busy timeout all fail it. On a SQLite file,
/// first the filesystem's free space: a small write can still fit into space the WAL
/// already holds while larger ones fail, so the probe alone would say ready too early.
///
/// # Errors
/// Why the database cannot take writes, for the readiness answer and the log.
pub async fn probe_write(db: &DatabaseConnection, url: &str) -> Result<(), String> {
    if let DatabaseLocation::SqliteFile(path) = DatabaseLocation::from_url(url)
        && let Some(free) = private_files::free_bytes(&path)
        && free < MIN_FREE_BYTES
    {
        return Err(format!(
            "the database's filesystem has {free} bytes free (needs {MIN_FREE_BYTES})"
        ));
    }
    let write = async {
        let txn = begin_write(db).await?;
        // An integer formatted in: nothing from outside reaches this statement.
        txn.execute_unprepared(&format!(
            "INSERT INTO write_probe (id, at_ms) VALUES (1, {}) \
             ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms",
            super::now_ms()
        ))
        .await?;
        txn.commit().await
    };
    write.await.map_err(|error: DbErr| error.to_string())
}

/// Answers whether the database responds.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// How long a writer waits for this process's turn at the SQLite write lock: the same
/// bound as the busy timeout it replaces for writers of one process.
const WRITER_WAIT: Duration = Duration::from_secs(5);

/// One in-process writer queue per SQLite file (keyed by its path): every pool this
/// process opens on the file shares it. Entries go when the last writer of a file has.
static SQLITE_WRITERS: LazyLock<std::sync::Mutex<HashMap<PathBuf, Weak<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

fn sqlite_writer(db: &DatabaseConnection) -> Option<Arc<tokio::sync::Mutex<()>>> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let path = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    // A poisoned map only means a panic elsewhere while inserting: the map is still sound.
    let mut writers = SQLITE_WRITERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(writer) = writers.get(&path).and_then(Weak::upgrade) {
        return Some(writer);
    }
    writers.retain(|_, writer| writer.strong_count() > 0);
    let writer = Arc::new(tokio::sync::Mutex::new(()));
    writers.insert(path, Arc::downgrade(&writer));
    Some(writer)
}

/// A write transaction. On SQLite it also holds this process's turn at the write lock
/// until it commits or is dropped.
pub struct WriteTransaction {
    // Declared first so it is dropped (its rollback queued) before the turn is given up.
    txn: DatabaseTransaction,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTransaction {
    /// # Errors
    /// The commit fails (nothing was written) or its answer is lost.
    pub async fn commit(self) -> Result<(), DbErr> {
        let Self { txn, _turn } = self;
        txn.commit().await
    }

    /// Rolls back now, and only then gives up the write turn. (Dropping the transaction
    /// also rolls it back, but only queues the rollback: the next writer could meet the
    /// file lock still held.)
    ///
    /// # Errors
    /// The rollback fails; the connection is then closed, which rolls back too.
    pub async fn rollback(self) -> Result<(), DbErr> {
        let Self { txn, _turn } = self;
        txn.rollback().await
    }

    /// The transaction itself, for APIs that want one (the migrator).
    pub fn transaction(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTransaction {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading read locks, and first
/// queues for this process's single writer turn: writers of one process wait in line
/// in memory instead of polling the file lock (SQLite's busy handler sleeps up to 100 ms
/// between tries, which made p99 latencies of hundreds of ms under load). Other processes
/// on the same file (the CLI) still meet the file lock and the busy timeout.
///
/// # Errors
/// The database is unreachable or stays locked past the busy timeout (or this process's
/// writer queue does, for as long).
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTransaction, DbErr> {
    let turn = match sqlite_writer(db) {
        None => None,
        Some(writer) => Some(
            tokio::time::timeout(WRITER_WAIT, writer.lock_owned())
                .await
                .map_err(|_| {
                    DbErr::Custom(
                        "database is locked: no write turn within 5 s (writers of this process queue for the SQLite write lock)".into(),
                    )
                })?,
        ),
    };
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?;
    Ok(WriteTransaction { txn, _turn: turn })
}

/// Runs `write` in a write transaction (see [`begin_write`]) and commits what it did; an
/// error from `write` rolls it all back.
///
/// # Errors
/// `write`'s error, or the database's (no write turn, the commit fails).
pub async fn in_write_transaction<T, E: From<DbErr>>(
    db: &DatabaseConnection,
    write: impl AsyncFnOnce(&WriteTransaction) -> Result<T, E>,
) -> Result<T, E> {
    let txn = begin_write(db).await?;
    let value = write(&txn).await?;
    txn.commit().await?;
    Ok(value)
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
