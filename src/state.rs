//! What the request handlers can reach, built once at start-up by `startup` and read-only
//! after it. Handlers import this module, never the composition root.

use sea_orm::DatabaseConnection;

use crate::domain::catalog::Catalog;
use crate::lookup_cache::LookupCache;
use crate::secrets::ServerSecrets;
use crate::service::{Outbound, Starter};
use crate::settings::Settings;
use crate::tokens::TokenKeys;

/// Shared by every handler through `web::Data<AppState>`.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub catalog: Catalog,
    pub secrets: ServerSecrets,
    pub tokens: TokenKeys,
    /// Candidate links, whether vendor webhooks are queued, and the workers' waker.
    pub outbound: Outbound,
    /// Partner-key owners and tenants' catalogs, for at most `server.lookup_cache_ms`.
    pub lookups: LookupCache,
    /// `assessment.start`'s writes (grouped into shared commits on SQLite).
    pub starter: Starter,
}
