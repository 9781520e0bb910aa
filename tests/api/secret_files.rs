//! Every secret may be given as `<key>_file` (CONTRACT §2): the real binary, configured by
//! environment variables that name files, uses the secrets those files hold.

use std::process::Stdio;

use secrecy::ExposeSecret as _;
use serde_json::Value;

use crate::helpers::TestApp;

/// Runs the binary with its secrets given only as files; returns (success, stdout, stderr).
async fn run_with_secret_files(
    app: &TestApp,
    args: &[&str],
    token_file_text: &str,
) -> (bool, String, String) {
    let cwd = tempfile::tempdir().unwrap();
    let security = &app.settings.security;
    let key_file = cwd.path().join("encryption_key");
    let token_file = cwd.path().join("token_secret");
    std::fs::write(
        &key_file,
        format!(
            "{}\n",
            security.encryption_key.as_ref().unwrap().expose_secret()
        ),
    )
    .unwrap();
    std::fs::write(&token_file, token_file_text).unwrap();
    let mut command = app.binary(cwd.path());
    command
        .env_remove("ASHBY_PARTNER__SECURITY__ENCRYPTION_KEY")
        .env_remove("ASHBY_PARTNER__SECURITY__TOKEN_SECRET")
        .env("ASHBY_PARTNER__SECURITY__ENCRYPTION_KEY_FILE", &key_file)
        .env("ASHBY_PARTNER__SECURITY__TOKEN_SECRET_FILE", &token_file)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(cwd);
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_token_secret_read_from_a_file_signs_tokens_the_server_accepts() {
    let app = TestApp::spawn().await;
    let secret = app
        .settings
        .security
        .token_secret
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned();

    let (success, stdout, stderr) = run_with_secret_files(
        &app,
        &["token", "create", "--json"],
        &format!("  {secret}\n"),
    )
    .await;

    assert!(success, "{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    let response = app
        .client
        .get(app.url("/v1/assessment-types"))
        .bearer_auth(created["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the file's content, trimmed, is the secret"
    );
}

#[tokio::test]
async fn a_secret_given_both_ways_is_refused_naming_both_keys() {
    let app = TestApp::spawn().await;
    let cwd = tempfile::tempdir().unwrap();
    let token_file = cwd.path().join("token_secret");
    std::fs::write(&token_file, "0123456789abcdef0123456789abcdef").unwrap();
    let mut command = app.binary(cwd.path());
    command
        .env("ASHBY_PARTNER__SECURITY__TOKEN_SECRET_FILE", &token_file)
        .args(["token", "create", "--json"])
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("security.token_secret and security.token_secret_file"),
        "{stderr}"
    );
}
