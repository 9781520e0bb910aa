//! Throttling is not failure (CONTRACT §6): pauses that hold back sending to Ashby for a
//! tenant or for the whole partner, on every replica; and when a delivery started failing,
//! for the `delivery.retry_for` give-up rule. Expiry (CONTRACT §12) looks for open
//! assessments by last change: an index on (status, updated_at_ms) finds them without
//! reading the terminal ones; retention finds finished deliveries by age the same way.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("deliveries")
                    .add_column(big_integer_null("failing_since_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("delivery_pauses")
                    .if_not_exists()
                    // "partner", or "tenant:<id>".
                    .col(string("scope").primary_key())
                    // Null for the partner-wide pause.
                    .col(uuid_null("tenant_id"))
                    .col(big_integer("until_ms"))
                    .col(text("reason"))
                    .col(big_integer("updated_at_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("delivery_pauses", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_assessments_status_updated")
                    .table("assessments")
                    .col("status")
                    .col("updated_at_ms")
                    .to_owned(),
            )
            .await?;
        // Retention deletes finished deliveries by age.
        manager
            .create_index(
                Index::create()
                    .name("ix_deliveries_status_updated")
                    .table("deliveries")
                    .col("status")
                    .col("updated_at_ms")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_deliveries_status_updated")
                    .table("deliveries")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_assessments_status_updated")
                    .table("assessments")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("delivery_pauses").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("deliveries")
                    .drop_column("failing_since_ms")
                    .to_owned(),
            )
            .await
    }
}
