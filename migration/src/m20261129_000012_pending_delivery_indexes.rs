//! The workers' claim reads only pending deliveries: the first due, and for each of them
//! whether an earlier one with the same ordering key is still pending. Indexes over every
//! delivery ever made served both badly on PostgreSQL whenever its statistics said the
//! table was nearly empty (a new deployment before its first analyse): the planner
//! intersected the ordering index with every pending row's status entry, once per
//! candidate, and a backlog of 2,000 drained at 31/s. Partial indexes over pending rows
//! only stay as small as the backlog, whatever the table's size, and make each probe
//! exact on both databases. They replace `ix_deliveries_status_due`.
//!
//! The queries name `status = 'pending'` as a literal (see `store::deliveries`): a partial
//! index serves a query only when its condition is provably implied.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: [&str; 2] = [
    "CREATE INDEX ix_deliveries_pending_due ON deliveries (next_attempt_at_ms) \
     WHERE status = 'pending'",
    "CREATE INDEX ix_deliveries_pending_ordering ON deliveries (ordering_key, position) \
     WHERE status = 'pending'",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in CREATE {
            db.execute_unprepared(statement).await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("ix_deliveries_status_due")
                    .table("deliveries")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_deliveries_status_due")
                    .table("deliveries")
                    .col("status")
                    .col("next_attempt_at_ms")
                    .to_owned(),
            )
            .await?;
        for name in [
            "ix_deliveries_pending_due",
            "ix_deliveries_pending_ordering",
        ] {
            manager
                .drop_index(Index::drop().name(name).table("deliveries").to_owned())
                .await?;
        }
        Ok(())
    }
}
