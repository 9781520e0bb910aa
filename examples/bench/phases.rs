//! One pass of measurements on the database as it is: the ceilings, then each hot path
//! driven by the same load generator at the same concurrency.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sea_orm::DbBackend;
use serde::Serialize;

use ashby_partner::domain::ids::AssessmentId;
use ashby_partner::store::assessments;

use crate::Plan;
use crate::bare;
use crate::env::Bench;
use crate::load::{self, Throughput, ms, quantile};

/// How long the bench waits for deliveries before it calls a phase incomplete.
const PATIENCE: Duration = Duration::from_secs(180);

/// Everything one pass measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    /// Assessments (and delivered deliveries) in the database when the pass began.
    pub assessments_before: i64,
    pub deliveries_before: i64,
    /// Two inserts in one write transaction (single writer on SQLite).
    pub bare: Throughput,
    /// SQLite only: the same with every pooled connection writing at once.
    pub bare_pool_writers: Option<Throughput>,
    pub healthz: Throughput,
    pub start_new: Throughput,
    pub start_repeat: Throughput,
    /// The `assessment.started` webhooks the new starts caused.
    pub webhooks: WebhookDrain,
    pub list: Throughput,
    pub get_by_id: Throughput,
    /// The GET's one database read alone (`assessments::find_any` on the server's pool):
    /// what is left of the GET without HTTP, authentication and rendering.
    pub get_by_id_read: Throughput,
    /// Vendor completions accepted while Ashby answered 503.
    pub completions_while_down: Throughput,
    pub drain: Drain,
    pub idle_event_to_ashby: Latency,
    pub metrics_scrape: Latency,
    pub rss: Rss,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct WebhookDrain {
    pub caused: usize,
    /// Received by the stand-in while the new starts were still being sent.
    pub delivered_during_starts: usize,
    /// From the first new start until the stand-in had received them all.
    pub all_delivered_after_ms: Option<f64>,
    pub per_second: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Drain {
    pub backlog: usize,
    /// Put back in line by `POST /v1/deliveries/retry`, and how long that request took.
    pub requeued: u64,
    pub requeue_ms: f64,
    pub delivered: usize,
    /// From Ashby's recovery until the stand-in had received the whole backlog.
    pub drained_ms: Option<f64>,
    pub per_second: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    /// Samples that never completed (an error or the wait ran out).
    pub missed: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Rss {
    /// VmHWM: the process's peak so far (server, stand-ins and load generator together).
    pub peak_mib: f64,
    pub now_mib: f64,
}

impl Rss {
    pub fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
                .map_or(0.0, |kib| kib / 1024.0)
        };
        Self {
            peak_mib: field("VmHWM:"),
            now_mib: field("VmRSS:"),
        }
    }
}

