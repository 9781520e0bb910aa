//! The encryption key's check value (one row): a start with a different
//! `security.encryption_key` is refused.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("key_check")
                    .if_not_exists()
                    .col(integer("id").primary_key())
                    .col(text("check_value"))
                    .col(big_integer("created_at_ms"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("key_check").to_owned())
            .await
    }
}
