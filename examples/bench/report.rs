//! What the run found: the machine, the database, each pass's figures against the goals
//! (BENCHMARKS.md), and the seeded pass against the empty one; as tables or JSON.

use std::fmt::Write as _;

use sea_orm::{ConnectionTrait as _, DbBackend, Statement};
use serde::Serialize;

use crate::Plan;
use crate::env::Bench;
use crate::load::Throughput;
use crate::phases::{Figures, Rss};
use crate::seed::Seeding;

#[derive(Debug, Serialize)]
pub struct Report {
    pub date: String,
    pub machine: Machine,
    pub database: Database,
    pub plan: Plan,
    /// How the process is laid out: what shares the cores with the server.
    pub layout: &'static str,
    /// The settings that differ from the built-in defaults.
    pub settings: &'static str,
    /// The bench process before the server started (the load generator's own share).
    pub rss_before_server: Rss,
    pub empty: Figures,
    pub seeding: Option<Seeding>,
    pub seeded: Option<Figures>,
}

#[derive(Debug, Default, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub memory_gib: f64,
    /// /proc/loadavg before and after the run: other work on the cores makes figures noisy.
    pub load_before: String,
    pub load_after: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Database {
    pub kind: String,
    pub version: String,
    pub durability: String,
    /// How the bench's connections reach the database: PostgreSQL's TLS costs both sides
    /// CPU on every round trip (with `sslmode=prefer`, the default, it is on whenever the
    /// server offers it), so runs with and without it do not compare.
    pub transport: String,
    /// Where (a PostgreSQL URL without its credentials).
    pub location: String,
    /// The pools and their sizes.
    pub pool: String,
}

const LAYOUT: &str = "server (actix workers = cores), delivery workers (on PostgreSQL on threads \
     of their own at server.background_nice), both stand-ins and the load generator in this one \
     process; no log subscriber (log output is not measured)";
const SETTINGS: &str = "built-in defaults, except: rate limits off; vendor.webhook_url = a local \
     stand-in (every new start causes a webhook); delivery.max_attempts = 1 (the drain phase)";

