//! The `tenant`, `token` and `deliveries` commands of the real binary, run against the
//! database a `TestApp` serves, so what they print is checked against what the server
//! then accepts and stores.

use std::io::Write as _;
use std::process::Stdio;

use ashby_partner::crypto::hash_partner_key;
use ashby_partner::domain::ids::TenantId;
use base64::Engine as _;
use entity::{partner_key, tenant};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ASHBY_OK, TYPE_ID, TestApp, TestTenant, start_body};

/// What one run of the binary did.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts success and parses stdout, which must be exactly one JSON document.
    fn json(&self) -> Value {
        assert!(self.success, "the command failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", self.stdout))
    }
}

/// Runs `ashby-partner ARGS` on the app's database and secrets, from an empty directory
/// (so no `config/` is read), with `stdin` as its standard input.
async fn run_cli(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Run {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = app.binary(cwd.path());
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(text.as_bytes()).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        drop(cwd);
        Run {
            success: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}

async fn create_tenant(app: &TestApp, name: &str) -> TestTenant {
    let created = run_cli(app, &["tenant", "create", "--name", name, "--json"], None)
        .await
        .json();
    TestTenant {
        id: TenantId(Uuid::parse_str(created["id"].as_str().unwrap()).unwrap()),
        key: created["partner_api_key"].as_str().unwrap().to_owned(),
    }
}

async fn list_status(app: &TestApp, key: &str) -> u16 {
    app.client
        .post(app.url("/assessment.list"))
        .basic_auth(key, Some(""))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn tenant_row(app: &TestApp, id: TenantId) -> tenant::Model {
    tenant::Entity::find_by_id(id.0)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn tenant_create_prints_a_partner_key_that_authenticates_and_is_stored_hashed() {
    let app = TestApp::spawn().await;

    let run = run_cli(
        &app,
        &["tenant", "create", "--name", "Acme", "--json"],
        None,
    )
    .await;

    let created = run.json();
    let object = created.as_object().unwrap();
    assert_eq!(object.len(), 3, "{created}");
    let id = Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    assert_eq!(created["name"], "Acme");
    let key = created["partner_api_key"].as_str().unwrap();
    assert!(key.starts_with("apk_"), "{key}");
    assert_eq!(list_status(&app, key).await, 200);
    let keys = partner_key::Entity::find()
        .filter(partner_key::Column::TenantId.eq(id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    let stored = &keys[0];
    assert_eq!(stored.key_hash, hash_partner_key(key));
    assert_ne!(stored.key_hash, key);
    assert_ne!(stored.key_prefix, key);
    assert!(key.starts_with(&stored.key_prefix));
    let tenant = tenant_row(&app, TenantId(id)).await;
    assert_eq!(tenant.name, "Acme");
    assert_eq!(tenant.ashby_api_key_sealed, None);
    assert_eq!(tenant.ashby_base_url, None);
    if !app.database.is_postgres() {
        assert_sqlite_files_do_not_contain(&app, key);
    }
}

/// The SQLite database and its write-ahead log, byte for byte, do not contain `secret`.
fn assert_sqlite_files_do_not_contain(app: &TestApp, secret: &str) {
    let url = &app.database.url;
    let path = url
        .strip_prefix("sqlite://")
        .and_then(|rest| rest.split('?').next())
        .unwrap();
    assert!(std::path::Path::new(path).is_file(), "{path}");
    for file in [path.to_owned(), format!("{path}-wal")] {
        let Ok(bytes) = std::fs::read(&file) else {
            continue; // No write-ahead log right now.
        };
        assert!(
            !bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "{file} contains the plaintext"
        );
    }
}

#[tokio::test]
async fn tenant_list_shows_every_tenant_without_key_material() {
    let app = TestApp::spawn().await;
    let acme = create_tenant(&app, "Acme").await;
    let globex = app.create_tenant("Globex").await;

    let run = run_cli(&app, &["tenant", "list", "--json"], None).await;

    let listed = run.json();
    let listed = listed.as_array().expect("a JSON array");
    assert_eq!(listed.len(), 2, "{listed:?}");
    let entry = listed
        .iter()
        .find(|t| t["id"] == acme.id.to_string())
        .expect("the tenant is listed");
    assert_eq!(entry["name"], "Acme");
    assert_eq!(entry["ashby_api_key_set"], false);
    assert_eq!(entry["ashby_key_status"], "unset");
    assert_eq!(entry["disabled"], false);
    assert_eq!(entry["active_partner_keys"], 1);
    assert!(listed.iter().any(|t| t["id"] == globex.id.to_string()));
    for secret in [acme.key.as_str(), globex.key.as_str(), "apk_"] {
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
    }
}

#[tokio::test]
async fn tenant_set_ashby_key_stores_it_sealed_from_an_argument_or_stdin() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = tenant.id.to_string();
    let cases = [
        ("an argument", "ashby-live-key-from-argument", None),
        ("stdin", "-", Some("ashby-live-key-from-stdin\n")),
    ];

    for (source, argument, stdin) in cases {
        let expected = stdin.map_or(argument, str::trim);

        let run = run_cli(
            &app,
            &["tenant", "set-ashby-key", &id, argument, "--json"],
            stdin,
        )
        .await;

        assert_eq!(
            run.json(),
            json!({ "id": id, "ashby_api_key_set": true }),
            "{source}"
        );
        let sealed = tenant_row(&app, tenant.id)
            .await
            .ashby_api_key_sealed
            .expect("the key is stored");
        assert!(!sealed.contains(expected), "{source}: stored in the clear");
        let opened = app.secrets().sealer.open(&sealed, &id).unwrap();
        assert_eq!(opened.expose_secret(), expected, "{source}");
        if !app.database.is_postgres() {
            assert_sqlite_files_do_not_contain(&app, expected);
        }
        let listed = run_cli(&app, &["tenant", "list", "--json"], None).await;
        assert_eq!(listed.json()[0]["ashby_api_key_set"], true);
        assert!(!listed.stdout.contains(expected));
        assert!(!listed.stdout.contains(&sealed));
    }
}

#[tokio::test]
async fn a_rotated_key_works_beside_the_old_one_until_the_old_is_revoked() {
    let app = TestApp::spawn().await;
    let tenant = create_tenant(&app, "Acme").await;
    let id = tenant.id.to_string();

    let rotated = run_cli(&app, &["tenant", "rotate-key", &id, "--json"], None)
        .await
        .json();

    assert_eq!(rotated["id"], id);
    let new_key = rotated["partner_api_key"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with("apk_"));
    assert_ne!(new_key, tenant.key);
    assert_eq!(list_status(&app, &tenant.key).await, 200);
    assert_eq!(list_status(&app, &new_key).await, 200);

    let revoked = run_cli(
        &app,
        &["tenant", "revoke-keys", &id, "--except-newest", "--json"],
        None,
    )
    .await
    .json();

    assert_eq!(revoked, json!({ "id": id, "revoked": 1 }));
    assert_eq!(list_status(&app, &tenant.key).await, 401);
    assert_eq!(list_status(&app, &new_key).await, 200);
}

#[tokio::test]
async fn bad_input_exits_non_zero_with_one_line_saying_what_to_fix() {
    let app = TestApp::spawn().await;
    let missing = Uuid::new_v4().to_string();
    let no_such_tenant = format!("no tenant with id {missing}");
    // (arguments, a fragment the message must contain)
    let cases: [(&[&str], &str); 5] = [
        (
            &["tenant", "create", "--name", ""],
            "--name must not be empty",
        ),
        (
            &["tenant", "set-ashby-key", "not-a-uuid", "K"],
            "\"not-a-uuid\" is not a tenant id",
        ),
        (&["tenant", "set-ashby-key", &missing, "K"], &no_such_tenant),
        (&["tenant", "rotate-key", &missing], &no_such_tenant),
        (
            &["--config", "/nonexistent.toml", "tenant", "list"],
            "--config /nonexistent.toml: no such file",
        ),
    ];

    for (args, fragment) in cases {
        let run = run_cli(&app, args, None).await;

        assert_one_line_error(&run, &format!("{args:?}"), fragment);
    }
    let tenants = tenant::Entity::find().all(&app.db).await.unwrap();
    assert!(tenants.is_empty(), "bad input created {tenants:?}");
}

/// Asserts a failed run: non-zero, nothing on stdout, and one `error: ` line on stderr
/// that contains `fragment`.
fn assert_one_line_error(run: &Run, what: &str, fragment: &str) {
    assert!(!run.success, "{what} succeeded: {}", run.stdout);
    assert_eq!(run.stdout, "", "{what}");
    // Info log lines (the database a command opens) may precede the error.
    let lines: Vec<&str> = run
        .stderr
        .trim_end()
        .lines()
        .filter(|line| !line.contains(" INFO "))
        .collect();
    assert_eq!(lines.len(), 1, "{what}: {}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{what}: {}", lines[0]);
    assert!(lines[0].contains(fragment), "{what}: {}", lines[0]);
}

/// Parses an RFC 3339 UTC timestamp (with `Z` or `+00:00`).
fn utc(text: &Value) -> chrono::DateTime<chrono::Utc> {
    let text = text.as_str().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"));
    assert_eq!(parsed.offset().local_minus_utc(), 0, "{text} is not UTC");
    parsed.to_utc()
}

/// The `exp` claim of a JWT, read without checking the signature.
fn expiry_claim(token: &str) -> i64 {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["exp"].as_i64().unwrap()
}

#[tokio::test]
async fn token_create_prints_a_token_the_vendor_api_accepts_for_ninety_days() {
    let app = TestApp::spawn().await;
    let before = chrono::Utc::now();

    let run = run_cli(&app, &["token", "create", "--json"], None).await;

    let after = chrono::Utc::now();
    let created = run.json();
    assert_eq!(created.as_object().unwrap().len(), 4, "{created}");
    assert_eq!(created["scope"], "engine", "the default scope");
    assert!(
        created["id"].as_str().unwrap().parse::<Uuid>().is_ok(),
        "{created}"
    );
    let token = created["token"].as_str().unwrap();
    let response = app
        .client
        .get(app.url("/v1/assessment-types"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let types: Value = response.json().await.unwrap();
    assert_eq!(types["data"][0]["id"], TYPE_ID);
    let expires_at = utc(&created["expires_at"]);
    let ninety_days = chrono::Duration::days(90);
    let slack = chrono::Duration::seconds(2);
    assert!(
        expires_at >= before + ninety_days - slack && expires_at <= after + ninety_days + slack,
        "{expires_at} is not 90 days after {before}"
    );
    assert_eq!(expiry_claim(token), expires_at.timestamp());
    assert!(!run.stderr.contains(token), "the token is logged");
    let tampered = format!("{token}x");
    assert_eq!(app.assessment_types_status(&tampered).await, 401);
}

#[tokio::test]
async fn token_create_with_a_ttl_expires_that_long_after_now() {
    let app = TestApp::spawn().await;
    let before = chrono::Utc::now();

    let created = run_cli(&app, &["token", "create", "--ttl", "2h", "--json"], None)
        .await
        .json();

    let after = chrono::Utc::now();
    let expires_at = utc(&created["expires_at"]);
    let two_hours = chrono::Duration::hours(2);
    let slack = chrono::Duration::seconds(2);
    assert!(
        expires_at >= before + two_hours - slack && expires_at <= after + two_hours + slack,
        "{expires_at} is not two hours after {before}"
    );
    let token = created["token"].as_str().unwrap();
    assert_eq!(expiry_claim(token), expires_at.timestamp());
    assert_eq!(app.assessment_types_status(token).await, 200);
}

#[tokio::test]
async fn token_create_refuses_a_ttl_that_is_not_a_positive_duration() {
    let app = TestApp::spawn().await;

    for ttl in ["soon", "0s"] {
        let run = run_cli(&app, &["token", "create", "--ttl", ttl, "--json"], None).await;

        assert_one_line_error(&run, ttl, "--ttl");
        assert!(run.stderr.contains(ttl), "{ttl}: {}", run.stderr);
    }
}

#[tokio::test]
async fn token_create_refuses_a_ttl_beyond_the_maximum_lifetime_naming_it() {
    let app = TestApp::spawn().await;

    for ttl in ["367d", "100000000d"] {
        let run = run_cli(&app, &["token", "create", "--ttl", ttl, "--json"], None).await;

        assert_one_line_error(&run, ttl, "366d");
    }
    let run = run_cli(&app, &["token", "create", "--ttl", "366d", "--json"], None).await;
    assert!(run.success, "{}", run.stderr);
}

#[tokio::test]
async fn tokens_are_listed_without_the_token_and_a_revoked_one_is_refused() {
    let app = TestApp::spawn().await;
    let first = run_cli(
        &app,
        &[
            "token", "create", "--ttl", "2h", "--label", "engine-a", "--json",
        ],
        None,
    )
    .await
    .json();
    let second = run_cli(&app, &["token", "create", "--json"], None)
        .await
        .json();
    let (first_token, second_token) = (
        first["token"].as_str().unwrap(),
        second["token"].as_str().unwrap(),
    );
    assert_eq!(app.assessment_types_status(first_token).await, 200);

    let listed = run_cli(&app, &["token", "list", "--json"], None).await;

    assert!(
        !listed.stdout.contains(first_token),
        "a token is shown again"
    );
    let rows = listed.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let row = rows.iter().find(|r| r["id"] == first["id"]).unwrap();
    assert_eq!(row["label"], "engine-a");
    assert_eq!(row["expires_at"], first["expires_at"]);
    assert_eq!(row["revoked_at"], Value::Null);
    utc(&row["created_at"]);

    let revoked = run_cli(
        &app,
        &["token", "revoke", first["id"].as_str().unwrap(), "--json"],
        None,
    )
    .await;

    assert!(revoked.success, "{}", revoked.stderr);
    assert_eq!(app.assessment_types_status(first_token).await, 401);
    assert_eq!(
        app.assessment_types_status(second_token).await,
        200,
        "only that one"
    );
    let rows = run_cli(&app, &["token", "list", "--json"], None)
        .await
        .json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == first["id"])
        .unwrap()
        .clone();
    utc(&row["revoked_at"]);
    let again = run_cli(
        &app,
        &["token", "revoke", first["id"].as_str().unwrap(), "--json"],
        None,
    )
    .await;
    assert!(
        again.success,
        "revoking twice is harmless: {}",
        again.stderr
    );

    let unknown = Uuid::new_v4().to_string();
    let run = run_cli(&app, &["token", "revoke", &unknown], None).await;
    assert_one_line_error(&run, "unknown id", &unknown);
    let run = run_cli(&app, &["token", "revoke", "nope"], None).await;
    assert_one_line_error(&run, "malformed id", "nope");
}

#[tokio::test]
async fn a_token_minted_before_tokens_were_recorded_keeps_working() {
    let app = TestApp::spawn().await;
    let secret = app.settings.security.token_secret.clone().unwrap();
    let now = chrono::Utc::now().timestamp();
    // The claims of the first releases: no jti at all.
    let claims =
        json!({"sub": "vendor", "aud": "ashby-partner/vendor-api", "iat": now, "exp": now + 600});
    let legacy = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.expose_secret().as_bytes()).unwrap(),
    )
    .unwrap();

    assert_eq!(app.assessment_types_status(&legacy).await, 200);
}

/// Starts an assessment of a tenant that has no Ashby key, posts a progress event and
/// runs the engine: the update is dead at once. Returns the dead delivery.
async fn dead_delivery(app: &TestApp, tenant: &TestTenant) -> entity::delivery::Model {
    let id = app
        .start_assessment(tenant, &start_body(&Uuid::new_v4().to_string()))
        .await;
    app.forget_ashby_key(tenant).await;
    let (status, body) = app
        .vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    assert_eq!(status, 200, "{body}");
    app.deliver_everything().await;
    let rows = app.deliveries_of(&id).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = rows.into_iter().next().unwrap();
    assert_eq!(row.status, "dead", "{row:#?}");
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("set-ashby-key")),
        "{row:#?}"
    );
    row
}

async fn delivery_row(app: &TestApp, id: Uuid) -> entity::delivery::Model {
    entity::delivery::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// The ids a `deliveries list --json` printed.
fn listed_ids(listed: &Value) -> Vec<String> {
    listed
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn deliveries_list_shows_a_dead_delivery_with_its_reason_and_filters_by_status_and_tenant() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    let dead = dead_delivery(&app, &acme).await;
    let (dead_id, acme_id, globex_id) = (
        dead.id.to_string(),
        acme.id.to_string(),
        globex.id.to_string(),
    );

    let listed = run_cli(&app, &["deliveries", "list", "--json"], None)
        .await
        .json();

    let entries = listed.as_array().expect("a JSON array");
    assert_eq!(entries.len(), 1, "{listed}");
    let entry = &entries[0];
    assert_eq!(entry["id"], dead_id);
    assert_eq!(entry["kind"], "assessment.update");
    assert_eq!(entry["status"], "dead");
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["tenant_id"], acme_id);
    assert_eq!(entry["assessment_id"], dead.assessment_id.to_string());
    assert!(
        entry["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("set-ashby-key")),
        "{entry}"
    );
    assert_eq!(entry["next_attempt_at"], Value::Null, "{entry}");
    assert_eq!(entry["delivered_at"], Value::Null, "{entry}");
    utc(&entry["created_at"]);
    assert_eq!(
        entry["payload"]["assessment_status"]["value"], "In Progress",
        "{entry}"
    );
    // (filters, whether the dead delivery is listed)
    let cases: [(&[&str], bool); 6] = [
        (&["--status", "dead"], true),
        (&["--status", "delivered"], false),
        (&["--status", "pending"], false),
        (&["--tenant", &acme_id], true),
        (&["--tenant", &globex_id], false),
        (&["--status", "dead", "--tenant", &globex_id], false),
    ];
    for (filters, included) in cases {
        let args: Vec<&str> = ["deliveries", "list", "--json"]
            .iter()
            .chain(filters)
            .copied()
            .collect();

        let listed = run_cli(&app, &args, None).await.json();

        let expected = if included {
            vec![dead_id.clone()]
        } else {
            vec![]
        };
        assert_eq!(listed_ids(&listed), expected, "{filters:?}");
    }
}

#[tokio::test]
async fn deliveries_retry_puts_a_dead_delivery_back_in_line_and_refuses_one_that_is_not_dead() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let dead = dead_delivery(&app, &tenant).await;
    let id = dead.id.to_string();

    let run = run_cli(&app, &["deliveries", "retry", &id, "--json"], None).await;

    assert_eq!(
        run.json(),
        json!({ "requeued": 1, "retried": 1, "superseded": 0 })
    );
    let row = delivery_row(&app, dead.id).await;
    assert_eq!(row.status, "pending", "{row:#?}");
    assert_eq!(row.attempts, 0, "{row:#?}");
    assert!(row.next_attempt_at_ms <= ashby_partner::store::now_ms());

    let again = run_cli(&app, &["deliveries", "retry", &id, "--json"], None).await;

    assert_one_line_error(&again, "a second retry", "is pending");
    assert!(
        again.stderr.contains("only a dead delivery can be retried"),
        "{}",
        again.stderr
    );
    let row = delivery_row(&app, dead.id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));

    // Back in line means the engine sends it, once the tenant has a key.
    let mut ashby = mockito::Server::new_async().await;
    let mock = ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "ashby-key")
        .await;
    app.deliver_everything().await;
    mock.assert_async().await;
    let row = delivery_row(&app, dead.id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("delivered", 1));
}

