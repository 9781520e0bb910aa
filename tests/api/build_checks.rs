//! `Application::build` (the demo, the bench) checks what `serve` checks before it
//! serves: a schema newer than the binary and a different encryption key are refused.

use ashby_partner::crypto::random_secret_base64;
use ashby_partner::startup::Application;
use sea_orm::ConnectionTrait as _;

use crate::helpers::TestApp;

/// Builds, and says why not.
async fn build_error(settings: ashby_partner::settings::Settings) -> Option<String> {
    match Application::build(settings).await {
        Ok(application) => {
            let handle = application.handle();
            tokio::spawn(application.run_without_workers());
            handle.stop(true).await;
            None
        }
        Err(error) => Some(format!("{error:#}")),
    }
}

#[tokio::test]
async fn application_build_refuses_another_encryption_key_and_a_newer_schema() {
    let app = TestApp::spawn().await;
    // First use: stores the key's check value.
    assert_eq!(build_error(app.settings.clone()).await, None);

    let mut other = app.settings.clone();
    other.security.encryption_key = Some(random_secret_base64().into());
    let refused = build_error(other).await.expect("another key was accepted");
    assert!(
        refused.contains("security.encryption_key does not match"),
        "{refused}"
    );

    app.db
        .execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_from_a_newer_binary', 0)",
        )
        .await
        .unwrap();
    let refused = build_error(app.settings.clone())
        .await
        .expect("a newer schema was accepted");
    assert!(
        refused.contains("the database schema is newer than this binary"),
        "{refused}"
    );
}
