//! The use cases, each written once and shared by every client of it (the HTTP APIs,
//! the command line, the demo): operations on assessments — each a database transaction
//! around a lifecycle decision, with its outbox rows, waking the workers once committed —
//! on deliveries, and on tenants.

mod ashby_events;
mod ashby_registration;
mod cancel;
mod catalogs;
mod completed;
mod deliveries;
mod expiry;
mod start;
mod start_batch;
mod support;
mod tenants;
mod transition;
mod vendor_event;

pub use ashby_events::{AshbyNotice, NoticeHandled, apply_ashby_notice};
pub use ashby_registration::{
    ASHBY_WEBHOOK_TYPES, Registration, RegistrationError, ashby_webhook_secret,
    register_ashby_webhooks,
};
pub use cancel::{CancelOutcome, cancel_by_ashby};
pub use catalogs::{
    CatalogChange, cached_catalog_for, catalog_for, change_tenant_catalog, tenant_catalog,
};
pub use completed::{CompletedError, NewCompletedAssessment, add_completed_assessment};
pub use deliveries::{
    BulkRetry, DismissOutcome, RetryOutcome, dismiss_delivery, list_deliveries,
    retry_all_dead_deliveries, retry_dead_delivery, show_delivery, with_sent_payloads,
};
pub use expiry::expire_inactive;
pub use start::{StartOutcome, check_additional_fields};
pub use start_batch::Starter;
pub use support::{
    AssessmentHit, AssessmentQuery, DeliveryPage, Overview, RATE_WINDOW_MS, TenantDetails,
    Timeline, assessment_timeline, console_overview, delivery_page, search_assessments,
    tenant_details, tenants_by_key_status,
};
pub use tenants::{
    AshbyKeyCheck, NewTenant, Onboarded, TenantError, delete_tenant, list_tenants, onboard_tenant,
    replace_ashby_key, revoke_partner_keys, rotate_partner_key, set_ashby_key, show_tenant,
    update_tenant, verify_ashby_key,
};
pub use vendor_event::{EventOutcome, record_vendor_event};

use crate::candidate_links::CandidateLinks;
use crate::delivery::DeliveryWaker;

/// What writing outgoing messages needs beyond the database.
#[derive(Clone)]
pub struct Outbound {
    pub candidate_links: CandidateLinks,
    /// Whether `vendor.webhook_url` is set: webhooks are only queued when it is.
    pub vendor_webhooks: bool,
    /// Woken once a transaction that enqueued deliveries has committed (never before:
    /// a worker must not look for a delivery that may yet roll back).
    pub waker: DeliveryWaker,
}

impl Outbound {
    /// Call after the commit of a transaction that wrote deliveries.
    fn committed(&self, enqueued: bool) {
        if enqueued {
            self.waker.wake();
        }
    }
}
