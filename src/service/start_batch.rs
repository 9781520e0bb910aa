//! Group commit for new starts on SQLite. One writer at a time holds SQLite's write lock,
//! through its commit's WAL sync: with one start per commit the cores sat idle a third of
//! the time under load while the starts queued (BENCHMARKS.md). Here the new starts queue
//! to one task per server instead, which writes whatever has queued up meanwhile in one
//! transaction — each start in a savepoint of its own, so one that fails leaves the others
//! — and answers each only once that commit has returned. Nothing is acknowledged before
//! it is durable, and each start's webhook is still in the transaction that writes it.
//!
//! PostgreSQL takes concurrent commits: there each start has its own transaction
//! ([`start_assessment`]).

use sea_orm::{DatabaseConnection, DbBackend, DbErr, TransactionTrait as _};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use crate::domain::ids::TenantId;
use crate::domain::start_request::StartRequest;
use crate::store::{self, WriteTransaction};

use super::Outbound;
use super::start::{StartOutcome, already_open, start_assessment, write_one};

/// The most starts one commit takes.
const MAX_BATCH: usize = 64;

/// Starts assessments: through the group commit on SQLite, one transaction each on
/// PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct Starter {
    db: DatabaseConnection,
    outbound: Outbound,
    queue: Option<mpsc::UnboundedSender<Job>>,
}

struct Job {
    tenant_id: TenantId,
    request: StartRequest,
    reply: oneshot::Sender<Result<StartOutcome, DbErr>>,
    /// The request's span: the start is written in it, so that what it logs and the
    /// `traceparent` its outbox row keeps are the request's, not the writer task's.
    span: tracing::Span,
}

impl Starter {
    /// On SQLite, spawns the task that writes the queued starts (on the current tokio
    /// runtime); it ends when the last `Starter` is dropped.
    pub fn new(db: DatabaseConnection, outbound: Outbound) -> Self {
        let queue = (db.get_database_backend() == DbBackend::Sqlite).then(|| {
            let (queue, jobs) = mpsc::unbounded_channel();
            tokio::spawn(write_queued(db.clone(), outbound.clone(), jobs));
            queue
        });
        Self {
            db,
            outbound,
            queue,
        }
    }

