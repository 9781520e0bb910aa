//! Deliveries: the list filtered by status, kind and tenant, and the actions on dead
//! ones (retry, dismiss, retry every dead one of a tenant).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::html;
use uuid::Uuid;

use super::chrome;
use super::error::ConsoleError;
use super::forms::{ActionForm, Fields, back_or, redirect_with_flash};
use super::layout::{Nav, action_button, delivery_status, page, respond, when};
use super::session::Session;
use crate::domain::delivery::{Delivery, DeliveryKind, DeliveryStatus};
use crate::domain::ids::TenantId;
use crate::service::{self, DismissOutcome, RetryOutcome};
use crate::state::AppState;
use crate::store::delivery_ops::DeliveryFilter;

/// Deliveries per page.
const PAGE: u64 = 50;

fn parse_filter(query: &Fields) -> Result<DeliveryFilter, ConsoleError> {
    let given = |name: &str| {
        query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut filter = DeliveryFilter::default();
    if let Some(status) = given("status") {
        filter.status = Some(DeliveryStatus::parse(status).ok_or_else(|| {
            ConsoleError::Invalid(format!(
                "status is one of pending, delivered, dead, dismissed, superseded (not {status:?})."
            ))
        })?);
    }
    if let Some(kind) = given("kind") {
        filter.kind = Some(DeliveryKind::parse(kind).ok_or_else(|| {
            ConsoleError::Invalid(format!(
                "kind is one of assessment.update, assessment.addCompletedToCandidate, vendor.webhook (not {kind:?})."
            ))
        })?);
    }
    if let Some(tenant) = given("tenant") {
        filter.tenant_id = Some(tenant.parse().map_err(|_| {
            ConsoleError::Invalid(format!("tenant is a tenant's id (not {tenant:?})."))
        })?);
    }
    if let Some(before) = given("before") {
        filter.before = Some(
            before
                .split_once('_')
                .and_then(|(ms, id)| Some((ms.parse().ok()?, id.parse().ok()?)))
                .ok_or_else(|| {
                    ConsoleError::Invalid(
                        "That page link is not valid: start from the first page.".into(),
                    )
                })?,
        );
    }
    Ok(filter)
}

/// The list's address with the same filters and another position.
fn list_url(filter: &DeliveryFilter, before: Option<&Delivery>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(status) = filter.status {
        query.append_pair("status", status.as_str());
    }
    if let Some(kind) = filter.kind {
        query.append_pair("kind", kind.as_str());
    }
    if let Some(tenant) = filter.tenant_id {
        query.append_pair("tenant", &tenant.to_string());
    }
    if let Some(last) = before {
        query.append_pair("before", &format!("{}_{}", last.created_at_ms, last.id.0));
    }
    format!("/console/deliveries?{}", query.finish())
}

pub async fn list(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let chrome = chrome(&session, &state, &query, Nav::Deliveries);
    let filter = parse_filter(&query)?;
    let found = service::delivery_page(&state.db, &filter, PAGE).await?;
    let names: HashMap<TenantId, &str> = found
        .tenant_names
        .iter()
        .map(|(id, name)| (*id, name.as_str()))
        .collect();
    // Where an action on this page comes back to: the same filters, the same page.
    let mut here = list_url(&filter, None);
    if let Some((ms, id)) = filter.before {
        here.push_str(&format!("&before={ms}_{id}"));
    }
    let older = (found.deliveries.len() as u64 == PAGE)
        .then(|| found.deliveries.last())
        .flatten()
        .map(|last| list_url(&filter, Some(last)));
    let now = chrome.now_ms;
    let selected_status = filter.status.map(DeliveryStatus::as_str);
    let selected_kind = filter.kind.map(DeliveryKind::as_str);
    let body = html! {
        h1 { "Deliveries" }
        form.filters method="get" action="/console/deliveries" {
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for status in DeliveryStatus::ALL {
                        option value=(status.as_str()) selected[selected_status == Some(status.as_str())] { (status.as_str()) }
                    }
                }
            }
            label { "Kind "
                select name="kind" {
                    option value="" { "any" }
                    @for kind in DeliveryKind::ALL {
                        option value=(kind.as_str()) selected[selected_kind == Some(kind.as_str())] { (kind.as_str()) }
                    }
                }
            }
            label { "Tenant "
                select name="tenant" {
                    option value="" { "any" }
                    @for (id, name) in &found.tenant_names {
                        option value=(id.0) selected[filter.tenant_id == Some(id.0)] { (name) }
                    }
                }
            }
            button #filter type="submit" { "Filter" }
        }
        @if chrome.can_act() && filter.status == Some(DeliveryStatus::Dead) {
            form method="post" action="/console/deliveries/retry" {
                input type="hidden" name="csrf" value=(chrome.csrf);
                input type="hidden" name="back" value=(here);
                @if let Some(tenant) = filter.tenant_id {
                    input type="hidden" name="tenant_id" value=(tenant);
                }
                button.retry-all type="submit" {
                    @match filter.tenant_id.and_then(|t| names.get(&TenantId(t))) {
                        Some(name) => { "Retry every dead delivery of " (name) }
                        None => "Retry every dead delivery",
                    }
                }
            }
        }
        @if found.deliveries.is_empty() {
            p.empty {
                @if filter.status == Some(DeliveryStatus::Dead) {
                    "No dead deliveries: everything that failed for good has been retried or dismissed."
                } @else {
                    "No deliveries match. Deliveries appear when an assessment changes (Ashby's start, the vendor's events)."
                }
            }
        } @else {
            div.table { table {
                thead { tr {
                    th { "Status" } th { "Kind" } th { "Tenant" } th { "Assessment" }
                    th.num { "Attempts" } th { "Queued" } th { "Last error" } th { "" }
                } }
                tbody {
                    @for d in &found.deliveries {
                        tr id={"delivery-" (d.id.0)} {
                            td { (delivery_status(d.status)) }
                            td { (d.kind.as_str()) }
                            td {
                                @match names.get(&d.tenant_id) {
                                    Some(name) => a href={"/console/tenants/" (d.tenant_id.0)} { (name) },
                                    None => code { (d.tenant_id.0) },
                                }
                            }
                            td { a href={"/console/assessments/" (d.assessment_id.0) "#delivery-" (d.id.0)} { "timeline" } }
                            td.num { (d.attempts) }
                            td { (when(d.created_at_ms, now)) }
                            td.error-text { (d.last_error.as_deref().unwrap_or("")) }
                            td {
                                @if d.status == DeliveryStatus::Dead && chrome.can_act() {
                                    (action_button(&chrome, &format!("/console/deliveries/{}/retry", d.id.0), &here, "retry", "Retry"))
                                    (action_button(&chrome, &format!("/console/deliveries/{}/dismiss", d.id.0), &here, "dismiss", "Dismiss"))
                                }
                            }
                        }
                    }
                }
            } }
            @if let Some(older) = older {
                p { a href=(older) { "Older →" } }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("Deliveries", Some(&chrome), body),
    ))
}

