//! `scripts/pgbench/`: the statements `scripts/pgbench-ceilings.sh` has pgbench run stay
//! valid on the current schema, and a start's statement still names every column the
//! server writes, so what it measures is what a start costs PostgreSQL. PostgreSQL only
//! (on SQLite each test returns at once): the script is for PostgreSQL.

use std::path::PathBuf;

use entity::{assessment, delivery};
use sea_orm::{ConnectionTrait as _, DbBackend, Iterable as _, QueryResult, Statement};

use crate::helpers::TestApp;

/// A script's SQL without its comments and pgbench's meta-commands (`\set`).
fn script(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/pgbench")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .lines()
        .filter(|line| !line.starts_with("--") && !line.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `sql` with pgbench's variables (`:name`, not a `::cast`) replaced by `values`.
fn bind(sql: &str, values: &[(&str, String)]) -> String {
    let mut bound = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(':') {
        bound.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let name_len = after
            .find(|c: char| !c.is_ascii_lowercase() && c != '_')
            .unwrap_or(after.len());
        let is_cast = bound.ends_with(':') || after.starts_with(':');
        match values.iter().find(|(name, _)| *name == &after[..name_len]) {
            Some((_, value)) if name_len > 0 && !is_cast => {
                bound.push_str(value);
                rest = &after[name_len..];
            }
            _ => {
                bound.push(':');
                rest = after;
            }
        }
    }
    bound.push_str(rest);
    bound
}

fn quoted(value: impl std::fmt::Display) -> String {
    format!("'{value}'")
}

async fn one_row(app: &TestApp, sql: String) -> QueryResult {
    app.db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .expect("one row")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    one_row(app, sql.to_owned())
        .await
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// The quoted column names of the first `INSERT INTO "table" (...)` in `sql`.
fn inserted_columns(sql: &str, table: &str) -> Vec<String> {
    let head = format!(r#"INSERT INTO "{table}" ("#);
    let start = sql.find(&head).expect("the insert") + head.len();
    let end = start + sql[start..].find(')').unwrap();
    sql[start..end]
        .split(", ")
        .map(|column| column.trim_matches('"').to_owned())
        .collect()
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[tokio::test]
async fn the_pgbench_start_statement_writes_every_column_a_start_writes() {
    let sql = script("start.sql");
    let assessment_columns = assessment::Column::iter()
        .map(|c| sea_orm::IdenStatic::as_str(&c).to_owned())
        .collect();
    let delivery_columns = delivery::Column::iter()
        .map(|c| sea_orm::IdenStatic::as_str(&c).to_owned())
        .collect();
    assert_eq!(
        sorted(inserted_columns(&sql, "assessments")),
        sorted(assessment_columns)
    );
    assert_eq!(
        sorted(inserted_columns(&sql, "deliveries")),
        sorted(delivery_columns)
    );
}

#[tokio::test]
async fn the_pgbench_statements_run_on_the_current_schema() {
    let app = TestApp::spawn().await;
    if !app.database.is_postgres() {
        return;
    }
    let tenant = app.create_tenant("Acme").await;
    let start = bind(
        &script("start.sql"),
        &[
            ("tenant", quoted(tenant.id.0)),
            ("a", "42".into()),
            ("d", "43".into()),
        ],
    );

    // A new start: one assessment, open, with its webhook in the outbox.
    let first = one_row(&app, start.clone()).await;
    assert_eq!(first.try_get::<i64>("", "inserted_count").unwrap(), 1);
    let id: uuid::Uuid = one_row(
        &app,
        "SELECT id FROM assessments WHERE application_ashby_id = 'app-42'".into(),
    )
    .await
    .try_get_by_index(0)
    .unwrap();
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM deliveries WHERE assessment_id = '{id}' \
                 AND kind = 'vendor.webhook' AND status = 'pending'"
            )
        )
        .await,
        1
    );

    // The same statement again repeats the start: nothing written, the open one answered.
    let again = one_row(&app, start).await;
    assert_eq!(again.try_get::<i64>("", "inserted_count").unwrap(), 0);
    assert_eq!(again.try_get::<uuid::Uuid>("", "id").unwrap(), id);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM deliveries").await, 1);

    // The GET's read finds it.
    let get = bind(&script("get.sql"), &[("assessment", quoted(id))]);
    assert_eq!(
        one_row(&app, get)
            .await
            .try_get::<uuid::Uuid>("", "id")
            .unwrap(),
        id
    );

    // The bare transaction, on the scratch tables the script makes.
    app.db
        .execute_unprepared(&script("tables.sql"))
        .await
        .unwrap();
    app.db
        .execute_unprepared(&script("bare.sql"))
        .await
        .unwrap();
    for table in ["pgbench_bare_a", "pgbench_bare_b"] {
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM {table}")).await,
            1
        );
    }
}

#[test]
fn bind_replaces_variables_but_not_casts_or_other_colons() {
    let sql = r#"SELECT :a::text, '{"b": 1}', 'https://x', :ab, :missing"#;
    assert_eq!(
        bind(sql, &[("a", "1".into()), ("ab", "2".into())]),
        r#"SELECT 1::text, '{"b": 1}', 'https://x', 2, :missing"#
    );
}
