//! The vendor moves assessments along; each move is written with its update to Ashby.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_matches_schema, start_body};

fn score(value: Value) -> Value {
    json!({"identifier": "score", "label": "Score", "type": "numeric_score", "value": value})
}

fn completion() -> Value {
    json!({
        "status": "completed",
        "result": score(json!(92)),
        "profile_url": "https://tests.example/results/1",
        "metadata": [{"identifier": "minutes", "label": "Time taken", "type": "numeric_duration_minutes", "value": 74}]
    })
}

async fn started(app: &TestApp) -> String {
    let tenant = app.create_tenant("Acme").await;
    app.start_assessment(&tenant, &start_body(&uuid::Uuid::new_v4().to_string()))
        .await
}

#[tokio::test]
async fn progress_then_completion_are_recorded_and_each_queues_a_valid_update() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;

    let (status, body) = app
        .vendor_event(&id, &json!({"status": "in_progress", "metadata": [
            {"identifier": "eta", "label": "ETA", "type": "numeric_duration_minutes", "value": 45}
        ]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "in_progress");
    let (status, body) = app.vendor_event(&id, &completion()).await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(body["id"], id);
    assert_eq!(body["status"], "completed");
    assert_eq!(body["result"], score(json!(92)));
    assert_eq!(body["profile_url"], "https://tests.example/results/1");
    assert_eq!(body["candidate"]["email"], "ada@example.com");
    assert_eq!(body["additional_fields"], json!({"seniority": "sr"}));
    let history: Vec<(&str, &str)> = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["status"].as_str().unwrap(), h["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("started", "ashby"),
            ("in_progress", "vendor"),
            ("completed", "vendor")
        ]
    );
    let metadata_ids: Vec<&str> = body["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(
        metadata_ids,
        ["eta", "minutes"],
        "metadata accumulates by identifier"
    );

    let deliveries = app.deliveries_of(&id).await;
    assert_eq!(deliveries.len(), 2);
    for delivery in &deliveries {
        assert_eq!(delivery.kind, "assessment.update");
        assert_eq!(delivery.status, "pending");
        assert_matches_schema("assessment.update.request.json", &delivery.payload);
        assert_eq!(delivery.payload["assessment_id"], id);
    }
    assert_eq!(
        deliveries[0].payload["assessment_status"]["value"],
        "In Progress"
    );
    let completed = &deliveries[1].payload;
    assert_eq!(completed["assessment_status"]["value"], "Completed");
    assert_eq!(completed["assessment_result"], score(json!(92)));
    assert_eq!(completed["assessment_profile_url"]["type"], "url");
    assert_eq!(
        completed["assessment_profile_url"]["value"],
        "https://tests.example/results/1"
    );
    assert_eq!(completed["metadata"][0]["identifier"], "minutes");
}

