//! A one-row table that readiness writes to: only a committed write proves the database
//! can take writes (a full disk may show only at commit).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("write_probe")
                    .if_not_exists()
                    .col(integer("id").primary_key())
                    .col(big_integer("at_ms"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("write_probe").to_owned())
            .await
    }
}
