//! Assessments: idempotent creation, tenant-scoped lookups, recorded transitions.

use std::collections::HashMap;

use entity::assessment;
use sea_orm::sea_query::{
    Alias, CommonTableExpression, Condition, Expr, ExprTrait as _, InsertStatement, JoinType,
    OnConflict, PostgresQueryBuilder, Query, WithClause,
};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, DbBackend, DbErr, EntityTrait as _,
    FromQueryResult as _, Iterable as _, QueryFilter as _, QuerySelect as _, QueryTrait as _,
    Statement, TryInsertResult,
};
use uuid::Uuid;

use crate::domain::assessment::Assessment;
use crate::domain::ids::{AssessmentId, AssessmentTypeId, TenantId};
use crate::domain::status::AssessmentStatus;
use crate::store::deliveries::{self, NewDelivery};
use crate::store::unique_row;

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
    new: &Assessment,
) -> Result<bool, DbErr> {
    let inserted = assessment::Entity::insert(assessment::ActiveModel::from(encode(new)?))
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .try_insert()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(n) if n > 0))
}

/// What [`start_in_one_statement`] did.
#[derive(Debug)]
pub enum StartWritten {
    /// The assessment was inserted, with its outbox rows.
    Inserted,
    /// Nothing was written: the tenant already has this open assessment for the same
    /// application and type.
    AlreadyOpen(Box<Assessment>),
    /// Nothing was written, and the open assessment the insert collided with is not in
    /// the statement's snapshot (it committed meanwhile) or is no longer open: ask again.
    Collided,
}

