//! Ashby webhooks per tenant: the secret Ashby signs them with (sealed, never plaintext)
//! and whether they were registered through Ashby's API or are to be created by hand.
//! No table of processed webhook ids: Ashby's payloads carry none, so every effect is
//! idempotent by construction instead (see `service::ashby_events`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("ashby_webhooks")
                    .if_not_exists()
                    .col(uuid("tenant_id").primary_key())
                    .col(text("secret_sealed"))
                    // `registered` (through webhook.create) or `manual`.
                    .col(string_len("status", 16))
                    .col(big_integer("created_at_ms"))
                    .col(big_integer("updated_at_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ashby_webhooks_tenant")
                            .from("ashby_webhooks", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("ashby_webhooks").to_owned())
            .await
    }
}
