//! Operators' delivery lists (`GET /v1/deliveries`, `deliveries list`) page newest first
//! by (created_at_ms, id), over every delivery or one tenant's: without an index each page
//! sorted the whole table, which grows by every delivery ever made. The workers' claim,
//! the ordering check, the attempt log, retention and `/metrics` already have theirs
//! (`ix_deliveries_status_due`, `ix_deliveries_ordering`, `ix_delivery_attempts_delivery`,
//! `ix_deliveries_status_updated`). The console's overview counts what was delivered in
//! the last minutes, by `delivered_at_ms`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &[&str]); 3] = [
    ("ix_deliveries_created", &["created_at_ms", "id"]),
    (
        "ix_deliveries_tenant_created",
        &["tenant_id", "created_at_ms", "id"],
    ),
    ("ix_deliveries_delivered", &["delivered_at_ms"]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, columns) in INDEXES {
            let mut index = Index::create();
            index.name(name).table("deliveries");
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table("deliveries").to_owned())
                .await?;
        }
        Ok(())
    }
}
