//! Tenants, their partner keys, and assessments.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("tenants")
                    .col(uuid("id").primary_key())
                    .col(string("name"))
                    .col(text_null("ashby_api_key_sealed"))
                    .col(string_null("ashby_base_url"))
                    .col(big_integer("created_at_ms"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("partner_keys")
                    .col(uuid("id").primary_key())
                    .col(uuid("tenant_id"))
                    .col(string("key_hash"))
                    .col(string("key_prefix"))
                    .col(big_integer("created_at_ms"))
                    .col(big_integer_null("revoked_at_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_partner_keys_tenant")
                            .from("partner_keys", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Every Ashby request authenticates by looking up the hash of its key.
        manager
            .create_index(
                Index::create()
                    .name("ux_partner_keys_key_hash")
                    .table("partner_keys")
                    .col("key_hash")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_keys_tenant")
                    .table("partner_keys")
                    .col("tenant_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("assessments")
                    .col(uuid("id").primary_key())
                    .col(uuid("tenant_id"))
                    .col(uuid("assessment_type_id"))
                    .col(string("application_ashby_id"))
                    .col(string("candidate_ashby_id"))
                    .col(string_len("status", 16))
                    .col(json_binary("start_request"))
                    .col(json_binary_null("result"))
                    .col(text_null("profile_url"))
                    .col(json_binary_null("metadata"))
                    .col(json_binary("history"))
                    .col(big_integer("last_update_ms"))
                    .col(big_integer("created_at_ms"))
                    .col(big_integer("updated_at_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_assessments_tenant")
                            .from("assessments", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // At most one open (non-terminal) assessment per (tenant, application, type):
        // this is what makes concurrent identical starts collapse into one, while a
        // retake after a terminal state is free to insert a new row. A partial index
        // has the same syntax on SQLite and PostgreSQL; sea-query cannot express it.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_assessments_open_start \
                 ON assessments (tenant_id, application_ashby_id, assessment_type_id) \
                 WHERE status IN ('started', 'in_progress')",
            )
            .await?;
        // The vendor API lists a tenant's assessments by last update.
        manager
            .create_index(
                Index::create()
                    .name("ix_assessments_tenant_updated")
                    .table("assessments")
                    .col("tenant_id")
                    .col("updated_at_ms")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_assessments_updated")
                    .table("assessments")
                    .col("updated_at_ms")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["assessments", "partner_keys", "tenants"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
