//! Managing tenants over /v1 (CONTRACT §10): scopes, CRUD, erasure, the Ashby key.

use reqwest::Method;
use sea_orm::{FromQueryResult as _, JsonValue, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    ASHBY_OK, NOWHERE, TestApp, accept_updates, assert_error_envelope, start_body,
};

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn create(app: &TestApp, body: Value) -> (u16, Value) {
    send(app.admin(Method::POST, "/v1/tenants").json(&body)).await
}

#[tokio::test]
async fn each_scope_reaches_only_its_routes() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    let call = |scope: &str, method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(app.token_with_scope(scope))
    };
    let event = json!({"status": "in_progress"});
    let events = format!("/v1/assessments/{id}/events");
    let tenant_path = format!("/v1/tenants/{}", tenant.id);
    // (scope, method, path, body, expected status)
    let cases: Vec<(&str, Method, &str, Option<Value>, u16)> = vec![
        ("engine", Method::GET, "/v1/assessments", None, 200),
        ("engine", Method::POST, &events, Some(event.clone()), 200),
        ("engine", Method::GET, "/v1/tenants", None, 403),
        ("engine", Method::GET, "/v1/deliveries", None, 403),
        (
            "engine",
            Method::POST,
            "/v1/tenants",
            Some(json!({"name": "X"})),
            403,
        ),
        ("engine", Method::POST, "/v1/deliveries/retry", None, 403),
        ("read", Method::GET, "/v1/assessments", None, 200),
        ("read", Method::GET, "/v1/tenants", None, 200),
        ("read", Method::GET, &tenant_path, None, 200),
        ("read", Method::GET, "/v1/deliveries", None, 200),
        ("read", Method::POST, &events, Some(event.clone()), 403),
        (
            "read",
            Method::PATCH,
            &tenant_path,
            Some(json!({"name": "Y"})),
            403,
        ),
        ("read", Method::DELETE, &tenant_path, None, 403),
        ("admin", Method::GET, "/v1/tenants", None, 200),
        ("admin", Method::POST, &events, Some(event.clone()), 200),
        (
            "admin",
            Method::PATCH,
            &tenant_path,
            Some(json!({"name": "Y"})),
            200,
        ),
    ];
    for (scope, method, path, body, expected) in cases {
        let mut request = call(scope, method.clone(), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            expected,
            "{scope} {method} {path}"
        );
        if expected == 403 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "insufficient_scope", "{body}");
        }
    }
}

#[tokio::test]
async fn a_tenant_is_created_shown_listed_changed_and_its_external_id_is_unique() {
    let app = TestApp::spawn().await;

    let (status, created) = create(
        &app,
        json!({"name": " Acme ", "external_id": "cust-1", "ashby_base_url": "https://ashby.example/"}),
    )
    .await;

    assert_eq!(status, 201, "{created}");
    let key = created["partner_api_key"].as_str().unwrap();
    assert!(!key.is_empty());
    assert_eq!(created["name"], "Acme");
    assert_eq!(created["external_id"], "cust-1");
    assert_eq!(created["disabled"], false);
    assert_eq!(created["partner_keys"], 1);
    assert_eq!(created["catalog"], "default");
    assert_eq!(created["ashby"]["base_url"], "https://ashby.example");
    assert_eq!(created["ashby"]["key_status"], "unset");
    assert_eq!(created["ashby"]["webhooks"], "unset");
    assert_eq!(created["deliveries"], json!({"pending": 0, "dead": 0}));
    let id = created["id"].as_str().unwrap();

    let (status, again) = create(&app, json!({"name": "Other", "external_id": "cust-1"})).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["code"], "external_id_taken");

    let (status, shown) = send(app.admin(Method::GET, &format!("/v1/tenants/{id}"))).await;
    assert_eq!(status, 200);
    assert!(shown.get("partner_api_key").is_none(), "shown only once");
    let (_, found) = send(app.admin(Method::GET, "/v1/tenants?external_id=cust-1")).await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["data"][0]["id"], id);

    let (status, patched) = send(
        app.admin(Method::PATCH, &format!("/v1/tenants/{id}"))
            .json(&json!({"name": "Acme Corp", "external_id": null, "disabled": true})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Acme Corp");
    assert_eq!(patched["external_id"], Value::Null);
    assert_eq!(patched["disabled"], true);
    let (status, _) = create(&app, json!({"name": "Other", "external_id": "cust-1"})).await;
    assert_eq!(status, 201, "the external id is free again");
    let (status, taken) = send(
        app.admin(Method::PATCH, &format!("/v1/tenants/{id}"))
            .json(&json!({"external_id": "cust-1"})),
    )
    .await;
    assert_eq!(status, 409, "{taken}");
}

#[tokio::test]
async fn bad_tenant_input_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({}), "name"),
        (
            json!({"name": "A", "ashby_base_url": "ftp://x"}),
            "ashby_base_url",
        ),
        (json!({"name": "A", "external_id": ""}), "external_id"),
        (json!({"name": "A", "colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        let (status, answer) = create(&app, body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(field),
            "{body}: {answer}"
        );
    }
    for path in [
        "/v1/tenants/not-a-uuid",
        &format!("/v1/tenants/{}", uuid::Uuid::new_v4()),
    ] {
        let (status, _) = send(app.admin(Method::GET, path)).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = send(app.admin(Method::GET, "/v1/tenants?limit=0")).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn tenants_are_listed_in_pages() {
    let app = TestApp::spawn().await;
    for n in 0..3 {
        create(&app, json!({"name": format!("T{n}")})).await;
    }
    let (_, first) = send(app.admin(Method::GET, "/v1/tenants?limit=2")).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) =
        send(app.admin(Method::GET, &format!("/v1/tenants?limit=2&cursor={cursor}"))).await;
    let names: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["data"].as_array().unwrap())
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["T0", "T1", "T2"]);
    assert_eq!(second["next_cursor"], Value::Null);
}

