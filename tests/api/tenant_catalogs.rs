//! Per-tenant catalogs (CONTRACT §4, §10): a tenant's own assessment types and custom
//! fields, managed through `/v1/tenants/{id}/...`, and what Ashby sees of them.

use ashby_partner::secrets::ServerSecrets;
use ashby_partner::startup::Application;
use ashby_partner::store;
use serde_json::{Value, json};

use crate::helpers::{
    TYPE_ID, TestApp, TestTenant, assert_error_envelope, assert_matches_schema, start_body,
};

const OWN_TYPE: &str = "0b6f7c1e-1111-4000-8000-00000000000a";
const OTHER_TYPE: &str = "0b6f7c1e-1111-4000-8000-00000000000b";

/// Catalogs are managed with an admin token (CONTRACT §10).
impl TestApp {
    async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.admin(reqwest::Method::GET, path).send().await.unwrap()
    }

    async fn vendor_put(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .bearer_auth(self.token_with_scope("admin"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn vendor_delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(self.token_with_scope("admin"))
            .send()
            .await
            .unwrap()
    }
}

fn types_path(tenant: &TestTenant) -> String {
    format!("/v1/tenants/{}/assessment-types", tenant.id.0)
}

fn fields_path(tenant: &TestTenant) -> String {
    format!("/v1/tenants/{}/custom-fields", tenant.id.0)
}

fn own_types() -> Value {
    json!({"data": [
        {"id": OWN_TYPE, "name": "System design", "description": "45 minutes"},
        {"id": OTHER_TYPE, "name": "Retired quiz", "active": false},
    ]})
}

async fn listed_ids(app: &TestApp, tenant: &TestTenant) -> Vec<String> {
    let response = app.post_as(tenant, "/assessment.list", &json!({})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_matches_schema("assessment.list.response.200.json", &body);
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["assessment_type_id"].as_str().unwrap().to_owned())
        .collect()
}

fn start_of(type_id: &str) -> Value {
    let mut body = start_body(&uuid::Uuid::new_v4().to_string());
    body["assessment_type_id"] = json!(type_id);
    body
}

#[tokio::test]
async fn two_tenants_see_their_own_catalogs() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;

    let response = app.vendor_put(&types_path(&acme), &own_types()).await;
    assert_eq!(response.status(), 200);

    // Only active types are listed; the other tenant keeps the default.
    assert_eq!(listed_ids(&app, &acme).await, vec![OWN_TYPE]);
    assert_eq!(listed_ids(&app, &globex).await, vec![TYPE_ID]);
    app.start_assessment(&acme, &start_of(OWN_TYPE)).await;
    app.start_assessment(&globex, &start_of(TYPE_ID)).await;
    for (tenant, refused) in [(&acme, TYPE_ID), (&acme, OTHER_TYPE), (&globex, OWN_TYPE)] {
        let response = app
            .post_as(tenant, "/assessment.start", &start_of(refused))
            .await;
        let body = assert_error_envelope(response, 422, "unknown_assessment_type").await;
        assert!(
            body["message"].as_str().unwrap().contains(refused),
            "{body}"
        );
    }
}

#[tokio::test]
async fn get_put_and_delete_manage_a_tenants_assessment_types() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let path = types_path(&tenant);

    let before: Value = app.admin_get(&path).await.json().await.unwrap();
    assert_eq!(before["catalog"], "default");
    assert_eq!(before["data"][0]["id"], TYPE_ID);

    let first: Value = app
        .vendor_put(&path, &own_types())
        .await
        .json()
        .await
        .unwrap();
    let again = app.vendor_put(&path, &own_types()).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again, "PUT is idempotent");
    let expected = json!({"catalog": "own", "data": [
        {"id": OWN_TYPE, "name": "System design", "description": "45 minutes", "active": true},
        {"id": OTHER_TYPE, "name": "Retired quiz", "description": null, "active": false},
    ]});
    assert_eq!(again, expected);
    assert_eq!(
        app.admin_get(&path).await.json::<Value>().await.unwrap(),
        expected
    );

    let deleted = app.vendor_delete(&path).await;
    assert_eq!(deleted.status(), 204);
    let after: Value = app.admin_get(&path).await.json().await.unwrap();
    assert_eq!(after, before);
    assert_eq!(listed_ids(&app, &tenant).await, vec![TYPE_ID]);
}

