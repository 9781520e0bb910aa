//! Assessments: idempotent creation, tenant-scoped lookups, recorded transitions.

use entity::assessment;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, QueryFilter as _,
    QuerySelect as _, TryInsertResult,
};

use crate::domain::ids::{AssessmentId, AssessmentTypeId, TenantId};
use crate::domain::lifecycle::{AssessmentStatus, HistoryEntry, Transition};

/// The statuses in which an assessment is open (not terminal): must match the partial
/// unique index `ux_assessments_open_start`.
const OPEN_STATUSES: [AssessmentStatus; 2] =
    [AssessmentStatus::Started, AssessmentStatus::InProgress];

/// Inserts `row` unless the tenant already has an open assessment for the same
/// application and type (the partial unique index decides, atomically, so concurrent
/// identical starts cannot both insert). Returns whether it was inserted.
///
/// # Errors
/// Database errors.
pub async fn insert_unless_open(
    db: &impl ConnectionTrait,
    row: assessment::Model,
) -> Result<bool, DbErr> {
    let inserted = assessment::Entity::insert(assessment::ActiveModel::from(row))
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .try_insert()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(n) if n > 0))
}

/// The tenant's open assessment for an application and type, if any.
///
/// # Errors
/// Database errors.
pub async fn find_open(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    application_ashby_id: &str,
    assessment_type_id: AssessmentTypeId,
) -> Result<Option<assessment::Model>, DbErr> {
    assessment::Entity::find()
        .filter(assessment::Column::TenantId.eq(tenant_id.0))
        .filter(assessment::Column::ApplicationAshbyId.eq(application_ashby_id))
        .filter(assessment::Column::AssessmentTypeId.eq(assessment_type_id.0))
        .filter(assessment::Column::Status.is_in(OPEN_STATUSES.map(AssessmentStatus::as_str)))
        .one(db)
        .await
}

/// One of the tenant's assessments, locked for update where the database can (inside a
/// write transaction on SQLite the whole database already is). Another tenant's
/// assessment is not found.
///
/// # Errors
/// Database errors.
pub async fn find_for_update(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    id: AssessmentId,
) -> Result<Option<assessment::Model>, DbErr> {
    assessment::Entity::find_by_id(id.0)
        .filter(assessment::Column::TenantId.eq(tenant_id.0))
        .lock_exclusive()
        .one(db)
        .await
}

/// Any tenant's assessment, locked for update (the vendor API spans tenants).
///
/// # Errors
/// Database errors.
pub async fn find_any_for_update(
    db: &impl ConnectionTrait,
    id: AssessmentId,
) -> Result<Option<assessment::Model>, DbErr> {
    assessment::Entity::find_by_id(id.0)
        .lock_exclusive()
        .one(db)
        .await
}

/// Any tenant's assessment.
///
/// # Errors
/// Database errors.
pub async fn find_any(
    db: &impl ConnectionTrait,
    id: AssessmentId,
) -> Result<Option<assessment::Model>, DbErr> {
    assessment::Entity::find_by_id(id.0).one(db).await
}

/// The row changes of one transition, beyond status and history.
#[derive(Debug, Default)]
pub struct TransitionData {
    /// The last update timestamp allocated (for the deliveries of this transition).
    pub last_update_ms: Option<i64>,
    pub result: Option<serde_json::Value>,
    pub profile_url: Option<String>,
    pub metadata: Option<serde_json::Value>,
    pub terminal_event: Option<serde_json::Value>,
}

/// Writes a transition decided by the lifecycle: the new status, one more history
/// entry, and whatever data came with it. Call it in the transaction that read
/// `current` with [`find_for_update`].
///
/// # Errors
/// Database errors, or a history column that is not a JSON array.
pub async fn record_transition(
    db: &impl ConnectionTrait,
    current: &assessment::Model,
    transition: &Transition,
    data: TransitionData,
    now_ms: i64,
) -> Result<assessment::Model, DbErr> {
    let mut history = parse_history(&current.history)?;
    history.push(transition.history.clone());
    let history = super::json_column(&history)?;
    let mut row: assessment::ActiveModel = current.clone().into();
    row.status = Set(transition.to.as_str().to_owned());
    row.history = Set(history);
    row.updated_at_ms = Set(now_ms.max(current.updated_at_ms));
    if let Some(last) = data.last_update_ms {
        row.last_update_ms = Set(last);
    }
    if let Some(result) = data.result {
        row.result = Set(Some(result));
    }
    if let Some(url) = data.profile_url {
        row.profile_url = Set(Some(url));
    }
    if let Some(metadata) = data.metadata {
        row.metadata = Set(Some(metadata));
    }
    if let Some(event) = data.terminal_event {
        row.terminal_event = Set(Some(event));
    }
    assessment::Entity::update(row).exec(db).await
}

/// The stored status, parsed.
///
/// # Errors
/// A status the lifecycle does not know (the database was edited by hand).
pub fn status_of(row: &assessment::Model) -> Result<AssessmentStatus, DbErr> {
    AssessmentStatus::parse(&row.status)
        .ok_or_else(|| DbErr::Type(format!("unknown assessment status {:?}", row.status)))
}

/// The stored history, parsed.
///
/// # Errors
/// A history column that is not a list of entries.
pub fn parse_history(history: &serde_json::Value) -> Result<Vec<HistoryEntry>, DbErr> {
    serde_json::from_value(history.clone()).map_err(|e| DbErr::Json(e.to_string()))
}

/// Filters for the vendor API's assessment feed.
#[derive(Debug, Default, Clone)]
pub struct FeedFilter {
    pub status: Option<AssessmentStatus>,
    pub tenant_id: Option<TenantId>,
    /// Only assessments updated strictly after this instant.
    pub updated_after_ms: Option<i64>,
    /// Resume after this (updated_at_ms, id) position.
    pub after: Option<(i64, uuid::Uuid)>,
    /// Only assessments updated at or before this instant (the settled part of the feed).
    pub updated_until_ms: Option<i64>,
}

/// Assessments by last update, oldest first, then by id: a stable feed that a vendor can
/// page through and poll for changes.
///
/// # Errors
/// Database errors.
pub async fn feed(
    db: &impl ConnectionTrait,
    filter: &FeedFilter,
    limit: u64,
) -> Result<Vec<assessment::Model>, DbErr> {
    use sea_orm::{Condition, QueryOrder as _};
    let mut query = assessment::Entity::find();
    if let Some(status) = filter.status {
        query = query.filter(assessment::Column::Status.eq(status.as_str()));
    }
    if let Some(tenant_id) = filter.tenant_id {
        query = query.filter(assessment::Column::TenantId.eq(tenant_id.0));
    }
    if let Some(after) = filter.updated_after_ms {
        query = query.filter(assessment::Column::UpdatedAtMs.gt(after));
    }
    if let Some(until) = filter.updated_until_ms {
        query = query.filter(assessment::Column::UpdatedAtMs.lte(until));
    }
    if let Some((updated_at_ms, id)) = filter.after {
        query = query.filter(
            Condition::any()
                .add(assessment::Column::UpdatedAtMs.gt(updated_at_ms))
                .add(
                    Condition::all()
                        .add(assessment::Column::UpdatedAtMs.eq(updated_at_ms))
                        .add(assessment::Column::Id.gt(id)),
                ),
        );
    }
    query
        .order_by_asc(assessment::Column::UpdatedAtMs)
        .order_by_asc(assessment::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
