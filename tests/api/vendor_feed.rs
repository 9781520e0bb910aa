//! `GET /v1/assessments`: the vendor pages through assessments by last update.

use serde_json::{Value, json};

use crate::helpers::{TestApp, start_body};

async fn page(app: &TestApp, query: &str) -> (u16, Value) {
    let response = app.vendor_get(&format!("/v1/assessments{query}")).await;
    (response.status().as_u16(), response.json().await.unwrap())
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_cover_every_assessment_once_and_the_last_cursor_polls_for_changes() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let mut started = Vec::new();
    for n in 0..5 {
        started.push(
            app.start_assessment(&tenant, &start_body(&format!("app-{n}")))
                .await,
        );
    }

    let mut seen = Vec::new();
    let mut updated_at = Vec::new();
    let mut query = "?limit=2".to_string();
    let mut cursor = String::new();
    loop {
        let (status, body) = page(&app, &query).await;
        assert_eq!(status, 200, "{body}");
        if ids(&body).is_empty() {
            assert_eq!(body["next_cursor"], Value::Null, "an empty page: caught up");
            break;
        }
        seen.extend(ids(&body));
        updated_at.extend(
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["updated_at"].as_str().unwrap().to_owned()),
        );
        cursor = body["next_cursor"].as_str().unwrap().to_owned();
        query = format!("?limit=2&cursor={cursor}");
    }
    assert!(
        updated_at.windows(2).all(|w| w[0] <= w[1]),
        "oldest update first: {updated_at:?}"
    );
    let (mut seen_sorted, mut started_sorted) = (seen.clone(), started.clone());
    seen_sorted.sort();
    started_sorted.sort();
    assert_eq!(seen_sorted, started_sorted, "each assessment exactly once");

    // The next change happens in a later millisecond than anything the cursor covers.
    let last = ashby_partner::store::now_ms();
    while ashby_partner::store::now_ms() <= last {
        tokio::task::yield_now().await;
    }
    app.vendor_event(&started[2], &json!({"status": "in_progress"}))
        .await;
    let (_, body) = page(&app, &format!("?cursor={cursor}")).await;
    assert_eq!(
        ids(&body),
        [started[2].clone()],
        "polling with the last cursor yields the change"
    );
}

#[tokio::test]
async fn changes_younger_than_the_feed_delay_are_not_served_yet() {
    let app = TestApp::spawn_with(|s| s.vendor.feed_delay_ms = 60_000).await;
    let tenant = app.create_tenant("Acme").await;
    app.start_assessment(&tenant, &start_body("app-1")).await;

    let (status, body) = page(&app, "").await;

    assert_eq!(status, 200);
    assert!(ids(&body).is_empty());
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_feed_filters_by_tenant_status_and_update_time() {
    let app = TestApp::spawn().await;
    let (acme, globex) = (
        app.create_tenant("Acme").await,
        app.create_tenant("Globex").await,
    );
    let a = app.start_assessment(&acme, &start_body("a")).await;
    let b = app.start_assessment(&globex, &start_body("b")).await;
    app.vendor_event(&b, &json!({"status": "expired"})).await;

    let (_, body) = page(&app, &format!("?tenant_id={}", acme.id)).await;
    assert_eq!(ids(&body), [a]);
    let (_, body) = page(&app, "?status=expired").await;
    assert_eq!(ids(&body), [b]);
    let (_, body) = page(&app, "?updated_after=2999-01-01T00:00:00Z").await;
    assert!(ids(&body).is_empty());
    let (_, body) = page(&app, "?updated_after=2000-01-01T00:00:00Z").await;
    assert_eq!(ids(&body).len(), 2);
}

#[tokio::test]
async fn bad_query_parameters_are_422_naming_them() {
    let app = TestApp::spawn().await;
    for (query, named) in [
        ("?status=done", "status"),
        ("?tenant_id=acme", "tenant_id"),
        ("?updated_after=yesterday", "updated_after"),
        ("?limit=0", "limit"),
        ("?limit=1000", "limit"),
        ("?cursor=garbage", "cursor"),
        ("?colour=red", "colour"),
    ] {
        let (status, body) = page(&app, query).await;
        assert_eq!(status, 422, "{query}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(named),
            "{query}: {body}"
        );
    }
}
