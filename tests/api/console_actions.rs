//! The console's actions (CONTRACT §13), each checked by its effect in the database or
//! through the service, not only by the page that follows.

use ashby_partner::service;
use ashby_partner::store::tenants;
use serde_json::json;

use crate::console::Console;
use crate::helpers::{ASHBY_OK, TestApp, TestTenant, accept_updates, start_body};

/// An assessment whose progress update went dead: the assessment's id and the delivery's.
async fn dead_update(app: &TestApp, tenant: &TestTenant, application: &str) -> (String, String) {
    let id = app.start_assessment(tenant, &start_body(application)).await;
    app.forget_ashby_key(tenant).await;
    app.vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await;
    let rows = app.deliveries_of(&id).await;
    assert_eq!(rows[0].status, "dead");
    (id, rows[0].id.to_string())
}

/// The partner key shown once on a page.
fn shown_key(page: &str) -> String {
    let marker = r#"<code class="secret" id="partner-key">"#;
    let start = page.find(marker).expect("the key, shown once") + marker.len();
    page[start..][..page[start..].find('<').unwrap()].to_owned()
}

async fn key_works(app: &TestApp, key: &str) -> bool {
    let response = app
        .client
        .post(app.url("/assessment.list"))
        .basic_auth(key, Some(""))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    response.status() == 200
}

