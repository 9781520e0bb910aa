//! The `tenant` commands of the real binary, run against the database a `TestApp` serves,
//! so what they print is checked against what the server then accepts.

use std::io::Write as _;
use std::process::{Command, Stdio};

use ashby_partner::crypto::hash_partner_key;
use ashby_partner::domain::ids::TenantId;
use entity::{partner_key, tenant};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestTenant};

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
    let security = &app.settings.security;
    let mut command = Command::new(env!("CARGO_BIN_EXE_ashby-partner"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ASHBY_PARTNER") {
            command.env_remove(name);
        }
    }
    let cwd = tempfile::tempdir().unwrap();
    command
        .args(args)
        .current_dir(cwd.path())
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", &app.database.url)
        .env(
            "ASHBY_PARTNER__SECURITY__ENCRYPTION_KEY",
            security.encryption_key.as_ref().unwrap().expose_secret(),
        )
        .env(
            "ASHBY_PARTNER__SECURITY__TOKEN_SECRET",
            security.token_secret.as_ref().unwrap().expose_secret(),
        )
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

        assert!(!run.success, "{args:?} succeeded");
        assert_eq!(run.stdout, "", "{args:?}");
        let lines: Vec<&str> = run.stderr.trim_end().lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", run.stderr);
        assert!(lines[0].starts_with("error: "), "{args:?}: {}", lines[0]);
        assert!(lines[0].contains(fragment), "{args:?}: {}", lines[0]);
    }
    let tenants = tenant::Entity::find().all(&app.db).await.unwrap();
    assert!(tenants.is_empty(), "bad input created {tenants:?}");
}
