//! Ashby's webhooks (CONTRACT §11): signed, idempotent, and an erasure that leaves the
//! candidate's personal data in no table.

use std::sync::{Arc, Mutex};

use ashby_partner::ashby::webhooks::sign;
use ashby_partner::store::ashby_webhooks::status_of;
use mockito::Matcher;
use sea_orm::{ConnectionTrait as _, DatabaseBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, start_body};

const VENDOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn app_with_vendor_webhooks(vendor: &mockito::Server) -> TestApp {
    let url = format!("{}/hooks", vendor.url());
    TestApp::spawn_with(move |s| {
        s.vendor.webhook_url = url;
        s.vendor.webhook_secret = VENDOR_SECRET.to_string().into();
    })
    .await
}

/// Vendor webhook bodies, as received.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Value>>>);

impl Received {
    async fn mock(&self, vendor: &mut mockito::Server) -> mockito::Mock {
        let log = self.0.clone();
        vendor
            .mock("POST", "/hooks")
            .match_request(move |request| {
                let body = request.utf8_lossy_body().unwrap_or_default();
                log.lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap_or(Value::Null));
                true
            })
            .with_status(204)
            .create_async()
            .await
    }

    fn of_type(&self, kind: &str) -> Vec<Value> {
        let all = self.0.lock().unwrap().clone();
        all.into_iter().filter(|b| b["type"] == kind).collect()
    }
}

/// Sets the tenant's webhooks up the manual way (here: it has no Ashby key, so none can
/// be created through Ashby) and returns the secret the answer shows.
async fn webhook_secret(app: &TestApp, tenant: &TestTenant) -> String {
    app.forget_ashby_key(tenant).await;
    let answer = register(app, tenant).await;
    // Starting assessments needs a key again; nothing is sent to it in these tests.
    app.connect_tenant_to_ashby(tenant, crate::helpers::NOWHERE, "key")
        .await;
    assert_eq!(answer["status"], "manual", "{answer}");
    answer["secret_token"].as_str().unwrap().to_owned()
}

