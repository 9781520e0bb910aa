//! Database migrations. The same migrations serve SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_core_tables;
mod m20261128_000002_create_deliveries;
mod m20261128_000003_delivery_idempotency_keys;
mod m20261128_000004_vendor_tokens;
mod m20261128_000005_write_probe;
mod m20261128_000006_tenant_management;
mod m20261128_000007_tenant_catalogs;
mod m20261128_000008_ashby_webhooks;
mod m20261128_000009_throttling_expiry_retention;
mod m20261128_000010_key_check;
mod m20261128_000011_delivery_list_indexes;
mod m20261129_000012_pending_delivery_indexes;
mod m20261129_000013_delivery_fillfactor;
mod m20261129_000014_fewer_delivery_index_writes;
mod m20261129_000015_erased_candidate_emails;
mod m20261129_000016_delivery_trace_parent;
mod m20261129_000017_delivery_tallies;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_core_tables::Migration),
            Box::new(m20261128_000002_create_deliveries::Migration),
            Box::new(m20261128_000003_delivery_idempotency_keys::Migration),
            Box::new(m20261128_000004_vendor_tokens::Migration),
            Box::new(m20261128_000005_write_probe::Migration),
            Box::new(m20261128_000006_tenant_management::Migration),
            Box::new(m20261128_000007_tenant_catalogs::Migration),
            Box::new(m20261128_000008_ashby_webhooks::Migration),
            Box::new(m20261128_000009_throttling_expiry_retention::Migration),
            Box::new(m20261128_000010_key_check::Migration),
            Box::new(m20261128_000011_delivery_list_indexes::Migration),
            Box::new(m20261129_000012_pending_delivery_indexes::Migration),
            Box::new(m20261129_000013_delivery_fillfactor::Migration),
            Box::new(m20261129_000014_fewer_delivery_index_writes::Migration),
            Box::new(m20261129_000015_erased_candidate_emails::Migration),
            Box::new(m20261129_000016_delivery_trace_parent::Migration),
            Box::new(m20261129_000017_delivery_tallies::Migration),
        ]
    }
}
