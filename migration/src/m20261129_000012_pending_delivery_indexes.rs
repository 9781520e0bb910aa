//! The workers' claim asks, for every due candidate, whether an earlier delivery with the
//! same ordering key is still pending. The only index for that probe covered every
//! delivery ever made, so both databases answered it through the status index instead —
//! every pending row, once per candidate: a backlog of 2,000 drained at 31/s on a fresh
//! PostgreSQL database (statistics saying the table was nearly empty), and SQLite spent a
//! quarter of a drain in it. A partial index over pending rows only stays as small as the
//! backlog, whatever the table's size, and makes each probe exact on both databases.
//!
//! The claim names `status = 'pending'` as a literal (see `store::deliveries`): a partial
//! index serves a query only when its condition is provably implied.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_deliveries_pending_ordering";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {NAME} ON deliveries (ordering_key, position) \
                 WHERE status = 'pending'"
            ))
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(NAME).table("deliveries").to_owned())
            .await
    }
}
