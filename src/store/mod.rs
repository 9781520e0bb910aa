//! Persistence: SeaORM queries over `&impl ConnectionTrait`, one file per aggregate.

pub mod assessments;
mod database;
pub mod deliveries;
mod private_files;
pub mod tenants;

pub use database::{DatabaseLocation, begin_write, connect, migrate, ping, probe_write};

/// Milliseconds since the Unix epoch: the unit of every stored timestamp.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A value for a JSON column; a serialisation failure surfaces as a database error.
///
/// # Errors
/// The value cannot be represented as JSON (a map with non-string keys).
pub fn json_column<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, sea_orm::DbErr> {
    serde_json::to_value(value).map_err(|e| sea_orm::DbErr::Json(e.to_string()))
}
