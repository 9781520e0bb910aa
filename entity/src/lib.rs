//! SeaORM entities for the ashby-partner database.
//!
//! Timestamps are stored as integer milliseconds since the Unix epoch: they compare
//! and sort identically on SQLite and PostgreSQL, which the delivery scheduler and
//! the vendor API's cursors rely on.

pub mod ashby_webhook;
pub mod assessment;
pub mod delivery;
pub mod delivery_attempt;
pub mod delivery_pause;
pub mod delivery_tally;
pub mod key_check;
pub mod partner_key;
pub mod tenant;
pub mod tenant_catalog;
pub mod vendor_token;

pub mod prelude {
    pub use super::ashby_webhook::Entity as AshbyWebhook;
    pub use super::assessment::Entity as Assessment;
    pub use super::delivery::Entity as Delivery;
    pub use super::delivery_attempt::Entity as DeliveryAttempt;
    pub use super::delivery_pause::Entity as DeliveryPause;
    pub use super::delivery_tally::Entity as DeliveryTally;
    pub use super::partner_key::Entity as PartnerKey;
    pub use super::tenant::Entity as Tenant;
    pub use super::tenant_catalog::Entity as TenantCatalog;
    pub use super::vendor_token::Entity as VendorToken;
}
