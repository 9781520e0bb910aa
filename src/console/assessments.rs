//! Assessments: the search (`GET /console/assessments?q=`) by candidate email,
//! application id or assessment id, and one assessment's timeline.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde_json::Value;

use super::chrome;
use super::error::ConsoleError;
use super::forms::Fields;
use super::layout::{
    Chrome, Nav, action_button, assessment_status, delivery_status, page, respond, when,
};
use super::session::Session;
use super::tenants::tenant_link;
use crate::domain::assessment::Assessment;
use crate::domain::delivery::{Attempt, Delivery, DeliveryStatus};
use crate::domain::erasure::is_erased;
use crate::domain::ids::AssessmentId;
use crate::service::{self, AssessmentQuery, Timeline};
use crate::state::AppState;

/// Hits shown for one search.
const HITS: u64 = 50;

/// The candidate's name as Ashby sent it (escaped when rendered, like everything).
pub fn candidate_name(assessment: &Assessment) -> String {
    let candidate = assessment.start_part("candidate");
    if is_erased(&candidate) {
        return "Erased candidate".into();
    }
    let part = |name: &str| {
        candidate
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let name = format!("{} {}", part("first_name"), part("last_name"))
        .trim()
        .to_owned();
    if name.is_empty() {
        format!("Candidate {}", assessment.candidate_ashby_id)
    } else {
        name
    }
}

pub fn candidate_email(assessment: &Assessment) -> Option<String> {
    assessment
        .start_part("candidate")
        .get("email")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A link to an assessment's timeline, named by its candidate.
pub fn assessment_link(assessment: &Assessment) -> Markup {
    html! {
        a.assessment-link href={"/console/assessments/" (assessment.id.0)} { (candidate_name(assessment)) }
    }
}

pub async fn search(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let mut chrome = chrome(&session, &state, &query, Nav::Assessments);
    let text = query.get("q").cloned().unwrap_or_default();
    chrome.search.clone_from(&text);
    let (status, body) = match AssessmentQuery::parse(&text) {
        Err(message) => (
            StatusCode::BAD_REQUEST,
            html! { h1 { "Assessments" } p.error { (message) } },
        ),
        Ok(None) => (
            StatusCode::OK,
            html! {
                h1 { "Assessments" }
                p.empty {
                    "Find an assessment by the candidate's email, Ashby's application id or the assessment's id: "
                    "type it in the search box above."
                }
            },
        ),
        Ok(Some(parsed)) => {
            let hits = service::search_assessments(&state.db, &parsed, HITS).await?;
            let now = chrome.now_ms;
            (
                StatusCode::OK,
                html! {
                    h1 { "Assessments" }
                    p.muted { (hits.len()) " found for “" (text.trim()) "”" @if hits.len() as u64 == HITS { " (the newest " (HITS) ")" } "." }
                    @if hits.is_empty() {
                        p.empty {
                            "Nothing matches. An email matches in full (any case); an id matches an assessment id "
                            "or Ashby's application id in full."
                        }
                    } @else {
                        div.table { table {
                            thead { tr {
                                th { "Candidate" } th { "Email" } th { "Tenant" } th { "Status" }
                                th { "Application" } th { "Started" } th { "Updated" }
                            } }
                            tbody {
                                @for hit in &hits {
                                    @let a = &hit.assessment;
                                    tr {
                                        td { (assessment_link(a)) }
                                        td { (candidate_email(a).unwrap_or_default()) }
                                        td {
                                            @match &hit.tenant_name {
                                                Some(name) => a href={"/console/tenants/" (a.tenant_id.0)} { (name) },
                                                None => span.muted { "deleted" },
                                            }
                                        }
                                        td { (assessment_status(a.status)) }
                                        td { code { (a.application_ashby_id) } }
                                        td { (when(a.created_at_ms, now)) }
                                        td { (when(a.updated_at_ms, now)) }
                                    }
                                }
                            }
                        } }
                    }
                },
            )
        }
    };
    Ok(respond(status, page("Assessments", Some(&chrome), body)))
}

pub async fn timeline(
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let chrome = chrome(&session, &state, &query, Nav::Assessments);
    let not_found =
        || ConsoleError::NotFound(format!("There is no assessment {:?}.", path.as_str()));
    let id: AssessmentId = path.parse().map_err(|_| not_found())?;
    let timeline = service::assessment_timeline(&state.db, &state.catalog, id)
        .await?
        .ok_or_else(not_found)?;
    let title = format!("Assessment for {}", candidate_name(&timeline.assessment));
    let body = timeline_page(&chrome, &timeline, &title);
    Ok(respond(StatusCode::OK, page(&title, Some(&chrome), body)))
}

fn timeline_page(chrome: &Chrome<'_>, timeline: &Timeline, title: &str) -> Markup {
    let a = &timeline.assessment;
    let now = chrome.now_ms;
    let here = format!("/console/assessments/{}", a.id.0);
    let start_request = serde_json::to_string_pretty(&a.start_request)
        .unwrap_or_else(|_| a.start_request.to_string());
    let job = a.start_part("job");
    html! {
        div.heading {
            h1 { (title) }
            (assessment_status(a.status))
        }
        dl.facts {
            dt { "Assessment" } dd { code { (a.id.0) } }
            dt { "Tenant" }
            dd {
                @match &timeline.tenant {
                    Some(tenant) => (tenant_link(tenant)),
                    None => span.muted { "deleted" },
                }
            }
            dt { "Type" } dd { (timeline.type_name.as_deref().unwrap_or("—")) " " code { (a.assessment_type_id.0) } }
            dt { "Candidate email" } dd { (candidate_email(a).unwrap_or_else(|| "—".into())) }
            dt { "Candidate (Ashby id)" } dd { code { (a.candidate_ashby_id) } }
            dt { "Application (Ashby id)" } dd { code { (a.application_ashby_id) } }
            @if let Some(job) = job.get("name").and_then(Value::as_str) {
                dt { "Job" } dd { (job) }
            }
            dt { "Started" } dd { (when(a.created_at_ms, now)) }
            dt { "Last change" } dd { (when(a.updated_at_ms, now)) }
            @if let Some(url) = &a.profile_url {
                dt { "Result page" }
                dd {
                    // Only web addresses become links: a stored `javascript:` stays text.
                    @if url.starts_with("https://") || url.starts_with("http://") {
                        a href=(url) rel="noreferrer noopener" { (url) }
                    } @else {
                        (url)
                    }
                }
            }
        }

        section {
            h2 { "Status changes" }
            @if a.history.is_empty() {
                p.empty { "No status change recorded." }
            } @else {
                ol.history {
                    @for entry in &a.history {
                        li {
                            (assessment_status(entry.status))
                            " by " strong.source { (source_name(entry.source)) }
                            " · " (when(entry.at_ms, now))
                        }
                    }
                }
            }
        }

        section {
            h2 { "Deliveries" }
            @if timeline.deliveries.is_empty() {
                p.empty { "Nothing has been sent for this assessment (vendor webhooks are only queued when vendor.webhook_url is set)." }
            }
            @for (delivery, attempts) in &timeline.deliveries {
                (delivery_block(chrome, delivery, attempts, &here))
            }
        }

        @if let Some(result) = &a.result {
            section {
                h2 { "Result" }
                pre.json { (serde_json::to_string_pretty(result).unwrap_or_default()) }
            }
        }

        section {
            h2 { "What Ashby sent" }
            p.muted { "The assessment.start request as received (after erasure, if the candidate was erased)." }
            pre.json { (start_request) }
        }
    }
}

fn source_name(source: crate::domain::lifecycle::Source) -> &'static str {
    use crate::domain::lifecycle::Source;
    match source {
        Source::Ashby => "Ashby",
        Source::Vendor => "the vendor",
        Source::System => "the system",
    }
}

/// One delivery with its attempts, and retry/dismiss when it is dead.
pub fn delivery_block(
    chrome: &Chrome<'_>,
    delivery: &Delivery,
    attempts: &[Attempt],
    back: &str,
) -> Markup {
    let now = chrome.now_ms;
    let id = delivery.id.0;
    let payload = serde_json::to_string_pretty(&delivery.payload).unwrap_or_default();
    html! {
        div.delivery id={"delivery-" (id)} {
            div.delivery-head {
                (delivery_status(delivery.status))
                " " strong { (delivery.kind.as_str()) }
                " · " (attempts.len()) " attempt(s)"
                " · queued " (when(delivery.created_at_ms, now))
                @if let Some(at) = delivery.delivered_at_ms {
                    " · delivered " (when(at, now))
                }
                @if delivery.status == DeliveryStatus::Pending {
                    " · next attempt " (when(delivery.next_attempt_at_ms, now))
                }
            }
            @if let Some(error) = &delivery.last_error {
                p.error-text { (error) }
            }
            @if delivery.status == DeliveryStatus::Dead && chrome.can_act() {
                div.actions {
                    (action_button(chrome, &format!("/console/deliveries/{id}/retry"), back, "retry", "Retry"))
                    (action_button(chrome, &format!("/console/deliveries/{id}/dismiss"), back, "dismiss", "Dismiss"))
                }
            }
            @if !attempts.is_empty() {
                div.table { table.attempts {
                    thead { tr { th { "#" } th { "When" } th { "HTTP" } th.num { "Duration" } th { "Outcome" } th { "Error" } } }
                    tbody {
                        @for attempt in attempts {
                            tr {
                                td { (attempt.number) }
                                td { (when(attempt.at_ms, now)) }
                                td { (attempt.http_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())) }
                                td.num { (attempt.duration_ms) " ms" }
                                td { span.outcome.{"outcome-" (attempt.outcome)} { (attempt.outcome) } }
                                td.error-text { (attempt.error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                } }
            }
            details {
                summary { "Payload" " " code.muted { (id) } }
                pre.json { (payload) }
            }
        }
    }
}
