//! Fewer index entries per delivery. Every delivery is inserted once and updated about
//! twice (claimed, then recorded), and `deliveries` had ten indexes: each insert, and
//! each update PostgreSQL cannot do in place, wrote an entry in every one of them — the
//! largest share of the database's work per start and per delivery (BENCHMARKS.md).
//!
//! - `ix_deliveries_ordering` (ordering_key, position) goes: the claim's probe has its
//!   own index over pending rows (`ix_deliveries_pending_ordering`), and the one other
//!   query by ordering key (which dead updates a later one superseded) also names the
//!   assessment, whose index serves it.
//! - Three indexes keep only the rows their queries can ask for:
//!   - `ux_deliveries_idempotency`: rows with a key (few: the vendor's completed
//!     assessments); rows without one never collided anyway.
//!   - `ix_deliveries_status_updated`: finished rows, which retention deletes by age;
//!     a delivery enters it once, when it finishes.
//!   - `ix_deliveries_delivered`: delivered rows, which the console counts by time.
//!
//! The predicates are literals, and the queries that use these indexes state them word
//! for word: a partial index serves a query only when its condition is provably implied
//! (SQLite proves `x IS NOT NULL` from a comparison on `x`, and little else).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `DeliveryStatus::FINISHED`, in its order (retention states it the same way).
const FINISHED_CONDITION: &str = "status IN ('delivered', 'dismissed', 'superseded')";

/// (name, unique, columns, condition) of the indexes this migration makes partial, with
/// the condition each had before: none.
const PARTIAL: [(&str, bool, &str, &str); 3] = [
    (
        "ux_deliveries_idempotency",
        true,
        "tenant_id, idempotency_key",
        "idempotency_key IS NOT NULL",
    ),
    (
        "ix_deliveries_status_updated",
        false,
        "status, updated_at_ms",
        FINISHED_CONDITION,
    ),
    (
        "ix_deliveries_delivered",
        false,
        "delivered_at_ms",
        "delivered_at_ms IS NOT NULL",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut script = vec!["DROP INDEX ix_deliveries_ordering".to_owned()];
        for (name, unique, columns, condition) in PARTIAL {
            script.push(format!("DROP INDEX {name}"));
            script.push(create(name, unique, columns, Some(condition)));
        }
        run(manager, &script).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut script = Vec::new();
        for (name, unique, columns, _) in PARTIAL {
            script.push(format!("DROP INDEX {name}"));
            script.push(create(name, unique, columns, None));
        }
        script.push(create(
            "ix_deliveries_ordering",
            false,
            "ordering_key, position",
            None,
        ));
        run(manager, &script).await
    }
}

fn create(name: &str, unique: bool, columns: &str, condition: Option<&str>) -> String {
    let unique = if unique { "UNIQUE " } else { "" };
    let condition = condition.map_or(String::new(), |c| format!(" WHERE {c}"));
    format!("CREATE {unique}INDEX {name} ON deliveries ({columns}){condition}")
}

/// The statements as one script, so that they run on one connection, in order: run
/// outside a transaction (`Migrator::down` on a pool), a `CREATE` on another connection
/// than its `DROP` could still see the index.
async fn run(manager: &SchemaManager<'_>, script: &[String]) -> Result<(), DbErr> {
    manager
        .get_connection()
        .execute_unprepared(&script.join(";\n"))
        .await
        .map(|_| ())
}
