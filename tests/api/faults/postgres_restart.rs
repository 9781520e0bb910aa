//! PostgreSQL stops and starts again in the middle of a burst of starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait as _, Database};
use serde_json::Value;
use tokio::sync::Notify;

use super::own_postgres::OwnPostgres;
use crate::helpers::{TestApp, TestDatabase, start_body, test_settings};

const BURST: usize = 48;
/// Concurrent writers in the burst.
const WRITERS: usize = 4;

async fn readyz(app: &TestApp) -> u16 {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_loses_no_acknowledged_write_and_the_app_recovers_by_itself() {
    let server = match OwnPostgres::start() {
        Ok(server) => server,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let admin = Database::connect(server.url("postgres")).await.unwrap();
    admin
        .execute_unprepared("CREATE DATABASE ap")
        .await
        .unwrap();
    admin.close().await.unwrap();
    let url = server.url("ap");
    let app = TestApp::start(test_settings(&url), TestDatabase::at_url(url)).await;
    let tenant = app.create_tenant("Acme").await;
    let start = || async {
        let body = start_body(&uuid::Uuid::new_v4().to_string());
        let response = app.post_as(&tenant, "/assessment.start", &body).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or_default();
        (
            status,
            body["results"]["assessment_id"].as_str().map(str::to_owned),
        )
    };

    // The server goes away while the burst is in flight, once some starts have gone
    // through, and comes back.
    let server = Arc::new(server);
    let answered = Arc::new(AtomicUsize::new(0));
    let some_answered = Notify::new();
    let writer = || async {
        let mut results = Vec::new();
        for _ in 0..BURST / WRITERS {
            results.push(start().await);
            if answered.fetch_add(1, Ordering::SeqCst) + 1 == WRITERS {
                some_answered.notify_one();
            }
        }
        results
    };
    let restart = async {
        some_answered.notified().await;
        let stopping = server.clone();
        tokio::task::spawn_blocking(move || stopping.down())
            .await
            .unwrap()
            .unwrap();
        let while_down = readyz(&app).await;
        let starting = server.clone();
        tokio::task::spawn_blocking(move || starting.up())
            .await
            .unwrap()
            .unwrap();
        while_down
    };
    let (burst, while_down) = tokio::join!(join_all((0..WRITERS).map(|_| writer())), restart);
    let burst: Vec<(u16, Option<String>)> = burst.into_iter().flatten().collect();
    assert_eq!(while_down, 503, "ready while the database was down");
    let refused = burst.iter().filter(|(status, _)| *status != 200).count();
    assert!(
        refused > 0 && refused < BURST,
        "the restart did not fall mid-burst"
    );

    // Recovered without restarting the app: every pooled connection works again.
    assert_eq!(readyz(&app).await, 200);
    let mut acknowledged: Vec<String> = Vec::new();
    for _ in 0..2 * app.settings.database.max_connections {
        let (status, id) = start().await;
        assert_eq!(status, 200, "a start after the database came back");
        acknowledged.extend(id);
    }
    acknowledged.extend(
        burst
            .into_iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, id)| id.expect("a 200 start names its assessment")),
    );
    for id in &acknowledged {
        let response = app.vendor_get(&format!("/v1/assessments/{id}")).await;
        assert_eq!(response.status(), 200, "acknowledged start {id} was lost");
    }
}
