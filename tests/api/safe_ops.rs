//! Safe operations, with the real binary: which database a command opens (the resolved
//! path), read-only commands that create nothing and never migrate, a schema newer than
//! the binary refused by every command, the encryption key checked against the value
//! stored on first use, and the startup summary of `serve`.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use ashby_partner::crypto::random_secret_base64;
use sea_orm::ConnectionTrait as _;
use secrecy::ExposeSecret as _;

use crate::helpers::TestApp;

/// What one run of the binary did.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The error lines (`error: ...`): a refusal is exactly one.
    fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|line| line.starts_with("error:"))
            .collect()
    }

    fn assert_refused(&self, what: &str, fragments: &[&str]) {
        assert!(!self.success, "{what} succeeded: {}", self.stderr);
        let errors = self.error_lines();
        assert_eq!(errors.len(), 1, "{what}: {}", self.stderr);
        for fragment in fragments {
            assert!(
                errors[0].contains(fragment),
                "{what}: {fragment:?} not in {}",
                errors[0]
            );
        }
    }
}

async fn run(mut command: Command) -> Run {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        Run {
            success: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}

/// Starts `serve` and reads its log until a line contains `until` or it exits; then
/// stops it. Returns the lines read and whether it exited by itself (a refusal).
/// `STARTED` ends the read as soon as the server listens, summary or not.
async fn serve_until(mut command: Command, until: &'static str) -> (Vec<String>, bool) {
    command
        .arg("serve")
        .env("ASHBY_PARTNER__SERVER__BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = Vec::new();
        let mut reached = false;
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            reached = line.contains(until);
            lines.push(line);
            if reached {
                break;
            }
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        (lines, !reached && !status.success())
    })
    .await
    .unwrap()
}

/// In the line `serve` logs once its listener is bound.
const STARTED: &str = " listening ";

/// The binary with no inherited configuration, no configured secrets, from `cwd`.
fn bare_binary(cwd: &Path, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ashby-partner"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ASHBY_PARTNER") {
            command.env_remove(name);
        }
    }
    command
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", database_url);
    command
}

fn bare(cwd: &Path, url: &str, args: &[&str]) -> Command {
    let mut command = bare_binary(cwd, url);
    command.args(args);
    command
}

fn with_args(app: &TestApp, cwd: &Path, args: &[&str]) -> Command {
    let mut command = app.binary(cwd);
    command.args(args);
    command
}

const READ_ONLY: [&[&str]; 4] = [
    &["tenant", "list"],
    &["deliveries", "list"],
    &["token", "list"],
    &["migrate", "--status"],
];

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(dir);
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|entry| {
            let path = entry.unwrap().path();
            let mut found = vec![path.display().to_string()];
            if path.is_dir() {
                found.extend(walk(&path));
            }
            found
        })
        .collect()
}

#[tokio::test]
async fn read_only_commands_refuse_a_missing_sqlite_file_by_its_absolute_path_and_create_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    let url = "sqlite://data/partner.db?mode=rwc";
    let expected = cwd.path().join("data/partner.db");
    for args in READ_ONLY {
        let done = run(bare(cwd.path(), url, args)).await;
        done.assert_refused(
            &args.join(" "),
            &[
                &format!("no database at {}", expected.display()),
                "ashby-partner migrate",
            ],
        );
        assert!(entries(cwd.path()).is_empty(), "{:?}", entries(cwd.path()));
    }
}

#[tokio::test]
async fn read_only_commands_on_an_existing_sqlite_file_generate_no_secrets_and_log_its_path() {
    let cwd = tempfile::tempdir().unwrap();
    let url = "sqlite://data/partner.db?mode=rwc";
    let absolute = cwd.path().join("data/partner.db");
    let migrated = run(bare(cwd.path(), url, &["migrate"])).await;
    assert!(migrated.success, "{}", migrated.stderr);
    let before = entries(cwd.path());
    for args in READ_ONLY {
        let done = run(bare(cwd.path(), url, args)).await;
        assert!(done.success, "{args:?}: {}", done.stderr);
        assert!(
            done.stderr
                .contains(&format!("SQLite file {}", absolute.display())),
            "{args:?} does not name the database: {}",
            done.stderr
        );
        let after = entries(cwd.path());
        assert!(
            !after.iter().any(|name| name.ends_with(".secrets.toml")),
            "{args:?} generated secrets: {after:?}"
        );
    }
    // -wal/-shm come and go with connections; no new file otherwise.
    let after: Vec<String> = entries(cwd.path())
        .into_iter()
        .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    let before: Vec<String> = before
        .into_iter()
        .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    assert_eq!(before, after);
}

/// How the database is named in logs: SQLite by its (absolute) path, PostgreSQL by host,
/// port and database name, never with a password.
fn expected_name(url: &str) -> String {
    if url.starts_with("postgres") {
        let parsed = url::Url::parse(url).unwrap();
        format!(
            "PostgreSQL {}:{}{}",
            parsed.host_str().unwrap(),
            parsed.port().unwrap_or(5432),
            parsed.path()
        )
    } else {
        let path = url
            .strip_prefix("sqlite://")
            .unwrap()
            .split('?')
            .next()
            .unwrap();
        format!("SQLite file {path}")
    }
}