async fn register(app: &TestApp, tenant: &TestTenant) -> Value {
    let response = app
        .client
        .put(app.url(&format!("/v1/tenants/{}/ashby-webhooks", tenant.id)))
        .bearer_auth(app.token_with_scope("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn send(app: &TestApp, tenant: &TestTenant, secret: &str, body: &Value) -> u16 {
    let raw = body.to_string();
    send_raw(
        app,
        tenant,
        Some(sign(secret.as_bytes(), raw.as_bytes())),
        raw,
    )
    .await
}

async fn send_raw(
    app: &TestApp,
    tenant: &TestTenant,
    signature: Option<String>,
    raw: String,
) -> u16 {
    let mut request = app
        .client
        .post(app.url(&format!("/ashby/webhooks/{}", tenant.id)))
        .header("content-type", "application/json")
        .body(raw);
    if let Some(signature) = signature {
        request = request.header("Ashby-Signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn assessment(app: &TestApp, id: &str) -> Value {
    let response = app.vendor_get(&format!("/v1/assessments/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn start_for(candidate_id: &str, application_id: &str, email: &str, last_name: &str) -> Value {
    let mut body = start_body(application_id);
    body["candidate"]["ashby_id"] = candidate_id.into();
    body["candidate"]["email"] = email.into();
    body["candidate"]["last_name"] = last_name.into();
    // A first name of this candidate's own, so a search for it finds no one else.
    body["candidate"]["first_name"] = format!("{}ina", &last_name[..3]).into();
    body["candidate"]["phone_number"] = format!("+44 20 7946 {:04}", last_name.len()).into();
    body["candidate"]["ashby_profile_url"] =
        format!("https://app.ashbyhq.com/candidates/{last_name}").into();
    body
}

/// Every text (cast) of every column of every table, found through the catalog.
async fn every_stored_text(app: &TestApp) -> Vec<(String, String)> {
    let db = &app.db;
    let backend = db.get_database_backend();
    let tables_sql = match backend {
        DatabaseBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
        _ => "SELECT name FROM sqlite_master WHERE type = 'table'",
    };
    let tables: Vec<String> = db
        .query_all_raw(Statement::from_string(backend, tables_sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .collect();
    assert!(
        tables.iter().any(|t| t == "delivery_attempts"),
        "{tables:?}"
    );
    let mut texts = Vec::new();
    for table in tables {
        let columns_sql = match backend {
            DatabaseBackend::Postgres => format!(
                "SELECT column_name AS name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            _ => format!("SELECT name FROM pragma_table_info('{table}')"),
        };
        let columns: Vec<String> = db
            .query_all_raw(Statement::from_string(backend, columns_sql))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "name").unwrap())
            .collect();
        for column in columns {
            // SQLite keeps uuids as blobs, which are not UTF-8: read bytes there.
            let cast = match backend {
                DatabaseBackend::Postgres => "TEXT",
                _ => "BLOB",
            };
            let sql = format!("SELECT CAST(\"{column}\" AS {cast}) AS v FROM \"{table}\"");
            for row in db
                .query_all_raw(Statement::from_string(backend, sql))
                .await
                .unwrap()
            {
                let text = match backend {
                    DatabaseBackend::Postgres => row.try_get::<Option<String>>("", "v").unwrap(),
                    _ => row
                        .try_get::<Option<Vec<u8>>>("", "v")
                        .unwrap()
                        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                };
                if let Some(text) = text {
                    texts.push((format!("{table}.{column}"), text));
                }
            }
        }
    }
    texts
}

async fn places_holding(app: &TestApp, needle: &str) -> Vec<String> {
    every_stored_text(app)
        .await
        .into_iter()
        .filter(|(_, text)| text.contains(needle))
        .map(|(place, _)| place)
        .collect()
}

#[tokio::test]
async fn a_signed_candidate_delete_leaves_the_candidate_in_no_table() {
    let mut vendor = mockito::Server::new_async().await;
    let received = Received::default();
    let _hooks = received.mock(&mut vendor).await;
    let app = app_with_vendor_webhooks(&vendor).await;
    let tenant = app.create_tenant("Acme").await;
    let secret = webhook_secret(&app, &tenant).await;
    let gone = app
        .start_assessment(
            &tenant,
            &start_for("cand-gone", "app-1", "ada@example.com", "Lovelace"),
        )
        .await;
    let kept = app
        .start_assessment(
            &tenant,
            &start_for("cand-kept", "app-2", "grace@example.org", "Hopper"),
        )
        .await;
    app.deliver_everything().await;
    // Rows as an earlier version wrote them: a webhook stored whole, and an attempt
    // whose error echoed the body it was sent.
    let started = app.deliveries_of(&gone).await.remove(0);
    let whole = received.of_type("assessment.started")[0].clone();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            match app.db.get_database_backend() {
                DatabaseBackend::Postgres => {
                    "UPDATE deliveries SET payload = $1, last_error = $2 WHERE id = $3"
                }
                _ => "UPDATE deliveries SET payload = ?, last_error = ? WHERE id = ?",
            },
            [
                whole.clone().into(),
                format!("HTTP 500: {whole}").into(),
                started.id.into(),
            ],
        ))
        .await
        .unwrap();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            match app.db.get_database_backend() {
                DatabaseBackend::Postgres => {
                    "UPDATE delivery_attempts SET error = $1 WHERE delivery_id = $2"
                }
                _ => "UPDATE delivery_attempts SET error = ? WHERE delivery_id = ?",
            },
            [
                "refused mail for ada@example.com (Ada Lovelace)".into(),
                started.id.into(),
            ],
        ))
        .await
        .unwrap();
    for needle in ["ada@example.com", "Lovina", "Lovelace", "+44 20 7946 0008"] {
        assert!(
            !places_holding(&app, needle).await.is_empty(),
            "{needle} is stored before"
        );
    }

    let status = send(
        &app,
        &tenant,
        &secret,
        &json!({"action": "candidateDelete", "data": {"candidate": {"id": "cand-gone"}}}),
    )
    .await;
    app.deliver_everything().await;

    assert_eq!(status, 200);
    for needle in [
        "ada@example.com",
        "Lovina",
        "Lovelace",
        "+44 20 7946 0008",
        "candidates/Lovelace",
    ] {
        assert_eq!(
            places_holding(&app, needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let erased = assessment(&app, &gone).await;
    assert_eq!(
        erased["candidate"],
        json!({"ashby_id": "cand-gone", "erased": true})
    );
    assert_eq!(erased["status"], "cancelled");
    assert_eq!(erased["history"][1]["source"], "ashby");
    let cancelled = received.of_type("assessment.cancelled");
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0]["data"]["reason"], "candidate_deleted");
    assert_eq!(
        cancelled[0]["data"]["candidate"],
        json!({"ashby_id": "cand-gone", "erased": true}),
        "rendering must not put the candidate back"
    );
    // The other candidate is untouched.
    let other = assessment(&app, &kept).await;
    assert_eq!(other["candidate"]["email"], "grace@example.org");
    assert_eq!(other["status"], "started");
    assert!(!places_holding(&app, "Hopper").await.is_empty());
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_webhooks_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let stranger = app.create_tenant("No webhooks").await;
    let secret = webhook_secret(&app, &tenant).await;
    let id = app
        .start_assessment(
            &tenant,
            &start_for("cand-1", "app-1", "ada@example.com", "Lovelace"),
        )
        .await;
    let body =
        json!({"action": "candidateDelete", "data": {"candidate": {"id": "cand-1"}}}).to_string();

    let unsigned = send_raw(&app, &tenant, None, body.clone()).await;
    let wrong_key = send_raw(
        &app,
        &tenant,
        Some(sign(b"not-the-secret", body.as_bytes())),
        body.clone(),
    )
    .await;
    let other_body = send_raw(
        &app,
        &tenant,
        Some(sign(secret.as_bytes(), b"{\"action\":\"ping\"}")),
        body.clone(),
    )
    .await;
    let malformed = send_raw(&app, &tenant, Some("sha256=nothex".into()), body.clone()).await;
    let no_secret = send_raw(
        &app,
        &stranger,
        Some(sign(secret.as_bytes(), body.as_bytes())),
        body.clone(),
    )
    .await;

    assert_eq!(
        [unsigned, wrong_key, other_body, malformed, no_secret],
        [401; 5]
    );
    let unchanged = assessment(&app, &id).await;
    assert_eq!(unchanged["status"], "started");
    assert_eq!(unchanged["candidate"]["email"], "ada@example.com");
    let unknown = app
        .client
        .post(app.url("/ashby/webhooks/not-a-tenant"))
        .header("Ashby-Signature", sign(secret.as_bytes(), body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
}

#[tokio::test]
async fn archived_and_hired_applications_cancel_their_open_assessments_once() {
    let mut vendor = mockito::Server::new_async().await;
    let received = Received::default();
    let _hooks = received.mock(&mut vendor).await;
    let app = app_with_vendor_webhooks(&vendor).await;
    let tenant = app.create_tenant("Acme").await;
    let secret = webhook_secret(&app, &tenant).await;
    let archived = app
        .start_assessment(&tenant, &start_body("app-archived"))
        .await;
    let hired = app
        .start_assessment(&tenant, &start_body("app-hired"))
        .await;
    let active = app
        .start_assessment(&tenant, &start_body("app-active"))
        .await;
    let update = |id: &str, status: &str, action: &str| {
        json!({"action": action, "data": {"application": {"id": id, "status": status,
               "candidate": {"id": "c"}}}})
    };

    // Each sent twice, as Ashby's retries would.
    for _ in 0..2 {
        for body in [
            update("app-archived", "Archived", "applicationUpdate"),
            update("app-hired", "Hired", "candidateHire"),
            update("app-active", "Active", "applicationUpdate"),
            update("app-active", "Lead", "applicationUpdate"),
            json!({"action": "offerCreate", "data": {}}),
            json!({"action": "applicationUpdate", "data": {}}),
        ] {
            assert_eq!(send(&app, &tenant, &secret, &body).await, 200, "{body}");
        }
    }
    let not_json = "{not json".to_owned();
    let signature = sign(secret.as_bytes(), not_json.as_bytes());
    assert_eq!(
        send_raw(&app, &tenant, Some(signature), not_json).await,
        200
    );
    app.deliver_everything().await;

    assert_eq!(assessment(&app, &archived).await["status"], "cancelled");
    assert_eq!(assessment(&app, &hired).await["status"], "cancelled");
    assert_eq!(assessment(&app, &active).await["status"], "started");
    let cancelled = received.of_type("assessment.cancelled");
    let reasons: Vec<(Value, Value)> = cancelled
        .iter()
        .map(|b| (b["data"]["id"].clone(), b["data"]["reason"].clone()))
        .collect();
    assert_eq!(
        reasons.len(),
        2,
        "one webhook per cancelled assessment, however often Ashby retries: {reasons:?}"
    );
    assert!(reasons.contains(&(archived.clone().into(), "application_archived".into())));
    assert!(reasons.contains(&(hired.clone().into(), "application_hired".into())));
    // Nothing goes to Ashby for a cancel Ashby told us about.
    for id in [&archived, &hired] {
        assert!(
            app.deliveries_of(id)
                .await
                .iter()
                .all(|d| d.kind == "vendor.webhook")
        );
    }
}

#[tokio::test]
async fn a_merge_moves_the_deleted_candidates_assessments_to_the_merged_one() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let secret = webhook_secret(&app, &tenant).await;
    let moved = app
        .start_assessment(
            &tenant,
            &start_for("cand-old", "app-1", "ada@example.com", "Lovelace"),
        )
        .await;
    let other = app
        .start_assessment(
            &tenant,
            &start_for("cand-other", "app-2", "bob@example.com", "Other"),
        )
        .await;
    let merge = json!({"action": "candidateMerge", "data": {
        "mergedCandidate": {"id": "cand-new"}, "deletedCandidate": {"id": "cand-old"}}});

    for _ in 0..2 {
        assert_eq!(send(&app, &tenant, &secret, &merge).await, 200);
    }

    let merged = assessment(&app, &moved).await;
    assert_eq!(merged["candidate"]["ashby_id"], "cand-new");
    assert_eq!(merged["candidate"]["email"], "ada@example.com");
    assert_eq!(merged["status"], "started");
    assert_eq!(
        assessment(&app, &other).await["candidate"]["ashby_id"],
        "cand-other"
    );
    // The merged candidate is the one a later delete erases.
    let delete = json!({"action": "candidateDelete", "data": {"candidate": {"id": "cand-new"}}});
    assert_eq!(send(&app, &tenant, &secret, &delete).await, 200);
    assert_eq!(
        assessment(&app, &moved).await["candidate"],
        json!({"ashby_id": "cand-new", "erased": true})
    );
}

#[tokio::test]
async fn registration_creates_the_four_webhooks_and_then_answers_their_ping() {
    let mut ashby = mockito::Server::new_async().await;
    let secrets = Arc::new(Mutex::new(Vec::<Value>::new()));
    let log = secrets.clone();
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let url = format!(
        "{}/ashby/webhooks/{}",
        app.settings.server.public_url, tenant.id
    );
    let create = ashby
        .mock("POST", "/webhook.create")
        .match_header("authorization", Matcher::Regex("^Basic ".into()))
        .match_body(Matcher::PartialJson(json!({"requestUrl": url})))
        .match_request(move |request| {
            let body: Value =
                serde_json::from_str(&request.utf8_lossy_body().unwrap_or_default()).unwrap();
            log.lock().unwrap().push(body);
            true
        })
        .with_status(200)
        .with_body(r#"{"success": true, "results": {"id": "w1"}}"#)
        .expect(4)
        .create_async()
        .await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "ashby-key")
        .await;
    assert_eq!(status_of(&app.db, tenant.id).await.unwrap(), "unset");

    let answer = register(&app, &tenant).await;

    create.assert_async().await;
    assert_eq!(
        answer,
        json!({"status": "registered", "url": url, "webhook_types":
            ["candidateDelete", "candidateMerge", "applicationUpdate", "candidateHire"]})
    );
    let sent = secrets.lock().unwrap().clone();
    let types: Vec<&str> = sent
        .iter()
        .map(|b| b["webhookType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "candidateDelete",
            "candidateMerge",
            "applicationUpdate",
            "candidateHire"
        ]
    );
    let secret = sent[0]["secretToken"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    assert!(sent.iter().all(|b| b["secretToken"] == secret.as_str()));
    assert_eq!(status_of(&app.db, tenant.id).await.unwrap(), "registered");
    // What Ashby sends when a webhook is created.
    let ping = json!({"action": "ping", "data": {"webhook": {"webhookType": "candidateDelete"}}});
    assert_eq!(send(&app, &tenant, &secret, &ping).await, 200);
    // The secret is stored sealed, never as it is.
    assert_eq!(places_holding(&app, &secret).await, Vec::<String>::new());
}

#[tokio::test]
async fn without_the_permission_registration_answers_what_to_create_by_hand() {
    let mut ashby = mockito::Server::new_async().await;
    let _forbidden = ashby
        .mock("POST", "/webhook.create")
        .with_status(403)
        .with_body(r#"{"success": false, "errorInfo": {"code": "forbidden", "message": "Missing permission"}}"#)
        .create_async()
        .await;
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "ashby-key")
        .await;

    let first = register(&app, &tenant).await;
    let again = register(&app, &tenant).await;

    assert_eq!(first["status"], "manual");
    assert_eq!(
        first["url"],
        format!(
            "{}/ashby/webhooks/{}",
            app.settings.server.public_url, tenant.id
        )
    );
    assert_eq!(first["webhook_types"].as_array().unwrap().len(), 4);
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("Admin > Integrations > Webhooks")
    );
    assert_eq!(
        again["secret_token"], first["secret_token"],
        "the secret is kept"
    );
    assert_eq!(status_of(&app.db, tenant.id).await.unwrap(), "manual");
    let secret = first["secret_token"].as_str().unwrap();
    assert_eq!(
        send(&app, &tenant, secret, &json!({"action": "ping"})).await,
        200
    );
}

#[tokio::test]
async fn registering_an_unknown_tenant_is_a_404() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .put(app.url(&format!(
            "/v1/tenants/{}/ashby-webhooks",
            uuid::Uuid::new_v4()
        )))
        .bearer_auth(app.token_with_scope("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_cli_sets_webhooks_up_like_the_api() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("No Ashby key yet").await;
    app.forget_ashby_key(&tenant).await;
    let cwd = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| {
        let mut command = app.binary(cwd.path());
        command.args(args);
        async move {
            tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap()
        }
    };

    let output = run(vec![
        "tenant".into(),
        "ashby-webhooks".into(),
        tenant.id.to_string(),
        "--json".into(),
    ])
    .await;
    let bad = run(vec![
        "tenant".into(),
        "ashby-webhooks".into(),
        "nope".into(),
    ])
    .await;

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["status"], "manual");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("no Ashby API key")
    );
    let secret = answer["secret_token"].as_str().unwrap();
    assert_eq!(
        send(&app, &tenant, secret, &json!({"action": "ping"})).await,
        200
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a tenant id"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_anything_else() {
    let app = TestApp::spawn_with(|s| s.server.max_body_bytes = 1024).await;
    let tenant = app.create_tenant("Acme").await;
    let secret = webhook_secret(&app, &tenant).await;
    let big = json!({"action": "ping", "data": {"padding": "x".repeat(2048)}}).to_string();

    let status = send_raw(
        &app,
        &tenant,
        Some(sign(secret.as_bytes(), big.as_bytes())),
        big,
    )
    .await;

    assert_eq!(status, 413);
}