impl Report {
    pub fn begin(plan: &Plan) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            machine: Machine {
                cores: std::thread::available_parallelism().map_or(0, usize::from),
                cpu: cpuinfo
                    .lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
                    .unwrap_or_default(),
                memory_gib: memory_kib / (1024.0 * 1024.0),
                load_before: load_average(),
                load_after: String::new(),
            },
            database: Database::default(),
            plan: plan.clone(),
            layout: LAYOUT,
            settings: SETTINGS,
            rss_before_server: Rss::read(),
            empty: Figures::default(),
            seeding: None,
            seeded: None,
        }
    }

    pub async fn describe_database(&mut self, bench: &Bench) {
        let text = |sql: &'static str| async move {
            bench
                .db
                .query_one_raw(Statement::from_string(bench.backend(), sql))
                .await
                .ok()
                .flatten()
                .and_then(|row| {
                    row.try_get_by_index::<String>(0)
                        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                        .ok()
                })
                .unwrap_or_default()
        };
        let url = &bench.settings.database.url;
        self.database = if bench.backend() == DbBackend::Postgres {
            Database {
                kind: "PostgreSQL".into(),
                version: text("SHOW server_version").await,
                durability: format!(
                    "synchronous_commit={}, fsync={}",
                    text("SHOW synchronous_commit").await,
                    text("SHOW fsync").await
                ),
                transport: match text(
                    "SELECT CASE WHEN ssl THEN 'TLS' ELSE 'no TLS' END \
                     FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                )
                .await
                .as_str()
                {
                    "" => "TLS unknown".into(),
                    tls => tls.into(),
                },
                location: url::Url::parse(url).map_or_else(
                    |_| "(unparsable URL)".into(),
                    |u| {
                        format!(
                            "{}:{}{}",
                            u.host_str().unwrap_or(""),
                            u.port().unwrap_or(5432),
                            u.path()
                        )
                    },
                ),
                pool: pools(&bench.settings.database),
            }
        } else {
            let synchronous = match text("PRAGMA synchronous").await.as_str() {
                "0" => "OFF".to_owned(),
                "1" => "NORMAL".to_owned(),
                "2" => "FULL".to_owned(),
                "3" => "EXTRA".to_owned(),
                other => other.to_owned(),
            };
            Database {
                kind: "SQLite".into(),
                version: text("SELECT sqlite_version()").await,
                durability: format!(
                    "journal_mode={}, synchronous={synchronous}",
                    text("PRAGMA journal_mode").await
                ),
                transport: "in-process".into(),
                location: "a throwaway file in the temporary directory".into(),
                pool: pools(&bench.settings.database),
            }
        };
    }

    pub fn finish(&mut self) {
        self.machine.load_after = load_average();
    }

    /// What makes the run unusable as a measurement (also fails a smoke run).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (label, figures) in self.passes() {
            let mut check = |what: &str, t: &Throughput| {
                if t.errors > 0 {
                    problems.push(format!(
                        "{label}: {what}: {} of {} failed",
                        t.errors, t.requests
                    ));
                }
            };
            check("bare transaction", &figures.bare);
            if let Some(t) = &figures.bare_pool_writers {
                check("bare transaction, pooled writers", t);
            }
            check("/healthz", &figures.healthz);
            check("new starts", &figures.start_new);
            check("repeated starts", &figures.start_repeat);
            check("assessment.list", &figures.list);
            check("GET by id", &figures.get_by_id);
            check("GET by id's read", &figures.get_by_id_read);
            check("completions", &figures.completions_while_down);
            if figures.webhooks.all_delivered_after_ms.is_none() {
                problems.push(format!("{label}: not every started webhook arrived"));
            }
            if figures.drain.per_second.is_none() {
                problems.push(format!(
                    "{label}: the backlog did not drain ({} of {} delivered, {} requeued)",
                    figures.drain.delivered, figures.drain.backlog, figures.drain.requeued
                ));
            }
            if figures.idle_event_to_ashby.missed > 0 || figures.idle_event_to_ashby.samples == 0 {
                problems.push(format!("{label}: idle latency samples missed"));
            }
            if figures.metrics_scrape.missed > 0 {
                problems.push(format!("{label}: /metrics failed"));
            }
        }
        problems
    }

    fn passes(&self) -> Vec<(&'static str, &Figures)> {
        let mut passes = vec![("empty database", &self.empty)];
        if let Some(seeded) = &self.seeded {
            passes.push(("seeded database", seeded));
        }
        passes
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let d = &self.database;
        let p = &self.plan;
        let _ = writeln!(out, "ashby-partner bench — {}", self.date);
        let _ = writeln!(
            out,
            "machine   {} cores ({}), {:.1} GiB; load average before {}, after {}",
            m.cores, m.cpu, m.memory_gib, m.load_before, m.load_after
        );
        let _ = writeln!(
            out,
            "database  {} {} ({}; {}), {} — {}",
            d.kind, d.version, d.durability, d.transport, d.pool, d.location
        );
        let _ = writeln!(
            out,
            "load      {} concurrent keep-alive clients; {} requests per write phase, {} per read \
             phase; drain backlog {}; {} idle samples; {} /metrics scrapes",
            p.concurrency, p.requests, p.reads, p.drain, p.samples, p.scrapes
        );
        let _ = writeln!(out, "layout    {}", self.layout);
        let _ = writeln!(out, "settings  {}", self.settings);
        let _ = writeln!(
            out,
            "RSS       {:.0} MiB before the server started (the bench's own share)",
            self.rss_before_server.now_mib
        );
        for (label, figures) in self.passes() {
            let _ = writeln!(
                out,
                "\n{label}: {} assessments, {} deliveries when the pass began",
                thousands(figures.assessments_before as f64),
                thousands(figures.deliveries_before as f64)
            );
            out.push_str(&table(&pass_rows(figures)));
        }
        if let (Some(seeding), Some(seeded)) = (&self.seeding, &self.seeded) {
            let _ = writeln!(
                out,
                "\nseeded {} assessments and {} delivered deliveries (one attempt each) in {:.0} s; \
                 database {:.0} MiB. Seeded against empty (how many times worse; goal ≤ 1.3×):",
                thousands(seeding.assessments as f64),
                thousands(seeding.deliveries as f64),
                seeding.seconds,
                seeding.database_mib
            );
            out.push_str(&table(&comparison_rows(&self.empty, seeded)));
        }
        out
    }
}

type Row = Vec<String>;

