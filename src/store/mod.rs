//! Persistence: SeaORM queries over `&impl ConnectionTrait`, one file per aggregate.

pub mod assessments;
mod database;
pub mod tenants;

pub use database::{DatabaseLocation, begin_write, connect, migrate, ping};

/// Milliseconds since the Unix epoch: the unit of every stored timestamp.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