/// [`insert_unless_open`] with the new assessment's outbox rows, and the read of the open
/// assessment a retry refers to, in one statement (PostgreSQL only: SQLite has no inserts
/// in common table expressions). Run outside a transaction it is its own: one round trip
/// for a new start where the read before it, `BEGIN`, two inserts and `COMMIT` took five,
/// and one for a repeated start. Each outbox row is inserted once per row the assessment's
/// insert returns — once if it was inserted, never if it collided — so the outbox still
/// commits with the change or not at all.
///
/// # Errors
/// Database errors.
pub async fn start_in_one_statement(
    db: &impl ConnectionTrait,
    new: &Assessment,
    outbox: Vec<NewDelivery>,
    now_ms: i64,
) -> Result<StartWritten, DbErr> {
    const INSERTED: &str = "inserted_assessment";
    const OPEN: &str = "open_assessment";
    let mut insert = assessment::Entity::insert(assessment::ActiveModel::from(encode(new)?))
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .into_query();
    insert.returning_col(assessment::Column::Id);
    let mut with = WithClause::new();
    with.cte(named_cte(INSERTED, insert));
    for (n, row) in outbox.into_iter().enumerate() {
        let outbox_insert = deliveries::insert_per_row_of(INSERTED, row, now_ms)?;
        with.cte(named_cte(&format!("outbox_{n}"), outbox_insert));
    }
    // One row whatever happened: whether the insert wrote, and the open assessment for
    // the same application and type as the statement's snapshot has it (none if it wrote).
    let open = |column: assessment::Column| Expr::col((Alias::new(OPEN), column));
    let mut answer = Query::select();
    answer
        .expr_as(
            Expr::cust(format!(r#"(SELECT COUNT(*) FROM "{INSERTED}")"#)),
            Alias::new("inserted_count"),
        )
        .columns(assessment::Column::iter().map(|column| (Alias::new(OPEN), column)))
        .from_values([1_i32], Alias::new("one_row"))
        .join_as(
            JoinType::LeftJoin,
            assessment::Entity,
            Alias::new(OPEN),
            Condition::all()
                .add(open(assessment::Column::TenantId).eq(new.tenant_id.0))
                .add(open(assessment::Column::ApplicationAshbyId).eq(&new.application_ashby_id))
                .add(open(assessment::Column::AssessmentTypeId).eq(new.assessment_type_id.0))
                // A literal, as in `is_open`: the partial unique index's predicate.
                .add(Expr::cust(format!(
                    r#""{OPEN}"."status" IN ({})"#,
                    open_statuses_literal()
                ))),
        );
    let (sql, values) = with.query(answer).build(PostgresQueryBuilder);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the answer of a start statement".into()))?;
    if row.try_get::<i64>("", "inserted_count")? > 0 {
        return Ok(StartWritten::Inserted);
    }
    if row.try_get::<Option<Uuid>>("", "id")?.is_none() {
        return Ok(StartWritten::Collided);
    }
    let open = decode(assessment::Model::from_query_result(&row, "")?)?;
    Ok(StartWritten::AlreadyOpen(Box::new(open)))
}

fn named_cte(name: &str, insert: InsertStatement) -> CommonTableExpression {
    CommonTableExpression::new()
        .query(insert)
        .table_name(Alias::new(name))
        .to_owned()
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
) -> Result<Option<Assessment>, DbErr> {
    let select = assessment::Entity::find()
        .filter(assessment::Column::TenantId.eq(tenant_id.0))
        .filter(assessment::Column::ApplicationAshbyId.eq(application_ashby_id))
        .filter(assessment::Column::AssessmentTypeId.eq(assessment_type_id.0))
        .filter(is_open());
    unique_row(select, db).await?.map(decode).transpose()
}

/// `status IN ('started', 'in_progress')`, written out rather than bound: the planner
/// compares it with the partial index's condition, and on SQLite comparing a bound value
/// ties the prepared statement to it, so each new binding would make the next call parse
/// and plan it again (as a bound LIMIT does, see [`unique_row`]). Our own constants only.
fn is_open() -> sea_orm::sea_query::Expr {
    sea_orm::sea_query::Expr::cust(format!("status IN ({})", open_statuses_literal()))
}

/// [`OPEN_STATUSES`] as an SQL list of literals: a bound parameter would keep the planner
/// from matching the partial unique index's predicate.
fn open_statuses_literal() -> String {
    OPEN_STATUSES
        .map(|status| format!("'{}'", status.as_str()))
        .join(", ")
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
) -> Result<Option<Assessment>, DbErr> {
    unique_row(
        assessment::Entity::find_by_id(id.0)
            .filter(assessment::Column::TenantId.eq(tenant_id.0))
            .lock_exclusive(),
        db,
    )
    .await?
    .map(decode)
    .transpose()
}

/// Any tenant's assessment, locked for update (the vendor API spans tenants).
///
/// # Errors
/// Database errors.
pub async fn find_any_for_update(
    db: &impl ConnectionTrait,
    id: AssessmentId,
) -> Result<Option<Assessment>, DbErr> {
    unique_row(assessment::Entity::find_by_id(id.0).lock_exclusive(), db)
        .await?
        .map(decode)
        .transpose()
}

/// Any tenant's assessment.
///
/// # Errors
/// Database errors.
pub async fn find_any(
    db: &impl ConnectionTrait,
    id: AssessmentId,
) -> Result<Option<Assessment>, DbErr> {
    unique_row(assessment::Entity::find_by_id(id.0), db)
        .await?
        .map(decode)
        .transpose()
}

/// The start requests of the assessments of `ids` that exist, by id: what a vendor
/// webhook's stored body leaves out.
///
/// # Errors
/// Database errors.
pub async fn start_requests(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, serde_json::Value>, DbErr> {
    let rows: Vec<(Uuid, serde_json::Value)> = assessment::Entity::find()
        .select_only()
        .column(assessment::Column::Id)
        .column(assessment::Column::StartRequest)
        .filter(assessment::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Open assessments last changed at or before `before_ms`, oldest first: candidates for
/// expiry (the caller re-checks each under a lock).
///
/// # Errors
/// Database errors.
pub async fn open_not_updated_since(
    db: &impl ConnectionTrait,
    before_ms: i64,
    limit: u64,
) -> Result<Vec<AssessmentId>, DbErr> {
    use sea_orm::QueryOrder as _;
    let ids: Vec<uuid::Uuid> = assessment::Entity::find()
        .select_only()
        .column(assessment::Column::Id)
        .filter(assessment::Column::Status.is_in(OPEN_STATUSES.map(AssessmentStatus::as_str)))
        .filter(assessment::Column::UpdatedAtMs.lte(before_ms))
        .order_by_asc(assessment::Column::UpdatedAtMs)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().map(AssessmentId).collect())
}

/// Writes what changes over an assessment's life (status, history, results, timestamps);
/// call it in the transaction that read the assessment with [`find_for_update`].
///
/// # Errors
/// Database errors.
pub async fn update(db: &impl ConnectionTrait, changed: &Assessment) -> Result<(), DbErr> {
    let row = encode(changed)?;

    // Identity and the start request never change: leave them out of the statement.
    let mut active = assessment::ActiveModel::from(row).reset_all();
    for unchanged in [
        assessment::Column::TenantId,
        assessment::Column::AssessmentTypeId,
        assessment::Column::ApplicationAshbyId,
        assessment::Column::CandidateAshbyId,
        assessment::Column::StartRequest,
        assessment::Column::CreatedAtMs,
    ] {
        active.not_set(unchanged);
    }
    assessment::Entity::update(active).exec(db).await.map(drop)
}

/// The row of an assessment: the one place its columns are encoded.
fn encode(a: &Assessment) -> Result<assessment::Model, DbErr> {
    Ok(assessment::Model {
        id: a.id.0,
        tenant_id: a.tenant_id.0,
        assessment_type_id: a.assessment_type_id.0,
        application_ashby_id: a.application_ashby_id.clone(),
        candidate_ashby_id: a.candidate_ashby_id.clone(),
        status: a.status.as_str().to_owned(),
        start_request: a.start_request.clone(),
        result: a.result.as_ref().map(super::json_column).transpose()?,
        profile_url: a.profile_url.clone(),
        metadata: (!a.metadata.is_empty())
            .then(|| super::json_column(&a.metadata))
            .transpose()?,
        history: super::json_column(&a.history)?,
        last_update_ms: a.last_update_ms,
        terminal_event: a
            .terminal_event
            .as_ref()
            .map(super::json_column)
            .transpose()?,
        created_at_ms: a.created_at_ms,
        updated_at_ms: a.updated_at_ms,
        candidate_email: candidate_email(&a.start_request),
    })
}

/// The start request's `candidate.email`, lower-cased, as the lookup column holds it.
fn candidate_email(start_request: &serde_json::Value) -> Option<String> {
    start_request
        .get("candidate")?
        .get("email")?
        .as_str()
        .map(str::to_lowercase)
}

/// The one place a stored assessment is decoded. A column that does not decode (the
/// database was edited by hand, say) is [`super::unreadable`], not a connection problem.
fn decode(row: assessment::Model) -> Result<Assessment, DbErr> {
    let what = |column: &str| format!("assessment {} column {column}", row.id);
    Ok(Assessment {
        status: AssessmentStatus::parse(&row.status)
            .ok_or_else(|| super::unreadable(what("status"), &row.status))?,
        result: row
            .result
            .map(|v| super::from_json_column(v, || what("result")))
            .transpose()?,
        metadata: row
            .metadata
            .map(|v| super::from_json_column(v, || what("metadata")))
            .transpose()?
            .unwrap_or_default(),
        history: super::from_json_column(row.history, || what("history"))?,
        terminal_event: row
            .terminal_event
            .map(|v| super::from_json_column(v, || what("terminal_event")))
            .transpose()?,
        id: AssessmentId(row.id),
        tenant_id: TenantId(row.tenant_id),
        assessment_type_id: AssessmentTypeId(row.assessment_type_id),
        application_ashby_id: row.application_ashby_id,
        candidate_ashby_id: row.candidate_ashby_id,
        start_request: row.start_request,
        profile_url: row.profile_url,
        last_update_ms: row.last_update_ms,
        created_at_ms: row.created_at_ms,
        updated_at_ms: row.updated_at_ms,
    })
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
    /// Only the candidate with this email (compared lower-cased).
    pub candidate_email: Option<String>,
    /// Only this application (`application.ashby_id`).
    pub application_id: Option<String>,
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
) -> Result<Vec<Assessment>, DbErr> {
    use sea_orm::{Condition, QueryOrder as _};
    let mut query = assessment::Entity::find();
    if let Some(status) = filter.status {
        query = query.filter(assessment::Column::Status.eq(status.as_str()));
    }
    if let Some(tenant_id) = filter.tenant_id {
        query = query.filter(assessment::Column::TenantId.eq(tenant_id.0));
    }
    if let Some(email) = &filter.candidate_email {
        query = query.filter(assessment::Column::CandidateEmail.eq(email.to_lowercase()));
    }
    if let Some(application) = &filter.application_id {
        query = query.filter(assessment::Column::ApplicationAshbyId.eq(application.as_str()));
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
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// Every assessment of a candidate in a tenant, locked for update, oldest first.
///
/// # Errors
/// Database errors.
pub async fn of_candidate_for_update(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    candidate_ashby_id: &str,
) -> Result<Vec<Assessment>, DbErr> {
    use sea_orm::QueryOrder as _;
    assessment::Entity::find()
        .filter(assessment::Column::TenantId.eq(tenant_id.0))
        .filter(assessment::Column::CandidateAshbyId.eq(candidate_ashby_id))
        .order_by_asc(assessment::Column::CreatedAtMs)
        .order_by_asc(assessment::Column::Id)
        .lock_exclusive()
        .all(db)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// The open assessments of an application in a tenant, locked for update.
///
/// # Errors
/// Database errors.
pub async fn open_of_application_for_update(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    application_ashby_id: &str,
) -> Result<Vec<Assessment>, DbErr> {
    use sea_orm::QueryOrder as _;
    assessment::Entity::find()
        .filter(assessment::Column::TenantId.eq(tenant_id.0))
        .filter(assessment::Column::ApplicationAshbyId.eq(application_ashby_id))
        .filter(assessment::Column::Status.is_in(OPEN_STATUSES.map(AssessmentStatus::as_str)))
        .order_by_asc(assessment::Column::CreatedAtMs)
        .order_by_asc(assessment::Column::Id)
        .lock_exclusive()
        .all(db)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}

/// Rewrites who an assessment is about: the candidate's Ashby id and the stored start
/// request (an erasure or a merge — the only reasons either ever changes), and the email
/// lookup column derived from it (an erased candidate's email must not stay behind, even
/// on a terminal assessment that no later update rewrites).
///
/// # Errors
/// Database errors.
pub async fn set_candidate(db: &impl ConnectionTrait, changed: &Assessment) -> Result<(), DbErr> {
    use sea_orm::ActiveValue::Set;
    let row = assessment::ActiveModel {
        id: Set(changed.id.0),
        candidate_ashby_id: Set(changed.candidate_ashby_id.clone()),
        start_request: Set(changed.start_request.clone()),
        candidate_email: Set(candidate_email(&changed.start_request)),
        ..Default::default()
    };
    assessment::Entity::update(row).exec(db).await.map(drop)
}

/// What an operator looks assessments up by (the console's search, a tenant's page).
#[derive(Debug, Clone)]
pub enum Lookup {
    /// The candidate's email, any case.
    CandidateEmail(String),
    /// An id as pasted from Ashby or a log: the assessment's own id, or Ashby's
    /// application id (both are UUIDs, so one text may be either).
    Id(String),
    /// Every assessment of a tenant.
    Tenant(TenantId),
}

/// Assessments matching `lookup`, newest first (then by id), at most `limit`.
///
/// # Errors
/// Database errors.
pub async fn lookup(
    db: &impl ConnectionTrait,
    lookup: &Lookup,
    limit: u64,
) -> Result<Vec<Assessment>, DbErr> {
    use sea_orm::{Condition, QueryOrder as _};
    let condition = match lookup {
        Lookup::CandidateEmail(email) => {
            Condition::all().add(assessment::Column::CandidateEmail.eq(email.to_lowercase()))
        }
        Lookup::Id(text) => {
            let by_application = assessment::Column::ApplicationAshbyId.eq(text.as_str());
            match text.parse::<uuid::Uuid>() {
                Ok(id) => Condition::any()
                    .add(assessment::Column::Id.eq(id))
                    .add(by_application),
                Err(_) => Condition::all().add(by_application),
            }
        }
        Lookup::Tenant(tenant) => Condition::all().add(assessment::Column::TenantId.eq(tenant.0)),
    };
    assessment::Entity::find()
        .filter(condition)
        .order_by_desc(assessment::Column::CreatedAtMs)
        .order_by_desc(assessment::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(decode)
        .collect()
}
