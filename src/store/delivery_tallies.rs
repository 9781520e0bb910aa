//! The tallies of finished deliveries (delivered, dismissed, superseded), which triggers
//! keep in `delivery_tallies` as appended changes (see migration 17): what `/metrics`
//! reports without counting the rows, however many there are.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::domain::delivery::DeliveryStatus;

/// Deliveries per (kind, status); pairs with none are left out.
pub type Counts = Vec<(String, String, i64)>;

/// The sums of the appended changes: the finished deliveries.
const TALLIED: &str = "SELECT kind, status, CAST(SUM(n) AS BIGINT) AS n FROM delivery_tallies \
     GROUP BY kind, status HAVING SUM(n) <> 0";

/// The finished deliveries per (kind, status), exact as of the read.
///
/// # Errors
/// Database errors.
pub async fn finished_counts(db: &impl ConnectionTrait) -> Result<Counts, DbErr> {
    read_counts(db, TALLIED.to_owned()).await
}

/// Every delivery per (kind, status), in one statement and so as of one moment: pending
/// and dead ones (few) counted through their index, finished ones tallied. Read apart,
/// a delivery finishing between the two reads would be counted twice or not at all.
///
/// # Errors
/// Database errors.
pub async fn counts_by_kind_and_status(db: &impl ConnectionTrait) -> Result<Counts, DbErr> {
    let (pending, dead) = (
        DeliveryStatus::Pending.as_str(),
        DeliveryStatus::Dead.as_str(),
    );
    read_counts(
        db,
        format!(
            "SELECT kind, status, COUNT(*) AS n FROM deliveries \
             WHERE status IN ('{pending}', '{dead}') GROUP BY kind, status \
             UNION ALL {TALLIED}"
        ),
    )
    .await
}

async fn read_counts(db: &impl ConnectionTrait, sql: String) -> Result<Counts, DbErr> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "kind")?,
                row.try_get::<String>("", "status")?,
                row.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

/// The most changes one fold's transaction takes: a pile of them (a tenant's deletion
/// cascading to half a million deliveries) is folded in short transactions, each holding
/// SQLite's write lock and a sort of its rows only briefly.
const FOLD_BATCH: u64 = 10_000;

/// Folds the appended changes into one row per (kind, status), once their ids span more
/// than `more_than`; returns how many rows it folded (0 when it left them). The sums
/// read the same before and after, to any reader at any moment.
///
/// Replicas may fold at once: on PostgreSQL each batch is one statement, and a row another
/// fold deleted first is neither deleted nor summed again; on SQLite a batch holds the
/// write lock.
///
/// # Errors
/// Database errors.
pub async fn fold(db: &DatabaseConnection, more_than: u64) -> Result<u64, DbErr> {
    // How many changes there are at most, from the first and last ids alone: two index
    // probes, where a count would read every row (into the page cache of whichever
    // pooled connection ran it, every second). Gaps only make a fold come early.
    let rows = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COALESCE(MAX(id) - MIN(id) + 1, 0) AS n FROM delivery_tallies",
        ))
        .await?
        .map_or(Ok(0), |row| row.try_get::<i64>("", "n"))?;
    if u64::try_from(rows).unwrap_or(0) <= more_than {
        return Ok(0);
    }
    let mut folded = 0;
    loop {
        let batch = fold_oldest(db, FOLD_BATCH).await?;
        folded += batch;
        // A short batch took every change there was when it began.
        if batch < FOLD_BATCH {
            return Ok(folded);
        }
    }
}

/// Folds the oldest `limit` changes (fewer if there are fewer) into one new row per
/// (kind, status), in one transaction; how many it folded.
async fn fold_oldest(db: &DatabaseConnection, limit: u64) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let txn = super::begin_write(db).await?;
    let folded = if backend == DbBackend::Postgres {
        txn.query_one_raw(Statement::from_sql_and_values(
            backend,
            "WITH oldest AS (SELECT id FROM delivery_tallies ORDER BY id LIMIT $1), \
             folded AS (DELETE FROM delivery_tallies WHERE id IN (SELECT id FROM oldest) \
             RETURNING kind, status, n), \
             summed AS (INSERT INTO delivery_tallies (kind, status, n) \
             SELECT kind, status, SUM(n) FROM folded GROUP BY kind, status \
             HAVING SUM(n) <> 0) \
             SELECT COUNT(*) AS n FROM folded",
            [limit.into()],
        ))
        .await?
        .map_or(Ok(0), |row| row.try_get::<i64>("", "n"))
        .map(|n| u64::try_from(n).unwrap_or(0))?
    } else {
        let last = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT MAX(id) AS id FROM \
                 (SELECT id FROM delivery_tallies ORDER BY id LIMIT ?)",
                [limit.into()],
            ))
            .await?
            .map_or(Ok(None), |row| row.try_get::<Option<i64>>("", "id"))?
            .unwrap_or(0);
        // The sums get ids above `last` (AUTOINCREMENT), so none is folded twice.
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO delivery_tallies (kind, status, n) \
             SELECT kind, status, SUM(n) FROM delivery_tallies WHERE id <= ? \
             GROUP BY kind, status HAVING SUM(n) <> 0",
            [last.into()],
        ))
        .await?;
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "DELETE FROM delivery_tallies WHERE id <= ?",
            [last.into()],
        ))
        .await?
        .rows_affected()
    };
    txn.commit().await?;
    Ok(folded)
}