/// Runs every phase once; `prefix` keeps this pass's application ids apart from others'.
pub async fn measure(bench: &Bench, plan: &Plan, prefix: &str) -> Figures {
    let c = plan.concurrency;
    let mut figures = Figures {
        assessments_before: bench.count("SELECT COUNT(*) FROM assessments").await,
        deliveries_before: bench.count("SELECT COUNT(*) FROM deliveries").await,
        ..Figures::default()
    };
    let sqlite = bench.backend() != DbBackend::Postgres;
    warm_up(bench, plan, prefix, sqlite).await;

    progress(prefix, "bare two-insert transactions");
    figures.bare = bare::measure(&bench.db, plan.requests, c, sqlite)
        .await
        .summary();
    if sqlite {
        figures.bare_pool_writers = Some(
            bare::measure(&bench.db, plan.requests, c, false)
                .await
                .summary(),
        );
    }
    progress(prefix, "GET /healthz");
    let api = bench.api.clone();
    figures.healthz = load::run(plan.reads, c, move |_| {
        let api = api.clone();
        async move { api.healthz().await }
    })
    .await
    .summary();

    // New starts, their webhooks draining meanwhile; then the same starts again.
    progress(prefix, "assessment.start, new");
    let webhooks_before = bench.webhooks.tally().ok;
    let ids: Arc<Vec<OnceLock<String>>> =
        Arc::new((0..plan.requests).map(|_| OnceLock::new()).collect());
    let began = Instant::now();
    let (api, known, app) = (bench.api.clone(), Arc::clone(&ids), prefix.to_owned());
    let new = load::run(plan.requests, c, move |n| {
        let (api, known, app) = (api.clone(), Arc::clone(&known), app.clone());
        async move {
            let Some(id) = api.start(&format!("{app}-app-{n}")).await else {
                return false;
            };
            known[n].set(id).is_ok()
        }
    })
    .await;
    figures.start_new = new.summary();
    let caused = plan.requests - new.errors;
    figures.webhooks.caused = caused;
    figures.webhooks.delivered_during_starts = bench.webhooks.tally().ok - webhooks_before;

    progress(prefix, "assessment.start, repeat");
    let (api, known, app) = (bench.api.clone(), Arc::clone(&ids), prefix.to_owned());
    figures.start_repeat = load::run(plan.requests, c, move |n| {
        let (api, known, app) = (api.clone(), Arc::clone(&known), app.clone());
        async move {
            // The same open assessment, not a new one.
            let id = api.start(&format!("{app}-app-{n}")).await;
            id.is_some() && id.as_ref() == known[n].get()
        }
    })
    .await
    .summary();
    let all = bench
        .webhooks
        .wait_for(PATIENCE, |t| t.ok >= webhooks_before + caused)
        .await;
    if all.ok >= webhooks_before + caused
        && let Some(last) = all.last_ok_at
    {
        let after = last.saturating_duration_since(began);
        figures.webhooks.all_delivered_after_ms = Some(ms(after));
        #[allow(clippy::cast_precision_loss)]
        let rate = caused as f64 / after.as_secs_f64().max(1e-9);
        figures.webhooks.per_second = Some(rate);
    }

    let ids: Vec<String> = ids.iter().filter_map(|id| id.get().cloned()).collect();
    let ids = top_up(bench, plan, prefix, ids).await;

    progress(prefix, "assessment.list");
    let api = bench.api.clone();
    figures.list = load::run(plan.reads, c, move |_| {
        let api = api.clone();
        async move { api.list().await }
    })
    .await
    .summary();

    progress(prefix, "GET /v1/assessments/{id}");
    let (api, known) = (bench.api.clone(), Arc::new(ids.clone()));
    figures.get_by_id = load::run(plan.reads, c, move |n| {
        let (api, known) = (api.clone(), Arc::clone(&known));
        async move { api.get(&known[n % known.len()]).await }
    })
    .await
    .summary();
    progress(prefix, "the GET's database read alone");
    let (db, known) = (bench.db.clone(), Arc::new(ids.clone()));
    figures.get_by_id_read = load::run(plan.reads, c, move |n| {
        let (db, known) = (db.clone(), Arc::clone(&known));
        async move {
            let Ok(id) = known[n % known.len()].parse() else {
                return false;
            };
            let read = assessments::find_any(&db, AssessmentId(id)).await;
            matches!(read, Ok(Some(_)))
        }
    })
    .await
    .summary();

    let (backlog, idle) = ids.split_at(plan.drain.min(ids.len()));
    progress(prefix, "delivery drain: completions while Ashby is down");
    let (completions, drain) = drain(bench, plan, prefix, backlog).await;
    figures.completions_while_down = completions;
    figures.drain = drain;

    progress(prefix, "idle event → Ashby");
    figures.idle_event_to_ashby = idle_latency(bench, &idle[..plan.samples.min(idle.len())]).await;

    progress(prefix, "GET /metrics");
    let mut scrapes = Vec::new();
    let mut missed = 0;
    for _ in 0..plan.scrapes {
        let started = Instant::now();
        if bench.api.metrics().await {
            scrapes.push(started.elapsed());
        } else {
            missed += 1;
        }
    }
    figures.metrics_scrape = latency(scrapes, missed);
    figures.rss = Rss::read();
    progress(prefix, "pass finished");
    figures
}

/// Untimed, a few of each timed request (four per client), so that no figure includes
/// opening the pools: every pool opens its connections on first use (each actix worker
/// its own), and each connection prepares a statement the first time it runs it. Without
/// it the first phase to use the server's database paid for that: on PostgreSQL the
/// first new starts, whose 32 first requests set the p99 of a run of 1,000–3,000 starts
/// at 116–157 ms while the same starts repeated had 19–29 ms. Waits for the warm-up
/// starts' webhooks.
async fn warm_up(bench: &Bench, plan: &Plan, prefix: &str, sqlite: bool) {
    progress(prefix, "warm-up (not timed)");
    let (c, n) = (plan.concurrency, plan.concurrency * 4);
    bare::measure(&bench.db, n, c, sqlite).await;
    let webhooks_before = bench.webhooks.tally().ok;
    let started: Arc<Vec<OnceLock<String>>> = Arc::new((0..n).map(|_| OnceLock::new()).collect());
    // New starts, then the same again (repeats: their ids are already known).
    for _repeat in 0..2 {
        let (api, known, app) = (bench.api.clone(), Arc::clone(&started), prefix.to_owned());
        load::run(n, c, move |k| {
            let (api, known, app) = (api.clone(), Arc::clone(&known), app.clone());
            async move {
                let id = api.start(&format!("{app}-warm-{k}")).await;
                id.is_some_and(|id| known[k].set(id).is_ok())
            }
        })
        .await;
    }
    let ids: Arc<Vec<String>> =
        Arc::new(started.iter().filter_map(|id| id.get().cloned()).collect());
    let (api, known) = (bench.api.clone(), Arc::clone(&ids));
    load::run(n, c, move |k| {
        let (api, known) = (api.clone(), Arc::clone(&known));
        async move {
            if k % 2 == 0 || known.is_empty() {
                api.list().await
            } else {
                api.get(&known[k % known.len()]).await
            }
        }
    })
    .await;
    bench
        .webhooks
        .wait_for(PATIENCE, |t| t.ok >= webhooks_before + ids.len())
        .await;
}