fn pass_rows(f: &Figures) -> Vec<Row> {
    let mut rows = vec![vec![
        "figure".into(),
        "rate".into(),
        "p50".into(),
        "p99".into(),
        "ratio".into(),
        "goal".into(),
        "met".into(),
        "note".into(),
    ]];
    let bare = f.bare.per_second;
    let healthz = f.healthz.per_second;
    let timed = |name: &str, t: &Throughput, ratio: String, goal: &str, met: Option<bool>| {
        let errors = if t.errors > 0 {
            format!(" ({} errors)", t.errors)
        } else {
            String::new()
        };
        vec![
            format!("{name}{errors}"),
            format!("{}/s", thousands(t.per_second)),
            millis(t.p50_ms),
            millis(t.p99_ms),
            ratio,
            goal.into(),
            mark(met),
            String::new(),
        ]
    };
    rows.push(timed(
        "bare 2-insert transaction",
        &f.bare,
        "ceiling".into(),
        "",
        None,
    ));
    if let Some(t) = &f.bare_pool_writers {
        rows.push(timed(
            "  the same, pooled writers contending",
            t,
            format!("{:.2}× bare", t.per_second / bare),
            "",
            None,
        ));
    }
    rows.push(timed(
        "GET /healthz",
        &f.healthz,
        "ceiling".into(),
        "",
        None,
    ));
    let new = &f.start_new;
    rows.push(timed(
        "assessment.start, new",
        new,
        format!("{:.2}× bare", new.per_second / bare),
        "≥ 0.5× bare, p99 ≤ 25 ms",
        Some(new.per_second >= 0.5 * bare && new.p99_ms <= 25.0),
    ));
    let repeat = &f.start_repeat;
    rows.push(timed(
        "assessment.start, repeat",
        repeat,
        format!("{:.2}× bare", repeat.per_second / bare),
        "≥ new, p99 ≤ 25 ms",
        Some(repeat.per_second >= new.per_second && repeat.p99_ms <= 25.0),
    ));
    let w = &f.webhooks;
    rows.push(vec![
        format!("  their webhooks ({} caused)", w.caused),
        w.per_second
            .map_or_else(|| "incomplete".into(), |r| format!("{}/s", thousands(r))),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        format!(
            "{} arrived during the new starts; the last {}",
            w.delivered_during_starts,
            w.all_delivered_after_ms.map_or_else(
                || "never".into(),
                |t| format!("{:.1} s after the first start", t / 1000.0)
            )
        ),
    ]);
    for (name, t) in [
        ("assessment.list", &f.list),
        ("GET /v1/assessments/{id}", &f.get_by_id),
    ] {
        rows.push(timed(
            name,
            t,
            format!("{:.2}× healthz", t.per_second / healthz),
            "≥ 0.5× healthz",
            Some(t.per_second >= 0.5 * healthz),
        ));
    }
    rows.push(timed(
        "  its database read alone",
        &f.get_by_id_read,
        format!("{:.2}× healthz", f.get_by_id_read.per_second / healthz),
        "",
        None,
    ));
    rows.push(timed(
        "vendor completion (Ashby down)",
        &f.completions_while_down,
        String::new(),
        "",
        None,
    ));
    let drain = &f.drain;
    rows.push(vec![
        format!("delivery drain ({} backlog)", drain.backlog),
        drain
            .per_second
            .map_or_else(|| "incomplete".into(), |r| format!("{}/s", thousands(r))),
        String::new(),
        String::new(),
        String::new(),
        "≥ 2,000/s".into(),
        mark(drain.per_second.map(|r| r >= 2000.0)),
        drain.drained_ms.map_or_else(
            || format!("{} delivered", drain.delivered),
            |t| {
                format!(
                    "{:.2} s from Ashby's recovery (the requeue took {})",
                    t / 1000.0,
                    millis(drain.requeue_ms)
                )
            },
        ),
    ]);
    let idle = &f.idle_event_to_ashby;
    rows.push(vec![
        format!("idle event → Ashby ({} samples)", idle.samples),
        String::new(),
        millis(idle.p50_ms),
        millis(idle.p99_ms),
        String::new(),
        "p50 ≤ 20 ms".into(),
        mark(Some(idle.samples > 0 && idle.p50_ms <= 20.0)),
        format!("max {}", millis(idle.max_ms)),
    ]);
    let scrape = &f.metrics_scrape;
    rows.push(vec![
        format!("GET /metrics ({} scrapes)", scrape.samples),
        String::new(),
        millis(scrape.p50_ms),
        String::new(),
        String::new(),
        "≤ 10 ms".into(),
        mark(Some(scrape.p50_ms <= 10.0)),
        format!("max {}", millis(scrape.max_ms)),
    ]);
    rows.push(vec![
        "peak RSS (VmHWM, whole process)".into(),
        format!("{:.0} MiB", f.rss.peak_mib),
        String::new(),
        String::new(),
        String::new(),
        "≤ 100 MiB".into(),
        mark(Some(f.rss.peak_mib <= 100.0)),
        format!("now {:.0} MiB", f.rss.now_mib),
    ]);
    rows
}

