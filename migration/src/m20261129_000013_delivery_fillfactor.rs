//! Room in every page of `deliveries` for a row's next version (PostgreSQL only).
//!
//! A claim changes only the lease columns, which no index covers, so PostgreSQL can write
//! the leased version as a heap-only tuple — no entry in any of the table's ten indexes —
//! but only when the row's page has room for it. At the default fill factor (100) every
//! page is full once written, so each claim wrote a new version elsewhere and an entry
//! in every index: a third of the index writes of a delivery's life. SQLite updates only
//! the indexes whose columns change, and has no fill factor.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_fill_factor(manager, "fillfactor = 80").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_fill_factor(manager, "fillfactor = 100").await
    }
}

async fn set_fill_factor(manager: &SchemaManager<'_>, setting: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!("ALTER TABLE deliveries SET ({setting})"))
        .await
        .map(|_| ())
}