#[tokio::test]
async fn unknown_tenants_are_404_on_every_catalog_route() {
    let app = TestApp::spawn().await;
    for tenant in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        for part in ["assessment-types", "custom-fields"] {
            let path = format!("/v1/tenants/{tenant}/{part}");
            let body = json!({"data": []});
            for response in [
                app.admin_get(&path).await,
                app.vendor_put(&path, &body).await,
                app.vendor_delete(&path).await,
            ] {
                assert_eq!(response.status(), 404, "{path}");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "not_found");
            }
        }
    }
}

#[tokio::test]
async fn invalid_assessment_types_are_refused_naming_the_item() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let cases = [
        (json!([{"id": "nope", "name": "A"}]), "data[0].id"),
        (
            json!([{"id": OWN_TYPE, "name": "A"}, {"id": OTHER_TYPE, "name": "  "}]),
            "data[1].name",
        ),
        (
            json!([{"id": OWN_TYPE, "name": "A"}, {"id": OWN_TYPE, "name": "B"}]),
            "data[1].id",
        ),
        (json!([{"id": OWN_TYPE}]), "data[0]"),
        (
            json!([{"id": OWN_TYPE, "name": "A", "colour": "red"}]),
            "data[0]",
        ),
    ];
    for (data, named) in cases {
        let response = app
            .vendor_put(&types_path(&tenant), &json!({"data": data}))
            .await;
        assert_eq!(response.status(), 422, "{data}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{message} should name {named}");
    }
    let body: Value = app
        .admin_get(&types_path(&tenant))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["catalog"], "default", "nothing was stored");
}

