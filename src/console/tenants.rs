//! Tenants: the list, one tenant (keys, Ashby key and webhooks, catalog, recent
//! assessments), creating one, and its actions (rotate and revoke partner keys, verify the
//! Ashby key, disable and enable).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use secrecy::{ExposeSecret as _, SecretString};
use uuid::Uuid;

use super::assessments::{assessment_link, candidate_email};
use super::chrome;
use super::error::ConsoleError;
use super::forms::{ActionForm, Fields, back_or, redirect_with_flash};
use super::layout::{
    Chrome, Nav, action_button, assessment_status, key_status, page, respond, when, when_or,
};
use super::session::Session;
use crate::domain::ids::TenantId;
use crate::domain::tenant::{
    AshbyKeyStatus, Tenant, TenantOverview, TenantPatch, parse_base_url, parse_external_id,
    parse_name,
};
use crate::service::{self, AshbyKeyCheck, NewTenant, TenantDetails, TenantError};
use crate::state::AppState;

/// Tenants per page of the list.
const PAGE: u64 = 100;
/// Assessments shown on a tenant's page.
const RECENT: u64 = 20;

impl From<TenantError> for ConsoleError {
    fn from(error: TenantError) -> Self {
        match error {
            TenantError::NotFound(_) => Self::NotFound(error.to_string()),
            TenantError::ExternalIdTaken(_)
            | TenantError::KeyRejected(_)
            | TenantError::NoAshbyKey(_) => Self::Invalid(error.to_string()),
            TenantError::Seal(cause) => {
                tracing::error!(%cause, "console: cannot seal an Ashby key");
                Self::Failed(
                    "The Ashby key could not be encrypted; the server log has the details.".into(),
                )
            }
            TenantError::Database(cause) => cause.into(),
        }
    }
}

pub fn tenant_link(tenant: &Tenant) -> Markup {
    html! { a href={"/console/tenants/" (tenant.id.0)} { (tenant.name) } }
}

fn tenant_id(text: &str) -> Result<TenantId, ConsoleError> {
    text.parse()
        .map_err(|_| ConsoleError::NotFound(format!("There is no tenant {text:?}.")))
}

fn enabled_label(tenant: &Tenant) -> Markup {
    if tenant.disabled {
        html! { span.status.status-disabled { "disabled" } }
    } else {
        html! { span.status.status-enabled { "enabled" } }
    }
}

