//! `GET /console`: how the outbox and the tenants' Ashby keys are doing, each figure
//! linking to the list behind it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::html;

use super::error::ConsoleError;
use super::forms::Fields;
use super::layout::{Nav, duration, key_status, page, respond, when_or};
use super::session::Session;
use super::{chrome, tenants::tenant_link};
use crate::service::{self, RATE_WINDOW_MS};
use crate::state::AppState;

pub async fn show(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let chrome = chrome(&session, &state, &query, Nav::Overview);
    let now = chrome.now_ms;
    let overview = service::console_overview(&state.db, now).await?;
    let minutes = RATE_WINDOW_MS / 60_000;
    // One decimal: a trickle of deliveries still shows as more than zero.
    let per_minute = format!(
        "{:.1}",
        f64::from(u32::try_from(overview.delivered_recently).unwrap_or(u32::MAX))
            / f64::from(u32::try_from(minutes).unwrap_or(1))
    );
    let body = html! {
        h1 { "Overview" }
        section.figures {
            a.figure href="/console/deliveries?status=pending" {
                span.number #pending-count { (overview.pending) }
                span.label { "pending deliveries" }
            }
            a.figure.alarm[overview.dead > 0] href="/console/deliveries?status=dead" {
                span.number #dead-count { (overview.dead) }
                span.label { "dead deliveries" }
            }
            a.figure href="/console/deliveries?status=pending" {
                span.number {
                    @match overview.oldest_pending_created_ms {
                        Some(ms) => (duration(now.saturating_sub(ms))),
                        None => "—",
                    }
                }
                span.label { "oldest pending" }
            }
            a.figure href="/console/deliveries?status=delivered" {
                span.number { (per_minute) }
                span.label { "delivered per minute (last " (minutes) " min: " (overview.delivered_recently) ")" }
            }
        }
        section {
            h2 { "Tenants whose Ashby key needs attention" }
            @if overview.tenants_needing_attention.is_empty() {
                p.empty {
                    "None: every tenant's Ashby key is verified, or not set. "
                    a href="/console/tenants" { "See all tenants" } "."
                }
            } @else {
                p {
                    a href="/console/tenants?key_status=rejected" { "Rejected keys" } " · "
                    a href="/console/tenants?key_status=unverified" { "Unverified keys" }
                }
                div.table {
                    table {
                        thead { tr { th { "Tenant" } th { "Key" } th { "Checked" } th { "Last error" } } }
                        tbody {
                            @for tenant in &overview.tenants_needing_attention {
                                tr {
                                    td { (tenant_link(&tenant.tenant)) }
                                    td { (key_status(tenant.tenant.key_status)) }
                                    td { (when_or(tenant.tenant.key_checked_at_ms, now, "never")) }
                                    td.error-text { (tenant.tenant.last_error().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
                p.muted {
                    "A rejected key stops every delivery to Ashby for that tenant: ask the customer for a new key, "
                    "then check it from the tenant's page. An unverified key has not been confirmed by Ashby yet: "
                    "“Verify now” asks."
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("Overview", Some(&chrome), body),
    ))
}
