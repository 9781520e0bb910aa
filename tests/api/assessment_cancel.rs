//! `assessment.cancel`: Ashby stops an assessment. Every protocol outcome is HTTP 200,
//! with `success` saying which; only bad requests get 4xx.

use entity::assessment;
use sea_orm::{ActiveValue::Set, EntityTrait as _};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, TestTenant, assert_error_envelope, assert_matches_schema, start_body,
};

async fn start(app: &TestApp, tenant: &TestTenant) -> String {
    app.start_assessment(tenant, &start_body(&Uuid::new_v4().to_string()))
        .await
}

async fn cancel(app: &TestApp, tenant: &TestTenant, id: &str) -> Value {
    let response = app
        .post_as(
            tenant,
            "/assessment.cancel",
            &json!({ "assessment_id": id }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_matches_schema("assessment.cancel.response.200.json", &body);
    body
}

async fn find_row(app: &TestApp, id: &str) -> assessment::Model {
    assessment::Entity::find_by_id(Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .expect("the assessment row exists")
}

async fn set_status(app: &TestApp, id: &str, status: &str) {
    assessment::Entity::update(assessment::ActiveModel {
        id: Set(Uuid::parse_str(id).unwrap()),
        status: Set(status.into()),
        ..Default::default()
    })
    .exec(&app.db)
    .await
    .unwrap();
}

/// Asserts a 200 `success: false` answer with `code`.
fn assert_refused(body: &Value, code: &str) {
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["errors"], json!([code]), "{body}");
    assert_eq!(body["errorInfo"]["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["errorInfo"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

fn success(id: &str) -> Value {
    json!({ "success": true, "results": { "assessment_id": id } })
}

#[tokio::test]
async fn cancelling_a_started_assessment_succeeds_and_records_it() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = start(&app, &tenant).await;

    let body = cancel(&app, &tenant, &id).await;

    assert_eq!(body, success(&id));
    let row = find_row(&app, &id).await;
    assert_eq!(row.status, "cancelled");
    let history = row.history.as_array().unwrap();
    assert_eq!(history.len(), 2, "{}", row.history);
    assert_eq!(history[1]["status"], "cancelled");
    assert_eq!(history[1]["source"], "ashby");
}

#[tokio::test]
async fn a_repeated_cancel_answers_the_same_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = start(&app, &tenant).await;
    let first = cancel(&app, &tenant, &id).await;
    let after_first = find_row(&app, &id).await;

    let second = cancel(&app, &tenant, &id).await;

    assert_eq!(second, first);
    assert_eq!(second, success(&id));
    assert_eq!(find_row(&app, &id).await, after_first);
}

#[tokio::test]
async fn cancelling_an_unknown_id_answers_assessment_not_found() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    start(&app, &tenant).await;

    for id in [Uuid::new_v4().to_string(), "not-a-uuid".to_string()] {
        let body = cancel(&app, &tenant, &id).await;

        assert_refused(&body, "assessment_not_found");
    }
}

#[tokio::test]
async fn another_tenants_assessment_is_not_found_and_stays_started() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    let id = start(&app, &acme).await;

    let body = cancel(&app, &globex, &id).await;

    assert_refused(&body, "assessment_not_found");
    assert_eq!(find_row(&app, &id).await.status, "started");
}

#[tokio::test]
async fn a_completed_assessment_cannot_be_cancelled() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = start(&app, &tenant).await;
    set_status(&app, &id, "completed").await;

    let body = cancel(&app, &tenant, &id).await;

    assert_refused(&body, "assessment_already_completed");
    assert_eq!(find_row(&app, &id).await.status, "completed");
}

#[tokio::test]
async fn cancelling_an_expired_assessment_succeeds_and_leaves_it_expired() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = start(&app, &tenant).await;
    set_status(&app, &id, "expired").await;
    let before = find_row(&app, &id).await;

    let body = cancel(&app, &tenant, &id).await;

    assert_eq!(body, success(&id));
    assert_eq!(find_row(&app, &id).await, before);
}

#[tokio::test]
async fn a_bad_cancel_request_is_answered_200_with_success_false() {
    // Ashby documents only HTTP 200 for assessment.cancel (CONTRACT §4).
    let app = TestApp::spawn_with(|s| s.server.max_body_bytes = 1024).await;
    let tenant = app.create_tenant("Acme").await;
    let id = start(&app, &tenant).await;
    let oversize = format!(
        r#"{{"assessment_id": "{id}", "padding": "{}"}}"#,
        "x".repeat(2048)
    );
    // (what, body, a fragment the message must contain)
    let cases: [(&str, String, &str); 8] = [
        ("no assessment_id", "{}".into(), "assessment_id is required"),
        (
            "a null assessment_id",
            r#"{"assessment_id": null}"#.into(),
            "assessment_id is required",
        ),
        (
            "a numeric assessment_id",
            r#"{"assessment_id": 42}"#.into(),
            "assessment_id must be a string",
        ),
        ("a JSON array", format!(r#"["{id}"]"#), "JSON object"),
        ("not JSON", "{nope".into(), "not valid JSON"),
        ("an empty body", String::new(), "empty"),
        ("an oversize body", oversize, "1024 bytes"),
        (
            "a NUL character",
            r#"{"assessment_id": "a\u0000b"}"#.into(),
            "NUL",
        ),
    ];

    for (what, raw, fragment) in cases {
        let response = app.post_raw(&tenant, "/assessment.cancel", raw).await;

        let error = assert_error_envelope(response, 200, "invalid_request").await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{what}: {message}");
    }
    assert_eq!(find_row(&app, &id).await.status, "started");
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;

    let response = app
        .post_as(&tenant, "/assessment.frobnicate", &json!({}))
        .await;

    let body = assert_error_envelope(response, 404, "not_found").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/assessment.frobnicate")
    );
}

#[tokio::test]
async fn a_get_on_a_partner_endpoint_is_a_json_405() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;

    let response = app
        .client
        .get(app.url("/assessment.cancel"))
        .basic_auth(&tenant.key, Some(""))
        .send()
        .await
        .unwrap();

    assert_error_envelope(response, 405, "method_not_allowed").await;
}