fn comparison_rows(empty: &Figures, seeded: &Figures) -> Vec<Row> {
    let mut rows = vec![vec![
        "figure".into(),
        "empty".into(),
        "seeded".into(),
        "worse by".into(),
        "met".into(),
    ]];
    // Rates: empty ÷ seeded; durations: seeded ÷ empty.
    let mut rate = |name: &str, a: f64, b: f64| {
        let worse = a / b;
        rows.push(vec![
            name.into(),
            format!("{}/s", thousands(a)),
            format!("{}/s", thousands(b)),
            format!("{worse:.2}×"),
            mark(Some(worse <= 1.3)),
        ]);
    };
    rate(
        "bare 2-insert transaction",
        empty.bare.per_second,
        seeded.bare.per_second,
    );
    rate(
        "GET /healthz",
        empty.healthz.per_second,
        seeded.healthz.per_second,
    );
    rate(
        "assessment.start, new",
        empty.start_new.per_second,
        seeded.start_new.per_second,
    );
    rate(
        "assessment.start, repeat",
        empty.start_repeat.per_second,
        seeded.start_repeat.per_second,
    );
    rate(
        "assessment.list",
        empty.list.per_second,
        seeded.list.per_second,
    );
    rate(
        "GET /v1/assessments/{id}",
        empty.get_by_id.per_second,
        seeded.get_by_id.per_second,
    );
    rate(
        "vendor completion (Ashby down)",
        empty.completions_while_down.per_second,
        seeded.completions_while_down.per_second,
    );
    rate(
        "delivery drain",
        empty.drain.per_second.unwrap_or(0.0),
        seeded.drain.per_second.unwrap_or(0.0),
    );
    let mut duration = |name: &str, a: f64, b: f64| {
        let worse = b / a;
        rows.push(vec![
            name.into(),
            millis(a),
            millis(b),
            format!("{worse:.2}×"),
            mark(Some(worse <= 1.3)),
        ]);
    };
    duration(
        "assessment.start, new p99",
        empty.start_new.p99_ms,
        seeded.start_new.p99_ms,
    );
    duration(
        "assessment.start, repeat p99",
        empty.start_repeat.p99_ms,
        seeded.start_repeat.p99_ms,
    );
    duration(
        "idle event → Ashby p50",
        empty.idle_event_to_ashby.p50_ms,
        seeded.idle_event_to_ashby.p50_ms,
    );
    duration(
        "GET /metrics (median)",
        empty.metrics_scrape.p50_ms,
        seeded.metrics_scrape.p50_ms,
    );
    rows
}

/// Aligned columns: the figures (columns 1 to 3) right, everything else left.
fn table(rows: &[Row]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(" ");
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            let numeric = (1..=3).contains(&c);
            line.push(' ');
            if numeric {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            line.push(' ');
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn mark(met: Option<bool>) -> String {
    match met {
        Some(true) => "yes".into(),
        Some(false) => "NO".into(),
        None => String::new(),
    }
}

fn millis(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// 12345.6 → "12,346".
fn thousands(value: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let digits = (value.max(0.0).round() as u64).to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The pools: the bench's own (bare transactions, seeding, the read alone) and the
/// server's, as `serve` shares out `database.max_connections`.
fn pools(settings: &ashby_partner::settings::DatabaseSettings) -> String {
    let shares = ashby_partner::store::PoolShares::for_this_machine(settings);
    match shares.per_worker {
        Some(per_worker) => format!(
            "the bench's pool of {}; the server's: {} for its background work, {per_worker} for each of its {} HTTP workers",
            settings.max_connections, shares.background, shares.workers
        ),
        None => format!(
            "pool of {} (the server's and the bench's)",
            settings.max_connections
        ),
    }
}