pub async fn list(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let chrome = chrome(&session, &state, &query, Nav::Tenants);
    let key_filter = match query.get("key_status").filter(|s| !s.is_empty()) {
        Some(text) => Some(AshbyKeyStatus::parse(text).ok_or_else(|| {
            ConsoleError::Invalid(format!(
                "key_status is one of unset, unverified, verified, rejected (not {text:?})."
            ))
        })?),
        None => None,
    };
    let after = query.get("after").map(|c| cursor(c)).transpose()?;
    let tenants = match key_filter {
        Some(status) => service::tenants_by_key_status(&state.db, &[status], PAGE).await?,
        None => service::list_tenants(&state.db, None, after, PAGE).await?,
    };
    let next = (key_filter.is_none() && tenants.len() as u64 == PAGE)
        .then(|| tenants.last())
        .flatten()
        .map(|last| format!("{}_{}", last.tenant.created_at_ms, last.tenant.id.0));
    let body = html! {
        div.heading {
            h1 { "Tenants" }
            @if chrome.can_act() {
                a.button href="/console/tenants/new" { "New tenant" }
            }
        }
        @if let Some(status) = key_filter {
            p { "Only tenants whose Ashby key is " (key_status(status)) ". " a href="/console/tenants" { "Show all" } }
        }
        @if tenants.is_empty() {
            p.empty {
                @if key_filter.is_some() {
                    "No tenant has an Ashby key in this state."
                } @else {
                    "No tenants yet. Onboard a customer organisation with “New tenant” (admin), "
                    "or " code { "ashby-partner tenant create --name NAME" } "."
                }
            }
        } @else {
            div.table {
                table {
                    thead { tr {
                        th { "Name" } th { "State" } th { "Ashby key" } th { "Catalog" }
                        th.num { "Pending" } th.num { "Dead" } th { "Last delivery" }
                    } }
                    tbody {
                        @for t in &tenants {
                            tr {
                                td { (tenant_link(&t.tenant)) }
                                td { (enabled_label(&t.tenant)) }
                                td { (key_status(t.tenant.key_status)) }
                                td { (if t.own_catalog { "own" } else { "default" }) }
                                td.num { a href={"/console/deliveries?status=pending&tenant=" (t.tenant.id.0)} { (t.pending_deliveries) } }
                                td.num { a href={"/console/deliveries?status=dead&tenant=" (t.tenant.id.0)} { (t.dead_deliveries) } }
                                td { (when_or(t.tenant.last_delivered_at_ms, chrome.now_ms, "none yet")) }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p { a href={"/console/tenants?after=" (next)} { "Next page →" } }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("Tenants", Some(&chrome), body),
    ))
}

/// `<created_at_ms>_<id>` of the last tenant seen.
fn cursor(text: &str) -> Result<(i64, Uuid), ConsoleError> {
    text.split_once('_')
        .and_then(|(ms, id)| Some((ms.parse().ok()?, id.parse().ok()?)))
        .ok_or_else(|| {
            ConsoleError::Invalid("That page link is not valid: start from the first page.".into())
        })
}

pub async fn show(
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let chrome = chrome(&session, &state, &query, Nav::Tenants);
    let id = tenant_id(&path)?;
    let details = service::tenant_details(&state.db, &state.catalog, id, RECENT)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("There is no tenant {id}.")))?;
    let body = tenant_page(&chrome, &state, &details);
    let title = details.overview.tenant.name.clone();
    Ok(respond(StatusCode::OK, page(&title, Some(&chrome), body)))
}

fn tenant_page(chrome: &Chrome<'_>, state: &AppState, details: &TenantDetails) -> Markup {
    let overview: &TenantOverview = &details.overview;
    let tenant = &overview.tenant;
    let id = tenant.id.0;
    let here = format!("/console/tenants/{id}");
    let now = chrome.now_ms;
    let active_keys = details
        .partner_keys
        .iter()
        .filter(|k| k.revoked_at_ms.is_none())
        .count();
    html! {
        div.heading {
            h1 { (tenant.name) " " (enabled_label(tenant)) }
            @if chrome.can_act() {
                @if tenant.disabled {
                    (action_button(chrome, &format!("{here}/enable"), &here, "enable", "Enable"))
                } @else {
                    (action_button(chrome, &format!("{here}/disable"), &here, "disable danger", "Disable"))
                }
            }
        }
        dl.facts {
            dt { "Id" } dd { code { (id) } }
            dt { "External id" } dd { (tenant.external_id.as_deref().unwrap_or("—")) }
            dt { "Created" } dd { (when(tenant.created_at_ms, now)) }
        }
        @if tenant.disabled {
            p.warning { "Disabled: Ashby's calls for this tenant are refused and its deliveries wait (pending) until it is enabled." }
        }

        section {
            h2 { "Deliveries" }
            p {
                a href={"/console/deliveries?status=pending&tenant=" (id)} { (overview.pending_deliveries) " pending" }
                " · "
                a href={"/console/deliveries?status=dead&tenant=" (id)} { (overview.dead_deliveries) " dead" }
                " · "
                a href={"/console/deliveries?tenant=" (id)} { "all" }
            }
            @if chrome.can_act() && overview.dead_deliveries > 0 {
                form method="post" action="/console/deliveries/retry" {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    input type="hidden" name="back" value=(here);
                    input type="hidden" name="tenant_id" value=(id);
                    button.retry-all type="submit" { "Retry all dead deliveries of this tenant" }
                }
            }
        }

        section {
            h2 { "Ashby" }
            dl.facts {
                dt { "API base URL" }
                dd { code { (tenant.ashby_base_url.as_deref().unwrap_or(&state.settings.ashby.base_url)) } }
                dt { "API key" }
                dd {
                    (key_status(tenant.key_status))
                    @if tenant.has_ashby_key && chrome.can_act() {
                        " " (action_button(chrome, &format!("{here}/ashby-key/verify"), &here, "verify", "Verify now"))
                    }
                }
                dt { "Key checked" } dd { (when_or(tenant.key_checked_at_ms, now, "never")) }
                dt { "Last delivered" } dd { (when_or(tenant.last_delivered_at_ms, now, "none yet")) }
                dt { "Last error" } dd.error-text { (tenant.last_error().unwrap_or("—")) }
                dt { "Webhooks" } dd { span.status.{"webhooks-" (overview.webhooks)} { (overview.webhooks) } }
            }
            @if !tenant.has_ashby_key {
                p.empty { "No Ashby key: nothing can be sent to Ashby. Set one with " code { "ashby-partner tenant set-ashby-key " (id) " KEY" } " or " code { "PUT /v1/tenants/" (id) "/ashby-key" } "." }
            }
            @if overview.webhooks == "unset" {
                p.muted { "Ashby does not tell us about deleted candidates or archived applications yet: register its webhooks with " code { "ashby-partner tenant ashby-webhooks " (id) } "." }
            }
        }

        section {
            div.heading {
                h2 { "Partner keys" }
                @if chrome.can_act() {
                    (action_button(chrome, &format!("{here}/partner-keys"), &here, "rotate", "Issue a new key"))
                    @if active_keys > 1 {
                        (action_button(chrome, &format!("{here}/partner-keys/revoke"), &here, "revoke danger", "Revoke all but the newest"))
                    }
                }
            }
            p.muted { "Ashby presents one of these keys when it calls on this tenant's behalf. Only the first characters are kept for display." }
            @if details.partner_keys.is_empty() {
                p.empty { "No partner keys: Ashby cannot call for this tenant. Issue one." }
            } @else {
                div.table { table {
                    thead { tr { th { "Key" } th { "Created" } th { "State" } } }
                    tbody {
                        @for key in &details.partner_keys {
                            tr {
                                td { code { (key.prefix) "…" } }
                                td { (when(key.created_at_ms, now)) }
                                td {
                                    @match key.revoked_at_ms {
                                        Some(at) => { span.status.status-revoked { "revoked" } " " (when(at, now)) }
                                        None => span.status.status-active { "active" },
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }

        section {
            h2 { "Catalog" }
            p {
                "Assessment types: " strong { (if details.own_catalog.assessment_types.is_some() { "own" } else { "default" }) }
                " · custom fields: " strong { (if details.own_catalog.custom_fields.is_some() { "own" } else { "default" }) }
            }
            @if details.catalog.types().is_empty() {
                p.empty { "No assessment types: Ashby has nothing to offer. Set them with " code { "PUT /v1/tenants/" (id) "/assessment-types" } "." }
            } @else {
                div.table { table {
                    thead { tr { th { "Assessment type" } th { "Id" } th { "State" } } }
                    tbody {
                        @for t in details.catalog.types() {
                            tr {
                                td { (t.name) }
                                td { code { (t.id.0) } }
                                td { (if t.active { "active" } else { "inactive" }) }
                            }
                        }
                    }
                } }
            }
            @if !details.catalog.custom_fields().is_empty() {
                div.table { table {
                    thead { tr { th { "Custom field" } th { "Id" } th { "Required" } } }
                    tbody {
                        @for f in details.catalog.custom_fields() {
                            tr {
                                td { (f.name) }
                                td { code { (f.id) } }
                                td { (if f.required { "yes" } else { "no" }) }
                            }
                        }
                    }
                } }
            }
        }

        section {
            h2 { "Recent assessments" }
            @if details.recent.is_empty() {
                p.empty { "No assessments yet: they appear when Ashby starts one for this tenant." }
            } @else {
                div.table { table {
                    thead { tr { th { "Candidate" } th { "Email" } th { "Status" } th { "Started" } } }
                    tbody {
                        @for a in &details.recent {
                            tr {
                                td { (assessment_link(a)) }
                                td { (candidate_email(a).unwrap_or_default()) }
                                td { (assessment_status(a.status)) }
                                td { (when(a.created_at_ms, now)) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

pub async fn new_form(
    session: Session,
    state: web::Data<AppState>,
    query: web::Query<Fields>,
) -> Result<HttpResponse, ConsoleError> {
    let chrome = chrome(&session, &state, &query, Nav::Tenants);
    if !chrome.can_act() {
        return Err(ConsoleError::read_only());
    }
    let body = new_tenant_form(&chrome, &Fields::new(), None);
    Ok(respond(
        StatusCode::OK,
        page("New tenant", Some(&chrome), body),
    ))
}

fn new_tenant_form(chrome: &Chrome<'_>, values: &Fields, error: Option<&str>) -> Markup {
    let value = |name: &str| values.get(name).cloned().unwrap_or_default();
    html! {
        h1 { "New tenant" }
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        form.card method="post" action="/console/tenants" {
            input type="hidden" name="csrf" value=(chrome.csrf);
            label for="name" { "Name" }
            input #name name="name" required maxlength="200" value=(value("name"));
            label for="external_id" { "External id " span.muted { "(your own id for the customer; optional)" } }
            input #external_id name="external_id" maxlength="200" value=(value("external_id"));
            label for="ashby_api_key" { "Ashby API key " span.muted { "(optional; stored encrypted)" } }
            input #ashby_api_key type="password" name="ashby_api_key" autocomplete="off";
            label for="ashby_base_url" { "Ashby API base URL " span.muted { "(optional; default " code { "ashby.base_url" } ")" } }
            input #ashby_base_url name="ashby_base_url" value=(value("ashby_base_url"));
            button #create-tenant type="submit" { "Create tenant" }
        }
    }
}

pub async fn create(
    ActionForm { session, fields }: ActionForm,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let chrome = chrome(&session, &state, &Fields::new(), Nav::Tenants);
    let invalid = |message: String, status: StatusCode| {
        let body = new_tenant_form(&chrome, &fields, Some(&message));
        respond(status, page("New tenant", Some(&chrome), body))
    };
    let new = match parse_new_tenant(&fields) {
        Ok(new) => new,
        Err(message) => return Ok(invalid(message, StatusCode::UNPROCESSABLE_ENTITY)),
    };
    match service::onboard_tenant(&state.db, &state.secrets.sealer, new).await {
        Ok(onboarded) => Ok(key_once_page(
            &chrome,
            &onboarded.tenant.tenant,
            &onboarded.partner_api_key,
            "Tenant created",
        )),
        Err(error @ TenantError::ExternalIdTaken(_)) => {
            Ok(invalid(error.to_string(), StatusCode::CONFLICT))
        }
        Err(error) => Err(error.into()),
    }
}

fn parse_new_tenant(fields: &Fields) -> Result<NewTenant, String> {
    let given = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    Ok(NewTenant {
        name: parse_name("name", given("name").unwrap_or_default())?,
        external_id: given("external_id")
            .map(|id| parse_external_id("external_id", id))
            .transpose()?,
        ashby_api_key: given("ashby_api_key")
            .map(|key| {
                if key.len() > 500 || key.chars().any(char::is_control) {
                    Err("ashby_api_key must be an Ashby API key (1 to 500 characters)".to_owned())
                } else {
                    Ok(SecretString::from(key.to_owned()))
                }
            })
            .transpose()?,
        ashby_base_url: given("ashby_base_url")
            .map(|url| parse_base_url("ashby_base_url", url))
            .transpose()?,
    })
}

/// A partner key, shown this once: the page is never cached.
fn key_once_page(
    chrome: &Chrome<'_>,
    tenant: &Tenant,
    key: &SecretString,
    title: &str,
) -> HttpResponse {
    let body = html! {
        h1 { (title) }
        p { "Tenant " (tenant_link(tenant)) }
        section.card {
            h2 { "Partner API key" }
            p.warning { "Copy it now: it is shown only this once (only its hash is stored)." }
            p { code #partner-key.secret { (key.expose_secret()) } }
            p.muted { "Give it to the customer to paste into Ashby's assessment integration settings (as the API key)." }
        }
        p { a.button href={"/console/tenants/" (tenant.id.0)} { "Go to the tenant" } }
    };
    respond(StatusCode::OK, page(title, Some(chrome), body))
}

pub async fn rotate_key(
    ActionForm { session, .. }: ActionForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = tenant_id(&path)?;
    let key = service::rotate_partner_key(&state.db, id).await?;
    let tenant = service::show_tenant(&state.db, id).await?;
    let chrome = chrome(&session, &state, &Fields::new(), Nav::Tenants);
    Ok(key_once_page(
        &chrome,
        &tenant.tenant,
        &key,
        "New partner key",
    ))
}

pub async fn revoke_keys(
    ActionForm { fields, .. }: ActionForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let secret = &state.secrets.token_secret;
    let id = tenant_id(&path)?;
    let revoked = service::revoke_partner_keys(&state.db, id).await?;
    // This replica forgets at once; other replicas within `server.lookup_cache_ms`.
    state.lookups.forget_all();
    let message = format!("Revoked {revoked} partner key(s); the newest keeps working.");
    let back = back_or(&fields, &format!("/console/tenants/{id}"));
    Ok(redirect_with_flash(&back, &message, secret))
}

pub async fn verify_key(
    ActionForm { fields, .. }: ActionForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let secret = &state.secrets.token_secret;
    let id = tenant_id(&path)?;
    let back = back_or(&fields, &format!("/console/tenants/{id}"));
    let check = AshbyKeyCheck::new(&state.settings).map_err(|error| {
        tracing::error!(%error, "console: cannot build the HTTP client");
        ConsoleError::Failed(
            "Cannot reach out to Ashby from this server; the log has the details.".into(),
        )
    })?;
    let started = crate::time::now_ms();
    let message =
        match service::verify_ashby_key(&state.db, &state.secrets.sealer, &check, id).await {
            Ok(overview) => {
                let tenant = &overview.tenant;
                let answered = tenant.key_checked_at_ms.is_some_and(|at| at >= started);
                match (answered, tenant.key_status) {
                    (false, status) => format!(
                        "Ashby could not be reached: the key stays {}. Try again later.",
                        status.as_str()
                    ),
                    (true, AshbyKeyStatus::Rejected) => format!(
                        "Ashby rejected the key: {}",
                        tenant.key_error.as_deref().unwrap_or("no reason given")
                    ),
                    (true, status) => format!("Ashby says the key is {}.", status.as_str()),
                }
            }
            Err(error @ TenantError::NoAshbyKey(_)) => error.to_string(),
            Err(error) => return Err(error.into()),
        };
    Ok(redirect_with_flash(&back, &message, secret))
}

pub async fn disable(
    form: ActionForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    set_disabled(&form.fields, &state, &path, true).await
}

pub async fn enable(
    form: ActionForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    set_disabled(&form.fields, &state, &path, false).await
}

async fn set_disabled(
    fields: &Fields,
    state: &AppState,
    path: &str,
    disabled: bool,
) -> Result<HttpResponse, ConsoleError> {
    let secret = &state.secrets.token_secret;
    let id = tenant_id(path)?;
    let patch = TenantPatch {
        disabled: Some(disabled),
        ..TenantPatch::default()
    };
    let overview = service::update_tenant(&state.db, id, patch).await?;
    state.lookups.forget_all();
    let message = if disabled {
        format!(
            "{} is disabled: Ashby's calls are refused and its deliveries wait.",
            overview.tenant.name
        )
    } else {
        format!(
            "{} is enabled: its waiting deliveries go out again.",
            overview.tenant.name
        )
    };
    let back = back_or(fields, &format!("/console/tenants/{id}"));
    Ok(redirect_with_flash(&back, &message, secret))
}