#[tokio::test]
async fn update_timestamps_strictly_increase_even_within_one_millisecond() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;
    let same_instant = "2026-01-02T03:04:05.678Z";
    for _ in 0..5 {
        let (status, _) = app
            .vendor_event(
                &id,
                &json!({"status": "in_progress", "occurred_at": same_instant}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let timestamps: Vec<i64> = app
        .deliveries_of(&id)
        .await
        .iter()
        .map(|d| d.payload["timestamp"].as_i64().unwrap())
        .collect();
    assert_eq!(timestamps.len(), 5, "each in_progress is a new update");
    assert!(timestamps.windows(2).all(|w| w[0] < w[1]), "{timestamps:?}");
}

#[tokio::test]
async fn vendor_cancellations_and_expiries_send_a_cancelled_reason() {
    let app = TestApp::spawn().await;
    for (event, reason) in [
        (
            json!({"status": "cancelled", "reason": "Candidate withdrew"}),
            "Candidate withdrew",
        ),
        (json!({"status": "cancelled"}), "Cancelled"),
        (json!({"status": "expired"}), "Expired"),
    ] {
        let id = started(&app).await;
        let (status, _) = app.vendor_event(&id, &event).await;
        assert_eq!(status, 200);
        let deliveries = app.deliveries_of(&id).await;
        let payload = &deliveries[0].payload;
        assert_matches_schema("assessment.update.request.json", payload);
        assert_eq!(payload["cancelled_reason"]["value"], reason);
    }
}

#[tokio::test]
async fn terminal_states_are_final_and_an_exact_repeat_creates_no_delivery() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;
    assert_eq!(app.vendor_event(&id, &completion()).await.0, 200);

    let (status, body) = app.vendor_event(&id, &completion()).await;
    assert_eq!(status, 200, "exact repeat");
    assert_eq!(body["status"], "completed");
    assert_eq!(
        app.deliveries_of(&id).await.len(),
        1,
        "the repeat queued nothing"
    );

    let mut different = completion();
    different["result"] = score(json!(10));
    for event in [
        different,
        json!({"status": "in_progress"}),
        json!({"status": "expired"}),
    ] {
        let (status, body) = app.vendor_event(&id, &event).await;
        assert_eq!(status, 409, "{event}");
        assert_eq!(body["error"]["code"], "assessment_final");
    }
    assert_eq!(app.deliveries_of(&id).await.len(), 1);
}

#[tokio::test]
async fn an_assessment_cancelled_by_ashby_refuses_vendor_events_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    let response = app
        .post_as(&tenant, "/assessment.cancel", &json!({"assessment_id": id}))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        app.deliveries_of(&id).await.is_empty(),
        "no update for a cancel Ashby asked for"
    );
    let (status, _) = app
        .vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn invalid_events_are_refused_with_422_naming_the_problem() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;
    let cases = [
        (
            json!({"status": "completed", "profile_url": "https://t.example/r"}),
            "result",
        ),
        (
            json!({"status": "completed", "result": score(json!(1))}),
            "profile_url",
        ),
        (
            json!({"status": "completed", "result": score(json!(1)), "profile_url": "ftp://t.example/r"}),
            "profile_url",
        ),
        (
            json!({"status": "completed", "result": score(json!("ninety")), "profile_url": "https://t.example/r"}),
            "result.value",
        ),
        (
            json!({"status": "in_progress", "metadata": [{"identifier": "ok", "label": "OK", "type": "boolean_success", "value": "yes"}]}),
            "metadata[0].value",
        ),
        (
            json!({"status": "in_progress", "metadata": [{"identifier": "u", "label": "U", "type": "url", "value": "not a url"}]}),
            "metadata[0].value",
        ),
        (
            json!({"status": "in_progress", "metadata": [{"identifier": "x", "label": "X", "type": "percent", "value": 1}]}),
            "metadata",
        ),
        (json!({"status": "started"}), "status"),
        (json!({"result": score(json!(1))}), "status"),
        (
            json!({"status": "in_progress", "occurred_at": "yesterday"}),
            "occurred_at",
        ),
        (json!({"status": "in_progress", "surprise": 1}), "surprise"),
    ];
    for (event, named) in cases {
        let (status, body) = app.vendor_event(&id, &event).await;
        assert_eq!(status, 422, "{event}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(named),
            "{event}: {message:?} should name {named}"
        );
    }
    assert!(app.deliveries_of(&id).await.is_empty());
}

#[tokio::test]
async fn malformed_bodies_and_unknown_assessments_get_json_errors() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;
    let response = app
        .client
        .post(app.url(&format!("/v1/assessments/{id}/events")))
        .bearer_auth(app.vendor_token())
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_json"
    );

    for unknown in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_string()] {
        let (status, body) = app
            .vendor_event(&unknown, &json!({"status": "in_progress"}))
            .await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "not_found");
    }
    let response = app.vendor_get("/v1/no-such-thing").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
}

#[tokio::test]
async fn an_assessment_reads_back_as_the_vendor_api_shows_it() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;
    let response = app.vendor_get(&format!("/v1/assessments/{id}")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "started");
    assert_eq!(body["job"]["hiringTeam"][0]["firstName"], "Grace");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["result"], Value::Null);
}

#[tokio::test]
async fn a_nul_character_in_an_event_is_refused_with_422() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;
    let (status, body) = app
        .vendor_event(&id, &json!({"status": "cancelled", "reason": "gone\u{0}"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reason")
    );
}

#[tokio::test]
async fn a_profile_url_given_with_progress_is_sent_to_ashby() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;

    let (status, body) = app
        .vendor_event(
            &id,
            &json!({"status": "in_progress", "profile_url": "https://tests.example/live/1"}),
        )
        .await;

    assert_eq!(status, 200, "{body}");
    let deliveries = app.deliveries_of(&id).await;
    let update = &deliveries[0].payload;
    assert_matches_schema("assessment.update.request.json", update);
    assert_eq!(update["assessment_status"]["value"], "In Progress");
    assert_eq!(
        update["assessment_profile_url"]["value"],
        "https://tests.example/live/1"
    );
}

#[tokio::test]
async fn identifiers_must_be_unique_across_the_whole_update() {
    let app = TestApp::spawn().await;
    let id = started(&app).await;
    let block = |identifier: &str| json!({"identifier": identifier, "label": "L", "type": "numeric_score", "value": 1});
    let cases = [
        (
            json!({"status": "in_progress", "metadata": [block("status")]}),
            "metadata[0].identifier \"status\"",
        ),
        (
            json!({"status": "in_progress", "metadata": [block("a"), block("a")]}),
            "metadata[1].identifier \"a\"",
        ),
        (
            json!({
                "status": "completed",
                "result": block("score"),
                "profile_url": "https://tests.example/r/1",
                "metadata": [block("score")]
            }),
            "already used by result",
        ),
    ];

    for (event, fragment) in cases {
        let (status, body) = app.vendor_event(&id, &event).await;

        assert_eq!(status, 422, "{event}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{message}");
    }
    assert!(app.deliveries_of(&id).await.is_empty());
}