#[tokio::test]
async fn a_removed_or_inactive_type_stays_readable_for_its_assessments() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    app.vendor_put(
        &types_path(&tenant),
        &json!({"data": [
            {"id": OWN_TYPE, "name": "System design"},
            {"id": OTHER_TYPE, "name": "Pairing"},
        ]}),
    )
    .await;
    let from_default = app.start_assessment(&tenant, &start_of(OWN_TYPE)).await;
    let from_other = app.start_assessment(&tenant, &start_of(OTHER_TYPE)).await;

    // OWN_TYPE removed, OTHER_TYPE made inactive.
    app.vendor_put(
        &types_path(&tenant),
        &json!({"data": [
            {"id": OTHER_TYPE, "name": "Pairing", "active": false},
        ]}),
    )
    .await;

    for (id, name) in [(&from_default, "System design"), (&from_other, "Pairing")] {
        let token = link_token(&app, id);
        let session: Value = app
            .client
            .get(app.url(&format!("/v1/candidate-sessions/{token}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(session["assessment_type"]["name"], name, "{session}");
        let assessment: Value = app
            .admin_get(&format!("/v1/assessments/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(assessment["status"], "started");
    }
    assert!(listed_ids(&app, &tenant).await.is_empty());
    let response = app
        .post_as(&tenant, "/assessment.start", &start_of(OTHER_TYPE))
        .await;
    assert_error_envelope(response, 422, "unknown_assessment_type").await;
}

fn link_token(app: &TestApp, id: &str) -> String {
    let keys = ashby_partner::tokens::TokenKeys::new(&app.secrets().token_secret).unwrap();
    keys.candidate_token(
        id.parse().unwrap(),
        chrono::Utc::now().timestamp_millis(),
        std::time::Duration::from_secs(3600),
    )
    .unwrap()
}

#[tokio::test]
async fn a_tenants_custom_fields_replace_the_default_ones() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    let fields = json!({"data": [
        {"id": "team", "name": "Team", "type": "String", "required": true},
        {"id": "level", "name": "Level", "type": "ValueSelect",
         "possible_values": [{"key": "l1", "value": "L1"}]},
    ]});

    let first: Value = app
        .vendor_put(&fields_path(&acme), &fields)
        .await
        .json()
        .await
        .unwrap();
    let again: Value = app
        .vendor_put(&fields_path(&acme), &fields)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(again["catalog"], "own");

    for path in [
        "/assessment.customField.list",
        "/customField.list",
        "/customFields.fetch",
    ] {
        let own: Value = app
            .post_as(&acme, path, &json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(own["fields"][0]["id"], "team", "{own}");
        assert_eq!(own["fields"][0]["isRequired"], true);
        assert_eq!(own["fields"][1]["possible_values"][0]["key"], "l1");
        let default: Value = app
            .post_as(&globex, path, &json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(default["fields"][0]["id"], "seniority", "{default}");
    }

    assert_eq!(app.vendor_delete(&fields_path(&acme)).await.status(), 204);
    let back: Value = app
        .post_as(&acme, "/customField.list", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(back["fields"][0]["id"], "seniority");
    let shown: Value = app
        .admin_get(&fields_path(&acme))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["catalog"], "default");
}

#[tokio::test]
async fn invalid_custom_fields_are_refused_naming_the_item() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let cases = [
        (
            json!([{"id": "a", "name": "A", "type": "ValueSelect"}]),
            "data[0].possible_values",
        ),
        (
            json!([{"id": "a", "name": "A", "type": "String"}, {"id": "a", "name": "B", "type": "String"}]),
            "data[1].id",
        ),
        (
            json!([{"id": "a", "name": "A", "type": "Colour"}]),
            "data[0]",
        ),
        (
            json!([{"id": "", "name": "A", "type": "String"}]),
            "data[0]",
        ),
    ];
    for (data, named) in cases {
        let response = app
            .vendor_put(&fields_path(&tenant), &json!({"data": data}))
            .await;
        assert_eq!(response.status(), 422, "{data}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{message} should name {named}");
    }
}

#[tokio::test]
async fn deleting_a_tenant_erases_its_catalog() {
    use sea_orm::{EntityTrait as _, PaginatorTrait as _};
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    app.vendor_put(&types_path(&tenant), &own_types()).await;
    assert_eq!(
        entity::tenant_catalog::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1
    );

    entity::tenant::Entity::delete_by_id(tenant.id.0)
        .exec(&app.db)
        .await
        .unwrap();

    assert_eq!(
        entity::tenant_catalog::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

/// A second `serve` process on the same database, as another replica would be.
async fn second_replica(app: &TestApp) -> String {
    let db = store::connect(&app.settings.database).await.unwrap();
    let secrets = ServerSecrets::resolve(&app.settings).unwrap();
    let replica = Application::build_with(app.settings.clone(), db, secrets).unwrap();
    let address = format!("http://127.0.0.1:{}", replica.port());
    tokio::spawn(replica.run_without_workers());
    address
}

#[tokio::test]
async fn a_catalog_change_is_seen_by_another_replica_without_restart() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let replica = second_replica(&app).await;
    let list_on_replica = || async {
        let body: Value = app
            .client
            .post(format!("{replica}/assessment.list"))
            .basic_auth(&tenant.key, Some(""))
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["results"][0]["assessment_type_id"].clone()
    };
    assert_eq!(list_on_replica().await, TYPE_ID);

    app.vendor_put(&types_path(&tenant), &own_types()).await;
    assert_eq!(list_on_replica().await, OWN_TYPE);

    app.vendor_delete(&types_path(&tenant)).await;
    assert_eq!(list_on_replica().await, TYPE_ID);
}

#[tokio::test]
async fn catalog_answers_match_the_documented_schemas() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let types: Value = app
        .vendor_put(&types_path(&tenant), &own_types())
        .await
        .json()
        .await
        .unwrap();
    let fields: Value = app
        .admin_get(&fields_path(&tenant))
        .await
        .json()
        .await
        .unwrap();
    for (component, instance) in [
        ("TenantAssessmentTypes", types),
        ("TenantCustomFields", fields),
    ] {
        let schema = json!({
            "$ref": format!("#/components/schemas/{component}"),
            "components": doc["components"],
        });
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(
            validator.is_valid(&instance),
            "{instance} does not match {component}"
        );
    }
}
