//! The partner-key, catalog and token-revocation cache across replicas: two servers on one database, each
//! with its own cache (`server.lookup_cache_ms` = 1000). A change made through one is
//! seen by that one at once, and by the other once its entry is older than the bound —
//! played by moving the other's (stopped) cache clock, never by waiting.

use std::time::Duration;

use ashby_partner::store::vendor_tokens;
use ashby_partner::tokens::{Scope, TokenKeys};
use reqwest::Method;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::helpers::{TYPE_ID, TestApp, TestDatabase, TestTenant, test_settings};

const BOUND: Duration = Duration::from_millis(1000);
const OWN_TYPE: &str = "0b6f7c1e-2222-4000-8000-00000000000a";

async fn two_replicas() -> (TestApp, TestApp) {
    let database = TestDatabase::create().await;
    let mut settings = test_settings(&database.url);
    settings.server.lookup_cache_ms = 1000;
    let url = database.url.clone();
    let first = TestApp::start(settings.clone(), database).await;
    let second = TestApp::start(settings, TestDatabase::at_url(url)).await;
    // Only the test moves the caches' clocks: what is asserted never depends on how long
    // the steps take.
    first.lookups.clock().stop();
    second.lookups.clock().stop();
    (first, second)
}

async fn list(app: &TestApp, key: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/assessment.list"))
        .basic_auth(key, Some(""))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> u16 {
    let mut request = app.admin(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status().as_u16()
}

fn listed_ids(body: &Value) -> Vec<&str> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["assessment_type_id"].as_str().unwrap())
        .collect()
}

/// Both replicas have read the tenant's key (and catalog) into their caches.
async fn warmed(first: &TestApp, second: &TestApp) -> TestTenant {
    let tenant = first.create_tenant("Acme").await;
    assert_eq!(list(first, &tenant.key).await.0, 200);
    assert_eq!(list(second, &tenant.key).await.0, 200);
    tenant
}

#[tokio::test]
async fn a_revoked_key_stops_working_here_at_once_and_on_another_replica_within_the_bound() {
    let (first, second) = two_replicas().await;
    let tenant = warmed(&first, &second).await;
    let id = tenant.id.0;
    assert_eq!(
        admin(
            &first,
            Method::POST,
            &format!("/v1/tenants/{id}/partner-keys"),
            None
        )
        .await,
        201
    );

    let path = format!("/v1/tenants/{id}/partner-keys?except_newest=true");
    assert_eq!(admin(&first, Method::DELETE, &path, None).await, 200);

    assert_eq!(
        list(&first, &tenant.key).await.0,
        401,
        "the replica that revoked"
    );
    second
        .lookups
        .clock()
        .advance(BOUND - Duration::from_millis(1));
    assert_eq!(
        list(&second, &tenant.key).await.0,
        200,
        "within the bound, the other replica may still accept it"
    );
    second.lookups.clock().advance(Duration::from_millis(1));
    assert_eq!(list(&second, &tenant.key).await.0, 401, "after the bound");
}

#[tokio::test]
async fn a_disabled_tenant_is_refused_on_every_replica_within_the_bound() {
    let (first, second) = two_replicas().await;
    let tenant = warmed(&first, &second).await;
    let path = format!("/v1/tenants/{}", tenant.id.0);

    let patch = Some(json!({"disabled": true}));
    assert_eq!(admin(&first, Method::PATCH, &path, patch).await, 200);

    assert_eq!(list(&first, &tenant.key).await.0, 403);
    second.lookups.clock().advance(BOUND);
    let (status, body) = list(&second, &tenant.key).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errorInfo"]["code"], "tenant_disabled", "{body}");
}

#[tokio::test]
async fn a_catalog_change_reaches_every_replica_within_the_bound() {
    let (first, second) = two_replicas().await;
    let tenant = warmed(&first, &second).await;
    let path = format!("/v1/tenants/{}/assessment-types", tenant.id.0);
    let types = json!({"data": [{"id": OWN_TYPE, "name": "System design"}]});

    let status = first
        .client
        .put(first.url(&path))
        .bearer_auth(first.token_with_scope("admin"))
        .json(&types)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let (_, here) = list(&first, &tenant.key).await;
    assert_eq!(listed_ids(&here), [OWN_TYPE]);
    let (_, there) = list(&second, &tenant.key).await;
    assert_eq!(listed_ids(&there), [TYPE_ID], "still the cached catalog");
    second.lookups.clock().advance(BOUND);
    let (_, there) = list(&second, &tenant.key).await;
    assert_eq!(listed_ids(&there), [OWN_TYPE]);
}

#[tokio::test]
async fn a_vendor_token_revoked_elsewhere_is_refused_on_every_replica_within_the_bound() {
    let (first, second) = two_replicas().await;
    let keys = TokenKeys::new(&first.secrets().token_secret).unwrap();
    let issued = keys
        .issue_scoped_token(Duration::from_secs(3600), Scope::Engine)
        .unwrap();
    vendor_tokens::record(&first.db, &issued, None)
        .await
        .unwrap();
    let token = issued.token.expose_secret();
    assert_eq!(first.assessment_types_status(token).await, 200);
    assert_eq!(second.assessment_types_status(token).await, 200);

    // What `ashby-partner token revoke` does, from its own process: a database write that
    // neither replica's cache hears of.
    let revoked = vendor_tokens::revoke(&first.db, issued.id).await.unwrap();
    assert!(revoked.is_some_and(|row| row.revoked_at_ms.is_some()));

    for replica in [&first, &second] {
        replica
            .lookups
            .clock()
            .advance(BOUND - Duration::from_millis(1));
        assert_eq!(
            replica.assessment_types_status(token).await,
            200,
            "within the bound, a replica may still accept it"
        );
        replica.lookups.clock().advance(Duration::from_millis(1));
        assert_eq!(
            replica.assessment_types_status(token).await,
            401,
            "after the bound"
        );
    }
}