    /// `assessment.start`, idempotently: the open assessment for the same application and
    /// type, else a new one with its `assessment.started` webhook.
    ///
    /// # Errors
    /// Database errors; the start was not written.
    pub async fn start(
        &self,
        tenant_id: TenantId,
        request: &StartRequest,
    ) -> Result<StartOutcome, DbErr> {
        let Some(queue) = &self.queue else {
            return start_assessment(&self.db, &self.outbound, tenant_id, request).await;
        };
        if let Some(open) = already_open(&self.db, tenant_id, request).await? {
            return Ok(open);
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tenant_id,
            request: request.clone(),
            reply,
            span: tracing::Span::current(),
        };
        queue.send(job).map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// The answer to every one of `jobs` when their transaction failed as a whole.
fn not_written(jobs: &[Job], error: &DbErr) -> Vec<Result<StartOutcome, DbErr>> {
    jobs.iter()
        .map(|_| Err(DbErr::Custom(format!("the start was not written: {error}"))))
        .collect()
}

fn stopped() -> DbErr {
    DbErr::Custom("the start writer stopped".into())
}

/// Writes whatever starts have queued up, one transaction per round, until every sender
/// is gone.
async fn write_queued(
    db: DatabaseConnection,
    outbound: Outbound,
    mut queue: mpsc::UnboundedReceiver<Job>,
) {
    let mut jobs = Vec::new();
    while queue.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let results = write_batch(&db, &outbound, &jobs).await;
        for (job, result) in jobs.drain(..).zip(results) {
            // The caller may be gone (its request was cancelled): the start stands.
            let _ = job.reply.send(result);
        }
    }
}

/// One transaction for all of `jobs`. What each caller is told holds only once the commit
/// returned; a failed commit fails them all.
///
/// First without savepoints: a savepoint and its release are two more statements per
/// start, each a hand-off to SQLite's thread while the one write turn is held. Should a
/// start fail (or its insert collide with an assessment no longer open), that transaction
/// is rolled back and the batch written again with a savepoint per start, so that the
/// failure stays that start's own.
async fn write_batch(
    db: &DatabaseConnection,
    outbound: &Outbound,
    jobs: &[Job],
) -> Vec<Result<StartOutcome, DbErr>> {
    let txn = match store::begin_write(db).await {
        Ok(txn) => txn,
        Err(error) => return not_written(jobs, &error),
    };
    let Some((outcomes, enqueued)) = write_all(&txn, outbound, jobs).await else {
        if let Err(error) = txn.rollback().await {
            tracing::warn!(%error, "could not roll back a batch of starts; its connection is closed");
        }
        return write_each_in_savepoint(db, outbound, jobs).await;
    };
    if let Err(error) = txn.commit().await {
        return not_written(jobs, &error);
    }
    outbound.committed(enqueued);
    outcomes.into_iter().map(Ok).collect()
}

/// Every start of `jobs` in `txn`, and whether a delivery was queued; `None` as soon as
/// one is not written (what the others wrote is still in `txn`).
async fn write_all(
    txn: &WriteTransaction,
    outbound: &Outbound,
    jobs: &[Job],
) -> Option<(Vec<StartOutcome>, bool)> {
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut enqueued = false;
    for job in jobs {
        let (outcome, queued) = write_one(txn, outbound, job.tenant_id, &job.request)
            .instrument(job.span.clone())
            .await
            .ok()??;
        enqueued |= queued;
        outcomes.push(outcome);
    }
    Some((outcomes, enqueued))
}

/// One transaction for all of `jobs`, each in its own savepoint.
async fn write_each_in_savepoint(
    db: &DatabaseConnection,
    outbound: &Outbound,
    jobs: &[Job],
) -> Vec<Result<StartOutcome, DbErr>> {
    let txn = match store::begin_write(db).await {
        Ok(txn) => txn,
        Err(error) => return not_written(jobs, &error),
    };
    let mut results = Vec::with_capacity(jobs.len());
    let mut enqueued = false;
    for job in jobs {
        match write_in_savepoint(&txn, outbound, job).await {
            Ok(Ok((outcome, queued))) => {
                enqueued |= queued;
                results.push(Ok(outcome));
            }
            Ok(Err(error)) => results.push(Err(error)),
            // The savepoint could not be rolled back: what it wrote may still be in the
            // transaction, so none of it may commit (dropping `txn` rolls it all back).
            Err(error) => return not_written(jobs, &error),
        }
    }
    if let Err(error) = txn.commit().await {
        return not_written(jobs, &error);
    }
    outbound.committed(enqueued);
    results
}

/// One start in a savepoint of `txn`. The outer error: the savepoint could not be undone.
async fn write_in_savepoint(
    txn: &WriteTransaction,
    outbound: &Outbound,
    job: &Job,
) -> Result<Result<(StartOutcome, bool), DbErr>, DbErr> {
    let savepoint = txn.transaction().begin().await?;
    let written = write_one(&savepoint, outbound, job.tenant_id, &job.request)
        .instrument(job.span.clone())
        .await;
    match written {
        Ok(Some(written)) => {
            savepoint.commit().await?;
            Ok(Ok(written))
        }
        // The insert collided with an open assessment that is no longer open: another
        // writer changed it, which SQLite's single writer excludes.
        Ok(None) => {
            savepoint.rollback().await?;
            Ok(Err(DbErr::Custom(
                "assessment.start collided with a concurrent change".into(),
            )))
        }
        Err(error) => {
            savepoint.rollback().await?;
            Ok(Err(error))
        }
    }
}
