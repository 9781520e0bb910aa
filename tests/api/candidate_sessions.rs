//! `GET /v1/candidate-sessions/{token}`: the candidate's own link shows who they are only
//! while the assessment is open.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, start_body};

/// A candidate link's token for `id`, as the server mints them.
fn link_token(app: &TestApp, id: &str) -> String {
    let keys = ashby_partner::tokens::TokenKeys::new(&app.secrets().token_secret).unwrap();
    keys.candidate_token(
        id.parse().unwrap(),
        chrono::Utc::now().timestamp_millis(),
        std::time::Duration::from_secs(3600),
    )
    .unwrap()
}

async fn session(app: &TestApp, token: &str) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/v1/candidate-sessions/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn started(app: &TestApp, tenant: &TestTenant) -> (String, String) {
    let id = app
        .start_assessment(tenant, &start_body(&uuid::Uuid::new_v4().to_string()))
        .await;
    let token = link_token(app, &id);
    (id, token)
}

fn no_personal_data() -> Value {
    json!({"first_name": null, "last_name": null, "email": null})
}

#[tokio::test]
async fn an_open_assessments_link_shows_the_candidate() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let (id, token) = started(&app, &tenant).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;

    let body = session(&app, &token).await;

    assert_eq!(body["status"], "in_progress");
    assert_eq!(body["candidate"]["email"], "ada@example.com");
}

#[tokio::test]
async fn a_finished_assessments_link_shows_its_status_but_not_the_candidate() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let (completed, completed_token) = started(&app, &tenant).await;
    let (status, _) = app
        .vendor_event(
            &completed,
            &json!({"status": "completed", "profile_url": "https://t.example/r",
                "result": {"identifier": "s", "label": "S", "type": "numeric_score", "value": 1}}),
        )
        .await;
    assert_eq!(status, 200);
    let (expired, expired_token) = started(&app, &tenant).await;
    app.vendor_event(&expired, &json!({"status": "expired"}))
        .await;
    let (cancelled, cancelled_token) = started(&app, &tenant).await;
    let response = app
        .post_as(
            &tenant,
            "/assessment.cancel",
            &json!({ "assessment_id": cancelled }),
        )
        .await;
    assert_eq!(response.status(), 200);

    for (id, token, status) in [
        (completed, completed_token, "completed"),
        (expired, expired_token, "expired"),
        (cancelled, cancelled_token, "cancelled"),
    ] {
        let body = session(&app, &token).await;

        assert_eq!(body["assessment_id"], id);
        assert_eq!(body["status"], status);
        assert_eq!(body["assessment_type"]["name"], "Backend take-home");
        assert_eq!(body["candidate"], no_personal_data(), "{status}");
        assert!(!body.to_string().contains("Ada"), "{body}");
    }
}
