//! Where routes are served: under `server.public_url`'s path (CONTRACT §4), and on the
//! admin listener when `server.admin_bind` is set (CONTRACT §2, §10).

use serde_json::json;

use crate::helpers::{TestApp, assert_error_envelope};

const PARTNER_PATHS: [&str; 6] = [
    "/assessment.list",
    "/assessment.start",
    "/assessment.cancel",
    "/customField.list",
    "/assessment.customField.list",
    "/customFields.fetch",
];

#[tokio::test]
async fn partner_routes_answer_at_the_root_and_under_the_public_url_path() {
    for public_url in ["https://x.example/ashby", "https://x.example/ashby/"] {
        let app =
            TestApp::spawn_with(|settings| settings.server.public_url = public_url.into()).await;
        let tenant = app.create_tenant("Acme").await;
        for path in [
            "/assessment.list",
            "/ashby/assessment.list",
            "/ashby/customFields.fetch",
        ] {
            let response = app.post_as(&tenant, path, &json!({})).await;
            assert_eq!(response.status(), 200, "{public_url} {path}");
        }
        for path in PARTNER_PATHS {
            // Every partner route exists there: a GET is refused as the wrong method.
            let response = app
                .client
                .get(app.url(&format!("/ashby{path}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "/ashby{path}");
        }
        let response = app
            .post_as(&tenant, "/other/assessment.list", &json!({}))
            .await;
        assert_error_envelope(response, 404, "not_found").await;
    }
}
