//! The operator console (CONTRACT §13): signing in, the session cookie, scopes and CSRF.
//! Pages and actions have their own modules (`console_pages`, `console_actions`); the
//! browser they all use is here.

use ashby_partner::store::vendor_tokens;
use ashby_partner::tokens::{Scope, TokenKeys};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::helpers::{TestApp, start_body};

/// A browser on the console: keeps the session cookie, follows no redirect by itself.
pub struct Console {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

/// The `application/x-www-form-urlencoded` body of a form.
fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// The value of the first hidden `csrf` input on a page.
pub fn csrf_in(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker).expect("a csrf input on the page") + marker.len();
    page[start..][..page[start..].find('"').unwrap()].to_owned()
}

impl Console {
    pub fn new(app: &TestApp) -> Self {
        Self::at(&app.address)
    }

    pub fn at(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    /// Signs in with `token`, asserting it works.
    pub async fn sign_in(app: &TestApp, token: &str) -> Self {
        let mut console = Self::new(app);
        let response = console.post("/console/sign-in", &[("token", token)]).await;
        assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
        assert_eq!(response.headers()["location"], "/console");
        let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
        console.cookie = Some(set_cookie.split(';').next().unwrap().to_owned());
        console
    }

    pub async fn admin(app: &TestApp) -> Self {
        Self::sign_in(app, &app.token_with_scope("admin")).await
    }

    pub async fn read_only(app: &TestApp) -> Self {
        Self::sign_in(app, &app.token_with_scope("read")).await
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
    }

    pub async fn get_response(&self, path: &str) -> reqwest::Response {
        self.with_cookie(self.client.get(format!("{}{path}", self.base)))
            .send()
            .await
            .unwrap()
    }

    /// A page: its status and HTML.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self.get_response(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// A page that must be there.
    pub async fn page(&self, path: &str) -> String {
        let (status, page) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {page}");
        page
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.with_cookie(self.client.post(format!("{}{path}", self.base)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(fields))
            .send()
            .await
            .unwrap()
    }

    /// This session's CSRF token, as its pages carry it.
    pub async fn csrf(&self) -> String {
        csrf_in(&self.page("/console").await)
    }

    /// Posts an action form as its page does (CSRF token, `back`, and `extra` fields);
    /// asserts the redirect back and returns the flash message shown there.
    pub async fn act(&self, path: &str, back: &str, extra: &[(&str, &str)]) -> String {
        let csrf = self.csrf().await;
        let mut fields = vec![("csrf", csrf.as_str()), ("back", back)];
        fields.extend_from_slice(extra);
        let response = self.post(path, &fields).await;
        assert_eq!(
            response.status(),
            303,
            "{path}: {}",
            response.text().await.unwrap()
        );
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(&format!("{back}?")) || location.starts_with(&format!("{back}&")),
            "{location}"
        );
        let page = self.page(&location).await;
        let start = page
            .find(r#"<p class="flash" role="status">"#)
            .expect("a flash message")
            + 31;
        page[start..][..page[start..].find("</p>").unwrap()].to_owned()
    }
}

#[tokio::test]
async fn an_admin_or_read_token_signs_in_and_the_cookie_is_http_only_strict_and_expiring() {
    let app = TestApp::spawn().await;
    for scope in ["admin", "read"] {
        let console = Console::new(&app);
        let token = app.token_with_scope(scope);

        let response = console.post("/console/sign-in", &[("token", &token)]).await;

        assert_eq!(response.status(), 303);
        assert_eq!(response.headers()["location"], "/console");
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        for part in [
            "ap_console=v1.",
            "Path=/console",
            "HttpOnly",
            "SameSite=Strict",
        ] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        assert!(
            !cookie.contains(&token),
            "the cookie must not hold the token: {cookie}"
        );
        assert!(!cookie.contains("Secure"), "http public_url: {cookie}");
        let max_age: i64 = cookie
            .split("; ")
            .find_map(|part| part.strip_prefix("Max-Age="))
            .unwrap()
            .parse()
            .unwrap();
        // The test token lives an hour: the session ends with it, not 12 h later.
        assert!((3_500..=3_600).contains(&max_age), "{cookie}");

        let signed_in = Console::sign_in(&app, &token).await;
        let page = signed_in.page("/console").await;
        assert!(page.contains("<h1>Overview</h1>"), "{page}");
        assert!(
            page.contains(scope),
            "who is signed in, and with which scope"
        );
    }
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let app = TestApp::spawn_with(|s| s.server.public_url = "https://bridge.example".into()).await;
    let response = Console::new(&app)
        .post(
            "/console/sign-in",
            &[("token", &app.token_with_scope("read"))],
        )
        .await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn engine_expired_revoked_and_garbage_tokens_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let keys = TokenKeys::new(&app.secrets().token_secret).unwrap();
    let now = chrono::Utc::now().timestamp();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "vendor", "aud": "ashby-partner/vendor-api", "iat": now - 7200,
                "exp": now - 3600, "jti": uuid::Uuid::new_v4().to_string(), "scope": "admin"}),
        &jsonwebtoken::EncodingKey::from_secret(
            app.secrets().token_secret.expose_secret().as_bytes(),
        )
        .unwrap(),
    )
    .unwrap();
    let revoked = keys
        .issue_scoped_token(std::time::Duration::from_secs(3600), Scope::Admin)
        .unwrap();
    vendor_tokens::record(&app.db, &revoked, None)
        .await
        .unwrap();
    vendor_tokens::revoke(&app.db, revoked.id).await.unwrap();
    let cases = [
        (app.token_with_scope("engine"), 403, "engine token"),
        (expired, 401, "expired"),
        (revoked.token.expose_secret().to_owned(), 401, "revoked"),
        ("not-a-token".to_owned(), 401, "not a valid token"),
        (String::new(), 401, "not a valid token"),
    ];
    for (token, status, reason) in cases {
        let response = Console::new(&app)
            .post("/console/sign-in", &[("token", &token)])
            .await;

        assert_eq!(response.status(), status, "{reason}");
        assert!(response.headers().get("set-cookie").is_none(), "{reason}");
        let page = response.text().await.unwrap();
        assert!(page.contains(reason), "{reason}: {page}");
        assert!(
            page.contains(r#"action="/console/sign-in""#),
            "the form again"
        );
    }
}

