//! `assessment.start`: create the assessment, or find the open one a retry refers to.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::domain::assessment::Assessment;
use crate::domain::ids::{AssessmentId, TenantId};
use crate::domain::lifecycle;
use crate::domain::start_request::StartRequest;
use crate::store::assessments::StartWritten;
use crate::store::{self, assessments};

use super::Outbound;
use super::transition;

pub struct StartOutcome {
    pub assessment: Assessment,
    /// False when an open assessment for the same application and type already existed.
    pub created: bool,
}

/// Refuses `additional_fields` whose JSON is over `max_bytes` (`limits.max_additional_fields_bytes`):
/// they are stored with the assessment and served to the vendor on every read.
///
/// # Errors
/// A message naming the field and the limit.
pub fn check_additional_fields(request: &StartRequest, max_bytes: usize) -> Result<(), String> {
    let Some(fields) = request.raw.get("additional_fields") else {
        return Ok(());
    };
    let size = serde_json::to_vec(fields).map_or(usize::MAX, |bytes| bytes.len());
    if size > max_bytes {
        return Err(format!(
            "additional_fields is {size} bytes of JSON; at most {max_bytes} are accepted."
        ));
    }
    Ok(())
}

/// A retry (Ashby repeats a start it got no answer to) is answered by a read: no write
/// turn, no write lock (SQLite; on PostgreSQL the start's one statement reads it). Its
/// answer is what the write path would give; an open assessment may end right after
/// either read.
pub(super) async fn already_open(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    request: &StartRequest,
) -> Result<Option<StartOutcome>, DbErr> {
    let open = assessments::find_open(
        db,
        tenant_id,
        &request.application_ashby_id,
        request.assessment_type_id,
    )
    .await?;
    Ok(open.map(|assessment| StartOutcome {
        assessment,
        created: false,
    }))
}

/// A new assessment for `request`, stamped now, and the transition that starts it. Make
/// it right before writing it: the vendor feed relies on a change committing soon after
/// its timestamp.
fn new_assessment(
    tenant_id: TenantId,
    request: &StartRequest,
) -> (Assessment, lifecycle::Transition) {
    let now = store::now_ms();
    let started = lifecycle::start(now);
    let row = Assessment {
        id: AssessmentId::new_random(),
        tenant_id,
        assessment_type_id: request.assessment_type_id,
        application_ashby_id: request.application_ashby_id.clone(),
        candidate_ashby_id: request.candidate_ashby_id.clone(),
        status: started.to,
        start_request: request.raw.clone(),
        result: None,
        profile_url: None,
        metadata: Vec::new(),
        history: vec![started.history.clone()],
        last_update_ms: now,
        terminal_event: None,
        created_at_ms: now,
        updated_at_ms: now,
    };
    (row, started)
}

/// One new start inside a write transaction (or a savepoint of one; SQLite's group
/// commit): the assessment with its `assessment.started` webhook, or the open assessment
/// the insert collided with — and whether a delivery was queued. `None`: that open
/// assessment is no longer open (the single writer excludes it; the caller says so).
pub(super) async fn write_one(
    txn: &impl ConnectionTrait,
    outbound: &Outbound,
    tenant_id: TenantId,
    request: &StartRequest,
) -> Result<Option<(StartOutcome, bool)>, DbErr> {
    // Stamped once the write lock is held.
    let (row, started) = new_assessment(tenant_id, request);
    let now = row.created_at_ms;
    if !assessments::insert_unless_open(txn, &row).await? {
        let open = already_open(txn, tenant_id, request).await?;
        return Ok(open.map(|outcome| (outcome, false)));
    }
    let mut enqueued = false;
    for emission in &started.emissions {
        enqueued |= transition::enqueue(txn, outbound, &row, emission, now, now).await?;
    }
    let outcome = StartOutcome {
        assessment: row,
        created: true,
    };
    Ok(Some((outcome, enqueued)))
}

/// PostgreSQL: a new start written, or the open assessment it repeats read, in one
/// statement of its own (see [`assessments::start_in_one_statement`]); answers as
/// [`write_one`] does.
async fn write_in_one_statement(
    db: &DatabaseConnection,
    outbound: &Outbound,
    tenant_id: TenantId,
    request: &StartRequest,
) -> Result<Option<(StartOutcome, bool)>, DbErr> {
    let (row, started) = new_assessment(tenant_id, request);
    // A start's deliveries take their place in line at its creation.
    let at = row.created_at_ms;
    let outbox = started
        .emissions
        .iter()
        .filter_map(|emission| transition::outbox_row(outbound, &row, emission, at, at).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let enqueued = !outbox.is_empty();
    let outcome = match assessments::start_in_one_statement(db, &row, outbox, at).await? {
        StartWritten::Inserted => {
            let created = StartOutcome {
                assessment: row,
                created: true,
            };
            Some((created, enqueued))
        }
        StartWritten::AlreadyOpen(assessment) => {
            let open = StartOutcome {
                assessment: *assessment,
                created: false,
            };
            Some((open, false))
        }
        StartWritten::Collided => None,
    };
    Ok(outcome)
}

/// How often to retry when the open assessment a conflict pointed at ended meanwhile.
const MAX_ATTEMPTS: usize = 3;

/// Starts an assessment, idempotently (PostgreSQL): while the tenant has an open
/// assessment for the same application and type, answers that one and changes nothing;
/// else writes a new one with its `assessment.started` webhook — either in one statement
/// ([`write_in_one_statement`]).
///
/// # Errors
/// Database errors.
pub(super) async fn start_assessment(
    db: &DatabaseConnection,
    outbound: &Outbound,
    tenant_id: TenantId,
    request: &StartRequest,
) -> Result<StartOutcome, DbErr> {
    for _ in 0..MAX_ATTEMPTS {
        let written = write_in_one_statement(db, outbound, tenant_id, request).await?;
        if let Some((outcome, enqueued)) = written {
            outbound.committed(enqueued);
            return Ok(outcome);
        }
        // The open assessment we collided with became terminal in between: a retake.
    }
    Err(DbErr::Custom(
        "assessment.start kept colliding with concurrent changes".into(),
    ))
}
