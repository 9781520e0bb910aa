//! The console's pages (CONTRACT §13): the overview, the search, an assessment's
//! timeline, tenants, deliveries — and that whatever Ashby or the vendor wrote is shown
//! as text, never as markup.

use serde_json::json;

use crate::console::Console;
use crate::helpers::{TestApp, TestTenant, start_body};

/// An assessment whose progress update went dead (the tenant lost its Ashby key):
/// the assessment's id and the dead delivery's.
async fn dead_update(
    app: &TestApp,
    tenant: &TestTenant,
    body: &serde_json::Value,
) -> (String, String) {
    let id = app.start_assessment(tenant, body).await;
    app.forget_ashby_key(tenant).await;
    let (status, answer) = app
        .vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    app.deliver_everything().await;
    let rows = app.deliveries_of(&id).await;
    assert_eq!(rows[0].status, "dead");
    (id, rows[0].id.to_string())
}

#[tokio::test]
async fn the_overview_counts_pending_and_dead_deliveries_and_names_tenants_to_look_at() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    dead_update(&app, &acme, &start_body("app-1")).await;
    let pending = app.start_assessment(&globex, &start_body("app-2")).await;
    app.vendor_event(&pending, &json!({"status": "in_progress"}))
        .await;
    let console = Console::read_only(&app).await;

    let page = console.page("/console").await;

    assert!(page.contains("<h1>Overview</h1>"), "{page}");
    assert!(
        page.contains(r#"<span class="number" id="dead-count">1</span>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<span class="number" id="pending-count">1</span>"#),
        "{page}"
    );
    assert!(page.contains(r#"href="/console/deliveries?status=dead""#));
    assert!(page.contains(r#"href="/console/deliveries?status=pending""#));
    // Globex's key was never confirmed by Ashby; Acme has none any more.
    assert!(page.contains("Globex"), "{page}");
    assert!(page.contains(r#"<span class="status key-unverified">unverified</span>"#));
    assert!(page.contains("oldest pending"));

    let unverified = console.page("/console/tenants?key_status=unverified").await;
    assert!(
        unverified.contains("Globex") && !unverified.contains(">Acme<"),
        "{unverified}"
    );
    let (status, _) = console.get("/console/tenants?key_status=broken").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_empty_console_says_what_to_do() {
    let app = TestApp::spawn().await;
    let console = Console::read_only(&app).await;
    let cases = [
        ("/console/tenants", "No tenants yet"),
        ("/console/deliveries", "No deliveries match"),
        ("/console/deliveries?status=dead", "No dead deliveries"),
        ("/console/assessments", "type it in the search box"),
        (
            "/console/assessments?q=nobody@example.com",
            "Nothing matches",
        ),
    ];
    for (path, says) in cases {
        let page = console.page(path).await;
        assert!(page.contains(says), "{path}: {page}");
        assert!(
            page.contains(r#"<input id="search" type="search" name="q""#),
            "{path}"
        );
        assert!(
            page.contains(r#"<button id="search-go" type="submit">"#),
            "{path}"
        );
    }
}

#[tokio::test]
async fn assessments_are_found_by_email_application_id_or_assessment_id() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let mut grace = start_body("app-grace");
    grace["candidate"]["first_name"] = json!("Grace");
    grace["candidate"]["email"] = json!("grace@example.com");
    let ada = app.start_assessment(&tenant, &start_body("app-ada")).await;
    let grace = app.start_assessment(&tenant, &grace).await;
    let console = Console::read_only(&app).await;
    let link =
        |id: &str| format!(r#"<a class="assessment-link" href="/console/assessments/{id}">"#);

    for (query, found, not_found) in [
        ("ADA@example.com", &ada, &grace),
        ("%20grace%40example.com%20", &grace, &ada),
        ("app-ada", &ada, &grace),
        (grace.as_str(), &grace, &ada),
    ] {
        let page = console
            .page(&format!("/console/assessments?q={query}"))
            .await;

        assert!(page.contains(&link(found)), "{query}: {page}");
        assert!(!page.contains(&link(not_found)), "{query}");
        assert!(page.contains(">Acme</a>"), "the tenant is named");
    }
    let page = console.page(&format!("/console/assessments?q={ada}")).await;
    assert!(page.contains("Ada Lovelace"));
    assert!(
        page.contains(&format!(r#"value="{ada}""#)),
        "the search box keeps the query"
    );
}

#[tokio::test]
async fn the_timeline_shows_what_ashby_sent_every_status_change_and_every_attempt() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let (assessment, dead) = dead_update(&app, &tenant, &start_body("app-1")).await;
    let console = Console::admin(&app).await;

    let page = console
        .page(&format!("/console/assessments/{assessment}"))
        .await;

    assert!(
        page.contains("<h1>Assessment for Ada Lovelace</h1>"),
        "{page}"
    );
    // What Ashby sent, a field we do not know included.
    assert!(page.contains("a-field-ashby-added-later") && page.contains("Backend Engineer"));
    // Each status change with its source.
    assert!(page.contains(r#"<span class="status status-started">started</span> by <strong class="source">Ashby</strong>"#), "{page}");
    assert!(page.contains(r#"<span class="status status-in_progress">in progress</span> by <strong class="source">the vendor</strong>"#));
    // The dead delivery, its attempt with the error, and what can be done about it.
    let start = page
        .find(&format!(r#"id="delivery-{dead}""#))
        .expect("the delivery's block");
    let block = &page[start..];
    let block = &block[..block.find("</details>").unwrap()];
    assert!(
        block.contains(r#"<span class="status status-dead">dead</span>"#),
        "{block}"
    );
    assert!(
        block.contains("set-ashby-key"),
        "the attempt's error: {block}"
    );
    assert!(
        block.contains(r#"<span class="outcome outcome-dead">dead</span>"#),
        "{block}"
    );
    assert!(block.contains(" ms</td>"), "the attempt's duration");
    for action in ["retry", "dismiss"] {
        assert!(
            block.contains(&format!(r#"<form method="post" action="/console/deliveries/{dead}/{action}"><input type="hidden" name="csrf" value=""#)),
            "{action}: {block}"
        );
        assert!(
            block.contains(&format!(r#"<button type="submit" class="{action}">"#)),
            "{block}"
        );
    }
    assert!(block.contains(&format!(
        r#"name="back" value="/console/assessments/{assessment}""#
    )));

    let (status, _) = console
        .get(&format!("/console/assessments/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, 404);
    let (status, _) = console.get("/console/assessments/not-an-id").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn hostile_names_from_ashby_and_the_vendor_are_shown_as_text() {
    let app = TestApp::spawn().await;
    let hostile_tenant = r#"<img src=x onerror="alert(2)">Acme"#;
    let tenant = app.create_tenant(hostile_tenant).await;
    let mut body = start_body("app-1");
    body["candidate"]["first_name"] = json!("<script>alert(1)</script>");
    body["candidate"]["last_name"] = json!("\"'><b>bold</b>");
    body["job"]["name"] = json!("</pre><script>alert(3)</script>");
    let (assessment, _) = dead_update(&app, &tenant, &body).await;
    let console = Console::admin(&app).await;

    let pages = [
        "/console/assessments?q=ada@example.com".to_owned(),
        format!("/console/assessments/{assessment}"),
        "/console/tenants".to_owned(),
        format!("/console/tenants/{}", tenant.id),
        "/console/deliveries?status=dead".to_owned(),
    ];
    for path in pages {
        let page = console.page(&path).await;

        for raw in ["<script>", "<img src=x", "<b>bold</b>"] {
            assert!(
                !page.contains(raw),
                "{path} renders {raw} as markup: {page}"
            );
        }
        let shown = [
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;Acme",
        ];
        assert!(
            shown.iter().any(|text| page.contains(text)),
            "{path}: {page}"
        );
    }
    let timeline = console
        .page(&format!("/console/assessments/{assessment}"))
        .await;
    assert!(timeline.contains("&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
    assert!(
        timeline.contains("&quot;'&gt;&lt;b&gt;bold&lt;/b&gt;")
            || timeline.contains("&quot;&#39;&gt;&lt;b&gt;bold&lt;/b&gt;"),
        "{timeline}"
    );
}

#[tokio::test]
async fn a_tenant_page_shows_its_keys_ashby_connection_catalog_and_recent_assessments() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let assessment = app.start_assessment(&tenant, &start_body("app-1")).await;
    let console = Console::read_only(&app).await;

    let page = console
        .page(&format!("/console/tenants/{}", tenant.id))
        .await;

    assert!(page.contains("Acme") && page.contains("enabled"), "{page}");
    let shown_prefix = page
        .find("…</code>")
        .map(|end| &page[page[..end].rfind("<code>").unwrap() + 6..end])
        .expect("a key's first characters");
    assert!(
        tenant.key.starts_with(shown_prefix) && shown_prefix.len() > 4,
        "{shown_prefix}"
    );
    assert!(!page.contains(&tenant.key), "never the key itself");
    assert!(page.contains(r#"<span class="status key-unverified">unverified</span>"#));
    assert!(page.contains(r#"<span class="status webhooks-unset">unset</span>"#));
    assert!(
        page.contains("Assessment types: <strong>default</strong>"),
        "{page}"
    );
    assert!(page.contains(&format!(
        r#"<a class="assessment-link" href="/console/assessments/{assessment}">Ada Lovelace</a>"#
    )));
    assert!(page.contains("ada@example.com"));

    let (status, _) = console
        .get(&format!("/console/tenants/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn deliveries_are_filtered_by_status_kind_and_tenant() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    let (_, dead) = dead_update(&app, &acme, &start_body("app-1")).await;
    let other = app.start_assessment(&globex, &start_body("app-2")).await;
    app.vendor_event(&other, &json!({"status": "in_progress"}))
        .await;
    let pending = app.deliveries_of(&other).await[0].id.to_string();
    let console = Console::read_only(&app).await;
    let row = |id: &str| format!(r#"<tr id="delivery-{id}">"#);

    let cases = [
        ("status=dead".to_owned(), vec![&dead]),
        ("status=pending".to_owned(), vec![&pending]),
        ("kind=assessment.update".to_owned(), vec![&dead, &pending]),
        ("kind=vendor.webhook".to_owned(), vec![]),
        (format!("tenant={}", globex.id), vec![&pending]),
        (format!("status=dead&tenant={}", globex.id), vec![]),
        ("status=&kind=&tenant=".to_owned(), vec![&dead, &pending]),
    ];
    for (query, expected) in cases {
        let page = console.page(&format!("/console/deliveries?{query}")).await;
        for id in [&dead, &pending] {
            assert_eq!(
                page.contains(&row(id)),
                expected.contains(&id),
                "{query}: {id}"
            );
        }
    }
    for bad in ["status=lost", "kind=fax", "tenant=x", "before=!!"] {
        let (status, page) = console.get(&format!("/console/deliveries?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {page}");
    }
}

#[tokio::test]
async fn an_erased_candidate_is_no_longer_found_by_email_even_when_completed() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    // The tenant's webhook secret: registration without an Ashby key answers "manual".
    app.forget_ashby_key(&tenant).await;
    let registered: serde_json::Value = app
        .admin(
            reqwest::Method::PUT,
            &format!("/v1/tenants/{}/ashby-webhooks", tenant.id),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = registered["secret_token"].as_str().unwrap().to_owned();
    app.connect_tenant_to_ashby(&tenant, crate::helpers::NOWHERE, "key")
        .await;
    let mut body = start_body("app-1");
    body["candidate"]["ashby_id"] = json!("cand-gone");
    let id = app.start_assessment(&tenant, &body).await;
    let completed = json!({"status": "completed", "profile_url": "https://tests.example/r/1",
        "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 90}});
    assert_eq!(app.vendor_event(&id, &completed).await.0, 200);
    let console = Console::read_only(&app).await;
    let search = "/console/assessments?q=ada@example.com";
    assert!(console.page(search).await.contains("assessment-link"));

    let notice = json!({"action": "candidateDelete", "data": {"candidate": {"id": "cand-gone"}}})
        .to_string();
    let response = app
        .client
        .post(app.url(&format!("/ashby/webhooks/{}", tenant.id)))
        .header("content-type", "application/json")
        .header(
            "Ashby-Signature",
            ashby_partner::ashby::webhooks::sign(secret.as_bytes(), notice.as_bytes()),
        )
        .body(notice)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let page = console.page(search).await;
    assert!(page.contains("Nothing matches"), "{page}");
    let timeline = console.page(&format!("/console/assessments/{id}")).await;
    assert!(
        timeline.contains("<h1>Assessment for Erased candidate</h1>"),
        "{timeline}"
    );
    assert!(!timeline.contains("ada@example.com") && !timeline.contains("Lovelace"));
}
