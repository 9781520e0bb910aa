//! `assessment.start`: Ashby starts an assessment; we answer with our id, store the whole
//! request, and treat a repeated start as a retry.

use ashby_partner::settings::AssessmentTypeSettings;
use entity::assessment;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TYPE_ID, TestApp, assert_error_envelope, assert_matches_schema, start_body};

const SECOND_TYPE_ID: &str = "6f1c2a4e-0000-4000-8000-000000000002";

fn new_application_id() -> String {
    Uuid::new_v4().to_string()
}

async fn find_row(app: &TestApp, id: &str) -> assessment::Model {
    assessment::Entity::find_by_id(Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .expect("the assessment row exists")
}

async fn rows_for_application(app: &TestApp, application_id: &str) -> u64 {
    assessment::Entity::find()
        .filter(assessment::Column::ApplicationAshbyId.eq(application_id))
        .count(&app.db)
        .await
        .unwrap()
}

/// `body` with the field at a dotted path (e.g. `candidate.email`) removed.
fn without(mut body: Value, path: &str) -> Value {
    let (parent, field) = match path.rsplit_once('.') {
        Some((parent, field)) => (format!("/{}", parent.replace('.', "/")), field),
        None => (String::new(), path),
    };
    let removed = body
        .pointer_mut(&parent)
        .and_then(Value::as_object_mut)
        .and_then(|object| object.remove(field));
    assert!(removed.is_some(), "start_body has no {path}");
    body
}

/// `body` with the field at a dotted path set to `value`.
fn with(mut body: Value, path: &str, value: Value) -> Value {
    let pointer = format!("/{}", path.replace('.', "/"));
    *body.pointer_mut(&pointer).expect("the field exists") = value;
    body
}

fn app_with_two_types(settings: &mut ashby_partner::settings::Settings) {
    settings.assessment_types.push(AssessmentTypeSettings {
        id: SECOND_TYPE_ID.parse().unwrap(),
        name: "Frontend take-home".into(),
        description: None,
    });
}

#[tokio::test]
async fn a_realistic_start_answers_our_id_and_the_started_status() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let before_ms = chrono::Utc::now().timestamp_millis();

    let response = app
        .post_as(
            &tenant,
            "/assessment.start",
            &start_body(&new_application_id()),
        )
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_matches_schema("assessment.start.response.200.json", &body);
    assert_eq!(body["success"], true);
    let id = body["results"]["assessment_id"].as_str().unwrap();
    Uuid::parse_str(id).expect("assessment_id is a UUID");
    let update = &body["results"]["update_request"];
    assert_eq!(update["assessment_id"], id);
    let timestamp = update["timestamp"].as_i64().expect("an integer timestamp");
    assert!(
        timestamp >= before_ms,
        "{timestamp} is milliseconds, and now"
    );
    assert_eq!(
        update["assessment_status"],
        json!({"identifier": "status", "label": "Status", "type": "string", "value": "Started"})
    );
}

#[tokio::test]
async fn the_whole_start_request_is_stored_with_a_started_history() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let sent = start_body(&new_application_id());

    let id = app.start_assessment(&tenant, &sent).await;

    let row = find_row(&app, &id).await;
    assert_eq!(row.start_request, sent);
    assert_eq!(
        row.start_request["additional_fields"],
        json!({"seniority": "sr"})
    );
    assert_eq!(
        row.start_request["interviewStageId"],
        "a-field-ashby-added-later"
    );
    assert_eq!(
        row.start_request["job"]["hiringTeam"],
        sent["job"]["hiringTeam"]
    );
    assert_eq!(row.status, "started");
    assert_eq!(row.tenant_id, tenant.id.0);
    assert_eq!(row.assessment_type_id.to_string(), TYPE_ID);
    let history = row.history.as_array().expect("history is an array");
    assert_eq!(history.len(), 1, "{}", row.history);
    assert_eq!(history[0]["status"], "started");
    assert_eq!(history[0]["source"], "ashby");
}

