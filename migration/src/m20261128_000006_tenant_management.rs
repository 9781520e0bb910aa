//! Managing tenants from the vendor's product: the vendor's own id for a customer, a
//! disabled switch, the health of the tenant's Ashby key and of its deliveries; and the
//! candidate's email on each assessment, so support can look a candidate up by it.

use sea_orm_migration::sea_orm::{ConnectionTrait as _, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        for column in [
            string_null("external_id"),
            boolean("disabled").default(false).to_owned(),
            string_len("ashby_key_status", 16)
                .default("unset")
                .to_owned(),
            big_integer_null("ashby_key_checked_at_ms"),
            text_null("ashby_key_error"),
            big_integer_null("last_delivered_at_ms"),
            text_null("last_delivery_error"),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table("tenants")
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // NULLs do not collide: tenants without an external id are many.
        manager
            .create_index(
                Index::create()
                    .name("ux_tenants_external_id")
                    .table("tenants")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // A key stored before keys were checked has never been shown to work.
        db.execute_unprepared(
            "UPDATE tenants SET ashby_key_status = 'unverified' WHERE ashby_api_key_sealed IS NOT NULL",
        )
        .await?;

        manager
            .alter_table(
                Table::alter()
                    .table("assessments")
                    .add_column(string_null("candidate_email"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_assessments_candidate_email")
                    .table("assessments")
                    .col("candidate_email")
                    .to_owned(),
            )
            .await?;
        // Support also looks assessments up by Ashby's application id, across tenants.
        manager
            .create_index(
                Index::create()
                    .name("ix_assessments_application")
                    .table("assessments")
                    .col("application_ashby_id")
                    .to_owned(),
            )
            .await?;
        let fill = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE assessments SET candidate_email = lower(start_request->'candidate'->>'email')"
            }
            _ => {
                "UPDATE assessments SET candidate_email = lower(json_extract(start_request, '$.candidate.email'))"
            }
        };
        db.execute_unprepared(fill).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_assessments_application")
                    .table("assessments")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_assessments_candidate_email")
                    .table("assessments")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("assessments")
                    .drop_column("candidate_email")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_tenants_external_id")
                    .table("tenants")
                    .to_owned(),
            )
            .await?;
        for column in [
            "external_id",
            "disabled",
            "ashby_key_status",
            "ashby_key_checked_at_ms",
            "ashby_key_error",
            "last_delivered_at_ms",
            "last_delivery_error",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("tenants")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
