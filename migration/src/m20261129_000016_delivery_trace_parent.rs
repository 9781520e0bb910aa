//! The W3C `traceparent` of the span that queued a delivery, so that the span of each
//! attempt links to it: a trace shows which request a delivery came from. Empty when no
//! trace was exported (no `telemetry.otlp_endpoint`) and for deliveries queued before.

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
                    .add_column(string_len_null("trace_parent", 64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("deliveries")
                    .drop_column("trace_parent")
                    .to_owned(),
            )
            .await
    }
}