#[tokio::test]
async fn a_start_missing_any_required_field_is_refused_naming_it() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let required = [
        "assessment_type_id",
        "candidate",
        "candidate.ashby_id",
        "candidate.first_name",
        "candidate.last_name",
        "candidate.email",
        "candidate.ashby_profile_url",
        "application",
        "application.ashby_id",
        "application.status",
        "job",
        "job.ashby_id",
        "job.name",
        "job.ashby_job_url",
    ];

    for field in required {
        let body = without(start_body(&new_application_id()), field);

        let response = app.post_as(&tenant, "/assessment.start", &body).await;

        let error = assert_error_envelope(response, 422, "invalid_request").await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
        assert_matches_schema("assessment.start.response.422.json", &error);
    }
}

#[tokio::test]
async fn a_start_with_a_wrongly_typed_field_is_refused_naming_it() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let cases = [
        ("candidate", json!("Ada Lovelace")),
        ("application.ashby_id", json!(42)),
        ("job.hiringTeam", json!({"userId": "u-1"})),
        ("application.status", json!("Pending")),
    ];

    for (field, value) in cases {
        let body = with(start_body(&new_application_id()), field, value.clone());

        let response = app.post_as(&tenant, "/assessment.start", &body).await;

        let error = assert_error_envelope(response, 422, "invalid_request").await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(field), "{field} = {value}: {message}");
        assert_matches_schema("assessment.start.response.422.json", &error);
    }
}

#[tokio::test]
async fn a_start_for_an_unknown_assessment_type_is_refused() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;

    for type_id in [Uuid::new_v4().to_string(), "not-a-uuid".to_string()] {
        let body = with(
            start_body(&new_application_id()),
            "assessment_type_id",
            json!(type_id),
        );

        let response = app.post_as(&tenant, "/assessment.start", &body).await;

        let error = assert_error_envelope(response, 422, "unknown_assessment_type").await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("assessment_type_id"), "{message}");
        assert!(message.contains(&type_id), "{message}");
        assert_matches_schema("assessment.start.response.422.json", &error);
    }
}

#[tokio::test]
async fn a_start_body_that_is_not_a_json_object_is_refused() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let cases: [(&str, &str, u16, &str); 4] = [
        (
            "a JSON array",
            r#"[{"assessment_type_id": "x"}]"#,
            422,
            "invalid_request",
        ),
        ("not JSON", "{nope", 400, "invalid_json"),
        ("empty", "", 400, "invalid_json"),
        ("only whitespace", " \n ", 400, "invalid_json"),
    ];

    for (what, raw, status, code) in cases {
        let response = app.post_raw(&tenant, "/assessment.start", raw).await;

        let error = assert_error_envelope(response, status, code).await;
        if status == 422 {
            assert_matches_schema("assessment.start.response.422.json", &error);
        }
        let stored = assessment::Entity::find().count(&app.db).await.unwrap();
        assert_eq!(stored, 0, "{what} stored nothing");
    }
}

#[tokio::test]
async fn a_start_body_over_the_size_limit_is_refused_with_413() {
    let app = TestApp::spawn_with(|s| s.server.max_body_bytes = 1024).await;
    let tenant = app.create_tenant("Acme").await;
    let application_id = new_application_id();
    let mut oversize = start_body(&application_id);
    oversize["padding"] = json!("");
    let padding = 2048 - serde_json::to_vec(&oversize).unwrap().len();
    oversize["padding"] = json!("x".repeat(padding));
    let oversize = serde_json::to_vec(&oversize).unwrap();
    assert_eq!(oversize.len(), 2048);

    let response = app.post_raw(&tenant, "/assessment.start", oversize).await;

    assert_error_envelope(response, 413, "payload_too_large").await;
    assert_eq!(rows_for_application(&app, &application_id).await, 0);
    let fitting = start_body(&new_application_id());
    assert!(serde_json::to_vec(&fitting).unwrap().len() < 1024);
    app.start_assessment(&tenant, &fitting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_starts_create_one_assessment() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let application_id = new_application_id();
    let body = start_body(&application_id);
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let request = app
            .client
            .clone()
            .post(app.url("/assessment.start"))
            .basic_auth(tenant.key.clone(), Some(""))
            .json(&body);
        starts.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        });
    }

    let answers = starts.join_all().await;

    let first_id = answers[0].1["results"]["assessment_id"].clone();
    assert!(first_id.is_string(), "{}", answers[0].1);
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        assert_eq!(answer["results"]["assessment_id"], first_id);
    }
    assert_eq!(rows_for_application(&app, &application_id).await, 1);
}

