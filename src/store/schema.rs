//! What the database is (for the operator), whether this binary knows its schema, and
//! the check value that ties the database to `security.encryption_key`.

use std::path::{Path, PathBuf};

use migration::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use super::database::DatabaseLocation;
use crate::crypto::Sealer;

/// The database for log lines and errors: the SQLite file as an absolute path (a
/// relative URL is resolved against the working directory, which is what surprises
/// operators), or PostgreSQL's host, port and database name, never the password.
pub fn describe(url: &str) -> String {
    match DatabaseLocation::from_url(url) {
        DatabaseLocation::SqliteFile(path) => {
            format!("SQLite file {}", absolute(&path).display())
        }
        DatabaseLocation::SqliteMemory => "SQLite in memory".to_owned(),
        DatabaseLocation::Postgres => match url::Url::parse(url) {
            Ok(parsed) => format!(
                "PostgreSQL {}:{}{}",
                parsed.host_str().unwrap_or("localhost"),
                parsed.port().unwrap_or(5432),
                parsed.path()
            ),
            Err(_) => "PostgreSQL (unparsable URL)".to_owned(),
        },
    }
}

/// `path` made absolute against the working directory (not canonicalised: the file
/// may not exist yet).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Why a command that only reads cannot open the database.
#[derive(Debug, thiserror::Error)]
#[error(
    "no database at {}: this command only reads and does not create one; create it with `ashby-partner migrate` (or by starting `ashby-partner serve`), or point database.url / DATABASE_URL at the existing database",
    .0.display()
)]
pub struct MissingDatabase(pub PathBuf);

/// For commands that only read: a SQLite file that is not there is an error, not a new
/// empty database (run from the wrong directory, it would create one — and new secrets).
///
/// # Errors
/// The SQLite file does not exist.
pub fn require_existing(url: &str) -> Result<(), MissingDatabase> {
    match DatabaseLocation::from_url(url) {
        DatabaseLocation::SqliteFile(path) if !path.exists() => {
            Err(MissingDatabase(absolute(&path)))
        }
        _ => Ok(()),
    }
}

/// The database's migrations against the ones this binary carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Known to this binary and applied.
    pub applied: Vec<String>,
    /// Known to this binary, not applied yet.
    pub pending: Vec<String>,
    /// Applied by a newer binary: this one does not know them.
    pub unknown: Vec<String>,
}

impl MigrationStatus {
    /// The one-line refusal when the schema is newer than this binary.
    pub fn newer_schema_error(&self) -> Option<SchemaError> {
        (!self.unknown.is_empty()).then(|| SchemaError::Newer(self.unknown.join(", ")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database schema is newer than this binary (it has migrations this binary does not know: {0}); upgrade ashby-partner to the version that applied them, or, if this is a rollback, follow \"Rollback\" in docs/deployment.md (set database.allow_newer_schema = true)"
    )]
    Newer(String),
    #[error(
        "the database has migrations this binary has not applied ({0}); run `ashby-partner migrate` first"
    )]
    Pending(String),
    #[error("cannot read the database's migrations: {0}")]
    Unreadable(#[from] DbErr),
}

/// Reads which migrations the database has applied, without changing anything (a
/// database without the migrations table has none).
///
/// # Errors
/// The database cannot be read.
pub async fn migration_status(db: &DatabaseConnection) -> Result<MigrationStatus, DbErr> {
    let backend = db.get_database_backend();
    let exists_sql = match backend {
        DbBackend::Postgres => {
            "SELECT 1 AS present FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'seaql_migrations'"
        }
        _ => {
            "SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'"
        }
    };
    let applied_in_db: Vec<String> = if db
        .query_one_raw(Statement::from_string(backend, exists_sql))
        .await?
        .is_some()
    {
        db.query_all_raw(Statement::from_string(
            backend,
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok(MigrationStatus {
        applied: known
            .iter()
            .filter(|k| applied_in_db.contains(k))
            .cloned()
            .collect(),
        pending: known
            .iter()
            .filter(|k| !applied_in_db.contains(k))
            .cloned()
            .collect(),
        unknown: applied_in_db
            .into_iter()
            .filter(|a| !known.contains(a))
            .collect(),
    })
}

/// What is sealed as the check value: a fixed, public plaintext. Opening it proves the
/// key is the one the database was set up with, without storing anything derived from
/// the key alone.
const KEY_CHECK_PLAINTEXT: &str = "ashby-partner encryption key check v1";
const KEY_CHECK_CONTEXT: &str = "key-check";

#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(
        "security.encryption_key does not match the key this database was set up with; configure the original key (for SQLite without a configured key: the .secrets.toml file beside the database). Rotating the key is not supported"
    )]
    Mismatch,
    #[error("cannot check security.encryption_key against the database: {0}")]
    Database(#[from] DbErr),
    #[error("cannot seal the key check value: {0}")]
    Seal(#[from] crate::crypto::SealError),
}

/// On first use, stores a value sealed with the encryption key; later, opens it: a
/// different key cannot, and the process refuses to start instead of running with
/// every stored Ashby key unreadable.
///
/// # Errors
/// [`KeyCheckError::Mismatch`] for a different key; the database cannot be read or written.
pub async fn check_encryption_key(
    db: &DatabaseConnection,
    sealer: &Sealer,
) -> Result<(), KeyCheckError> {
    use entity::key_check;
    use sea_orm::{EntityTrait as _, sea_query::OnConflict};

    if key_check::Entity::find_by_id(1).one(db).await?.is_none() {
        let sealed = sealer.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK_CONTEXT)?;
        // Two processes starting together: the first insert wins, both then check it.
        key_check::Entity::insert(key_check::ActiveModel {
            id: sea_orm::Set(1),
            check_value: sea_orm::Set(sealed),
            created_at_ms: sea_orm::Set(super::now_ms()),
        })
        .on_conflict(
            OnConflict::column(key_check::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .try_insert()
        .exec_without_returning(db)
        .await?;
    }
    let Some(row) = key_check::Entity::find_by_id(1).one(db).await? else {
        return Err(KeyCheckError::Database(DbErr::RecordNotFound(
            "the key check row vanished".into(),
        )));
    };
    match sealer.open(&row.check_value, KEY_CHECK_CONTEXT) {
        Ok(plain) if secrecy::ExposeSecret::expose_secret(&plain) == KEY_CHECK_PLAINTEXT => Ok(()),
        _ => Err(KeyCheckError::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_is_described_without_its_password() {
        let text = describe("postgres://app:hunter2@db.internal:6543/partner");
        assert_eq!(text, "PostgreSQL db.internal:6543/partner");
        assert!(!text.contains("hunter2"));
    }

    #[test]
    fn a_relative_sqlite_file_is_described_by_its_absolute_path() {
        let text = describe("sqlite://data/x.db?mode=rwc");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            text,
            format!("SQLite file {}", cwd.join("data/x.db").display())
        );
    }
}
