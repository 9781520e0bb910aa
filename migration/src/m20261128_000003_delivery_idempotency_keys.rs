//! Idempotency keys for deliveries the vendor asks for directly (completed assessments).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["idempotency_key", "request_fingerprint"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("deliveries")
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        // NULLs are distinct in a unique index on both databases: rows without a key
        // never collide.
        manager
            .create_index(
                Index::create()
                    .name("ux_deliveries_idempotency")
                    .table("deliveries")
                    .col("tenant_id")
                    .col("idempotency_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_deliveries_idempotency")
                    .table("deliveries")
                    .to_owned(),
            )
            .await?;
        for column in ["request_fingerprint", "idempotency_key"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("deliveries")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