#[tokio::test]
async fn creating_a_tenant_shows_its_partner_key_once_and_the_key_works() {
    let app = TestApp::spawn().await;
    let console = Console::admin(&app).await;
    let form = console.page("/console/tenants/new").await;
    let csrf = crate::console::csrf_in(&form);

    let response = console
        .post(
            "/console/tenants",
            &[
                ("csrf", &csrf),
                ("name", "  Initech "),
                ("external_id", "crm-42"),
                ("ashby_api_key", "ashby-secret"),
                ("ashby_base_url", ""),
            ],
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let key = shown_key(&page);
    assert!(key_works(&app, &key).await, "{page}");
    let created = tenants::find_by_external_id(&app.db, "crm-42")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.name, "Initech");
    assert!(created.ashby_api_key_sealed.is_some());
    assert!(
        !page.contains("ashby-secret"),
        "the Ashby key is never shown"
    );
    let tenant_page = console
        .page(&format!("/console/tenants/{}", created.id))
        .await;
    assert!(!tenant_page.contains(&key), "shown only once");

    // The same external id again, and a name that is not one: the form again, saying why.
    for (name, external_id, status, says) in [
        ("Other", "crm-42", 409, "external_id"),
        ("   ", "", 422, "name must be"),
        ("Ok", "", 422, "ashby_base_url"),
    ] {
        let base_url = if status == 422 && name == "Ok" {
            "ftp://x"
        } else {
            ""
        };
        let response = console
            .post(
                "/console/tenants",
                &[
                    ("csrf", &csrf),
                    ("name", name),
                    ("external_id", external_id),
                    ("ashby_base_url", base_url),
                ],
            )
            .await;
        assert_eq!(response.status(), status, "{name:?}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(says) && page.contains(r#"action="/console/tenants""#),
            "{page}"
        );
    }
    let all = service::list_tenants(&app.db, None, None, 10)
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn a_new_partner_key_is_shown_once_and_revoking_keeps_only_the_newest() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let console = Console::admin(&app).await;
    let here = format!("/console/tenants/{}", tenant.id);
    let csrf = console.csrf().await;

    let response = console
        .post(
            &format!("{here}/partner-keys"),
            &[("csrf", &csrf), ("back", &here)],
        )
        .await;

    assert_eq!(response.status(), 200);
    let new_key = shown_key(&response.text().await.unwrap());
    assert!(key_works(&app, &new_key).await);
    assert!(
        key_works(&app, &tenant.key).await,
        "older keys keep working"
    );
    let page = console.page(&here).await;
    assert!(page.contains("Revoke all but the newest"), "{page}");

    let flash = console
        .act(&format!("{here}/partner-keys/revoke"), &here, &[])
        .await;

    assert!(flash.contains("Revoked 1 partner key"), "{flash}");
    assert!(!key_works(&app, &tenant.key).await);
    assert!(key_works(&app, &new_key).await);
    let keys = tenants::partner_keys(&app.db, tenant.id).await.unwrap();
    assert_eq!(keys.iter().filter(|k| k.revoked_at_ms.is_none()).count(), 1);
    assert!(
        console
            .page(&here)
            .await
            .contains(r#"<span class="status status-revoked">revoked</span>"#)
    );
}

#[tokio::test]
async fn verify_now_asks_ashby_and_records_its_answer() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "ashby-key")
        .await;
    let console = Console::admin(&app).await;
    let here = format!("/console/tenants/{}", tenant.id);
    let accepted = ashby
        .mock("POST", "/apiKey.info")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;

    let flash = console
        .act(&format!("{here}/ashby-key/verify"), &here, &[])
        .await;

    accepted.assert_async().await;
    assert!(flash.contains("verified"), "{flash}");
    let shown = service::show_tenant(&app.db, tenant.id).await.unwrap();
    assert_eq!(shown.tenant.key_status.as_str(), "verified");

    accepted.remove_async().await;
    ashby
        .mock("POST", "/apiKey.info")
        .with_status(401)
        .with_body(r#"{"success": false, "errors": ["invalid api key"]}"#)
        .create_async()
        .await;
    let flash = console
        .act(&format!("{here}/ashby-key/verify"), &here, &[])
        .await;
    assert!(flash.contains("rejected"), "{flash}");
    let shown = service::show_tenant(&app.db, tenant.id).await.unwrap();
    assert_eq!(shown.tenant.key_status.as_str(), "rejected");
    let overview = console.page("/console").await;
    assert!(overview.contains(r#"<span class="status key-rejected">rejected</span>"#));
}

#[tokio::test]
async fn disabling_and_enabling_a_tenant_takes_effect() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let console = Console::admin(&app).await;
    let here = format!("/console/tenants/{}", tenant.id);

    let flash = console.act(&format!("{here}/disable"), &here, &[]).await;

    assert!(flash.contains("Acme is disabled"), "{flash}");
    assert!(
        service::show_tenant(&app.db, tenant.id)
            .await
            .unwrap()
            .tenant
            .disabled
    );
    assert!(
        !key_works(&app, &tenant.key).await,
        "Ashby's calls are refused"
    );
    assert!(
        console
            .page(&here)
            .await
            .contains(r#"class="enable">Enable</button>"#)
    );

    let flash = console.act(&format!("{here}/enable"), &here, &[]).await;

    assert!(flash.contains("Acme is enabled"), "{flash}");
    assert!(
        !service::show_tenant(&app.db, tenant.id)
            .await
            .unwrap()
            .tenant
            .disabled
    );
    assert!(key_works(&app, &tenant.key).await);
}

#[tokio::test]
async fn retrying_a_dead_delivery_from_the_timeline_sends_it_again() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let tenant = app.create_tenant("Acme").await;
    let (assessment, dead) = dead_update(&app, &tenant, "app-1").await;
    let console = Console::admin(&app).await;
    let timeline = format!("/console/assessments/{assessment}");

    let flash = console
        .act(&format!("/console/deliveries/{dead}/retry"), &timeline, &[])
        .await;

    assert!(flash.contains("back in line"), "{flash}");
    let row = &app.deliveries_of(&assessment).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));
    let update = ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "ashby-key")
        .await;
    app.deliver_everything().await;
    update.assert_async().await;
    let page = console.page(&timeline).await;
    let block = &page[page.find(&format!(r#"id="delivery-{dead}""#)).unwrap()..];
    assert!(block.starts_with(&format!(r#"id="delivery-{dead}"><div class="delivery-head"><span class="status status-delivered">delivered</span>"#)), "{block}");

    // Retrying it again: it is not dead, nothing happens.
    let flash = console
        .act(&format!("/console/deliveries/{dead}/retry"), &timeline, &[])
        .await;
    assert!(flash.contains("not dead"), "{flash}");
    assert_eq!(app.deliveries_of(&assessment).await[0].status, "delivered");
}

#[tokio::test]
async fn dismissing_a_dead_delivery_makes_it_final() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let (assessment, dead) = dead_update(&app, &tenant, "app-1").await;
    let console = Console::admin(&app).await;
    let back = "/console/deliveries?status=dead";

    let flash = console
        .act(&format!("/console/deliveries/{dead}/dismiss"), back, &[])
        .await;

    assert!(flash.contains("Dismissed"), "{flash}");
    assert_eq!(app.deliveries_of(&assessment).await[0].status, "dismissed");
    let page = console.page(back).await;
    assert!(page.contains("No dead deliveries"), "{page}");
    let csrf = console.csrf().await;
    let response = console
        .post(
            &format!("/console/deliveries/{}/dismiss", uuid::Uuid::new_v4()),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn retry_all_dead_of_a_tenant_says_how_many_were_superseded() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    // Acme: an update went dead, then a later one reached Ashby: the dead one is outdated.
    let (outdated, _) = dead_update(&app, &acme, "app-1").await;
    accept_updates(&mut ashby).await;
    app.connect_tenant_to_ashby(&acme, &ashby.url(), "ashby-key")
        .await;
    let (status, body) = app
        .vendor_event(&outdated, &json!({"status": "completed", "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 90}, "profile_url": "https://tests.example/r/1"}))
        .await;
    assert_eq!(status, 200, "{body}");
    app.deliver_everything().await;
    // And one still worth sending, of Acme; Globex's dead one stays as it is.
    let (fresh, _) = dead_update(&app, &acme, "app-2").await;
    let (globex_assessment, _) = dead_update(&app, &globex, "app-3").await;
    let console = Console::admin(&app).await;
    let here = format!("/console/tenants/{}", acme.id);
    assert!(
        console
            .page(&here)
            .await
            .contains("Retry all dead deliveries of this tenant")
    );

    let flash = console
        .act(
            "/console/deliveries/retry",
            &here,
            &[("tenant_id", &acme.id.to_string())],
        )
        .await;

    assert!(
        flash.contains("Retried 1 dead deliveries; 1 superseded"),
        "{flash}"
    );
    assert_eq!(app.deliveries_of(&outdated).await[0].status, "superseded");
    assert_eq!(app.deliveries_of(&fresh).await[0].status, "pending");
    assert_eq!(
        app.deliveries_of(&globex_assessment).await[0].status,
        "dead"
    );
}

#[tokio::test]
async fn an_action_goes_back_only_to_a_console_page() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let (_, dead) = dead_update(&app, &tenant, "app-1").await;
    let console = Console::admin(&app).await;
    let csrf = console.csrf().await;

    let response = console
        .post(
            &format!("/console/deliveries/{dead}/dismiss"),
            &[("csrf", &csrf), ("back", "https://evil.example/console")],
        )
        .await;

    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("/console/deliveries?status=dead&flash="),
        "{location}"
    );
}

/// Every action form goes through one check (`console::forms::ActionForm`): the session's
/// own CSRF token, and a session that may act. Each action refuses either failure, and
/// nothing happens.
#[tokio::test]
async fn every_action_refuses_a_wrong_csrf_token_and_a_read_only_session() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let (assessment, dead) = dead_update(&app, &tenant, "app-1").await;
    let id = tenant.id.0;
    let actions = [
        format!("/console/deliveries/{dead}/retry"),
        format!("/console/deliveries/{dead}/dismiss"),
        "/console/deliveries/retry".to_owned(),
        "/console/tenants".to_owned(),
        format!("/console/tenants/{id}/partner-keys"),
        format!("/console/tenants/{id}/partner-keys/revoke"),
        format!("/console/tenants/{id}/ashby-key/verify"),
        format!("/console/tenants/{id}/disable"),
        format!("/console/tenants/{id}/enable"),
    ];
    let admin = Console::admin(&app).await;
    let reader = Console::read_only(&app).await;
    let reader_csrf = reader.csrf().await;

    for action in &actions {
        let forged = admin
            .post(action, &[("csrf", "not-this-sessions"), ("name", "X")])
            .await;
        assert_eq!(forged.status(), 403, "{action} with a wrong CSRF token");
        let read_only = reader
            .post(action, &[("csrf", reader_csrf.as_str()), ("name", "X")])
            .await;
        assert_eq!(read_only.status(), 403, "{action} from a read session");
    }

    let rows = app.deliveries_of(&assessment).await;
    assert_eq!(rows[0].status, "dead", "{rows:?}");
    let tenants = service::list_tenants(&app.db, None, None, 10)
        .await
        .unwrap();
    assert_eq!(tenants.len(), 1, "no tenant was created");
    assert!(!tenants[0].tenant.disabled, "the tenant was not disabled");
}
