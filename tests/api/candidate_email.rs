//! `POST /v1/completed-assessments` with `candidate_email` (CONTRACT §5): the candidate is
//! found with Ashby's `candidate.search` inside the durable delivery; none or several is a
//! dead delivery with a reason that says which.

use serde_json::{Value, json};

use crate::helpers::{ASHBY_OK, TestApp};

async fn complete_for(app: &TestApp, ashby: &mockito::Server, email: &str) -> Value {
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "key")
        .await;
    let response = app
        .vendor_post(
            "/v1/completed-assessments",
            &json!({
                "tenant_id": tenant.id,
                "candidate_email": email,
                "assessment_type_id": crate::helpers::TYPE_ID,
                "result": {"identifier": "passed", "label": "Passed", "type": "boolean_success", "value": true}
            }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    assert_eq!(accepted["candidate_email"], email);
    assert_eq!(accepted["candidate_id"], Value::Null);
    accepted
}

async fn searching(ashby: &mut mockito::Server, email: &str, ids: &[&str]) -> mockito::Mock {
    let results: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "name": "Ada"}))
        .collect();
    ashby
        .mock("POST", "/candidate.search")
        .match_body(mockito::Matcher::Json(json!({"email": email})))
        .with_status(200)
        .with_body(json!({"success": true, "results": results}).to_string())
        .create_async()
        .await
}

async fn delivery_of(app: &TestApp, accepted: &Value) -> entity::delivery::Model {
    app.deliveries_of(accepted["id"].as_str().unwrap())
        .await
        .remove(0)
}

#[tokio::test]
async fn the_one_candidate_with_the_email_gets_the_result() {
    let app = TestApp::spawn_with(|s| s.ashby.partner_id = Some(uuid::Uuid::new_v4())).await;
    let mut ashby = mockito::Server::new_async().await;
    let candidate = uuid::Uuid::new_v4().to_string();
    let search = searching(&mut ashby, "ada@example.com", &[&candidate]).await;
    let attach = ashby
        .mock("POST", "/assessment.addCompletedToCandidate")
        .match_body(mockito::Matcher::PartialJson(
            json!({"candidateId": candidate}),
        ))
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    let accepted = complete_for(&app, &ashby, "ada@example.com").await;

    app.deliver_everything().await;

    search.assert_async().await;
    attach.assert_async().await;
    let delivery = delivery_of(&app, &accepted).await;
    assert_eq!(delivery.status, "delivered");
}

#[tokio::test]
async fn no_candidate_or_several_make_the_delivery_dead_saying_which() {
    let app = TestApp::spawn_with(|s| s.ashby.partner_id = Some(uuid::Uuid::new_v4())).await;
    let mut ashby = mockito::Server::new_async().await;
    let never = ashby
        .mock("POST", "/assessment.addCompletedToCandidate")
        .expect(0)
        .create_async()
        .await;
    searching(&mut ashby, "nobody@example.com", &[]).await;
    let two = [
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    ];
    searching(&mut ashby, "twins@example.com", &[&two[0], &two[1]]).await;
    let nobody = complete_for(&app, &ashby, "nobody@example.com").await;
    let twins = complete_for(&app, &ashby, "twins@example.com").await;

    app.deliver_everything().await;

    never.assert_async().await;
    for (accepted, reason) in [
        (nobody, "candidate_not_found"),
        (twins, "candidate_ambiguous"),
    ] {
        let delivery = delivery_of(&app, &accepted).await;
        assert_eq!(delivery.status, "dead");
        let error = delivery.last_error.unwrap_or_default();
        assert!(error.starts_with(reason), "{error}");
    }
}

#[tokio::test]
async fn exactly_one_of_candidate_id_and_a_well_formed_candidate_email_is_required() {
    let app = TestApp::spawn_with(|s| s.ashby.partner_id = Some(uuid::Uuid::new_v4())).await;
    let tenant = app.create_tenant("Acme").await;
    let body = |candidate: Value| {
        let mut body = json!({
            "tenant_id": tenant.id,
            "assessment_type_id": crate::helpers::TYPE_ID,
            "result": {"identifier": "passed", "label": "Passed", "type": "boolean_success", "value": true}
        });
        body.as_object_mut()
            .unwrap()
            .extend(candidate.as_object().unwrap().clone());
        body
    };
    let cases = [
        json!({}),
        json!({"candidate_id": uuid::Uuid::new_v4(), "candidate_email": "ada@example.com"}),
        json!({"candidate_email": "not an email"}),
        json!({"candidate_email": "ada@example.com\u{0007}"}),
    ];
    for case in cases {
        let response = app
            .vendor_post("/v1/completed-assessments", &body(case.clone()))
            .await;
        assert_eq!(response.status(), 422, "{case}");
    }
}
