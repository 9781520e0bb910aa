//! Tight input rules at the edges: timestamps within sane bounds, Ashby ids without
//! control or invisible characters, URLs we hand out absolute http(s).

use serde_json::{Value, json};

use crate::helpers::{TYPE_ID, TestApp, start_body};

/// Timestamps that must be refused: far future, before 2000, year 1 and year 0.
fn out_of_range_timestamps() -> Vec<String> {
    let in_ten_minutes = chrono::Utc::now() + chrono::Duration::minutes(10);
    vec![
        in_ten_minutes.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "2999-01-01T00:00:00Z".into(),
        "1999-12-31T23:59:59Z".into(),
        "0001-01-01T00:00:00Z".into(),
        "0000-01-01T00:00:00Z".into(),
    ]
}

/// Ids carrying each kind of character that must not reach Ashby or the vendor.
fn hidden_character_ids() -> Vec<String> {
    [
        "\u{0}", "\u{1f}", "\u{7f}", "\u{85}", "\u{200b}", "\u{200e}", "\u{202e}", "\u{2060}",
        "\u{2066}", "\u{feff}",
    ]
    .iter()
    .map(|c| format!("app{c}1"))
    .collect()
}

async fn started(app: &TestApp) -> String {
    let tenant = app.create_tenant("Acme").await;
    app.start_assessment(&tenant, &start_body(&uuid::Uuid::new_v4().to_string()))
        .await
}

#[tokio::test]
async fn event_times_far_in_the_future_or_before_2000_are_refused_naming_occurred_at() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;

    for at in out_of_range_timestamps() {
        let (status, body) = app
            .vendor_event(&id, &json!({"status": "in_progress", "occurred_at": at}))
            .await;

        assert_eq!(status, 422, "{at}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("occurred_at"), "{at}: {message}");
    }
    let just_now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (status, body) = app
        .vendor_event(
            &id,
            &json!({"status": "in_progress", "occurred_at": just_now}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn completion_times_far_in_the_future_or_before_2000_are_refused_naming_completed_at() {
    let app = TestApp::spawn_with(|s| s.ashby.partner_id = Some(uuid::Uuid::new_v4())).await;
    let tenant = app.create_tenant("Acme").await;

    for at in out_of_range_timestamps() {
        let response = app
            .vendor_post(
                "/v1/completed-assessments",
                &json!({
                    "tenant_id": tenant.id,
                    "candidate_id": uuid::Uuid::new_v4(),
                    "assessment_type_id": TYPE_ID,
                    "result": {"identifier": "s", "label": "S", "type": "numeric_score", "value": 3},
                    "completed_at": at
                }),
            )
            .await;

        assert_eq!(response.status(), 422, "{at}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("completed_at"), "{at}: {message}");
    }
}

#[tokio::test]
async fn ashby_ids_with_control_or_invisible_characters_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;

    for bad in hidden_character_ids() {
        for field in ["candidate", "application", "job"] {
            let mut body = start_body(&uuid::Uuid::new_v4().to_string());
            body[field]["ashby_id"] = json!(bad);

            let response = app.post_as(&tenant, "/assessment.start", &body).await;

            assert_eq!(response.status(), 422, "{field} {bad:?}");
            let body: Value = response.json().await.unwrap();
            let message = body["message"].as_str().unwrap();
            assert!(message.contains(&format!("{field}.ashby_id")), "{message}");
        }
    }
}

#[tokio::test]
async fn a_cancel_whose_id_hides_characters_is_an_invalid_request_answered_with_200() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;

    for bad in [
        format!("{id}\u{200b}"),
        format!("\u{202e}{id}"),
        format!("{id}\u{1}"),
    ] {
        let response = app
            .post_as(
                &tenant,
                "/assessment.cancel",
                &json!({ "assessment_id": bad }),
            )
            .await;

        assert_eq!(response.status(), 200, "{bad:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], false, "{body}");
        assert_eq!(body["errorInfo"]["code"], "invalid_request", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("assessment_id"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn urls_handed_out_must_be_plain_absolute_http_urls() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;
    let bad_urls = [
        " https://t.example/r",
        "https://t.example/r\n",
        "https://t.exa\tmple/r",
        "https:t.example/r",
        "https:\\\\t.example\\r",
        "https://t.example/\u{202e}r",
        "//t.example/r",
        "/r",
    ];

    for url in bad_urls {
        let (status, body) = app
            .vendor_event(&id, &json!({"status": "in_progress", "profile_url": url}))
            .await;
        assert_eq!(status, 422, "{url:?}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("profile_url"),
            "{body}"
        );

        let block = json!({"identifier": "report", "label": "Report", "type": "url", "value": url});
        let (status, body) = app
            .vendor_event(&id, &json!({"status": "in_progress", "metadata": [block]}))
            .await;
        assert_eq!(status, 422, "{url:?}: {body}");
    }
    let (status, body) = app
        .vendor_event(
            &id,
            &json!({"status": "in_progress", "profile_url": "HTTPS://t.example/r?x=1#y"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