#[tokio::test]
async fn partner_keys_rotate_and_older_ones_are_revoked() {
    let app = TestApp::spawn().await;
    let (_, created) = create(&app, json!({"name": "Acme"})).await;
    let id = created["id"].as_str().unwrap();
    let old = created["partner_api_key"].as_str().unwrap().to_owned();

    let (status, rotated) =
        send(app.admin(Method::POST, &format!("/v1/tenants/{id}/partner-keys"))).await;
    assert_eq!(status, 201);
    let new = rotated["partner_api_key"].as_str().unwrap().to_owned();
    let list = |key: &str| {
        app.client
            .post(app.url("/assessment.list"))
            .basic_auth(key, Some(""))
            .json(&json!({}))
            .send()
    };
    assert_eq!(list(&old).await.unwrap().status(), 200);
    assert_eq!(list(&new).await.unwrap().status(), 200);

    let (status, _) =
        send(app.admin(Method::DELETE, &format!("/v1/tenants/{id}/partner-keys"))).await;
    assert_eq!(status, 422, "except_newest=true is required");
    let (status, revoked) = send(app.admin(
        Method::DELETE,
        &format!("/v1/tenants/{id}/partner-keys?except_newest=true"),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(revoked["revoked"], 1);
    assert_eq!(list(&old).await.unwrap().status(), 401);
    assert_eq!(list(&new).await.unwrap().status(), 200);
}

/// Every row of every table (from the database's own catalog), as JSON text.
async fn every_row(app: &TestApp) -> Vec<(String, String)> {
    let backend = app.db.get_database_backend();
    let tables_sql = if app.database.is_postgres() {
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    };
    let tables = JsonValue::find_by_statement(Statement::from_string(backend, tables_sql))
        .all(&app.db)
        .await
        .unwrap();
    let mut rows = Vec::new();
    for table in tables {
        let name = table["name"].as_str().unwrap().to_owned();
        let select = if app.database.is_postgres() {
            format!("SELECT CAST(row_to_json(t) AS TEXT) AS row FROM \"{name}\" t")
        } else {
            format!("SELECT * FROM \"{name}\"")
        };
        let found = JsonValue::find_by_statement(Statement::from_string(backend, select))
            .all(&app.db)
            .await
            .unwrap();
        for row in found {
            rows.push((name.clone(), row_text(&row)));
        }
    }
    rows
}

/// A row's values as text; SQLite's UUID blobs rendered as UUIDs so they can be searched.
fn row_text(row: &Value) -> String {
    let mut text = row.to_string();
    if let Some(object) = row.as_object() {
        for value in object.values() {
            if let Some(bytes) = value.as_array()
                && bytes.len() == 16
                && let Ok(bytes) = bytes
                    .iter()
                    .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()).ok_or(()))
                    .collect::<Result<Vec<u8>, ()>>()
                && let Ok(id) = uuid::Uuid::from_slice(&bytes)
            {
                text.push(' ');
                text.push_str(&id.to_string());
            }
        }
    }
    text
}

fn mentioning<'a>(rows: &'a [(String, String)], needles: &[String]) -> Vec<&'a (String, String)> {
    rows.iter()
        .filter(|(_, text)| needles.iter().any(|needle| text.contains(needle.as_str())))
        .collect()
}

