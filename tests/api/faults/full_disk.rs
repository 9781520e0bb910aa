//! SQLite on a filesystem that fills up under load, then gets space back.

use futures_util::future::join_all;
use serde_json::{Value, json};

use super::tmpfs::Tmpfs;
use crate::helpers::{TestApp, TestDatabase, start_body, test_settings};

/// Starts while the disk is full: with a large `additional_fields`, as in production.
const BURST: usize = 24;

fn big_start_body() -> Value {
    let mut body = start_body(&uuid::Uuid::new_v4().to_string());
    body["additional_fields"] = json!({ "notes": "x".repeat(6_000) });
    body
}

fn completion() -> Value {
    json!({
        "status": "completed",
        "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 92},
        "profile_url": "https://tests.example/results/1"
    })
}

/// The directory we created is 0700; the database file and SQLite's -wal and -shm are 0600.
fn assert_private(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |name: &str| {
        let path = dir.join(name);
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode(""), 0o700, "the database directory");
    for file in ["ap.db", "ap.db-wal", "ap.db-shm"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
}

async fn readyz(app: &TestApp) -> u16 {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn a_full_disk_loses_no_acknowledged_write_and_writes_recover_when_space_returns() {
    let tmpfs = match Tmpfs::mount(8 * 1024) {
        Ok(tmpfs) => tmpfs,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let url = format!("sqlite://{}/data/ap.db?mode=rwc", tmpfs.path().display());
    let settings = test_settings(&url);
    let app = TestApp::start(settings, TestDatabase::at_url(url)).await;
    let tenant = app.create_tenant("Acme").await;
    assert_private(&tmpfs.path().join("data"));
    // Assessments to complete while the disk is full.
    let mut to_complete = Vec::new();
    for _ in 0..BURST {
        to_complete.push(app.start_assessment(&tenant, &big_start_body()).await);
    }
    assert_eq!(readyz(&app).await, 200);

    let filler = tmpfs.fill();
    let starts = join_all((0..BURST).map(|_| async {
        let response = app
            .post_as(&tenant, "/assessment.start", &big_start_body())
            .await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or_default();
        (
            status,
            body["results"]["assessment_id"].as_str().map(str::to_owned),
        )
    }));
    let completions = join_all(to_complete.iter().map(|id| async {
        let (status, _) = app.vendor_event(id, &completion()).await;
        (status, id.clone())
    }));
    let (starts, completions) = tokio::join!(starts, completions);
    let failed = starts.iter().filter(|(s, _)| *s >= 500).count()
        + completions.iter().filter(|(s, _)| *s >= 500).count();
    assert!(failed > 0, "the disk was not full enough to refuse a write");
    assert_eq!(readyz(&app).await, 503, "ready while the disk is full");

    std::fs::remove_file(filler).unwrap();
    assert_eq!(readyz(&app).await, 200, "not ready after space returned");
    // Writes work again without a restart, on every pooled connection.
    let mut acknowledged_starts: Vec<String> = Vec::new();
    for _ in 0..2 * app.settings.database.max_connections {
        acknowledged_starts.push(app.start_assessment(&tenant, &big_start_body()).await);
    }
    acknowledged_starts.extend(
        starts
            .into_iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, id)| id.expect("a 200 start names its assessment")),
    );
    let completed: Vec<String> = completions
        .into_iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, id)| id)
        .collect();

    let app = app.restart().await;
    for id in &acknowledged_starts {
        let response = app.vendor_get(&format!("/v1/assessments/{id}")).await;
        assert_eq!(response.status(), 200, "acknowledged start {id} was lost");
    }
    for id in &completed {
        let response = app.vendor_get(&format!("/v1/assessments/{id}")).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["status"], "completed",
            "acknowledged completion of {id} was lost"
        );
    }
    drop(app);
    drop(tmpfs);
}
