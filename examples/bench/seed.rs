//! Seeding: N completed assessments, each with its `assessment.update` delivered (and that
//! delivery's one attempt), in bulk SQL — `generate_series` on PostgreSQL, a recursive CTE
//! on SQLite. Every row is a copy of a real one (an assessment the bench starts and
//! completes through the API first), so it decodes like any other; only ids, Ashby ids,
//! the candidate's email and timestamps differ. Columns are read from the database, so a
//! column added by a later migration is copied too. Timestamps are spread over the last 28
//! days: within `retention.deliveries` (30 days), so housekeeping leaves them alone.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait as _, DbBackend, Statement};
use serde::Serialize;

use crate::env::Bench;

const SPAN_MS: i64 = 28 * 24 * 3600 * 1000;
const UPDATE: &str = "assessment.update";

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Seeding {
    pub assessments: u64,
    /// Delivered deliveries, each with one attempt.
    pub deliveries: u64,
    pub seconds: f64,
    /// After seeding and, on PostgreSQL, `VACUUM ANALYZE` and `CHECKPOINT`.
    pub database_mib: f64,
}

pub async fn seed(bench: &Bench, rows: u64) -> Seeding {
    let began = Instant::now();
    let run: u32 = rand::random();
    let template = format!("seed-{run:08x}-template");
    make_template(bench, &template).await;
    let backend = bench.backend();
    let blob_ids = backend != DbBackend::Postgres
        && text_of(
            bench,
            &format!(
                "SELECT typeof(id) FROM assessments WHERE application_ashby_id = '{template}'"
            ),
        )
        .await
            == "blob";
    let ids = Ids {
        backend,
        blob: blob_ids,
        run,
    };
    let start = ashby_partner::store::now_ms() - SPAN_MS;
    let step = (SPAN_MS / i64::try_from(rows.max(1)).unwrap_or(i64::MAX)).max(1);
    let at = format!("({start} + s.i * {step})");
    let of_template =
        format!("(SELECT id FROM assessments WHERE application_ashby_id = '{template}')");
    let template_delivery = format!(
        "(SELECT id FROM deliveries WHERE kind = '{UPDATE}' AND assessment_id = {of_template})"
    );
    let ordering = match backend {
        DbBackend::Postgres => "split_part(t.ordering_key, ':', 1) || ':' || ",
        _ => "substr(t.ordering_key, 1, instr(t.ordering_key, ':')) || ",
    };
    let tables = [
        Table {
            name: "assessments",
            template: format!(
                "(SELECT * FROM assessments WHERE application_ashby_id = '{template}')"
            ),
            overrides: vec![
                ("id", ids.uuid(1)),
                (
                    "application_ashby_id",
                    format!("'seed-{run:08x}-app-' || s.i"),
                ),
                (
                    "candidate_ashby_id",
                    format!("'seed-{run:08x}-cand-' || s.i"),
                ),
                ("candidate_email", "'seed' || s.i || '@example.com'".into()),
                ("created_at_ms", at.clone()),
                ("updated_at_ms", format!("{at} + 60000")),
                ("last_update_ms", format!("{at} + 60000")),
            ],
        },
        Table {
            name: "deliveries",
            template: format!("(SELECT * FROM deliveries WHERE id = {template_delivery})"),
            overrides: vec![
                ("id", ids.uuid(2)),
                ("assessment_id", ids.uuid(1)),
                ("ordering_key", format!("{ordering}{}", ids.text(1))),
                ("idempotency_key", "NULL".into()),
                ("request_fingerprint", "NULL".into()),
                ("created_at_ms", format!("{at} + 60000")),
                ("next_attempt_at_ms", format!("{at} + 60000")),
                ("updated_at_ms", format!("{at} + 60100")),
                ("delivered_at_ms", format!("{at} + 60100")),
            ],
        },
        Table {
            name: "delivery_attempts",
            template: format!(
                "(SELECT * FROM delivery_attempts WHERE delivery_id = {template_delivery})"
            ),
            overrides: vec![
                ("id", ids.uuid(3)),
                ("delivery_id", ids.uuid(2)),
                ("at_ms", format!("{at} + 60050")),
            ],
        },
    ];
    let chunk: u64 = if backend == DbBackend::Postgres {
        100_000
    } else {
        50_000
    };
    for table in &tables {
        let began = Instant::now();
        let columns = columns(bench, table.name).await;
        let mut lo = 0;
        while lo < rows {
            let hi = (lo + chunk).min(rows) - 1;
            bench
                .db
                .execute_unprepared(&table.insert(backend, &columns, lo, hi))
                .await
                .unwrap_or_else(|e| panic!("seeding {}: {e}", table.name));
            lo = hi + 1;
            // The tallies' changes this chunk appended (one per delivered row), folded as
            // housekeeping folds them while deliveries finish.
            ashby_partner::store::delivery_tallies::fold(&bench.db, 0)
                .await
                .expect("folding the tallies");
            eprintln!(
                "[seed] {}: {lo}/{rows} ({:.1} s)",
                table.name,
                began.elapsed().as_secs_f64()
            );
        }
    }
    let size_sql = if backend == DbBackend::Postgres {
        for table in [
            "assessments",
            "deliveries",
            "delivery_attempts",
            "delivery_tallies",
        ] {
            // What autovacuum would have done by now: statistics and the visibility map.
            bench
                .db
                .execute_unprepared(&format!("VACUUM ANALYZE {table}"))
                .await
                .expect("vacuum");
        }
        // The seeding's writes flushed to the data files, as the checkpoints of a quiet
        // period would have: else PostgreSQL writes gigabytes back during the measured
        // phases, and a few of their requests wait seconds for it. Needs a superuser or
        // `pg_checkpoint`; without, the run goes on and says so.
        let flushing = std::time::Instant::now();
        match bench.db.execute_unprepared("CHECKPOINT").await {
            Ok(_) => eprintln!(
                "[seed] checkpoint: {:.1} s",
                flushing.elapsed().as_secs_f64()
            ),
            Err(error) => eprintln!(
                "[seed] no checkpoint ({error}): the seeded pass may wait for its write-back"
            ),
        }
        "SELECT pg_database_size(current_database())"
    } else {
        // The seeding's WAL folded into the file, as a quiet period would have.
        bench
            .db
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpoint");
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
    };
    #[allow(clippy::cast_precision_loss)]
    let database_mib = bench.count(size_sql).await as f64 / (1024.0 * 1024.0);
    let rss = crate::phases::Rss::read();
    eprintln!(
        "[seed] done: RSS {:.0} MiB, peak so far {:.0} MiB",
        rss.now_mib, rss.peak_mib
    );
    Seeding {
        assessments: rows,
        deliveries: rows,
        seconds: began.elapsed().as_secs_f64(),
        database_mib,
    }
}