#[tokio::test]
async fn deliveries_retry_all_dead_requeues_every_dead_delivery_and_nothing_else() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let globex = app.create_tenant("Globex").await;
    let dead = [
        dead_delivery(&app, &acme).await,
        dead_delivery(&app, &globex).await,
    ];
    // And one that was delivered, which must stay so.
    let mut ashby = mockito::Server::new_async().await;
    ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    let initech = app.create_tenant("Initech").await;
    app.connect_tenant_to_ashby(&initech, &ashby.url(), "ashby-key")
        .await;
    let delivered_assessment = app
        .start_assessment(&initech, &start_body("initech-app"))
        .await;
    app.vendor_event(&delivered_assessment, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await;
    let delivered = app.deliveries_of(&delivered_assessment).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].status, "delivered");

    let run = run_cli(&app, &["deliveries", "retry", "--all-dead", "--json"], None).await;

    assert_eq!(
        run.json(),
        json!({ "requeued": 2, "retried": 2, "superseded": 0 })
    );
    for row in &dead {
        let row = delivery_row(&app, row.id).await;
        assert_eq!(
            (row.status.as_str(), row.attempts),
            ("pending", 0),
            "{row:#?}"
        );
    }
    let untouched = delivery_row(&app, delivered[0].id).await;
    assert_eq!(untouched, delivered[0]);
    let nothing_left = run_cli(&app, &["deliveries", "retry", "--all-dead", "--json"], None)
        .await
        .json();
    assert_eq!(
        nothing_left,
        json!({ "requeued": 0, "retried": 0, "superseded": 0 })
    );
}