#[tokio::test]
async fn deleting_a_tenant_leaves_no_row_that_mentions_it_in_any_table() {
    let app = TestApp::spawn().await;
    let ashby = mockito::Server::new_async().await;
    let doomed = app.create_tenant("Doomed Org").await;
    let kept = app.create_tenant("Kept Org").await;
    let mut body = start_body("app-doomed");
    body["candidate"]["email"] = json!("erase-me@doomed.example");
    let id = app.start_assessment(&doomed, &body).await;
    app.start_assessment(&kept, &start_body("app-kept")).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.connect_tenant_to_ashby(&doomed, &ashby.url(), "doomed-key")
        .await;
    app.engine
        .step_at(ashby_partner::store::now_ms())
        .await
        .unwrap(); // an attempt: 501 from mockito
    let mut needles = vec![
        doomed.id.to_string(),
        id.clone(),
        "erase-me@doomed.example".to_owned(),
        "Doomed Org".to_owned(),
    ];
    // Attempts name their delivery, not the tenant.
    needles.extend(
        app.deliveries_of(&id)
            .await
            .iter()
            .map(|d| d.id.to_string()),
    );
    let before = every_row(&app).await;
    let tables: std::collections::BTreeSet<&str> = mentioning(&before, &needles)
        .iter()
        .map(|(table, _)| table.as_str())
        .collect();
    for table in [
        "tenants",
        "partner_keys",
        "assessments",
        "deliveries",
        "delivery_attempts",
    ] {
        assert!(
            tables.contains(table),
            "{table} holds the tenant's data before: {tables:?}"
        );
    }

    let (status, _) = send(app.admin(Method::DELETE, &format!("/v1/tenants/{}", doomed.id))).await;

    assert_eq!(status, 204);
    let after = every_row(&app).await;
    assert_eq!(
        mentioning(&after, &needles),
        Vec::<&(String, String)>::new()
    );
    assert!(
        !mentioning(&after, &[kept.id.to_string()]).is_empty(),
        "the other tenant is untouched"
    );
    let (status, _) = send(app.admin(Method::GET, &format!("/v1/tenants/{}", doomed.id))).await;
    assert_eq!(status, 404);
    let (status, _) = send(app.admin(Method::DELETE, &format!("/v1/tenants/{}", doomed.id))).await;
    assert_eq!(status, 404);
}

async fn put_key(app: &TestApp, tenant: &str, key: &str) -> (u16, Value) {
    send(
        app.admin(Method::PUT, &format!("/v1/tenants/{tenant}/ashby-key"))
            .json(&json!({"api_key": key})),
    )
    .await
}

#[tokio::test]
async fn an_ashby_key_is_checked_before_it_is_stored() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let (_, created) = create(&app, json!({"name": "Acme", "ashby_base_url": ashby.url()})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let basic = |key: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
        )
    };
    let accepted = ashby
        .mock("POST", "/apiKey.info")
        .match_header("authorization", basic("good-key").as_str())
        .with_status(200)
        .with_body(r#"{"success": true, "results": {"title": "Assessments", "createdAt": "2024-01-01T00:00:00.000Z"}}"#)
        .create_async()
        .await;
    let refused = ashby
        .mock("POST", "/apiKey.info")
        .match_header("authorization", basic("bad-key").as_str())
        .with_status(401)
        .with_body(r#"{"success": false, "errors": ["invalid_api_key"]}"#)
        .create_async()
        .await;

    let (status, rejected) = put_key(&app, &id, "bad-key").await;
    assert_eq!(status, 422, "{rejected}");
    assert_eq!(rejected["error"]["code"], "ashby_key_rejected");
    let (_, shown) = send(app.admin(Method::GET, &format!("/v1/tenants/{id}"))).await;
    assert_eq!(
        shown["ashby"]["key_status"], "unset",
        "a rejected key is not stored"
    );

    let (status, verified) = put_key(&app, &id, "good-key").await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["ashby"]["key_status"], "verified");
    assert!(
        verified["ashby"]["key_checked_at"].is_string(),
        "{verified}"
    );
    accepted.assert_async().await;
    refused.assert_async().await;

    let (status, rechecked) =
        send(app.admin(Method::POST, &format!("/v1/tenants/{id}/ashby-key/verify"))).await;
    assert_eq!(status, 200);
    assert_eq!(rechecked["ashby"]["key_status"], "verified");
}

#[tokio::test]
async fn an_unreachable_ashby_stores_the_key_unverified() {
    let app = TestApp::spawn().await;
    let (_, created) = create(&app, json!({"name": "Acme", "ashby_base_url": NOWHERE})).await;
    let id = created["id"].as_str().unwrap();

    let (status, stored) = put_key(&app, id, "some-key").await;

    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["ashby"]["key_status"], "unverified");

    // A key Ashby does not refuse outright, but that may not read its own info.
    let mut ashby = mockito::Server::new_async().await;
    let info = ashby
        .mock("POST", "/apiKey.info")
        .with_status(200)
        .with_body(r#"{"success": false, "errors": ["missing_endpoint_permission"]}"#)
        .create_async()
        .await;
    let (_, other) = create(
        &app,
        json!({"name": "Other", "ashby_base_url": ashby.url()}),
    )
    .await;
    let (status, stored) = put_key(&app, other["id"].as_str().unwrap(), "limited-key").await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["ashby"]["key_status"], "unverified");
    info.assert_async().await;
    let (status, missing) = send(app.admin(
        Method::POST,
        &format!("/v1/tenants/{}/ashby-key/verify", uuid::Uuid::new_v4()),
    ))
    .await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test]
