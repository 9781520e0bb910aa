//! The performance bench: the server's hot paths measured against the ceilings of the same
//! machine and database, in one run — on a throwaway SQLite file, or on the PostgreSQL
//! database named by `BENCH_DATABASE_URL` (use an empty one; the bench leaves its rows).
//!
//! cargo run --release --example bench -- [--quick] [--seed-rows N] [--json] ...
//!
//! What it measures and how: see the README's "Benchmarks" and BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bare;
mod env;
mod load;
mod phases;
mod report;
mod seed;
mod standins;

use clap::Parser;

/// Measures throughput and latency of the hot paths against the ceilings (a bare
/// two-insert transaction on the same database and pool; GET /healthz on the same
/// server), then again after seeding N rows.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Options {
    /// Requests per write phase (bare transactions, new starts, repeated starts).
    #[arg(long)]
    requests: Option<usize>,
    /// Requests per read phase (/healthz, assessment.list, GET /v1/assessments/{id}).
    #[arg(long)]
    reads: Option<usize>,
    /// Concurrent clients of the load generator.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Completions in the delivery backlog the drain phase builds.
    #[arg(long)]
    drain: Option<usize>,
    /// Idle event → Ashby samples (one completion at a time).
    #[arg(long)]
    samples: Option<usize>,
    /// /metrics scrapes to take the median of (100; 20 with --quick): a scrape takes
    /// about a millisecond, and a median of a few is mostly noise.
    #[arg(long)]
    scrapes: Option<usize>,
    /// After the empty-database pass, seed this many completed assessments and delivered
    /// deliveries, then measure again (e.g. 1000000).
    #[arg(long, default_value_t = 0)]
    seed_rows: u64,
    /// A fast smoke run: few requests per phase (explicit counts still win).
    #[arg(long)]
    quick: bool,
    /// Print the results as JSON instead of tables (progress still goes to stderr).
    #[arg(long)]
    json: bool,
    /// database.max_connections for the run (default: the built-in setting).
    #[arg(long, env = "BENCH_POOL")]
    pool: Option<u32>,
}

/// The sizes of each phase, as resolved from the options.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub requests: usize,
    pub reads: usize,
    pub concurrency: usize,
    pub drain: usize,
    pub samples: usize,
    pub scrapes: usize,
    pub seed_rows: u64,
    pub pool: Option<u32>,
}

impl Plan {
    fn from(options: &Options) -> Self {
        let pick = |given: Option<usize>, quick: usize, full: usize| {
            given.unwrap_or(if options.quick { quick } else { full })
        };
        Self {
            requests: pick(options.requests, 100, 4000).max(1),
            reads: pick(options.reads, 500, 20_000).max(1),
            concurrency: options.concurrency.max(1),
            drain: pick(options.drain, 100, 2000).max(1),
            samples: pick(options.samples, 5, 100).max(1),
            scrapes: pick(options.scrapes, 20, 100).max(1),
            seed_rows: options.seed_rows,
            pool: options.pool,
        }
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let plan = Plan::from(&options);
    let mut report = report::Report::begin(&plan);
    let bench = env::Bench::start(&plan).await;
    report.describe_database(&bench).await;
    bare::create_tables(&bench.db).await;

    report.empty = phases::measure(&bench, &plan, "empty").await;
    if plan.seed_rows > 0 {
        report.seeding = Some(seed::seed(&bench, plan.seed_rows).await);
        report.seeded = Some(phases::measure(&bench, &plan, "seeded").await);
    }

    bare::drop_tables(&bench.db).await;
    bench.stop().await;
    report.finish();
    if options.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialise the report")
        );
    } else {
        print!("{}", report.text());
    }
    let problems = report.problems();
    if !problems.is_empty() {
        eprintln!("bench: incomplete run:");
        for problem in &problems {
            eprintln!("  - {problem}");
        }
        std::process::exit(1);
    }
}