/// Enough started assessments for the drain and the latency samples: more starts, not
/// timed, when the start phase made too few; waits for their webhooks.
async fn top_up(bench: &Bench, plan: &Plan, prefix: &str, mut ids: Vec<String>) -> Vec<String> {
    let wanted = (plan.drain + plan.samples).max(1);
    if ids.len() >= wanted {
        return ids;
    }
    let (before, had) = (bench.webhooks.tally().ok, ids.len());
    let more: Arc<Vec<OnceLock<String>>> =
        Arc::new((0..wanted - ids.len()).map(|_| OnceLock::new()).collect());
    let (api, known, app) = (bench.api.clone(), Arc::clone(&more), prefix.to_owned());
    load::run(more.len(), plan.concurrency, move |n| {
        let (api, known, app) = (api.clone(), Arc::clone(&known), app.clone());
        async move {
            match api.start(&format!("{app}-more-{n}")).await {
                Some(id) => known[n].set(id).is_ok(),
                None => false,
            }
        }
    })
    .await;
    ids.extend(more.iter().filter_map(|id| id.get().cloned()));
    let added = ids.len() - had;
    bench
        .webhooks
        .wait_for(PATIENCE, |t| t.ok >= before + added)
        .await;
    ids
}

/// A backlog of completions accepted while Ashby answers 503 (each delivery goes dead
/// after its one attempt: `delivery.max_attempts = 1`); then Ashby recovers and the
/// backlog is put back in line at once (`POST /v1/deliveries/retry`), so the drain is
/// timed from the recovery without waiting out any backoff.
async fn drain(
    bench: &Bench,
    plan: &Plan,
    prefix: &str,
    backlog: &[String],
) -> (Throughput, Drain) {
    let dead_sql = "SELECT COUNT(*) FROM deliveries WHERE status = 'dead'";
    let dead_before = bench.count(dead_sql).await;
    bench.ashby.set_healthy(false);
    let (api, ids) = (bench.api.clone(), Arc::new(backlog.to_vec()));
    let accepted = load::run(ids.len(), plan.concurrency, move |n| {
        let (api, ids) = (api.clone(), Arc::clone(&ids));
        async move { api.complete(&ids[n]).await }
    })
    .await;
    let expected = accepted.requests - accepted.errors;
    let waited = Instant::now();
    while bench.count(dead_sql).await < dead_before + i64::try_from(expected).unwrap_or(0)
        && waited.elapsed() < PATIENCE
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let ok_before = bench.ashby.tally().ok;
    progress(prefix, "delivery drain: Ashby answers again");
    bench.ashby.set_healthy(true);
    let recovered = Instant::now();
    let requeued = bench.api.retry_dead().await.unwrap_or(0);
    let requeue_ms = ms(recovered.elapsed());
    let target = ok_before + usize::try_from(requeued).unwrap_or(0);
    let tally = bench.ashby.wait_for(PATIENCE, |t| t.ok >= target).await;
    let mut drain = Drain {
        backlog: expected,
        requeued,
        requeue_ms,
        delivered: tally.ok - ok_before,
        ..Drain::default()
    };
    if tally.ok >= target
        && requeued > 0
        && let Some(last) = tally.last_ok_at
    {
        let took = last.saturating_duration_since(recovered);
        drain.drained_ms = Some(ms(took));
        #[allow(clippy::cast_precision_loss)]
        let rate = requeued as f64 / took.as_secs_f64().max(1e-9);
        drain.per_second = Some(rate);
    }
    (accepted.summary(), drain)
}

/// One completion at a time, each on an idle server: from sending the event until the
/// Ashby stand-in has received its update.
async fn idle_latency(bench: &Bench, ids: &[String]) -> Latency {
    let mut samples = Vec::new();
    let mut missed = 0;
    for id in ids {
        // Let the previous delivery's bookkeeping finish: idle means idle.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let before = bench.ashby.tally().ok;
        let sent = Instant::now();
        if !bench.api.complete(id).await {
            missed += 1;
            continue;
        }
        let tally = bench
            .ashby
            .wait_for(Duration::from_secs(10), |t| t.ok > before)
            .await;
        match tally.last_ok_at {
            Some(at) if tally.ok > before => samples.push(at.saturating_duration_since(sent)),
            _ => missed += 1,
        }
    }
    latency(samples, missed)
}

fn latency(mut samples: Vec<Duration>, missed: usize) -> Latency {
    samples.sort();
    Latency {
        samples: samples.len() + missed,
        missed,
        p50_ms: ms(quantile(&samples, 0.50)),
        p99_ms: ms(quantile(&samples, 0.99)),
        max_ms: ms(samples.last().copied().unwrap_or_default()),
    }
}

/// Names the phase that begins now, with the wall-clock time: what
/// `perf record -k CLOCK_REALTIME` stamps its samples with, so a profile of a whole run
/// can be cut into phases (`scripts/profile-bench.sh`).
fn progress(prefix: &str, phase: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    eprintln!("[{prefix}] {phase} (clock {:.6})", now.as_secs_f64());
}
