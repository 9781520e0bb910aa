//! Tallies of the finished deliveries, kept by the database itself, so that `/metrics`
//! reads a handful of rows instead of counting every delivered row (a million rows took
//! 0.5 s of a core on PostgreSQL, more on SQLite, and grew with the table).
//!
//! Triggers on `deliveries` append a change (+1 or −1) to `delivery_tallies` whenever a
//! row enters or leaves a finished status (`delivered`, `dismissed`, `superseded`): on
//! insert, on a change of status and on delete, also when the delete cascades from an
//! assessment or a tenant. The changes are only ever inserted, never updated, so writers
//! never wait for each other on a counter row. The sum per (kind, status) is the count;
//! housekeeping folds the changes into one row per (kind, status) now and then, so the
//! sum stays short.
//!
//! Pending and dead deliveries are not tallied: they are few, counted through their
//! indexes, and a tally would add a write to every start.
//!
//! The first tally is counted here, after the triggers exist. On PostgreSQL the migration
//! is one transaction and creating a trigger locks out writers to `deliveries` until it
//! commits, so no change is missed or counted twice. SQLite has one writer process.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `DeliveryStatus::FINISHED`, as SQL.
const FINISHED: &str = "('delivered', 'dismissed', 'superseded')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("delivery_tallies")
                    .col(big_pk_auto("id"))
                    .col(string_len("kind", 64))
                    .col(string_len("status", 16))
                    .col(big_integer("n"))
                    .to_owned(),
            )
            .await?;
        let triggers = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_triggers(),
            _ => sqlite_triggers(),
        };
        let db = manager.get_connection();
        for statement in triggers {
            db.execute_unprepared(&statement).await?;
        }
        db.execute_unprepared(&format!(
            "INSERT INTO delivery_tallies (kind, status, n) \
             SELECT kind, status, COUNT(*) FROM deliveries WHERE status IN {FINISHED} \
             GROUP BY kind, status"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for event in ["insert", "update", "delete"] {
            let on_table = if postgres { " ON deliveries" } else { "" };
            db.execute_unprepared(&format!(
                "DROP TRIGGER IF EXISTS delivery_tallies_on_{event}{on_table}"
            ))
            .await?;
        }
        if postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS delivery_tallies_change()")
                .await?;
        }
        manager
            .drop_table(Table::drop().table("delivery_tallies").to_owned())
            .await
    }
}

/// Row triggers: their `WHEN` is checked without running anything, so an insert of a
/// pending delivery (every start) and an update that leaves the status alone (every
/// claim) cost nothing more than before.
fn postgres_triggers() -> Vec<String> {
    let function = format!(
        "CREATE FUNCTION delivery_tallies_change() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF TG_OP <> 'INSERT' THEN
             IF OLD.status IN {FINISHED} THEN
               INSERT INTO delivery_tallies (kind, status, n) VALUES (OLD.kind, OLD.status, -1);
             END IF;
           END IF;
           IF TG_OP <> 'DELETE' THEN
             IF NEW.status IN {FINISHED} THEN
               INSERT INTO delivery_tallies (kind, status, n) VALUES (NEW.kind, NEW.status, 1);
             END IF;
           END IF;
           RETURN NULL;
         END $$"
    );
    let trigger = |event: &str, on: &str, when: String| {
        format!(
            "CREATE TRIGGER delivery_tallies_on_{event} AFTER {on} ON deliveries \
             FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION delivery_tallies_change()"
        )
    };
    vec![
        function,
        trigger("insert", "INSERT", format!("NEW.status IN {FINISHED}")),
        trigger(
            "update",
            "UPDATE OF status",
            format!(
                "OLD.status IS DISTINCT FROM NEW.status \
                 AND (OLD.status IN {FINISHED} OR NEW.status IN {FINISHED})"
            ),
        ),
        trigger("delete", "DELETE", format!("OLD.status IN {FINISHED}")),
    ]
}

fn sqlite_triggers() -> Vec<String> {
    let add = |row: &str, n: i32| {
        format!(
            "INSERT INTO delivery_tallies (kind, status, n) \
             SELECT {row}.kind, {row}.status, {n} WHERE {row}.status IN {FINISHED};"
        )
    };
    vec![
        format!(
            "CREATE TRIGGER delivery_tallies_on_insert AFTER INSERT ON deliveries \
             WHEN NEW.status IN {FINISHED} BEGIN {} END",
            add("NEW", 1)
        ),
        format!(
            "CREATE TRIGGER delivery_tallies_on_update AFTER UPDATE OF status ON deliveries \
             WHEN OLD.status IS NOT NEW.status \
             AND (OLD.status IN {FINISHED} OR NEW.status IN {FINISHED}) BEGIN {} {} END",
            add("OLD", -1),
            add("NEW", 1)
        ),
        format!(
            "CREATE TRIGGER delivery_tallies_on_delete AFTER DELETE ON deliveries \
             WHEN OLD.status IN {FINISHED} BEGIN {} END",
            add("OLD", -1)
        ),
    ]
}