#[tokio::test]
async fn every_command_names_the_database_it_opens() {
    let app = TestApp::spawn().await;
    let cwd = tempfile::tempdir().unwrap();
    let name = expected_name(&app.database.url);
    for args in [
        &["tenant", "list"][..],
        &["deliveries", "list"],
        &["token", "list"],
        &["token", "create"],
        &["tenant", "create", "--name", "Acme"],
        &["migrate"],
    ] {
        let done = run(with_args(&app, cwd.path(), args)).await;
        assert!(done.success, "{args:?}: {}", done.stderr);
        assert!(done.stderr.contains(&name), "{args:?}: {}", done.stderr);
    }
}

/// Marks the app's database as migrated by a newer binary.
async fn apply_unknown_migration(app: &TestApp) {
    app.db
        .execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_from_a_newer_binary', 0)",
        )
        .await
        .unwrap();
}

const NEWER: &str = "the database schema is newer than this binary";

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused_by_every_command_whatever_auto_migrate_says() {
    let app = TestApp::spawn().await;
    apply_unknown_migration(&app).await;
    let cwd = tempfile::tempdir().unwrap();
    for auto_migrate in ["true", "false"] {
        for args in [
            &["tenant", "list"][..],
            &["deliveries", "list"],
            &["token", "list"],
            &["tenant", "create", "--name", "Acme"],
            &["token", "create"],
            &["deliveries", "retry", "--all-dead"],
            &["migrate"],
        ] {
            let mut command = with_args(&app, cwd.path(), args);
            command.env("ASHBY_PARTNER__DATABASE__AUTO_MIGRATE", auto_migrate);
            run(command).await.assert_refused(
                &format!("{args:?} (auto_migrate = {auto_migrate})"),
                &[
                    NEWER,
                    "m20991231_000001_from_a_newer_binary",
                    "upgrade",
                    "docs/deployment.md",
                ],
            );
        }
        let mut command = app.binary(cwd.path());
        command.env("ASHBY_PARTNER__DATABASE__AUTO_MIGRATE", auto_migrate);
        let (lines, refused) = serve_until(command, STARTED).await;
        assert!(
            refused,
            "serve started (auto_migrate = {auto_migrate}): {lines:?}"
        );
        let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{lines:?}");
        assert!(errors[0].contains(NEWER), "{lines:?}");
    }
}

#[tokio::test]
async fn migrate_status_lists_applied_pending_and_unknown_migrations() {
    let app = TestApp::spawn().await;
    let cwd = tempfile::tempdir().unwrap();
    let before = run(with_args(
        &app,
        cwd.path(),
        &["migrate", "--status", "--json"],
    ))
    .await;
    assert!(before.success, "{}", before.stderr);
    let status: serde_json::Value = serde_json::from_str(&before.stdout).unwrap();
    let applied = status["applied"].as_array().unwrap();
    assert!(
        applied
            .iter()
            .any(|m| m == "m20261128_000001_create_core_tables")
    );
    assert!(applied.iter().any(|m| m == "m20261128_000010_key_check"));
    assert_eq!(status["pending"], serde_json::json!([]));
    assert_eq!(status["unknown"], serde_json::json!([]));

    // One this binary knows, undone; one it does not know, added.
    app.db
        .execute_unprepared(
            "DELETE FROM seaql_migrations WHERE version = 'm20261128_000010_key_check'",
        )
        .await
        .unwrap();
    apply_unknown_migration(&app).await;
    let after = run(with_args(
        &app,
        cwd.path(),
        &["migrate", "--status", "--json"],
    ))
    .await;
    assert!(after.success, "{}", after.stderr);
    let status: serde_json::Value = serde_json::from_str(&after.stdout).unwrap();
    assert_eq!(
        status["pending"],
        serde_json::json!(["m20261128_000010_key_check"])
    );
    assert_eq!(
        status["unknown"],
        serde_json::json!(["m20991231_000001_from_a_newer_binary"])
    );
    let text = run(with_args(&app, cwd.path(), &["migrate", "--status"])).await;
    assert!(text.success, "{}", text.stderr);
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with("pending") && l.ends_with("m20261128_000010_key_check")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.lines().any(
            |l| l.starts_with("unknown") && l.ends_with("m20991231_000001_from_a_newer_binary")
        ),
        "{}",
        text.stdout
    );
}

