//! The vendor API's bodies (CONTRACT §5), built from rows; their OpenAPI schemas come
//! from the same types.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::candidate_links::CandidateLinks;
use crate::domain::assessment::Assessment as StoredAssessment;
use crate::domain::data_block::DataBlock;
use crate::domain::delivery::{
    Attempt as StoredAttempt, Delivery as StoredDelivery, DeliveryStatus,
};
use crate::domain::lifecycle::Source;
use crate::domain::status::AssessmentStatus;
use crate::domain::tenant::{AshbyKeyStatus, TenantOverview};
use crate::time::rfc3339;

/// An assessment as the vendor sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Assessment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub status: AssessmentStatus,
    pub assessment_type_id: Uuid,
    /// As Ashby sent it in `assessment.start`.
    #[schema(value_type = Object)]
    pub candidate: Value,
    #[schema(value_type = Object)]
    pub application: Value,
    #[schema(value_type = Object)]
    pub job: Value,
    /// Custom-field values keyed by custom field id.
    #[schema(value_type = Object)]
    pub additional_fields: Value,
    pub result: Option<DataBlock>,
    pub profile_url: Option<String>,
    pub metadata: Vec<DataBlock>,
    /// The candidate's link, when `vendor.candidate_url_template` is set.
    pub candidate_url: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub updated_at: String,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub status: AssessmentStatus,
    pub at: String,
    pub source: Source,
}

/// One message to Ashby or to the vendor's webhook, and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    /// `assessment.update`, `assessment.addCompletedToCandidate` or `vendor.webhook`.
    pub kind: String,
    pub status: DeliveryStatus,
    pub assessment_id: Uuid,
    pub tenant_id: Uuid,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Set while pending.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// The exact body sent.
    #[schema(value_type = Object)]
    pub payload: Value,
}

pub fn assessment(stored: &StoredAssessment, links: &CandidateLinks) -> Assessment {
    Assessment {
        id: stored.id.0,
        tenant_id: stored.tenant_id.0,
        status: stored.status,
        assessment_type_id: stored.assessment_type_id.0,
        candidate: stored.start_part("candidate"),
        application: stored.start_part("application"),
        job: stored.start_part("job"),
        additional_fields: stored
            .start_request
            .get("additional_fields")
            .cloned()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
        result: stored.result.clone(),
        profile_url: stored.profile_url.clone(),
        metadata: stored.metadata.clone(),
        candidate_url: links.url_for(stored.id, stored.created_at_ms),
        created_at: rfc3339(stored.created_at_ms),
        updated_at: rfc3339(stored.updated_at_ms),
        history: stored
            .history
            .iter()
            .map(|entry| HistoryEntry {
                status: entry.status,
                at: rfc3339(entry.at_ms),
                source: entry.source,
            })
            .collect(),
    }
}

pub fn delivery(row: &StoredDelivery) -> Delivery {
    let status = row.status;
    Delivery {
        id: row.id.0,
        kind: row.kind.as_str().to_owned(),
        status,
        assessment_id: row.assessment_id.0,
        tenant_id: row.tenant_id.0,
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        next_attempt_at: (status == DeliveryStatus::Pending)
            .then(|| rfc3339(row.next_attempt_at_ms)),
        created_at: rfc3339(row.created_at_ms),
        delivered_at: row.delivered_at_ms.map(rfc3339),
        payload: row.payload.clone(),
    }
}

/// A tenant as the vendor's product sees it (CONTRACT §10); never its keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    /// The vendor's own id for the customer.
    pub external_id: Option<String>,
    pub disabled: bool,
    pub created_at: String,
    /// Usable partner keys.
    pub partner_keys: u64,
    /// `default` (the server's `[[assessment_types]]`) or `own`.
    pub catalog: String,
    pub ashby: TenantAshby,
    pub deliveries: TenantDeliveries,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantAshby {
    pub base_url: String,
    pub key_status: AshbyKeyStatus,
    pub key_checked_at: Option<String>,
    pub last_delivered_at: Option<String>,
    pub last_error: Option<String>,
    /// `unset`, `registered` or `manual`.
    pub webhooks: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantDeliveries {
    pub pending: u64,
    pub dead: u64,
}

/// `default_base_url`: `ashby.base_url`, for tenants that set none.
pub fn tenant(overview: &TenantOverview, default_base_url: &str) -> Tenant {
    let t = &overview.tenant;
    Tenant {
        id: t.id.0,
        name: t.name.clone(),
        external_id: t.external_id.clone(),
        disabled: t.disabled,
        created_at: rfc3339(t.created_at_ms),
        partner_keys: overview.partner_keys,
        catalog: if overview.own_catalog {
            "own"
        } else {
            "default"
        }
        .into(),
        ashby: TenantAshby {
            base_url: t
                .ashby_base_url
                .clone()
                .unwrap_or_else(|| default_base_url.to_owned()),
            key_status: t.key_status,
            key_checked_at: t.key_checked_at_ms.map(rfc3339),
            last_delivered_at: t.last_delivered_at_ms.map(rfc3339),
            last_error: t.last_error().map(str::to_owned),
            webhooks: overview.webhooks.into(),
        },
        deliveries: TenantDeliveries {
            pending: overview.pending_deliveries,
            dead: overview.dead_deliveries,
        },
    }
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attempt {
    pub at: String,
    pub duration_ms: i64,
    pub http_status: Option<i32>,
    /// `delivered`, `retry` or `dead`.
    pub outcome: String,
    pub error: Option<String>,
}

/// A delivery with every attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryWithAttempts {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub attempt_log: Vec<Attempt>,
}

pub fn delivery_with_attempts(
    row: &StoredDelivery,
    attempts: &[StoredAttempt],
) -> DeliveryWithAttempts {
    DeliveryWithAttempts {
        delivery: delivery(row),
        attempt_log: attempts
            .iter()
            .map(|a| Attempt {
                at: rfc3339(a.at_ms),
                duration_ms: a.duration_ms,
                http_status: a.http_status,
                outcome: a.outcome.clone(),
                error: a.error.clone(),
            })
            .collect(),
    }
}