async fn a_tenant_without_an_ashby_key_cannot_start_an_assessment() {
    let app = TestApp::spawn().await;
    let (_, created) = create(&app, json!({"name": "Acme"})).await;
    let key = created["partner_api_key"].as_str().unwrap();

    let response = app
        .client
        .post(app.url("/assessment.start"))
        .basic_auth(key, Some(""))
        .json(&start_body("app-1"))
        .send()
        .await
        .unwrap();

    let body = assert_error_envelope(response, 422, "ashby_key_missing").await;
    assert!(
        body["message"].as_str().unwrap().contains("Ashby API key"),
        "{body}"
    );
}

#[tokio::test]
async fn a_delivery_refused_with_401_rejects_the_key_and_a_later_success_verifies_it() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "key")
        .await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    let refused = ashby
        .mock("POST", "/assessment.update")
        .with_status(401)
        .with_body(r#"{"success": false}"#)
        .expect(1)
        .create_async()
        .await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await;
    refused.assert_async().await;

    let (_, shown) = send(app.admin(Method::GET, &format!("/v1/tenants/{}", tenant.id))).await;
    assert_eq!(shown["ashby"]["key_status"], "rejected", "{shown}");
    assert!(
        shown["ashby"]["last_error"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{shown}"
    );
    assert_eq!(shown["deliveries"]["dead"], 1);

    refused.remove_async().await;
    accept_updates(&mut ashby).await;
    let (status, retried) = send(
        app.admin(Method::POST, "/v1/deliveries/retry")
            .json(&json!({"tenant_id": tenant.id})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(retried, json!({"retried": 1, "superseded": 0}));
    app.deliver_everything().await;

    let (_, shown) = send(app.admin(Method::GET, &format!("/v1/tenants/{}", tenant.id))).await;
    assert_eq!(shown["ashby"]["key_status"], "verified", "{shown}");
    assert_eq!(shown["ashby"]["last_error"], Value::Null);
    assert!(shown["ashby"]["last_delivered_at"].is_string());
    assert_eq!(shown["deliveries"], json!({"pending": 0, "dead": 0}));
}

#[tokio::test]
async fn a_disabled_tenant_is_refused_and_its_deliveries_wait_until_it_is_enabled() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "key")
        .await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    let update = ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(0)
        .create_async()
        .await;
    let path = format!("/v1/tenants/{}", tenant.id);
    let (status, _) = send(
        app.admin(Method::PATCH, &path)
            .json(&json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, 200);

    for endpoint in [
        "/assessment.list",
        "/assessment.start",
        "/assessment.cancel",
    ] {
        let response = app
            .client
            .post(app.url(endpoint))
            .basic_auth(&tenant.key, Some(""))
            .json(&start_body("app-2"))
            .send()
            .await
            .unwrap();
        let body = assert_error_envelope(response, 403, "tenant_disabled").await;
        assert!(
            body["message"].as_str().unwrap().contains("vendor"),
            "{body}"
        );
    }
    let mut now = ashby_partner::store::now_ms();
    for _ in 0..3 {
        app.engine.step_at(now).await.unwrap();
        now += 3_600_000;
    }
    let rows = app.deliveries_of(&id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("pending", 0));
    update.assert_async().await;

    update.remove_async().await;
    let delivered = ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    let (status, _) = send(
        app.admin(Method::PATCH, &path)
            .json(&json!({"disabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    app.deliver_everything().await;
    delivered.assert_async().await;
    assert_eq!(app.deliveries_of(&id).await[0].status, "delivered");
}

#[tokio::test]
async fn support_finds_assessments_by_candidate_email_and_application() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let mut body = start_body("app-7");
    body["candidate"]["email"] = json!("Grace.Hopper@Example.com");
    let wanted = app.start_assessment(&tenant, &body).await;
    app.start_assessment(&tenant, &start_body("app-8")).await;

    for query in [
        "candidate_email=grace.hopper@example.com",
        "candidate_email=GRACE.HOPPER@EXAMPLE.COM",
        "application_id=app-7",
    ] {
        let page: Value = app
            .vendor_get(&format!("/v1/assessments?{query}"))
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [wanted.as_str()], "{query}");
    }
    let none: Value = app
        .vendor_get("/v1/assessments?candidate_email=nobody@example.com")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["data"], json!([]));
}