#[tokio::test]
async fn a_rollback_runs_on_the_newer_schema_only_when_allowed_and_never_migrates() {
    let app = TestApp::spawn().await;
    apply_unknown_migration(&app).await;
    let cwd = tempfile::tempdir().unwrap();
    let mut list = with_args(&app, cwd.path(), &["tenant", "list", "--json"]);
    list.env("ASHBY_PARTNER__DATABASE__ALLOW_NEWER_SCHEMA", "true");
    let listed = run(list).await;
    assert!(listed.success, "{}", listed.stderr);
    let mut migrate = with_args(&app, cwd.path(), &["migrate"]);
    migrate.env("ASHBY_PARTNER__DATABASE__ALLOW_NEWER_SCHEMA", "true");
    run(migrate).await.assert_refused("migrate", &[NEWER]);
}

#[tokio::test]
async fn read_only_commands_never_migrate() {
    let app = TestApp::spawn().await;
    app.db
        .execute_unprepared(
            "DELETE FROM seaql_migrations WHERE version = 'm20261128_000010_key_check'",
        )
        .await
        .unwrap();
    app.db
        .execute_unprepared("DROP TABLE key_check")
        .await
        .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    for args in [
        &["tenant", "list"][..],
        &["deliveries", "list"],
        &["token", "list"],
    ] {
        run(with_args(&app, cwd.path(), args)).await.assert_refused(
            &args.join(" "),
            &["m20261128_000010_key_check", "ashby-partner migrate"],
        );
    }
    let pending = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT version FROM seaql_migrations WHERE version = 'm20261128_000010_key_check'",
        ))
        .await
        .unwrap();
    assert!(pending.is_empty(), "a read-only command migrated");
    // A command that writes migrates (auto_migrate is on by default).
    let created = run(with_args(
        &app,
        cwd.path(),
        &["tenant", "create", "--name", "Acme"],
    ))
    .await;
    assert!(created.success, "{}", created.stderr);
}

fn with_encryption_key(app: &TestApp, cwd: &Path, key: &str) -> Command {
    let mut command = app.binary(cwd);
    command.env("ASHBY_PARTNER__SECURITY__ENCRYPTION_KEY", key);
    command
}

const KEY_MISMATCH: &str =
    "security.encryption_key does not match the key this database was set up with";

#[tokio::test]
async fn a_different_encryption_key_is_refused_at_start_against_the_value_stored_on_first_use() {
    let app = TestApp::spawn().await;
    let cwd = tempfile::tempdir().unwrap();
    // First use: stores the check value.
    let created = run(with_args(
        &app,
        cwd.path(),
        &["tenant", "create", "--name", "Acme"],
    ))
    .await;
    assert!(created.success, "{}", created.stderr);
    let stored: Vec<entity::key_check::Model> =
        <entity::key_check::Entity as sea_orm::EntityTrait>::find()
            .all(&app.db)
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    let key = app.settings.security.encryption_key.as_ref().unwrap();
    assert!(
        !stored[0].check_value.contains(key.expose_secret()),
        "the check value holds the key"
    );

    let other_key = random_secret_base64();
    let (lines, refused) =
        serve_until(with_encryption_key(&app, cwd.path(), &other_key), STARTED).await;
    assert!(refused, "serve started with another key: {lines:?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{lines:?}");
    assert!(errors[0].contains(KEY_MISMATCH), "{lines:?}");
    assert!(errors[0].contains("not supported"), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains(&other_key)), "{lines:?}");

    let mut create = with_encryption_key(&app, cwd.path(), &other_key);
    create.args(["tenant", "create", "--name", "Other"]);
    run(create)
        .await
        .assert_refused("tenant create", &[KEY_MISMATCH]);

    // The right key still starts.
    let (lines, refused) = serve_until(app.binary(cwd.path()), STARTED).await;
    assert!(!refused, "{lines:?}");
}

#[tokio::test]
async fn serve_logs_a_startup_summary_without_secrets() {
    let app = TestApp::spawn().await;
    let cwd = tempfile::tempdir().unwrap();
    let (lines, refused) = serve_until(app.binary(cwd.path()), "startup: disabled:").await;
    assert!(!refused, "{lines:?}");
    let summary: Vec<&String> = lines.iter().filter(|l| l.contains("startup: ")).collect();
    let has = |fragment: &str| summary.iter().any(|l| l.contains(fragment));
    assert!(has("startup: public listener 127.0.0.1:"), "{summary:?}");
    assert!(has("/readyz"), "{summary:?}");
    assert!(has("/v1"), "{summary:?}");
    assert!(
        has(&format!(
            "startup: database {}",
            expected_name(&app.database.url)
        )),
        "{summary:?}"
    );
    assert!(has("startup: catalog"), "{summary:?}");
    // The test settings configure neither vendor webhooks nor candidate links.
    assert!(has("vendor webhooks"), "{summary:?}");
    assert!(has("candidate links"), "{summary:?}");
    let security = &app.settings.security;
    for secret in [
        security.encryption_key.as_ref().unwrap().expose_secret(),
        security.token_secret.as_ref().unwrap().expose_secret(),
    ] {
        assert!(
            !lines.iter().any(|l| l.contains(secret)),
            "a secret is logged"
        );
    }
}
