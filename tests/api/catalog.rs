//! What Ashby's picker shows: `assessment.list`, and the custom-field listing under its
//! three names.

use ashby_partner::settings::{
    AssessmentTypeSettings, CustomFieldSettings, CustomFieldType, PossibleValue,
};
use serde_json::{Value, json};

use crate::helpers::{TYPE_ID, TestApp, assert_matches_schema};

const CUSTOM_FIELD_PATHS: [&str; 3] = [
    "/assessment.customField.list",
    "/customField.list",
    "/customFields.fetch",
];

async fn ok_json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn assessment_list_returns_the_configured_catalog() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;

    let body = ok_json(app.post_as(&tenant, "/assessment.list", &json!({})).await).await;

    assert_eq!(
        body,
        json!({
            "success": true,
            "results": [{
                "assessment_type_id": TYPE_ID,
                "name": "Backend take-home",
                "description": "90-minute Rust exercise"
            }]
        })
    );
    assert_matches_schema("assessment.list.response.200.json", &body);
}

#[tokio::test]
async fn assessment_list_accepts_an_empty_body() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let with_object = ok_json(app.post_as(&tenant, "/assessment.list", &json!({})).await).await;

    let with_nothing = ok_json(app.post_raw(&tenant, "/assessment.list", "").await).await;

    assert_eq!(with_nothing, with_object);
    assert_matches_schema("assessment.list.response.200.json", &with_nothing);
}

#[tokio::test]
async fn custom_fields_are_served_identically_at_all_three_paths() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;

    let mut bodies = Vec::new();
    for path in CUSTOM_FIELD_PATHS {
        bodies.push(ok_json(app.post_as(&tenant, path, &json!({})).await).await);
    }

    let expected = json!({
        "success": true,
        "fields": [{
            "id": "seniority",
            "name": "Seniority",
            "type": "ValueSelect",
            "possible_values": [
                { "key": "jr", "value": "Junior" },
                { "key": "sr", "value": "Senior" }
            ],
            "isRequired": false
        }]
    });
    for (path, body) in CUSTOM_FIELD_PATHS.iter().zip(&bodies) {
        assert_eq!(body, &expected, "{path}");
        assert!(
            body.get("results").is_none(),
            "{path}: fields sit beside success"
        );
        assert!(body["fields"][0].get("is_required").is_none(), "{path}");
        assert_matches_schema("assessment.customField.list.response.200.json", body);
    }
}

#[tokio::test]
async fn the_catalog_served_is_the_one_configured() {
    let first_type = "0b7e3f10-1111-4111-8111-000000000001";
    let second_type = "0b7e3f10-2222-4222-8222-000000000002";
    let app = TestApp::spawn_with(|s| {
        s.assessment_types = vec![
            AssessmentTypeSettings {
                id: first_type.parse().unwrap(),
                name: "System design".into(),
                description: Some("Whiteboard, 60 minutes".into()),
            },
            AssessmentTypeSettings {
                id: second_type.parse().unwrap(),
                name: "Pair programming".into(),
                description: None,
            },
        ];
        s.custom_fields = vec![
            CustomFieldSettings {
                id: "languages".into(),
                name: "Languages".into(),
                field_type: CustomFieldType::MultiValueSelect,
                required: true,
                possible_values: Some(vec![
                    PossibleValue {
                        key: "rust".into(),
                        value: "Rust".into(),
                    },
                    PossibleValue {
                        key: "go".into(),
                        value: "Go".into(),
                    },
                ]),
            },
            CustomFieldSettings {
                id: "deadline".into(),
                name: "Deadline".into(),
                field_type: CustomFieldType::Date,
                required: false,
                possible_values: None,
            },
        ];
    })
    .await;
    let tenant = app.create_tenant("Acme").await;

    let list = ok_json(app.post_as(&tenant, "/assessment.list", &json!({})).await).await;
    let fields = ok_json(
        app.post_as(&tenant, "/assessment.customField.list", &json!({}))
            .await,
    )
    .await;

    assert_eq!(
        list,
        json!({
            "success": true,
            "results": [
                {
                    "assessment_type_id": first_type,
                    "name": "System design",
                    "description": "Whiteboard, 60 minutes"
                },
                { "assessment_type_id": second_type, "name": "Pair programming" }
            ]
        })
    );
    assert_matches_schema("assessment.list.response.200.json", &list);
    assert_eq!(
        fields,
        json!({
            "success": true,
            "fields": [
                {
                    "id": "languages",
                    "name": "Languages",
                    "type": "MultiValueSelect",
                    "possible_values": [
                        { "key": "rust", "value": "Rust" },
                        { "key": "go", "value": "Go" }
                    ],
                    "isRequired": true
                },
                { "id": "deadline", "name": "Deadline", "type": "Date", "isRequired": false }
            ]
        })
    );
    assert_matches_schema("assessment.customField.list.response.200.json", &fields);
}

#[tokio::test]
async fn an_empty_custom_field_configuration_serves_an_empty_list() {
    let app = TestApp::spawn_with(|s| s.custom_fields = Vec::new()).await;
    let tenant = app.create_tenant("Acme").await;

    for path in CUSTOM_FIELD_PATHS {
        let body = ok_json(app.post_as(&tenant, path, &json!({})).await).await;

        assert_eq!(body, json!({ "success": true, "fields": [] }), "{path}");
        assert_matches_schema("assessment.customField.list.response.200.json", &body);
    }
}