#[tokio::test]
async fn without_a_session_pages_lead_to_sign_in_and_forms_are_refused() {
    let app = TestApp::spawn().await;
    let console = Console::new(&app);
    for path in [
        "/console",
        "/console/tenants",
        "/console/assessments?q=a@b.c",
        "/console/deliveries",
    ] {
        let response = console.get_response(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/console/sign-in", "{path}");
    }
    let response = console
        .post("/console/deliveries/retry", &[("csrf", "x")])
        .await;
    assert_eq!(response.status(), 403);

    let page = console.page("/console/sign-in").await;
    assert!(
        page.contains(r#"<form method="post" action="/console/sign-in">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"id="token""#) && page.contains(r#"name="token""#),
        "{page}"
    );
    assert!(
        page.contains(r#"<button id="sign-in" type="submit">"#),
        "{page}"
    );
}

#[tokio::test]
async fn a_tampered_cookie_is_no_session() {
    let app = TestApp::spawn().await;
    let mut console = Console::read_only(&app).await;
    let cookie = console.cookie.clone().unwrap();
    for forged in [
        cookie.replace(".read.", ".admin."),
        format!("{cookie}x"),
        "ap_console=v1.garbage".to_owned(),
    ] {
        console.cookie = Some(forged.clone());
        let response = console.get_response("/console").await;
        assert_eq!(response.status(), 303, "{forged}");
    }
}

#[tokio::test]
async fn revoking_the_token_ends_its_sessions_and_sign_out_ends_one() {
    let app = TestApp::spawn().await;
    let keys = TokenKeys::new(&app.secrets().token_secret).unwrap();
    let issued = keys
        .issue_scoped_token(std::time::Duration::from_secs(3600), Scope::Admin)
        .unwrap();
    vendor_tokens::record(&app.db, &issued, None).await.unwrap();
    let console = Console::sign_in(&app, issued.token.expose_secret()).await;
    console.page("/console").await;

    vendor_tokens::revoke(&app.db, issued.id).await.unwrap();

    assert_eq!(console.get_response("/console").await.status(), 303);

    let other = Console::admin(&app).await;
    let response = other.post("/console/sign-out", &[("csrf", "wrong")]).await;
    assert_eq!(response.status(), 403, "sign-out is CSRF-protected");
    let csrf = other.csrf().await;
    let response = other.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/console/sign-in");
    let cleared = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("ap_console=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn a_read_session_sees_every_page_without_action_buttons_and_cannot_act() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let assessment = app.start_assessment(&tenant, &start_body("app-1")).await;
    app.forget_ashby_key(&tenant).await;
    app.vendor_event(&assessment, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await;
    let dead = app.deliveries_of(&assessment).await[0].clone();
    assert_eq!(dead.status, "dead");
    let console = Console::read_only(&app).await;

    for path in [
        "/console".to_owned(),
        "/console/tenants".to_owned(),
        format!("/console/tenants/{}", tenant.id),
        "/console/assessments?q=ada@example.com".to_owned(),
        format!("/console/assessments/{assessment}"),
        "/console/deliveries?status=dead".to_owned(),
    ] {
        let page = console.page(&path).await;
        assert!(
            !page.contains(r#"method="post" action="/console/deliveries"#),
            "{path}"
        );
        assert!(!page.contains(r#"action="/console/tenants/"#), "{path}");
        assert!(!page.contains(r#"class="retry""#), "{path}");
    }

    // A forged form, with the session's own CSRF token even: refused, nothing changes.
    let csrf = console.csrf().await;
    let forged = [
        format!("/console/deliveries/{}/retry", dead.id),
        format!("/console/deliveries/{}/dismiss", dead.id),
        "/console/deliveries/retry".to_owned(),
        format!("/console/tenants/{}/disable", tenant.id),
        format!("/console/tenants/{}/partner-keys", tenant.id),
        "/console/tenants".to_owned(),
    ];
    for path in &forged {
        let response = console
            .post(
                path,
                &[("csrf", &csrf), ("name", "Evil"), ("back", "/console")],
            )
            .await;
        assert_eq!(response.status(), 403, "{path}");
        let page = response.text().await.unwrap();
        assert!(page.contains("read-only"), "{path}: {page}");
    }
    assert_eq!(app.deliveries_of(&assessment).await[0].status, "dead");
    let (_, tenants) = console.get("/console/tenants").await;
    assert!(
        !tenants.contains("Evil") && !tenants.contains("disabled"),
        "{tenants}"
    );
}

#[tokio::test]
async fn an_admin_form_without_the_sessions_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let console = Console::admin(&app).await;
    let someone_else = Console::admin(&app).await.csrf().await;
    let path = format!("/console/tenants/{}/disable", tenant.id);
    for csrf in [None, Some(""), Some("forged"), Some(someone_else.as_str())] {
        let mut fields = vec![("back", "/console")];
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf));
        }

        let response = console.post(&path, &fields).await;

        assert_eq!(response.status(), 403, "{csrf:?}");
        assert!(response.text().await.unwrap().contains("CSRF"));
    }
    let shown = ashby_partner::service::show_tenant(&app.db, tenant.id)
        .await
        .unwrap();
    assert!(!shown.tenant.disabled);
}

#[tokio::test]
async fn the_stylesheet_comes_from_the_binary_and_pages_forbid_everything_else() {
    let app = TestApp::spawn().await;
    let console = Console::new(&app);
    let response = console.get_response("/console/style.css").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(response.text().await.unwrap().contains("system-ui"));
    let response = console.get_response("/console/sign-in").await;
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no outside asset: {page}"
    );

    let signed_in = Console::read_only(&app).await;
    let (status, page) = signed_in.get("/console/no-such-page").await;
    assert_eq!(status, 404);
    assert!(page.contains("no console page"), "{page}");
}