#[tokio::test]
async fn deliveries_commands_refuse_bad_input_with_one_line_saying_what_to_fix() {
    let app = TestApp::spawn().await;
    let missing = Uuid::new_v4().to_string();
    let no_such_delivery = format!("no delivery with id {missing}");
    // (arguments, a fragment the message must contain)
    let cases: [(&[&str], &str); 3] = [
        (
            &["deliveries", "retry", &missing, "--json"],
            &no_such_delivery,
        ),
        (
            &["deliveries", "retry", "not-a-uuid"],
            "\"not-a-uuid\" is not a delivery id",
        ),
        (
            &["deliveries", "list", "--tenant", "not-a-uuid"],
            "\"not-a-uuid\" is not a tenant id",
        ),
    ];

    for (args, fragment) in cases {
        let run = run_cli(&app, args, None).await;

        assert_one_line_error(&run, &format!("{args:?}"), fragment);
    }
}

#[tokio::test]
async fn deliveries_commands_refuse_an_unknown_status_and_a_retry_of_nothing() {
    let app = TestApp::spawn().await;
    let id = Uuid::new_v4().to_string();
    // (arguments, a fragment the one line must contain): usage errors are one line too.
    let cases: [(&[&str], &str); 3] = [
        (
            &["deliveries", "list", "--status", "bogus", "--json"],
            "possible values: pending, delivered, dead",
        ),
        (&["deliveries", "retry", "--json"], "--all-dead"),
        (&["deliveries", "retry", &id, "--all-dead"], "--all-dead"),
    ];

    for (args, fragment) in cases {
        let run = run_cli(&app, args, None).await;

        assert_one_line_error(&run, &format!("{args:?}"), fragment);
    }
}

