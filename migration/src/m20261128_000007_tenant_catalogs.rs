//! A tenant's own catalog: its assessment types and custom fields, each a JSON document
//! (NULL: the default catalog applies), and the types it once offered and no longer does
//! (so that assessments started with them keep their name). One row per tenant, read by
//! primary key on every call Ashby makes; erased with the tenant.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("tenant_catalogs")
                    .if_not_exists()
                    .col(uuid("tenant_id").primary_key())
                    .col(json_binary_null("assessment_types"))
                    .col(json_binary_null("custom_fields"))
                    .col(json_binary("retired_types"))
                    .col(big_integer("updated_at_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tenant_catalogs_tenant")
                            .from("tenant_catalogs", "tenant_id")
                            .to("tenants", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("tenant_catalogs").to_owned())
            .await
    }
}
