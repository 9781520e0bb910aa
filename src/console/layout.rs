//! What every console page shares: the shell (head, navigation, search, who is signed
//! in), the HTML response with its security headers, timestamps (UTC and relative, both
//! computed here), status labels and action buttons.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use maud::{DOCTYPE, Markup, html};

use super::session::Session;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::status::AssessmentStatus;
use crate::domain::tenant::AshbyKeyStatus;
use crate::time::rfc3339;

/// Nothing but the console's own stylesheet; forms post only to the console; no frames.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Tenants,
    Assessments,
    Deliveries,
}

/// What a signed-in page shows around its content.
pub struct Chrome<'a> {
    pub session: &'a Session,
    /// This session's CSRF token, for every form that changes something.
    pub csrf: String,
    /// The message an action left (already checked to be the server's own).
    pub flash: Option<String>,
    pub now_ms: i64,
    /// The search box's text.
    pub search: String,
    pub nav: Nav,
}

impl Chrome<'_> {
    pub fn can_act(&self) -> bool {
        self.session.is_admin()
    }
}

/// An HTML page with the console's headers: never cached (pages show keys once and
/// personal data), no framing, no script, styles from the console only.
pub fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .body(markup.into_string())
}

/// A whole page; `chrome` is `None` for pages shown signed out (sign-in, errors).
pub fn page(title: &str, chrome: Option<&Chrome<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ashby-partner console" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                @if let Some(chrome) = chrome {
                    (top(chrome))
                }
                main {
                    @if let Some(flash) = chrome.and_then(|c| c.flash.as_deref()) {
                        p.flash role="status" { (flash) }
                    }
                    (body)
                }
            }
        }
    }
}

fn top(chrome: &Chrome<'_>) -> Markup {
    let current = |nav: Nav| (chrome.nav == nav).then_some("page");
    let token = chrome.session.token_id.to_string();
    html! {
        header.top {
            nav.main {
                a.brand href="/console" { "ashby-partner" }
                a href="/console" aria-current=[current(Nav::Overview)] { "Overview" }
                a href="/console/tenants" aria-current=[current(Nav::Tenants)] { "Tenants" }
                a href="/console/assessments" aria-current=[current(Nav::Assessments)] { "Assessments" }
                a href="/console/deliveries" aria-current=[current(Nav::Deliveries)] { "Deliveries" }
            }
            form method="get" action="/console/assessments" {
                label.hidden for="search" { "Search assessments" }
                input #search type="search" name="q" value=(chrome.search)
                    placeholder="Candidate email, application or assessment id";
                button #search-go type="submit" { "Search" }
            }
            div.who {
                span {
                    "Token " code title=(token) { (token.get(..8).unwrap_or(&token)) }
                    " · " span.scope.{"scope-" (chrome.session.scope.as_str())} {
                        (chrome.session.scope.as_str())
                    }
                }
                form method="post" action="/console/sign-out" {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    button.link #sign-out type="submit" { "Sign out" }
                }
            }
        }
    }
}

/// A button that posts a CSRF-protected form to `action`, coming back to `back`.
pub fn action_button(
    chrome: &Chrome<'_>,
    action: &str,
    back: &str,
    class: &str,
    label: &str,
) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            input type="hidden" name="back" value=(back);
            button type="submit" class=(class) { (label) }
        }
    }
}

/// A timestamp: UTC, and how long ago (or how soon) it is.
pub fn when(ms: i64, now_ms: i64) -> Markup {
    html! {
        time datetime=(rfc3339(ms)) { (utc(ms)) }
        " " span.ago { "(" (relative(ms, now_ms)) ")" }
    }
}

/// An optional timestamp, with what to say when there is none.
pub fn when_or(ms: Option<i64>, now_ms: i64, none: &str) -> Markup {
    match ms {
        Some(ms) => when(ms, now_ms),
        None => html! { span.muted { (none) } },
    }
}

/// `2026-11-28 13:04:05 UTC`.
pub fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// "just now", "3 min ago", "in 2 h", "5 d ago".
pub fn relative(ms: i64, now_ms: i64) -> String {
    let diff = now_ms.saturating_sub(ms);
    if diff.abs() < 45_000 {
        return "just now".into();
    }
    let span = duration(diff.abs());
    if diff > 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// A length of time, rounded to what a person reads: "40 s", "3 min", "5 h", "2 d".
pub fn duration(ms: i64) -> String {
    let seconds = ms / 1000;
    match seconds {
        ..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min", seconds / 60),
        3_600..172_800 => format!("{} h", seconds / 3_600),
        _ => format!("{} d", seconds / 86_400),
    }
}

/// A delivery's status: a colour and its name (`class="status status-dead"`).
pub fn delivery_status(status: DeliveryStatus) -> Markup {
    html! { span.status.{"status-" (status.as_str())} { (status.as_str()) } }
}

pub fn assessment_status(status: AssessmentStatus) -> Markup {
    html! { span.status.{"status-" (status.as_str())} { (status.as_str().replace('_', " ")) } }
}

pub fn key_status(status: AshbyKeyStatus) -> Markup {
    html! { span.status.{"key-" (status.as_str())} { (status.as_str()) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_and_as_how_long_ago() {
        let at = 1_767_323_045_678;
        assert_eq!(utc(at), "2026-01-02 03:04:05 UTC");
        assert_eq!(relative(at, at + 10_000), "just now");
        assert_eq!(relative(at, at + 3 * 60_000 + 5_000), "3 min ago");
        assert_eq!(relative(at, at + 5 * 3_600_000), "5 h ago");
        assert_eq!(relative(at, at + 3 * 86_400_000), "3 d ago");
        assert_eq!(relative(at + 120_000, at), "in 2 min");
    }

    #[test]
    fn statuses_carry_their_name_as_well_as_their_colour() {
        assert_eq!(
            delivery_status(DeliveryStatus::Dead).into_string(),
            r#"<span class="status status-dead">dead</span>"#
        );
        assert_eq!(
            assessment_status(AssessmentStatus::InProgress).into_string(),
            r#"<span class="status status-in_progress">in progress</span>"#
        );
    }
}
