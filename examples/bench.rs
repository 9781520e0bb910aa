//! Throughput and latency of the two hot paths, measured end to end on this machine:
//! `assessment.start` as Ashby calls it, and vendor completions until every resulting
//! `assessment.update` has reached an Ashby stand-in.
//!
//! cargo run --release --example bench [-- STARTS CONCURRENCY]
//! Database: a throwaway SQLite file, or BENCH_DATABASE_URL (a PostgreSQL database).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use ashby_partner::crypto::{issue_partner_key, random_secret_base64};
use ashby_partner::domain::ids::TenantId;
use ashby_partner::secrets::ServerSecrets;
use ashby_partner::settings::Settings;
use ashby_partner::startup::Application;
use ashby_partner::store::{self, tenants};
use ashby_partner::tokens::TokenKeys;
use secrecy::ExposeSecret as _;
use serde_json::json;

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let starts = args.first().copied().unwrap_or(2000);
    let concurrency = args.get(1).copied().unwrap_or(32);

    // An Ashby that accepts every update at once, counting them.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ashby_url = format!("http://{}", listener.local_addr().unwrap());
    let ashby = HttpServer::new(move || {
        let counter = Arc::clone(&counter);
        App::new().route(
            "/assessment.update",
            web::post().to(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                async { HttpResponse::Ok().json(json!({"success": true, "results": {}})) }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(ashby);

    let dir = std::env::temp_dir().join(format!(
        "ashby-partner-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut settings = Settings::builtin().unwrap();
    settings.server.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    settings.database.url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db?mode=rwc", dir.display()));
    settings.security.encryption_key = Some(random_secret_base64().into());
    settings.security.token_secret = Some(random_secret_base64().into());
    settings.ashby.base_url = ashby_url;
    // The bench measures the server, not the per-tenant rate limiter (one tenant, 32
    // clients would spend most of the run on 429s).
    settings.limits.partner_requests_per_second = 0;
    settings.limits.vendor_requests_per_second = 0;
    if let Some(pool) = std::env::var("BENCH_POOL")
        .ok()
        .and_then(|p| p.parse().ok())
    {
        settings.database.max_connections = pool;
    }
    let application = Application::build(settings.clone()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    tokio::spawn(application.run_until_stopped());

    let secrets = ServerSecrets::resolve(&settings).unwrap();
    let db = store::connect(&settings.database).await.unwrap();
    let tenant = TenantId::new_random();
    let key = issue_partner_key();
    let sealed = secrets.sealer.seal_ashby_key("bench-key", tenant).unwrap();
    tenants::create(&db, tenant, "Bench", Some(sealed), None, &key)
        .await
        .unwrap();
    let partner_key = key.plaintext.expose_secret().to_owned();
    let token = TokenKeys::new(&secrets.token_secret)
        .unwrap()
        .issue_vendor_token(Duration::from_secs(3600))
        .unwrap()
        .token
        .expose_secret()
        .to_owned();
    let http = reqwest::Client::new();
    println!(
        "database: {}",
        if settings.database.url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    println!("{starts} starts, {concurrency} concurrent clients\n");

    // 1. assessment.start, as Ashby calls it.
    let began = Instant::now();
    let (latencies, ids) = run_concurrently(starts, concurrency, |n| {
        let (http, base, key) = (http.clone(), base.clone(), partner_key.clone());
        async move {
            let body = json!({
                "assessment_type_id": "6f1c2a4e-0000-4000-8000-000000000001",
                "candidate": {"ashby_id": format!("c-{n}"), "first_name": "A", "last_name": "B",
                              "email": "a@example.com", "ashby_profile_url": "https://app.ashbyhq.com/c"},
                "application": {"ashby_id": format!("app-{n}"), "status": "Active"},
                "job": {"ashby_id": "j", "name": "Engineer", "ashby_job_url": "https://app.ashbyhq.com/j"}
            });
            let answer: serde_json::Value = http.post(format!("{base}/assessment.start")).basic_auth(&key, Some(""))
                .json(&body).send().await.unwrap().json().await.unwrap();
            answer["results"]["assessment_id"].as_str().unwrap().to_owned()
        }
    })
    .await;
    report("assessment.start", starts, began.elapsed(), latencies);

    // 2. Vendor completions, until every update has reached Ashby.
    let began = Instant::now();
    let ids = Arc::new(ids);
    let (latencies, _) = run_concurrently(starts, concurrency, |n| {
        let (http, base, token, ids) = (http.clone(), base.clone(), token.clone(), Arc::clone(&ids));
        async move {
            let event = json!({"status": "completed", "profile_url": "https://t.example/r",
                "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 80}});
            let status = http.post(format!("{base}/v1/assessments/{}/events", ids[n])).bearer_auth(&token)
                .json(&event).send().await.unwrap().status();
            assert_eq!(status, 200);
        }
    })
    .await;
    report(
        "vendor completion (accepted)",
        starts,
        began.elapsed(),
        latencies,
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    while received.load(Ordering::Relaxed) < starts && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let delivered = received.load(Ordering::Relaxed);
    let elapsed = began.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let rate = delivered as f64 / elapsed.as_secs_f64();
    println!(
        "{:<30} {delivered}/{starts} delivered to Ashby in {elapsed:.2?} ({rate:.0}/s end to end)",
        "assessment.update"
    );

    handle.stop(true).await;
    let _ = std::fs::remove_dir_all(&dir);
}

async fn run_concurrently<F, Fut, T>(
    total: usize,
    concurrency: usize,
    task: F,
) -> (Vec<Duration>, Vec<T>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    use futures_util::StreamExt as _;
    let mut results: Vec<(usize, Duration, T)> = futures_util::stream::iter(0..total)
        .map(|n| {
            let job = task(n);
            async move {
                let started = Instant::now();
                let value = job.await;
                (n, started.elapsed(), value)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.sort_by_key(|(n, _, _)| *n);
    let latencies = results.iter().map(|(_, latency, _)| *latency).collect();
    (
        latencies,
        results.into_iter().map(|(_, _, value)| value).collect(),
    )
}

fn report(what: &str, count: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[index]
    };
    #[allow(clippy::cast_precision_loss)]
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{what:<30} {rate:>8.0}/s   p50 {:>8.2?}   p95 {:>8.2?}   p99 {:>8.2?}",
        at(0.50),
        at(0.95),
        at(0.99)
    );
}
