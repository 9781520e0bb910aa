//! The tallies of finished deliveries (delivered, dismissed, superseded), which triggers
//! keep in `delivery_tallies` as appended changes (see migration 17): what `/metrics`
//! reports without counting the rows, however many there are.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// The finished deliveries per (kind, status), exact as of the read: the sum of every
/// change the triggers appended. Pairs with none are left out.
///
/// # Errors
/// Database errors.
pub async fn finished_counts(
    db: &impl ConnectionTrait,
) -> Result<Vec<(String, String, i64)>, DbErr> {
    let sum = Statement::from_string(
        db.get_database_backend(),
        "SELECT kind, status, CAST(SUM(n) AS BIGINT) AS n FROM delivery_tallies \
         GROUP BY kind, status HAVING SUM(n) <> 0",
    );
    db.query_all_raw(sum)
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

/// Folds the appended changes into one row per (kind, status), once there are more than
/// `more_than` of them; returns how many rows it folded (0 when it left them). The sums
/// read the same before and after, to any reader at any moment.
///
/// Replicas may fold at once: on PostgreSQL the fold is one statement, and a row another
/// fold deleted first is neither deleted nor summed again; on SQLite it holds the write
/// lock.
///
/// # Errors
/// Database errors.
pub async fn fold(db: &DatabaseConnection, more_than: u64) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM delivery_tallies",
        ))
        .await?
        .map_or(Ok(0), |row| row.try_get::<i64>("", "n"))?;
    if u64::try_from(rows).unwrap_or(0) <= more_than {
        return Ok(0);
    }
    let txn = super::begin_write(db).await?;
    let folded = if backend == DbBackend::Postgres {
        txn.query_one_raw(Statement::from_string(
            backend,
            "WITH folded AS (DELETE FROM delivery_tallies RETURNING kind, status, n), \
             summed AS (INSERT INTO delivery_tallies (kind, status, n) \
             SELECT kind, status, SUM(n) FROM folded GROUP BY kind, status \
             HAVING SUM(n) <> 0) \
             SELECT COUNT(*) AS n FROM folded",
        ))
        .await?
        .map_or(Ok(0), |row| row.try_get::<i64>("", "n"))
        .map(|n| u64::try_from(n).unwrap_or(0))?
    } else {
        let last = txn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT MAX(id) AS id FROM delivery_tallies",
            ))
            .await?
            .map_or(Ok(None), |row| row.try_get::<Option<i64>>("", "id"))?
            .unwrap_or(0);
        // New rows get ids above `last` (AUTOINCREMENT), so the sums are not folded twice.
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