fn delivery_id(text: &str) -> Result<Uuid, ConsoleError> {
    text.parse()
        .map_err(|_| ConsoleError::NotFound(format!("There is no delivery {text:?}.")))
}

pub async fn retry(
    ActionForm { fields, .. }: ActionForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let secret = &state.secrets.token_secret;
    let id = delivery_id(&path)?;
    let message = match service::retry_dead_delivery(&state.db, &state.outbound.waker, id).await? {
        RetryOutcome::Requeued(_) => "The delivery is back in line: it goes out within moments.".to_owned(),
        RetryOutcome::Superseded(_) => "Not retried: a later update of this assessment already reached Ashby, so this one is now superseded (sending it would move Ashby backwards).".to_owned(),
        RetryOutcome::NotDead(d) => format!("Nothing to retry: the delivery is {}, not dead.", d.status),
        RetryOutcome::NotFound => return Err(ConsoleError::NotFound(format!("There is no delivery {id}."))),
    };
    let back = back_or(&fields, "/console/deliveries?status=dead");
    Ok(redirect_with_flash(&back, &message, secret))
}

pub async fn dismiss(
    ActionForm { fields, .. }: ActionForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let secret = &state.secrets.token_secret;
    let id = delivery_id(&path)?;
    let message = match service::dismiss_delivery(&state.db, id).await? {
        DismissOutcome::Dismissed(_) => {
            "Dismissed: the delivery will not be sent and no longer counts as dead.".to_owned()
        }
        DismissOutcome::NotDead(d) => format!(
            "Nothing to dismiss: the delivery is {}, not dead.",
            d.status
        ),
        DismissOutcome::NotFound => {
            return Err(ConsoleError::NotFound(format!(
                "There is no delivery {id}."
            )));
        }
    };
    let back = back_or(&fields, "/console/deliveries?status=dead");
    Ok(redirect_with_flash(&back, &message, secret))
}

pub async fn retry_all(
    ActionForm { fields, .. }: ActionForm,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let secret = &state.secrets.token_secret;
    let tenant = match fields
        .get("tenant_id")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
    {
        Some(text) => Some(text.parse::<Uuid>().map_err(|_| {
            ConsoleError::Invalid(format!("tenant_id is a tenant's id (not {text:?})."))
        })?),
        None => None,
    };
    let done = service::retry_all_dead_deliveries(&state.db, &state.outbound.waker, tenant).await?;
    let message = format!(
        "Retried {} dead deliveries; {} superseded (outdated updates that are never sent).",
        done.retried, done.superseded
    );
    let back = back_or(&fields, "/console/deliveries?status=dead");
    Ok(redirect_with_flash(&back, &message, secret))
}