#[tokio::test]
async fn tenant_show_disable_enable_and_delete_act_like_their_routes() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = tenant.id.to_string();

    let shown = run_cli(&app, &["tenant", "show", &id, "--json"], None)
        .await
        .json();
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["ashby"]["key_status"], "unverified");
    let disabled = run_cli(&app, &["tenant", "disable", &id, "--json"], None)
        .await
        .json();
    assert_eq!(disabled["disabled"], true);
    assert_eq!(list_status(&app, &tenant.key).await, 403);
    let enabled = run_cli(&app, &["tenant", "enable", &id, "--json"], None)
        .await
        .json();
    assert_eq!(enabled["disabled"], false);
    assert_eq!(list_status(&app, &tenant.key).await, 200);

    let unconfirmed = run_cli(&app, &["tenant", "delete", &id], None).await;
    assert_one_line_error(&unconfirmed, "a delete without --yes", "--yes");
    let deleted = run_cli(&app, &["tenant", "delete", &id, "--yes", "--json"], None)
        .await
        .json();
    assert_eq!(deleted["deleted"], true);
    assert_eq!(list_status(&app, &tenant.key).await, 401);
    let missing = run_cli(&app, &["tenant", "show", &id], None).await;
    assert_one_line_error(&missing, "showing a deleted tenant", "no tenant");
}

