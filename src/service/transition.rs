//! Applying a lifecycle decision: the row change and its outbox rows, in the caller's
//! transaction, so a state change and the messages it causes commit together or not at all.

use sea_orm::{ConnectionTrait, DbErr};

use crate::ashby::updates;
use crate::delivery::webhook;
use crate::domain::assessment::Assessment;
use crate::domain::delivery::DeliveryKind;
use crate::domain::lifecycle::{self, Decision, Emission, Event, Refusal, WebhookEvent};
use crate::store::assessments;
use crate::store::deliveries::{self, NewDelivery};
use crate::store::json_column;
use crate::time::rfc3339;

use super::Outbound;

/// What applying an event did.
pub enum Applied {
    /// The assessment changed (and its deliveries, if any, were enqueued).
    Changed {
        assessment: Assessment,
        enqueued: bool,
    },
    /// A repeat: nothing changed.
    Unchanged(Assessment),
}

/// Decides and applies `event` to `current` (read with `find_for_update` in `txn`).
/// `at_ms` is when the event happened; `now_ms` is now.
///
/// # Errors
/// The outer error is the database's; the inner one the lifecycle's refusal.
pub async fn apply(
    txn: &impl ConnectionTrait,
    outbound: &Outbound,
    current: Assessment,
    event: Event<'_>,
    at_ms: i64,
    now_ms: i64,
) -> Result<Result<Applied, Refusal>, DbErr> {
    let decided = lifecycle::decide(
        current.status,
        event,
        at_ms,
        current.terminal_event.as_ref(),
    );
    let transition = match decided {
        Err(refusal) => return Ok(Err(refusal)),
        Ok(Decision::AlreadyDone) => return Ok(Ok(Applied::Unchanged(current))),
        Ok(Decision::Apply(transition)) => transition,
    };
    // Webhooks take their place in line from the same counter as updates.
    let positions = current.next_update_timestamps(at_ms, transition.emissions.len());
    let last_update_ms = positions.last().copied().unwrap_or(current.last_update_ms);
    let vendor_event = match event {
        Event::Vendor(vendor) => Some(vendor),
        Event::CancelledByAshby | Event::ExpiredForInactivity | Event::EndedInAshby(_) => None,
    };
    let assessment = current.after(&transition, vendor_event, last_update_ms, now_ms);
    assessments::update(txn, &assessment).await?;

    let mut enqueued = false;
    for (position, emission) in positions.into_iter().zip(&transition.emissions) {
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
    assessment: &Assessment,
    emission: &Emission,
    position: i64,
    now_ms: i64,
) -> Result<bool, DbErr> {
    let Some(row) = outbox_row(outbound, assessment, emission, position, now_ms)? else {
        return Ok(false);
    };
    deliveries::enqueue(txn, row, now_ms).await?;
    Ok(true)
}

/// The outbox row of one emission; `None` for a webhook when webhooks are not configured.
///
/// # Errors
/// A body that cannot be stored as JSON.
pub fn outbox_row(
    outbound: &Outbound,
    assessment: &Assessment,
    emission: &Emission,
    position: i64,
    now_ms: i64,
) -> Result<Option<NewDelivery>, DbErr> {
    let (kind, payload) = match emission {
        Emission::StatusReport(report) => {
            let body = updates::update_request(assessment.id, position, report);
            (DeliveryKind::AshbyUpdate, json_column(&body)?)
        }
        Emission::VendorWebhook(_) if !outbound.vendor_webhooks => return Ok(None),
        Emission::VendorWebhook(event) => (
            DeliveryKind::VendorWebhook,
            webhook_body(outbound, assessment, *event, now_ms)?,
        ),
    };
    Ok(Some(NewDelivery {
        kind,
        tenant_id: assessment.tenant_id.0,
        assessment_id: assessment.id.0,
        position,
        payload,
        idempotency: None,
        trace_parent: crate::telemetry::current_traceparent(),
    }))
}

/// `{"type", "timestamp", "data": Assessment}` — the assessment as of the event, stored
/// without the start request's parts (the assessment row holds them; the sender puts them
/// back, see [`webhook::rendered_body`]).
fn webhook_body(
    outbound: &Outbound,
    assessment: &Assessment,
    event: WebhookEvent,
    now_ms: i64,
) -> Result<serde_json::Value, DbErr> {
    let mut data = json_column(&crate::representation::assessment(
        assessment,
        &outbound.candidate_links,
    ))?;
    // A cancel an Ashby webhook caused says why (CONTRACT §7).
    if let (Some(reason), Some(fields)) = (event.reason(), data.as_object_mut()) {
        fields.insert("reason".to_owned(), reason.into());
    }
    Ok(webhook::stored_body(serde_json::json!({
        "type": event.as_str(),
        "timestamp": rfc3339(now_ms),
        "data": data,
    })))
}
