//! Persistence: SeaORM queries over `&impl ConnectionTrait`, one file per aggregate.

pub mod ashby_webhooks;
pub mod assessments;
pub mod catalogs;
mod database;
pub mod deliveries;
pub mod delivery_ops;
pub mod delivery_records;
pub mod delivery_stats;
pub mod delivery_tallies;
pub mod erasure;
mod private_files;
pub mod retention;
pub mod schema;
pub mod tenants;
pub mod vendor_tokens;

pub use database::{
    APPLICATION_NAME, DatabaseLocation, HTTP_WORKER_APPLICATION_NAME, PoolShares,
    SQLITE_CACHE_SIZE, WriteTransaction, begin_write, connect, connect_here_lazily,
    in_write_transaction, migrate, ping, probe_write,
};

/// The one row a unique key selects, read without sea-orm's `one()`. That binds
/// `LIMIT 1` as a parameter, and SQLite plans with a bound LIMIT's value: each new binding
/// expires the prepared statement, so every call parsed and planned it again (a fifth of
/// the time a vendor `GET` by id took on SQLite). A unique key needs no LIMIT.
///
/// # Errors
/// Database errors.
pub async fn unique_row<E: sea_orm::EntityTrait>(
    select: sea_orm::Select<E>,
    db: &impl sea_orm::ConnectionTrait,
) -> Result<Option<E::Model>, sea_orm::DbErr> {
    Ok(select.all(db).await?.into_iter().next())
}

/// The clock lives in [`crate::time`]; named here too for the callers that stamp rows.
pub use crate::time::now_ms;

/// A value for a JSON column; a serialisation failure surfaces as a database error.
///
/// # Errors
/// The value cannot be represented as JSON (a map with non-string keys).
pub fn json_column<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, sea_orm::DbErr> {
    serde_json::to_value(value).map_err(|e| sea_orm::DbErr::Json(e.to_string()))
}

/// Stored data that does not decode: the database was edited by hand or by a newer
/// version. Distinct from a database that does not answer (the APIs answer 500, not 503).
pub fn unreadable(what: String, found: &dyn std::fmt::Debug) -> sea_orm::DbErr {
    sea_orm::DbErr::Type(format!("stored data unreadable: {what} holds {found:?}"))
}

/// A JSON column decoded into its type; `what` names it for [`unreadable`].
///
/// # Errors
/// The stored JSON does not have the type's shape.
pub fn from_json_column<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    what: impl FnOnce() -> String,
) -> Result<T, sea_orm::DbErr> {
    serde_json::from_value(value).map_err(|error| {
        sea_orm::DbErr::Type(format!("stored data unreadable: {}: {error}", what()))
    })
}

/// Whether a database error says that stored data does not decode (see [`unreadable`]).
pub fn is_unreadable(error: &sea_orm::DbErr) -> bool {
    matches!(error, sea_orm::DbErr::Type(message) if message.starts_with("stored data unreadable"))
}