#[tokio::test]
async fn tenant_verify_ashby_key_asks_ashby_and_records_the_answer() {
    let app = TestApp::spawn().await;
    let mut ashby = mockito::Server::new_async().await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "key")
        .await;
    let info = ashby
        .mock("POST", "/apiKey.info")
        .with_status(401)
        .with_body(r#"{"success": false}"#)
        .create_async()
        .await;

    let verified = run_cli(
        &app,
        &[
            "tenant",
            "verify-ashby-key",
            &tenant.id.to_string(),
            "--json",
        ],
        None,
    )
    .await
    .json();

    info.assert_async().await;
    assert_eq!(verified["ashby"]["key_status"], "rejected", "{verified}");
    assert!(
        verified["ashby"]["last_error"]
            .as_str()
            .unwrap()
            .contains("401")
    );
}

#[tokio::test]
async fn deliveries_show_dismiss_and_retry_of_one_tenant() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("Acme").await;
    let initech = app.create_tenant("Initech").await;
    let globex = app.create_tenant("Globex").await;
    let first = dead_delivery(&app, &acme).await;
    let second = dead_delivery(&app, &initech).await;
    let untouched = dead_delivery(&app, &globex).await;

    let shown = run_cli(
        &app,
        &["deliveries", "show", &first.id.to_string(), "--json"],
        None,
    )
    .await
    .json();
    assert_eq!(shown["status"], "dead");
    assert_eq!(shown["attempt_log"].as_array().unwrap().len(), 1, "{shown}");

    let dismissed = run_cli(
        &app,
        &["deliveries", "dismiss", &first.id.to_string(), "--json"],
        None,
    )
    .await
    .json();
    assert_eq!(dismissed["status"], "dismissed");
    let again = run_cli(
        &app,
        &["deliveries", "dismiss", &first.id.to_string()],
        None,
    )
    .await;
    assert_one_line_error(&again, "a second dismiss", "only a dead delivery");

    let retried = run_cli(
        &app,
        &[
            "deliveries",
            "retry",
            "--all-dead",
            "--tenant",
            &initech.id.to_string(),
            "--json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(retried["requeued"], 1);
    assert_eq!(delivery_row(&app, second.id).await.status, "pending");
    assert_eq!(delivery_row(&app, first.id).await.status, "dismissed");
    assert_eq!(delivery_row(&app, untouched.id).await.status, "dead");
}

#[tokio::test]
async fn token_create_with_a_scope_mints_a_token_of_that_scope() {
    let app = TestApp::spawn().await;
    for (scope, expected) in [("admin", 200), ("read", 200), ("engine", 403)] {
        let created = run_cli(&app, &["token", "create", "--scope", scope, "--json"], None)
            .await
            .json();
        assert_eq!(created["scope"], scope);
        let token = created["token"].as_str().unwrap();
        assert_eq!(
            app.get_status_with_token("/v1/tenants", token).await,
            expected,
            "{scope}"
        );
    }
    let bad = run_cli(&app, &["token", "create", "--scope", "root"], None).await;
    assert_one_line_error(&bad, "an unknown scope", "root");
}