#[tokio::test]
async fn a_repeated_start_answers_the_same_id_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let application_id = new_application_id();
    let id = app
        .start_assessment(&tenant, &start_body(&application_id))
        .await;
    let before = find_row(&app, &id).await;

    let again = app
        .start_assessment(&tenant, &start_body(&application_id))
        .await;

    assert_eq!(again, id);
    assert_eq!(find_row(&app, &id).await, before);
    assert_eq!(rows_for_application(&app, &application_id).await, 1);
}

#[tokio::test]
async fn a_start_for_another_application_or_type_creates_another_assessment() {
    let app = TestApp::spawn_with(app_with_two_types).await;
    let tenant = app.create_tenant("Acme").await;
    let application_id = new_application_id();
    let id = app
        .start_assessment(&tenant, &start_body(&application_id))
        .await;

    let other_application = app
        .start_assessment(&tenant, &start_body(&new_application_id()))
        .await;
    let other_type = app
        .start_assessment(
            &tenant,
            &with(
                start_body(&application_id),
                "assessment_type_id",
                json!(SECOND_TYPE_ID),
            ),
        )
        .await;

    assert_ne!(other_application, id);
    assert_ne!(other_type, id);
    assert_ne!(other_type, other_application);
    assert_eq!(rows_for_application(&app, &application_id).await, 2);
    assert_eq!(
        find_row(&app, &other_type)
            .await
            .assessment_type_id
            .to_string(),
        SECOND_TYPE_ID
    );
}

#[tokio::test]
async fn a_start_after_a_cancel_is_a_retake_with_a_new_id() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let body = start_body(&new_application_id());
    let first = app.start_assessment(&tenant, &body).await;
    let cancel = app
        .post_as(
            &tenant,
            "/assessment.cancel",
            &json!({ "assessment_id": first }),
        )
        .await;
    assert_eq!(cancel.status(), 200);

    let retake = app.start_assessment(&tenant, &body).await;

    assert_ne!(retake, first);
    assert_eq!(find_row(&app, &first).await.status, "cancelled");
    assert_eq!(find_row(&app, &retake).await.status, "started");
    assert_eq!(app.start_assessment(&tenant, &body).await, retake);
}

#[tokio::test]
async fn tenants_do_not_share_assessments() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    let body = start_body(&new_application_id());
    let acme_id = app.start_assessment(&acme, &body).await;

    let globex_id = app.start_assessment(&globex, &body).await;

    assert_ne!(globex_id, acme_id);
    assert_eq!(find_row(&app, &globex_id).await.tenant_id, globex.id.0);
    assert_eq!(find_row(&app, &acme_id).await.tenant_id, acme.id.0);
    assert_eq!(app.start_assessment(&acme, &body).await, acme_id);
}

#[tokio::test]
async fn started_assessments_survive_a_restart() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let body = start_body(&new_application_id());
    let id = app.start_assessment(&tenant, &body).await;

    let app = app.restart().await;

    assert_eq!(app.start_assessment(&tenant, &body).await, id);
    let cancel = app
        .post_as(
            &tenant,
            "/assessment.cancel",
            &json!({ "assessment_id": id }),
        )
        .await;
    assert_eq!(cancel.status(), 200);
    let cancel: Value = cancel.json().await.unwrap();
    assert_eq!(
        cancel,
        json!({ "success": true, "results": { "assessment_id": id } })
    );
    assert_eq!(find_row(&app, &id).await.status, "cancelled");
}

#[tokio::test]
async fn nul_characters_and_overlong_ids_are_refused_with_422_on_every_database() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let mut with_nul = start_body("app-nul");
    with_nul["candidate"]["first_name"] = serde_json::json!("Ada\u{0}");
    let mut with_nul_elsewhere = start_body("app-nul-2");
    with_nul_elsewhere["someFutureField"] = serde_json::json!({"deep": ["\u{0}"]});
    let mut overlong = start_body(&"x".repeat(4000));
    overlong["candidate"]["ashby_id"] = serde_json::json!("c");

    for (body, named) in [
        (with_nul, "candidate.first_name"),
        (with_nul_elsewhere, "someFutureField.deep[0]"),
        (overlong, "application.ashby_id"),
    ] {
        let response = app.post_as(&tenant, "/assessment.start", &body).await;
        assert_eq!(response.status(), 422);
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains(named), "{body}");
    }
}
