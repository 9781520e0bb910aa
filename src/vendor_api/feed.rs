//! `GET /v1/assessments`: every assessment by last update, oldest first, in pages. Polling
//! with the last non-null `next_cursor` yields what changed since; an empty page means
//! caught up. Changes younger than `vendor.feed_delay_ms` are not served yet. A page holds
//! at most `limit` assessments and stops early at `limits.feed_page_max_bytes`.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};

use super::dto::{AssessmentPage, ErrorBody};
use super::paging;
use super::{Access, VendorCaller, VendorError};
use crate::domain::lifecycle::AssessmentStatus;
use crate::representation::{self, Assessment};
use crate::state::AppState;
use crate::store::assessments::{self, FeedFilter};

/// Every assessment by last update, oldest first. Page with `next_cursor` until a page is
/// empty; keep the last cursor and poll with it for what changes next.
#[utoipa::path(get, path = "/v1/assessments",
    params(
        ("status" = Option<String>, Query, description = "started, in_progress, completed, cancelled or expired"),
        ("tenant_id" = Option<Uuid>, Query),
        ("updated_after" = Option<String>, Query, description = "RFC 3339"),
        ("candidate_email" = Option<String>, Query, description = "the candidate's email (any case)"),
        ("application_id" = Option<String>, Query, description = "Ashby's application id"),
        ("limit" = Option<u64>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "a next_cursor from an earlier page"),
    ),
    responses(
        (status = 200, body = AssessmentPage),
        (status = 401, body = ErrorBody),
        (status = 403, description = "the token's scope does not allow it", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn list(
    caller: VendorCaller,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VendorError> {
    caller.require(Access::ReadAssessments)?;
    let (mut filter, limit) = parse_query(&query).map_err(VendorError::invalid)?;
    // Changes are stamped before their transaction commits; one stamped earlier can
    // commit later. Serving only settled changes means a poller never steps past one.
    let delay = i64::try_from(state.settings.vendor.feed_delay_ms).unwrap_or(i64::MAX / 4);
    filter.updated_until_ms = Some(crate::store::now_ms() - delay);
    let rows = assessments::feed(&state.db, &filter, limit).await?;
    let data = rows
        .iter()
        .map(|row| representation::assessment(row, &state.outbound.candidate_links))
        .collect();
    let data = within_budget(data, state.settings.limits.feed_page_max_bytes);
    // Whenever the page has rows, the cursor after the last one served: keep it, and poll
    // with it for what changes next. An empty page (null cursor) means "caught up".
    let next_cursor = data
        .len()
        .checked_sub(1)
        .and_then(|last| rows.get(last))
        .map(|last| paging::encode(last.updated_at_ms, last.id.0));
    Ok(HttpResponse::Ok().json(AssessmentPage { data, next_cursor }))
}

/// Room kept for the page around its rows: `{"data":[`, `],"next_cursor":"…"}`.
const PAGE_OVERHEAD_BYTES: usize = 256;

/// The leading assessments whose JSON fits in `max_bytes` (at least one, so paging always
/// moves on): a page of 200 large start requests would otherwise be tens of megabytes.
fn within_budget(mut data: Vec<Assessment>, max_bytes: usize) -> Vec<Assessment> {
    let mut used = PAGE_OVERHEAD_BYTES;
    let mut keep = 0;
    for item in &data {
        // One comma between items; a row that cannot be measured counts as too large.
        used = used.saturating_add(serde_json::to_vec(item).map_or(usize::MAX, |b| b.len() + 1));
        if keep > 0 && used > max_bytes {
            break;
        }
        keep += 1;
    }
    data.truncate(keep);
    data
}

fn parse_query(query: &HashMap<String, String>) -> Result<(FeedFilter, u64), String> {
    const KNOWN: [&str; 7] = [
        "status",
        "tenant_id",
        "updated_after",
        "candidate_email",
        "application_id",
        "limit",
        "cursor",
    ];
    paging::reject_unknown(query, &KNOWN)?;
    let mut filter = FeedFilter::default();
    if let Some(status) = query.get("status") {
        filter.status = Some(AssessmentStatus::parse(status).ok_or_else(|| {
            format!("status must be one of started, in_progress, completed, cancelled, expired (got {status:?})")
        })?);
    }
    if let Some(tenant) = query.get("tenant_id") {
        filter.tenant_id = Some(
            tenant
                .parse()
                .map_err(|_| format!("tenant_id must be a UUID (got {tenant:?})"))?,
        );
    }
    if let Some(after) = query.get("updated_after") {
        let at = chrono::DateTime::parse_from_rfc3339(after)
            .map_err(|_| format!("updated_after must be an RFC 3339 timestamp (got {after:?})"))?;
        filter.updated_after_ms = Some(at.timestamp_millis());
    }
    if let Some(email) = query.get("candidate_email") {
        let email = email.trim();
        if email.is_empty() || email.len() > 320 {
            return Err("candidate_email must be an email address".into());
        }
        filter.candidate_email = Some(email.to_owned());
    }
    if let Some(application) = query.get("application_id") {
        let application = application.trim();
        if application.is_empty() || application.len() > 200 {
            return Err("application_id must be Ashby's application id".into());
        }
        filter.application_id = Some(application.to_owned());
    }
    filter.after = paging::cursor(query)?;
    let limit = paging::limit(query)?;
    Ok((filter, limit))
}
