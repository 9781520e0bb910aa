//! A start request is stored once: the `assessment.started` webhook's outbox row refers
//! to the assessment instead of copying the request, and the body is rendered when sent.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::helpers::{TestApp, start_body};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A value that appears only in the start request's `additional_fields`.
const MARKER: &str = "only-in-the-start-request";

async fn app_with_webhooks(vendor: &mockito::Server) -> TestApp {
    let url = format!("{}/hooks", vendor.url());
    TestApp::spawn_with(move |s| {
        s.vendor.webhook_url = url;
        s.vendor.webhook_secret = SECRET.to_string().into();
    })
    .await
}

#[tokio::test]
async fn the_started_webhook_row_does_not_copy_the_request_yet_the_vendor_receives_all_of_it() {
    let mut vendor = mockito::Server::new_async().await;
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = received.clone();
    let mock = vendor
        .mock("POST", "/hooks")
        .match_request(move |request| {
            let body = request.utf8_lossy_body().unwrap_or_default().into_owned();
            log.lock().unwrap().push(body);
            true
        })
        .with_status(204)
        .create_async()
        .await;
    let app = app_with_webhooks(&vendor).await;
    let tenant = app.create_tenant("Acme").await;
    let mut body = start_body("app-once");
    body["additional_fields"] = json!({ "notes": MARKER });
    let id = app.start_assessment(&tenant, &body).await;

    let rows = app.deliveries_of(&id).await;
    assert_eq!(rows.len(), 1);
    let stored = rows[0].payload.to_string();
    assert!(!stored.contains(MARKER), "the request is copied: {stored}");
    assert!(!stored.contains("ada@example.com"), "{stored}");

    app.deliver_everything().await;
    mock.assert_async().await;
    let sent: Value = serde_json::from_str(&received.lock().unwrap()[0]).unwrap();
    assert_eq!(sent["type"], "assessment.started");
    assert_eq!(sent["data"]["id"], id.as_str());
    assert_eq!(sent["data"]["status"], "started");
    assert_eq!(sent["data"]["additional_fields"]["notes"], MARKER);
    assert_eq!(sent["data"]["candidate"]["email"], "ada@example.com");
    let from_api = app.vendor_get(&format!("/v1/assessments/{id}")).await;
    let assessment: Value = from_api.json().await.unwrap();
    for part in ["candidate", "application", "job", "additional_fields"] {
        assert_eq!(sent["data"][part], assessment[part], "{part}");
    }

    let listed: Value = app
        .vendor_get(&format!("/v1/assessments/{id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["data"][0]["payload"], sent,
        "the API shows what was sent"
    );
}