/// A completed assessment whose update Ashby has received, recorded as delivered.
async fn make_template(bench: &Bench, application: &str) {
    let before = bench.ashby.tally().ok;
    let id = bench
        .api
        .start(application)
        .await
        .expect("start the template assessment");
    assert!(bench.api.complete(&id).await, "complete the template");
    bench
        .ashby
        .wait_for(Duration::from_secs(30), |t| t.ok > before)
        .await;
    let recorded = format!(
        "SELECT COUNT(*) FROM delivery_attempts x JOIN deliveries d ON d.id = x.delivery_id \
         JOIN assessments a ON a.id = d.assessment_id \
         WHERE a.application_ashby_id = '{application}' AND d.kind = '{UPDATE}' AND d.status = 'delivered'"
    );
    let waited = Instant::now();
    while bench.count(&recorded).await != 1 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the template's update was never recorded as delivered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Row ids made from the run, a table number and the row number: unique, valid v4
/// UUIDs, and the same expression names the same row in another table.
struct Ids {
    backend: DbBackend,
    /// SQLite stores these columns as 16-byte blobs (as sqlx binds a Uuid).
    blob: bool,
    run: u32,
}

impl Ids {
    fn text(&self, table: u16) -> String {
        let run = self.run;
        match self.backend {
            DbBackend::Postgres => {
                format!("('{run:08x}-{table:04x}-4000-8000-' || lpad(to_hex(s.i), 12, '0'))")
            }
            _ => format!("('{run:08x}-{table:04x}-4000-8000-' || printf('%012x', s.i))"),
        }
    }

    fn uuid(&self, table: u16) -> String {
        let run = self.run;
        match (self.backend, self.blob) {
            (DbBackend::Postgres, _) => format!("{}::uuid", self.text(table)),
            (_, true) => format!("unhex('{run:08x}{table:04x}40008000' || printf('%012x', s.i))"),
            (_, false) => self.text(table),
        }
    }
}

struct Table {
    name: &'static str,
    /// A derived table holding the one row to copy.
    template: String,
    /// Column → SQL expression over `s.i` (the row number) and `t` (the template row).
    overrides: Vec<(&'static str, String)>,
}

impl Table {
    fn insert(&self, backend: DbBackend, columns: &[String], lo: u64, hi: u64) -> String {
        let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                self.overrides
                    .iter()
                    .find(|(name, _)| name == c)
                    .map_or_else(|| format!("t.\"{c}\""), |(_, expr)| expr.clone())
            })
            .collect();
        let (with, series) = match backend {
            DbBackend::Postgres => (
                String::new(),
                format!("generate_series({lo}::bigint, {hi}::bigint) AS s(i)"),
            ),
            _ => (
                format!(
                    "WITH RECURSIVE s(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {hi}) "
                ),
                "s".to_owned(),
            ),
        };
        format!(
            "{with}INSERT INTO {} ({}) SELECT {} FROM {series} CROSS JOIN {} t",
            self.name,
            names.join(", "),
            values.join(", "),
            self.template
        )
    }
}

async fn columns(bench: &Bench, table: &str) -> Vec<String> {
    let sql = match bench.backend() {
        DbBackend::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
        ),
        _ => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
    };
    bench
        .db
        .query_all_raw(Statement::from_string(bench.backend(), sql))
        .await
        .expect("read the columns")
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("a column name"))
        .collect()
}

async fn text_of(bench: &Bench, sql: &str) -> String {
    bench
        .db
        .query_one_raw(Statement::from_string(bench.backend(), sql))
        .await
        .expect("query")
        .and_then(|row| row.try_get_by_index::<String>(0).ok())
        .unwrap_or_default()
}
