//! Ashby authenticates with a tenant's partner key over HTTP Basic.

use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn list_with(app: &TestApp, auth: Option<(&str, &str)>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/assessment.list"))
        .json(&json!({}));
    if let Some((user, password)) = auth {
        request = request.basic_auth(user, Some(password));
    }
    request.send().await.unwrap()
}

async fn assert_unauthorized(response: reqwest::Response) {
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"].to_str().unwrap(),
        "Basic realm=\"ashby-partner\""
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["errors"], json!(["invalid_credentials"]));
    assert_eq!(body["errorInfo"]["code"], "invalid_credentials");
    assert!(
        body["errorInfo"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
}

#[tokio::test]
async fn a_request_without_credentials_is_refused() {
    let app = TestApp::spawn().await;
    assert_unauthorized(list_with(&app, None).await).await;
}

#[tokio::test]
async fn a_wrong_key_is_refused() {
    let app = TestApp::spawn().await;
    app.create_tenant("Acme").await;
    assert_unauthorized(list_with(&app, Some(("apk_not-a-real-key", ""))).await).await;
}

#[tokio::test]
async fn the_key_is_accepted_as_username_or_as_password() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    assert_eq!(list_with(&app, Some((&tenant.key, ""))).await.status(), 200);
    assert_eq!(list_with(&app, Some(("", &tenant.key))).await.status(), 200);
}

#[tokio::test]
async fn a_revoked_key_is_refused_and_the_newest_keeps_working() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let newer = ashby_partner::crypto::issue_partner_key();
    ashby_partner::store::tenants::add_key(&app.db, tenant.id, &newer)
        .await
        .unwrap();
    assert_eq!(
        list_with(&app, Some((&tenant.key, ""))).await.status(),
        200,
        "old key works until revoked"
    );

    let revoked = ashby_partner::store::tenants::revoke_keys_except_newest(&app.db, tenant.id)
        .await
        .unwrap();

    assert_eq!(revoked, 1);
    assert_unauthorized(list_with(&app, Some((&tenant.key, ""))).await).await;
    use secrecy::ExposeSecret as _;
    assert_eq!(
        list_with(&app, Some((newer.plaintext.expose_secret(), "")))
            .await
            .status(),
        200
    );
}
