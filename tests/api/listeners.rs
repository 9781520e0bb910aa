//! Where routes are served: under `server.public_url`'s path (CONTRACT §4), and on the
//! admin listener when `server.admin_bind` is set (CONTRACT §2, §10).

use ashby_partner::secrets::ServerSecrets;
use ashby_partner::settings::Settings;
use ashby_partner::startup::Application;
use ashby_partner::store;
use serde_json::json;

use crate::console::Console;
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

/// An application on `app`'s database with `server.admin_bind` on a free port: its public
/// and admin addresses.
async fn with_admin_listener(app: &TestApp) -> (String, String) {
    let mut settings: Settings = app.settings.clone();
    settings.server.admin_bind = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let db = store::connect(&settings.database).await.unwrap();
    let secrets = ServerSecrets::resolve(&settings).unwrap();
    let application = Application::build_with(settings, db, secrets).unwrap();
    let public = format!("http://127.0.0.1:{}", application.port());
    let admin = format!("http://127.0.0.1:{}", application.admin_port().unwrap());
    tokio::spawn(application.run_without_workers());
    (public, admin)
}

#[tokio::test]
async fn with_an_admin_listener_admin_routes_are_served_only_there() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let (public, admin) = with_admin_listener(&app).await;
    let token = app.token_with_scope("admin");
    let get = |base: &str, path: &str| {
        app.client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
    };
    let admin_paths = [
        "/v1/assessment-types",
        "/v1/assessments",
        &format!("/v1/tenants/{}/assessment-types", tenant.id.0),
        "/openapi.json",
        "/metrics",
    ];
    for path in admin_paths {
        assert_eq!(
            get(&admin, path).await.unwrap().status(),
            200,
            "admin {path}"
        );
        let response = get(&public, path).await.unwrap();
        assert_eq!(response.status(), 404, "public {path}");
    }
    // The console too: its pages answer on the admin listener only.
    for (path, on_admin) in [
        ("/console/sign-in", 200),
        ("/console/style.css", 200),
        ("/console", 303),
        ("/console/assessments?q=a@b.c", 303),
    ] {
        let admin_status = Console::at(&admin).get_response(path).await.status();
        assert_eq!(admin_status, on_admin, "admin {path}");
        let response = Console::at(&public).get_response(path).await;
        assert_eq!(response.status(), 404, "public {path}");
    }
    let sign_in = app
        .client
        .post(format!("{public}/console/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sign_in.status(),
        404,
        "no signing in on the public listener"
    );
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            get(&public, path).await.unwrap().status(),
            200,
            "public {path}"
        );
        assert_eq!(
            get(&admin, path).await.unwrap().status(),
            200,
            "admin {path}"
        );
    }
    // Ashby's endpoints and the candidate's link are public.
    let listed = app
        .client
        .post(format!("{public}/assessment.list"))
        .basic_auth(&tenant.key, Some(""))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let session = get(&public, "/v1/candidate-sessions/not-a-token")
        .await
        .unwrap();
    assert_eq!(
        session.status(),
        401,
        "the route is there; the token is not valid"
    );
    let on_admin = app
        .client
        .post(format!("{admin}/assessment.list"))
        .basic_auth(&tenant.key, Some(""))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        on_admin.status(),
        404,
        "Ashby's endpoints are not on the admin listener"
    );
}

#[tokio::test]
async fn without_an_admin_listener_everything_is_on_server_bind() {
    let app = TestApp::spawn().await;
    for path in [
        "/v1/assessment-types",
        "/openapi.json",
        "/metrics",
        "/healthz",
    ] {
        let response = app.vendor_get(path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
}
