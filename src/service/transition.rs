//! Applying a lifecycle decision: the row change and its outbox rows, in the caller's
//! transaction, so a state change and the messages it causes commit together or not at all.

use entity::assessment;
use sea_orm::{ConnectionTrait, DbErr};

use crate::ashby::wire::UpdateRequest;
use crate::delivery::webhook;
use crate::domain::data_block::DataBlock;
use crate::domain::delivery::DeliveryKind;
use crate::domain::ids::AssessmentId;
use crate::domain::lifecycle::{self, Decision, Emission, Event, Refusal, WebhookEvent};
use crate::domain::vendor_event::VendorEvent;
use crate::store::assessments::{self, TransitionData};
use crate::store::deliveries::{self, NewDelivery};
use crate::store::json_column;
use crate::time::rfc3339;

use super::Outbound;

/// What applying an event did.
pub enum Applied {
    /// The assessment changed (and its deliveries, if any, were enqueued).
    Changed {
        assessment: assessment::Model,
        enqueued: bool,
    },
    /// A repeat: nothing changed.
    Unchanged(assessment::Model),
}

/// Decides and applies `event` to `current` (read with `find_for_update` in `txn`).
/// `at_ms` is when the event happened; `now_ms` is now.
///
/// # Errors
/// The outer error is the database's; the inner one the lifecycle's refusal.
pub async fn apply(
    txn: &impl ConnectionTrait,
    outbound: &Outbound,
    current: assessment::Model,
    event: Event<'_>,
    at_ms: i64,
    now_ms: i64,
) -> Result<Result<Applied, Refusal>, DbErr> {
    let status = assessments::status_of(&current)?;
    let terminal_event: Option<VendorEvent> = current
        .terminal_event
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| DbErr::Json(e.to_string()))?;
    let transition = match lifecycle::decide(status, event, at_ms, terminal_event.as_ref()) {
        Err(refusal) => return Ok(Err(refusal)),
        Ok(Decision::AlreadyDone) => return Ok(Ok(Applied::Unchanged(current))),
        Ok(Decision::Apply(transition)) => transition,
    };

    // Ashby orders updates by timestamp only: keep them strictly increasing per
    // assessment, even for two events within one millisecond. Webhooks take their
    // place in line from the same counter.
    let mut last_update_ms = current.last_update_ms;
    let positioned: Vec<(i64, &Emission)> = transition
        .emissions
        .iter()
        .map(|emission| {
            last_update_ms = at_ms.max(last_update_ms + 1);
            (last_update_ms, emission)
        })
        .collect();

    let mut data = TransitionData {
        last_update_ms: Some(last_update_ms),
        ..TransitionData::default()
    };
    if let Event::Vendor(vendor) = event {
        data.result = vendor.result.as_ref().map(json_column).transpose()?;
        data.profile_url = vendor.profile_url.clone();
        if !vendor.metadata.is_empty() {
            data.metadata = Some(merged_metadata(
                current.metadata.as_ref(),
                &vendor.metadata,
            )?);
        }
        if transition.to.is_terminal() {
            data.terminal_event = Some(json_column(vendor)?);
        }
    }
    let assessment =
        assessments::record_transition(txn, &current, &transition, data, now_ms).await?;

    let mut enqueued = false;
    for (position, emission) in positioned {
        enqueued |= enqueue(txn, outbound, &assessment, emission, position, now_ms).await?;
    }
    Ok(Ok(Applied::Changed {
        assessment,
        enqueued,
    }))
}

/// Writes one emission to the outbox. Returns whether anything was written (a webhook
/// is skipped when webhooks are not configured).
///
/// # Errors
/// Database errors.
pub async fn enqueue(
    txn: &impl ConnectionTrait,
    outbound: &Outbound,
    assessment: &assessment::Model,
    emission: &Emission,
    position: i64,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let (kind, payload) = match emission {
        Emission::AshbyUpdate(fields) => {
            let body = UpdateRequest {
                assessment_id: AssessmentId(assessment.id),
                timestamp: position,
                fields: (**fields).clone(),
            };
            (DeliveryKind::AshbyUpdate, json_column(&body)?)
        }
        Emission::VendorWebhook(_) if !outbound.vendor_webhooks => return Ok(false),
        Emission::VendorWebhook(event) => (
            DeliveryKind::VendorWebhook,
            webhook_body(outbound, assessment, *event, now_ms)?,
        ),
    };
    deliveries::enqueue(
        txn,
        NewDelivery {
            kind,
            tenant_id: assessment.tenant_id,
            assessment_id: assessment.id,
            position,
            payload,
            idempotency: None,
        },
        now_ms,
    )
    .await?;
    Ok(true)
}

/// `{"type", "timestamp", "data": Assessment}` — the assessment as of the event, stored
/// without the start request's parts (the assessment row holds them; the sender puts them
/// back, see [`webhook::rendered_body`]).
fn webhook_body(
    outbound: &Outbound,
    assessment: &assessment::Model,
    event: WebhookEvent,
    now_ms: i64,
) -> Result<serde_json::Value, DbErr> {
    Ok(webhook::stored_body(serde_json::json!({
        "type": event.as_str(),
        "timestamp": rfc3339(now_ms),
        "data": json_column(&crate::representation::assessment(assessment, &outbound.candidate_links)?)?,
    })))
}

/// Metadata accumulates: a block replaces the stored one with the same identifier.
fn merged_metadata(
    stored: Option<&serde_json::Value>,
    new: &[DataBlock],
) -> Result<serde_json::Value, DbErr> {
    let mut merged: Vec<DataBlock> = match stored {
        Some(value) => {
            serde_json::from_value(value.clone()).map_err(|e| DbErr::Json(e.to_string()))?
        }
        None => Vec::new(),
    };
    for block in new {
        match merged.iter_mut().find(|b| b.identifier == block.identifier) {
            Some(existing) => *existing = block.clone(),
            None => merged.push(block.clone()),
        }
    }
    json_column(&merged)
}
