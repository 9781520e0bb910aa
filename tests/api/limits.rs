//! `[limits]`: per-tenant and per-token request rates, the cap on stored
//! `additional_fields`, and the deadline for a request body.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, assert_error_envelope, start_body};

/// Enough requests that a bucket of 2 refilling at 1/s empties, however slow the machine:
/// the bucket would only keep up if each request took a second or more.
const ATTEMPTS: usize = 50;

fn slow_rates(settings: &mut ashby_partner::settings::Settings) {
    settings.limits.partner_requests_per_second = 1;
    settings.limits.partner_burst = 2;
    settings.limits.vendor_requests_per_second = 1;
    settings.limits.vendor_burst = 2;
}

async fn list_as(app: &TestApp, tenant: &TestTenant) -> reqwest::Response {
    app.post_as(tenant, "/assessment.list", &json!({})).await
}

/// The first refused answer among `ATTEMPTS` requests; panics if none was.
async fn first_refusal<F, Fut>(mut send: F) -> reqwest::Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    for _ in 0..ATTEMPTS {
        let response = send().await;
        if response.status() != 200 {
            return response;
        }
    }
    panic!("{ATTEMPTS} requests in a row were all accepted");
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_tenant_over_its_rate_gets_429_with_retry_after_and_other_tenants_do_not() {
    let app = TestApp::spawn_with(slow_rates).await;
    let busy = app.create_tenant("Busy").await;
    let quiet = app.create_tenant("Quiet").await;

    let refused = first_refusal(|| list_as(&app, &busy)).await;

    assert!(retry_after(&refused) >= 1);
    assert_error_envelope(refused, 429, "rate_limited").await;
    assert_eq!(list_as(&app, &quiet).await.status(), 200);
}

#[tokio::test]
async fn a_vendor_token_over_its_rate_gets_429_in_the_vendor_envelope() {
    let app = TestApp::spawn_with(slow_rates).await;
    let busy = app.vendor_token();
    let get = |token: String| {
        app.client
            .get(app.url("/v1/assessment-types"))
            .bearer_auth(token)
            .send()
    };

    let refused = first_refusal(|| async { get(busy.clone()).await.unwrap() }).await;

    assert_eq!(refused.status(), 429);
    assert!(retry_after(&refused) >= 1);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(body["error"]["message"].as_str().is_some(), "{body}");
    assert_eq!(get(app.vendor_token()).await.unwrap().status(), 200);
}

#[tokio::test]
async fn rates_of_zero_turn_the_limits_off() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.partner_requests_per_second = 0;
        settings.limits.partner_burst = 0;
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    for _ in 0..ATTEMPTS {
        assert_eq!(list_as(&app, &tenant).await.status(), 200);
    }
}

#[tokio::test]
async fn additional_fields_over_the_cap_are_refused_naming_the_field() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.max_additional_fields_bytes = 1024;
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    let mut body = start_body("app-big");
    body["additional_fields"] = json!({ "notes": "x".repeat(2048) });

    let response = app.post_as(&tenant, "/assessment.start", &body).await;

    let body = assert_error_envelope(response, 422, "invalid_request").await;
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("additional_fields"), "{message}");
    assert!(message.contains("1024"), "{message}");
    assert_eq!(assessments_stored(&app).await, 0, "nothing is stored");
}

#[tokio::test]
async fn additional_fields_under_the_cap_are_stored() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.max_additional_fields_bytes = 1024;
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    let mut body = start_body("app-small");
    body["additional_fields"] = json!({ "notes": "x".repeat(900) });

    app.start_assessment(&tenant, &body).await;
}

async fn assessments_stored(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait as _, PaginatorTrait as _};
    entity::assessment::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

/// Sends a request head promising `promised` body bytes, then trickles one byte every
/// 20 ms (well under the 200 ms deadline the test sets), and returns the answer's text.
/// Bounded: after 250 bytes (5 s) it gives up and returns what it has (nothing).
async fn trickle(app: &TestApp, head: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"{\"a\": \"").await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 4096];
    for _ in 0..250 {
        // A write can fail once the server has answered and closed: then read the answer.
        let _ = stream.write_all(b"x").await;
        let pause = std::time::Duration::from_millis(20);
        if let Ok(read) = tokio::time::timeout(pause, stream.read(&mut buffer)).await {
            match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                        break;
                    }
                }
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn slow_body_deadline(settings: &mut ashby_partner::settings::Settings) {
    settings.server.body_read_timeout_ms = 200;
}

#[tokio::test]
async fn a_partner_body_that_trickles_in_gets_408_in_the_partner_envelope() {
    let app = TestApp::spawn_with(slow_body_deadline).await;
    let tenant = app.create_tenant("Acme").await;
    use base64::Engine as _;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{}:", tenant.key));
    let head = format!(
        "POST /assessment.start HTTP/1.1\r\nHost: test\r\nAuthorization: Basic {credentials}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    );

    let answer = trickle(&app, &head).await;

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let body: Value = serde_json::from_str(&answer[answer.find("\r\n\r\n").unwrap() + 4..])
        .unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    assert_eq!(body["errors"], json!(["request_timeout"]), "{body}");
    assert_eq!(body["success"], false, "{body}");
}

#[tokio::test]
async fn a_vendor_body_that_trickles_in_gets_408_in_the_vendor_envelope() {
    let app = TestApp::spawn_with(slow_body_deadline).await;
    let head = format!(
        "POST /v1/completed-assessments HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
        app.vendor_token()
    );

    let answer = trickle(&app, &head).await;

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let body: Value = serde_json::from_str(&answer[answer.find("\r\n\r\n").unwrap() + 4..])
        .unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    assert_eq!(body["error"]["code"], "request_timeout", "{body}");
}

#[tokio::test]
async fn a_feed_page_stops_at_its_byte_budget_and_paging_still_yields_every_assessment() {
    let app = TestApp::spawn_with(|settings| {
        settings.limits.feed_page_max_bytes = 5_000;
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    let mut started = Vec::new();
    for n in 0..4 {
        let mut body = start_body(&format!("app-feed-{n}"));
        body["additional_fields"] = json!({ "notes": "x".repeat(2_000) });
        started.push(app.start_assessment(&tenant, &body).await);
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(cursor) => format!("/v1/assessments?limit=200&cursor={cursor}"),
            None => "/v1/assessments?limit=200".to_string(),
        };
        let response = app.vendor_get(&path).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let page: Value = serde_json::from_str(&text).unwrap();
        let rows = page["data"].as_array().unwrap();
        if rows.is_empty() {
            break;
        }
        assert!(
            rows.len() == 1 || text.len() <= 5_000,
            "{} rows in {} bytes",
            rows.len(),
            text.len()
        );
        seen.extend(
            rows.iter()
                .map(|row| row["id"].as_str().unwrap().to_owned()),
        );
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }

    assert_eq!(seen, started);
}
