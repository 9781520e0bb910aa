//! Vendor webhooks (CONTRACT §7): signed, durable, and the candidate link they carry.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, start_body};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A webhook as the vendor received it.
#[derive(Clone, Debug)]
struct Hook {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Clone, Default)]
struct Hooks(Arc<Mutex<Vec<Hook>>>);

impl Hooks {
    fn matcher(&self) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
        let log = self.0.clone();
        move |request| {
            let header = |name: &str| {
                request
                    .header(name)
                    .first()
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            log.lock().unwrap().push(Hook {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
                body: request.utf8_lossy_body().unwrap_or_default().into_owned(),
            });
            true
        }
    }

    fn received(&self) -> Vec<Hook> {
        self.0.lock().unwrap().clone()
    }
}

/// What the vendor does to check a webhook: recompute the signature with the secret.
fn signature_is_valid(hook: &Hook) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", hook.id, hook.timestamp, hook.body).as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    hook.signature == format!("v1,{expected}")
}

async fn app_with_webhooks(vendor: &mockito::Server) -> TestApp {
    let url = format!("{}/hooks", vendor.url());
    TestApp::spawn_with(move |s| {
        s.vendor.webhook_url = url;
        s.vendor.webhook_secret = SECRET.to_string().into();
        s.vendor.candidate_url_template = "https://tests.example/take/{token}".into();
    })
    .await
}

#[tokio::test]
async fn a_start_sends_a_signed_started_webhook_with_a_working_candidate_link() {
    let mut vendor = mockito::Server::new_async().await;
    let hooks = Hooks::default();
    let mock = vendor
        .mock("POST", "/hooks")
        .match_request(hooks.matcher())
        .with_status(204)
        .expect(1)
        .create_async()
        .await;
    let app = app_with_webhooks(&vendor).await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    // A retried start is the same start: no second webhook.
    assert_eq!(
        app.start_assessment(&tenant, &start_body("app-1")).await,
        id
    );

    app.deliver_everything().await;

    mock.assert_async().await;
    let hook = &hooks.received()[0];
    assert!(signature_is_valid(hook), "{hook:?}");
    let body: Value = serde_json::from_str(&hook.body).unwrap();
    assert_eq!(body["type"], "assessment.started");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["data"]["id"], id);
    assert_eq!(body["data"]["candidate"]["email"], "ada@example.com");
    let link = body["data"]["candidate_url"].as_str().unwrap();
    let token = link.strip_prefix("https://tests.example/take/").unwrap();

    let session = app
        .client
        .get(app.url(&format!("/v1/candidate-sessions/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        session.status(),
        200,
        "no bearer needed: the token is the credential"
    );
    let session: Value = session.json().await.unwrap();
    assert_eq!(session["assessment_id"], id);
    assert_eq!(session["status"], "started");
    assert_eq!(session["assessment_type"]["name"], "Backend take-home");
    assert_eq!(
        session["candidate"],
        json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
    );

    let tampered = format!("{token}x");
    let refused = app
        .client
        .get(app.url(&format!("/v1/candidate-sessions/{tampered}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let vendor_token = app.vendor_token();
    let refused = app
        .client
        .get(app.url(&format!("/v1/candidate-sessions/{vendor_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        401,
        "an API token is not a candidate link"
    );
}

#[tokio::test]
async fn an_expired_candidate_link_is_refused() {
    let vendor = mockito::Server::new_async().await;
    let app = app_with_webhooks(&vendor).await;
    let keys = ashby_partner::tokens::TokenKeys::new(&app.secrets().token_secret).unwrap();
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    let long_ago = ashby_partner::store::now_ms() - 8 * 86_400_000;
    let token = keys
        .candidate_token(
            id.parse().unwrap(),
            long_ago,
            std::time::Duration::from_secs(7 * 86_400),
        )
        .unwrap();

    let response = app
        .client
        .get(app.url(&format!("/v1/candidate-sessions/{token}")))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "link_expired"
    );
}

#[tokio::test]
async fn an_ashby_cancel_sends_a_cancelled_webhook_once() {
    let mut vendor = mockito::Server::new_async().await;
    let hooks = Hooks::default();
    vendor
        .mock("POST", "/hooks")
        .match_request(hooks.matcher())
        .with_status(200)
        .create_async()
        .await;
    let app = app_with_webhooks(&vendor).await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    for _ in 0..2 {
        let response = app
            .post_as(&tenant, "/assessment.cancel", &json!({"assessment_id": id}))
            .await;
        assert_eq!(response.status(), 200);
    }

    app.deliver_everything().await;

    let types: Vec<String> = hooks
        .received()
        .iter()
        .map(|h| {
            serde_json::from_str::<Value>(&h.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        types,
        ["assessment.started", "assessment.cancelled"],
        "in order, and once"
    );
    let kinds: Vec<String> = app
        .deliveries_of(&id)
        .await
        .iter()
        .map(|d| d.kind.clone())
        .collect();
    assert_eq!(
        kinds,
        ["vendor.webhook", "vendor.webhook"],
        "nothing went to Ashby"
    );
}

#[tokio::test]
async fn webhook_failures_are_retried_and_a_refusal_is_dead() {
    let mut vendor = mockito::Server::new_async().await;
    vendor
        .mock("POST", "/hooks")
        .with_status(503)
        .expect(1)
        .create_async()
        .await;
    vendor
        .mock("POST", "/hooks")
        .with_status(410)
        .create_async()
        .await;
    let app = app_with_webhooks(&vendor).await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;

    app.deliver_everything().await;

    let row = &app.deliveries_of(&id).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("dead", 2));
    assert!(row.last_error.as_deref().unwrap().contains("410"));
}

#[tokio::test]
async fn without_a_webhook_url_no_webhook_is_queued() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.post_as(&tenant, "/assessment.cancel", &json!({"assessment_id": id}))
        .await;
    assert!(app.deliveries_of(&id).await.is_empty());
    let body: Value = app
        .vendor_get(&format!("/v1/assessments/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["candidate_url"], Value::Null, "no template, no link");
}

#[tokio::test]
async fn a_redirected_webhook_is_not_taken_as_delivered() {
    let mut vendor = mockito::Server::new_async().await;
    vendor
        .mock("POST", "/hooks")
        .with_status(301)
        .with_header("location", "/landing")
        .create_async()
        .await;
    let landed = vendor
        .mock("GET", "/landing")
        .with_status(200)
        .expect(0)
        .create_async()
        .await;
    let app = app_with_webhooks(&vendor).await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;

    app.deliver_everything().await;

    let row = &app.deliveries_of(&id).await[0];
    assert_eq!(row.status, "dead");
    assert!(row.last_error.as_deref().unwrap().contains("301"));
    landed.assert_async().await;
}
