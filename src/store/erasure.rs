//! Striking an erased candidate's values from the outbox: the payloads of an assessment's
//! deliveries (delivered ones included) and the errors their attempts recorded, which may
//! echo a body. Run it in the transaction that erases the assessment's start request.

use entity::{delivery, delivery_attempt};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, IntoActiveModel as _,
    QueryFilter as _,
};
use uuid::Uuid;

use crate::domain::erasure;

/// Strikes `personal` from every delivery of `assessment_id` and its attempts. A vendor
/// webhook stored whole (before start requests were stored once) also gets its
/// `data.candidate` replaced by `erased_candidate`, so nothing of the candidate is left
/// for rendering to show. Returns how many rows changed.
///
/// # Errors
/// Database errors.
pub async fn strike_from_deliveries(
    db: &impl ConnectionTrait,
    assessment_id: Uuid,
    erased_candidate: &serde_json::Value,
    personal: &[String],
) -> Result<u64, DbErr> {
    let rows = delivery::Entity::find()
        .filter(delivery::Column::AssessmentId.eq(assessment_id))
        .all(db)
        .await?;
    let mut changed = 0;
    for row in rows {
        let mut payload = row.payload.clone();
        let mut touched = replace_candidate(&mut payload, erased_candidate);
        touched |= erasure::strike_json(&mut payload, personal);
        let last_error = row
            .last_error
            .as_deref()
            .and_then(|text| erasure::strike_text(text, personal));
        changed += strike_attempts(db, row.id, personal).await?;
        if touched || last_error.is_some() {
            let mut active = row.clone().into_active_model();
            active.payload = Set(payload);
            if let Some(text) = last_error {
                active.last_error = Set(Some(text));
            }
            delivery::Entity::update(active).exec(db).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// A webhook body's `data.candidate`, when one was stored, becomes the erased candidate.
fn replace_candidate(
    payload: &mut serde_json::Value,
    erased_candidate: &serde_json::Value,
) -> bool {
    match payload
        .get_mut("data")
        .and_then(|data| data.get_mut("candidate"))
    {
        Some(candidate) if candidate != erased_candidate => {
            *candidate = erased_candidate.clone();
            true
        }
        _ => false,
    }
}

async fn strike_attempts(
    db: &impl ConnectionTrait,
    delivery_id: Uuid,
    personal: &[String],
) -> Result<u64, DbErr> {
    let attempts = delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::DeliveryId.eq(delivery_id))
        .filter(delivery_attempt::Column::Error.is_not_null())
        .all(db)
        .await?;
    let mut changed = 0;
    for attempt in attempts {
        let Some(struck) = attempt
            .error
            .as_deref()
            .and_then(|text| erasure::strike_text(text, personal))
        else {
            continue;
        };
        let mut active = attempt.into_active_model();
        active.error = Set(Some(struck));
        delivery_attempt::Entity::update(active).exec(db).await?;
        changed += 1;
    }
    Ok(changed)
}
