//! Operating deliveries over /v1 (CONTRACT §10): list, show with attempts, dismiss,
//! retry every dead one.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, start_body};

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An assessment whose progress update went dead (the tenant has no Ashby key).
async fn dead_update(app: &TestApp, tenant: &TestTenant, application: &str) -> (String, String) {
    let id = app.start_assessment(tenant, &start_body(application)).await;
    app.forget_ashby_key(tenant).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await;
    let rows = app.deliveries_of(&id).await;
    assert_eq!(rows[0].status, "dead");
    (id, rows[0].id.to_string())
}

#[tokio::test]
async fn deliveries_are_listed_with_filters_and_shown_with_their_attempts() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    let (assessment, dead) = dead_update(&app, &acme, "app-1").await;
    let other = app.start_assessment(&globex, &start_body("app-2")).await;
    app.vendor_event(&other, &json!({"status": "in_progress"}))
        .await;

    let ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, dead_page) = send(app.admin(Method::GET, "/v1/deliveries?status=dead")).await;
    assert_eq!(status, 200, "{dead_page}");
    assert_eq!(ids(&dead_page), std::slice::from_ref(&dead));
    let (_, by_tenant) = send(app.admin(
        Method::GET,
        &format!("/v1/deliveries?tenant_id={}", globex.id),
    ))
    .await;
    assert_eq!(by_tenant["data"].as_array().unwrap().len(), 1);
    let (_, by_assessment) = send(app.admin(
        Method::GET,
        &format!("/v1/deliveries?assessment_id={assessment}&kind=assessment.update"),
    ))
    .await;
    assert_eq!(ids(&by_assessment), std::slice::from_ref(&dead));
    let (_, first) = send(app.admin(Method::GET, "/v1/deliveries?limit=1")).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = send(app.admin(
        Method::GET,
        &format!("/v1/deliveries?limit=1&cursor={cursor}"),
    ))
    .await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_ne!(ids(&first), ids(&second));
    for bad in [
        "status=lost",
        "kind=fax",
        "tenant_id=x",
        "cursor=!!",
        "limit=500",
        "colour=red",
    ] {
        let (status, body) = send(app.admin(Method::GET, &format!("/v1/deliveries?{bad}"))).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }

    let (status, shown) = send(app.admin(Method::GET, &format!("/v1/deliveries/{dead}"))).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["status"], "dead");
    let log = shown["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 1, "{shown}");
    assert_eq!(log[0]["outcome"], "dead");
    assert!(log[0]["error"].as_str().unwrap().contains("set-ashby-key"));
    assert!(log[0]["at"].is_string() && log[0]["duration_ms"].is_number());
    let (status, _) = send(app.admin(
        Method::GET,
        &format!("/v1/deliveries/{}", uuid::Uuid::new_v4()),
    ))
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn only_a_dead_delivery_is_dismissed_and_then_it_no_longer_counts_as_dead() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let pending_assessment = app.start_assessment(&acme, &start_body("app-2")).await;
    let (_, dead) = dead_update(&app, &acme, "app-1").await;
    app.vendor_event(&pending_assessment, &json!({"status": "in_progress"}))
        .await;
    let pending: Vec<_> = app
        .deliveries_of(&pending_assessment)
        .await
        .into_iter()
        .filter(|row| row.status == "pending")
        .collect();
    assert!(!pending.is_empty());

    let (status, dismissed) =
        send(app.admin(Method::POST, &format!("/v1/deliveries/{dead}/dismiss"))).await;

    assert_eq!(status, 200, "{dismissed}");
    assert_eq!(dismissed["status"], "dismissed");
    let (status, again) =
        send(app.admin(Method::POST, &format!("/v1/deliveries/{dead}/dismiss"))).await;
    assert_eq!(status, 409, "{again}");
    let (_, tenant) = send(app.admin(Method::GET, &format!("/v1/tenants/{}", acme.id))).await;
    assert_eq!(tenant["deliveries"]["dead"], 0);
    let (_, retried) = send(app.admin(Method::POST, "/v1/deliveries/retry")).await;
    assert_eq!(retried["retried"], 0, "a dismissed delivery is final");
    let (status, _) = send(app.admin(
        Method::POST,
        &format!("/v1/deliveries/{}/dismiss", pending[0].id),
    ))
    .await;
    assert_eq!(status, 409, "a pending delivery cannot be dismissed");
    let (status, _) = send(app.admin(
        Method::POST,
        &format!("/v1/deliveries/{}/dismiss", uuid::Uuid::new_v4()),
    ))
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn retrying_every_dead_delivery_can_be_limited_to_one_tenant() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    dead_update(&app, &acme, "app-1").await;
    dead_update(&app, &globex, "app-2").await;

    let (status, one) = send(
        app.admin(Method::POST, "/v1/deliveries/retry")
            .json(&json!({"tenant_id": acme.id})),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one, json!({"retried": 1, "superseded": 0}));
    let (_, rest) = send(
        app.admin(Method::POST, "/v1/deliveries/retry")
            .json(&json!({})),
    )
    .await;
    assert_eq!(rest["retried"], 1);
    let (status, bad) = send(
        app.admin(Method::POST, "/v1/deliveries/retry")
            .json(&json!({"tenant_id": "nope"})),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
}
