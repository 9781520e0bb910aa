//! The delivery outbox and its attempt log; the terminal event of an assessment.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("assessments")
                    .add_column(json_binary_null("terminal_event"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("deliveries")
                    .col(uuid("id").primary_key())
                    .col(string_len("kind", 64))
                    .col(uuid("tenant_id"))
                    .col(uuid("assessment_id"))
                    .col(string("ordering_key"))
                    .col(big_integer("position"))
                    .col(string_len("status", 16))
                    .col(integer("attempts"))
                    .col(big_integer("next_attempt_at_ms"))
                    .col(big_integer_null("lease_until_ms"))
                    .col(uuid_null("lease_owner"))
                    .col(text_null("last_error"))
                    .col(json_binary("payload"))
                    .col(big_integer("created_at_ms"))
                    .col(big_integer("updated_at_ms"))
                    .col(big_integer_null("delivered_at_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_deliveries_tenant")
                            .from("deliveries", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The workers' claim: pending deliveries by due time.
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
        // "Is an earlier delivery with this key still pending?" and per-assessment listing.
        manager
            .create_index(
                Index::create()
                    .name("ix_deliveries_ordering")
                    .table("deliveries")
                    .col("ordering_key")
                    .col("position")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_deliveries_assessment")
                    .table("deliveries")
                    .col("assessment_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("delivery_attempts")
                    .col(uuid("id").primary_key())
                    .col(uuid("delivery_id"))
                    .col(integer("attempt"))
                    .col(big_integer("at_ms"))
                    .col(big_integer("duration_ms"))
                    .col(string_len("outcome", 16))
                    .col(integer_null("http_status"))
                    .col(text_null("error"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_delivery_attempts_delivery")
                            .from("delivery_attempts", "delivery_id")
                            .to("deliveries", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_delivery_attempts_delivery")
                    .table("delivery_attempts")
                    .col("delivery_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("delivery_attempts").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("deliveries").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("assessments")
                    .drop_column("terminal_event")
                    .to_owned(),
            )
            .await
    }
}
