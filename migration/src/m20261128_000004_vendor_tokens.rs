//! Vendor API tokens that have been issued: so one can be listed and revoked on its own.
//! The token itself is never stored — only its id (the `jti` claim) and its dates.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("vendor_tokens")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(string_null("label"))
                    // Room for token scopes (engine, read, admin) without a second
                    // migration; every token issued so far is an engine token.
                    .col(string("scope").default("engine"))
                    .col(big_integer("created_at_ms"))
                    .col(big_integer("expires_at_ms"))
                    .col(big_integer_null("revoked_at_ms"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("vendor_tokens").to_owned())
            .await
    }
}
