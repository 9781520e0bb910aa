//! What every command that serves or touches the database checks first, whoever starts
//! it (`serve`, the other commands, `Application::build` for the demo and the bench):
//! the database's schema against this binary, and the encryption key against the
//! database.

use crate::secrets::ServerSecrets;
use crate::settings::Settings;

/// Opens the database as `serve` does (creating, refusing a newer schema, migrating
/// unless `database.auto_migrate` is false), then resolves the secrets and checks the
/// encryption key: the database first, so that a refused schema leaves no new secrets
/// file behind.
///
/// # Errors
/// Any check failing, in one line that says what to do.
pub async fn open_for_serving(
    settings: &Settings,
) -> anyhow::Result<(sea_orm::DatabaseConnection, ServerSecrets)> {
    // On PostgreSQL the actix workers open pools of their own when the server starts
    // (`startup`); this one, for the background work, holds what they leave.
    let mut background = settings.clone();
    background.database.max_connections =
        crate::store::PoolShares::for_this_machine(&settings.database).background;
    let db = open_database(&background, Access::Write).await?;
    let secrets = ServerSecrets::resolve(settings)?;
    check_encryption_key(&db, &secrets.sealer).await?;
    Ok((db, secrets))
}

/// What a command does with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: never creates the database, never migrates.
    Read,
    /// Writes: creates a SQLite file if needed, migrates unless `database.auto_migrate`
    /// is false.
    Write,
}

/// Opens the database for a command, after saying which one it is (the resolved path),
/// and refuses a schema newer than this binary whatever `auto_migrate` says: migrating
/// would fail and running could misread data (unless `database.allow_newer_schema`,
/// for a rollback).
pub async fn open_database(
    settings: &Settings,
    access: Access,
) -> anyhow::Result<sea_orm::DatabaseConnection> {
    use crate::store::schema;
    use anyhow::Context as _;
    let url = &settings.database.url;
    tracing::info!(database = %schema::describe(url), "opening the database");
    if access == Access::Read {
        schema::require_existing(url)?;
    }
    let db = crate::store::connect(&settings.database)
        .await
        .context("cannot open the database")?;
    let status = schema::migration_status(&db)
        .await
        .map_err(schema::SchemaError::from)?;
    if let Some(newer) = status.newer_schema_error() {
        if !settings.database.allow_newer_schema {
            return Err(newer.into());
        }
        tracing::warn!(
            unknown = %status.unknown.join(", "),
            "running on a schema newer than this binary (database.allow_newer_schema): not migrating"
        );
        return Ok(db);
    }
    match access {
        Access::Read if !status.pending.is_empty() => {
            return Err(schema::SchemaError::Pending(status.pending.join(", ")).into());
        }
        Access::Write if settings.database.auto_migrate && !status.pending.is_empty() => {
            crate::store::migrate(&db)
                .await
                .context("cannot migrate the database")?;
        }
        _ => {}
    }
    Ok(db)
}

/// Before the encryption key seals or opens anything: refuses a key other than the one
/// the database was set up with (recorded on first use). Skipped while the check's own
/// migration is pending (`auto_migrate = false`) or on a newer schema.
pub async fn check_encryption_key(
    db: &sea_orm::DatabaseConnection,
    sealer: &crate::crypto::Sealer,
) -> anyhow::Result<()> {
    use crate::store::schema;
    let status = schema::migration_status(db)
        .await
        .map_err(schema::SchemaError::from)?;
    if status.pending.iter().any(|m| m.ends_with("_key_check")) {
        tracing::warn!("security.encryption_key not checked: run `ashby-partner migrate` first");
        return Ok(());
    }
    schema::check_encryption_key(db, sealer).await?;
    Ok(())
}
