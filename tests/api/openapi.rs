//! `GET /openapi.json` documents the vendor API, and the API answers as documented.

use serde_json::{Value, json};

use crate::helpers::{TestApp, start_body};

async fn document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Validates `instance` against a component schema of the document.
fn assert_matches_component(document: &Value, component: &str, instance: &Value) {
    let schema = json!({
        "$ref": format!("#/components/schemas/{component}"),
        "components": document["components"],
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{instance} does not match {component}: {errors:#?}"
    );
}

#[tokio::test]
async fn the_document_lists_every_vendor_route_with_bearer_auth() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;

    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes = [
        ("/v1/assessment-types", "get"),
        ("/v1/assessments", "get"),
        ("/v1/assessments/{id}", "get"),
        ("/v1/assessments/{id}/events", "post"),
        ("/v1/assessments/{id}/deliveries", "get"),
        ("/v1/completed-assessments", "post"),
        ("/v1/deliveries/{id}/retry", "post"),
        ("/v1/candidate-sessions/{token}", "get"),
        ("/v1/tenants/{id}/ashby-webhooks", "put"),
        ("/v1/tenants", "get"),
        ("/v1/tenants", "post"),
        ("/v1/tenants/{id}", "get"),
        ("/v1/tenants/{id}", "patch"),
        ("/v1/tenants/{id}", "delete"),
        ("/v1/tenants/{id}/partner-keys", "post"),
        ("/v1/tenants/{id}/partner-keys", "delete"),
        ("/v1/tenants/{id}/ashby-key", "put"),
        ("/v1/tenants/{id}/ashby-key/verify", "post"),
        ("/v1/deliveries", "get"),
        ("/v1/deliveries/{id}", "get"),
        ("/v1/deliveries/{id}/dismiss", "post"),
        ("/v1/deliveries/retry", "post"),
        ("/v1/tenants/{id}/assessment-types", "get"),
        ("/v1/tenants/{id}/assessment-types", "put"),
        ("/v1/tenants/{id}/assessment-types", "delete"),
        ("/v1/tenants/{id}/custom-fields", "get"),
        ("/v1/tenants/{id}/custom-fields", "put"),
        ("/v1/tenants/{id}/custom-fields", "delete"),
    ];
    for (path, method) in routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    let paths: std::collections::HashSet<&str> = routes.iter().map(|(path, _)| *path).collect();
    assert_eq!(
        doc["paths"].as_object().unwrap().len(),
        paths.len(),
        "every path, and no other"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    assert_eq!(
        doc["paths"]["/v1/candidate-sessions/{token}"]["get"]["security"],
        json!([{}]),
        "the candidate link needs no bearer"
    );
}

#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.vendor_event(&id, &json!({
        "status": "completed",
        "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 70},
        "profile_url": "https://tests.example/r/1",
        "metadata": [{"identifier": "m", "label": "Minutes", "type": "numeric_duration_minutes", "value": 3}]
    }))
    .await;

    let assessment: Value = app
        .vendor_get(&format!("/v1/assessments/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "Assessment", &assessment);
    let page: Value = app
        .vendor_get("/v1/assessments")
        .await
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "AssessmentPage", &page);
    let types: Value = app
        .vendor_get("/v1/assessment-types")
        .await
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "AssessmentTypeList", &types);
    let deliveries: Value = app
        .vendor_get(&format!("/v1/assessments/{id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "DeliveryList", &deliveries);
    let missing: Value = app
        .vendor_get(&format!("/v1/assessments/{}", uuid::Uuid::new_v4()))
        .await
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "ErrorBody", &missing);

    let admin = |method, path: &str| app.admin(method, path);
    let created: Value = admin(reqwest::Method::POST, "/v1/tenants")
        .json(&json!({"name": "Globex", "external_id": "cust-9"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "CreatedTenant", &created);
    let shown: Value = admin(reqwest::Method::GET, &format!("/v1/tenants/{}", tenant.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "Tenant", &shown);
    let tenants: Value = admin(reqwest::Method::GET, "/v1/tenants")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "TenantPage", &tenants);
    let page: Value = admin(reqwest::Method::GET, "/v1/deliveries")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "DeliveryPage", &page);
    let delivery_id = page["data"][0]["id"].as_str().unwrap();
    let one: Value = admin(
        reqwest::Method::GET,
        &format!("/v1/deliveries/{delivery_id}"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_matches_component(&doc, "DeliveryWithAttempts", &one);
    let retried: Value = admin(reqwest::Method::POST, "/v1/deliveries/retry")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_matches_component(&doc, "RetriedDeliveries", &retried);
    let key: Value = admin(
        reqwest::Method::POST,
        &format!("/v1/tenants/{}/partner-keys", tenant.id),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_matches_component(&doc, "PartnerKey", &key);
}
