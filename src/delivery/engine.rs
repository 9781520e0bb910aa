//! Claim → send → record, in a loop (`run`) or one deterministic round (`step_at`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng as _;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::sender::SendInputs;
use super::{DeliveryWaker, Sender, backoff_ms};
use crate::domain::delivery::{Delivery, DeliveryKind};
use crate::metrics::Metrics;
use crate::outgoing::{CallOutcome, ThrottleScope};
use crate::settings::DeliverySettings;
use crate::store::deliveries::{self, AttemptRecord, AttemptResult, Pause};
use crate::store::delivery_records::{self, Finished};
use crate::store::now_ms;

/// How long an idle worker waits before looking again, when nothing woke it: the
/// latency for work committed by another process (replica or CLI).
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Beyond the request timeout, how long a lease lasts. A send starts only with the request
/// timeout plus [`SEND_MARGIN_MS`] left, which leaves 13 s after the answer to record it —
/// more than the worst database wait (5 s for a pooled connection plus 5 s for SQLite's
/// write lock) — so a lease never runs out under a worker that is still recording.
const LEASE_MARGIN_MS: i64 = 15_000;
/// What must be left of a lease, beyond the request timeout, for a send to start.
const SEND_MARGIN_MS: i64 = 2_000;

/// At most this many attempts are recorded in one transaction.
const MAX_RECORD_BATCH: usize = 256;

/// A finished attempt on its way to the recorder, with where to answer whether it was
/// recorded.
type ToRecord = (Finished, oneshot::Sender<Result<bool, DbErr>>);

/// The bounds of [`DeliveryEngine::run`]'s later stages, shared by its deliveries.
struct Stages {
    /// Requests out at once: `delivery.concurrency`.
    sending: Semaphore,
    /// Sent deliveries waiting for the recorder.
    unrecorded: Semaphore,
    /// Signalled whenever a send starts, which frees a place ahead of the sends.
    sent: Notify,
}

/// Cloning gives an engine over the same database, sender and waker (tests run two to
/// play two replicas).
#[derive(Clone)]
pub struct DeliveryEngine {
    db: DatabaseConnection,
    sender: Sender,
    settings: DeliverySettings,
    waker: DeliveryWaker,
    metrics: Option<Metrics>,
    /// How far this process's clock runs ahead of true time: 0 in production; tests set it
    /// to play a replica whose clock is off.
    clock_skew_ms: i64,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StepReport {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    /// Held back by the destination's throttling (no attempt spent).
    pub throttled: usize,
    pub dead: usize,
}

impl DeliveryEngine {
    pub fn new(
        db: DatabaseConnection,
        sender: Sender,
        settings: DeliverySettings,
        waker: DeliveryWaker,
    ) -> Self {
        Self {
            db,
            sender,
            settings,
            waker,
            metrics: None,
            clock_skew_ms: 0,
        }
    }

    /// Plays a process whose wall clock runs `skew_ms` ahead (behind, if negative).
    #[must_use]
    pub fn with_clock_skew(mut self, skew_ms: i64) -> Self {
        self.clock_skew_ms = skew_ms;
        self
    }

    /// One round as of now on the lease clock (see [`deliveries::lease_clock_ms`]), read
    /// inside the claim as [`Self::run`] reads it.
    ///
    /// # Errors
    /// Database errors while claiming or recording.
    pub async fn step(&self) -> Result<StepReport, DbErr> {
        let claimed_at = Instant::now();
        let (now_ms, claimed) = deliveries::claim_on_lease_clock(
            &self.db,
            Uuid::new_v4(),
            self.clock_skew_ms,
            self.lease_ms(),
            self.round_size(),
        )
        .await?;
        self.finish_round(now_ms, claimed, claimed_at).await
    }

    /// Counts every attempt's outcome in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn waker(&self) -> DeliveryWaker {
        self.waker.clone()
    }

    /// How many claimed deliveries may wait for a send slot: three batches. Claims are
    /// commits, so the more each takes, the fewer there are; but a delivery must start its
    /// send within [`LEASE_MARGIN_MS`] less [`SEND_MARGIN_MS`] of its claim, or it is given
    /// back, and when every send takes the whole request timeout, only the first rounds
    /// ahead start in time.
    fn claimed_ahead(&self) -> usize {
        self.settings.concurrency.saturating_mul(3)
    }

    /// How many sent deliveries may wait for the recorder: three rounds of sends.
    ///
    /// While one group of attempts commits, the sends go on and the next group piles up.
    /// When one bound covered claim to record (three times `concurrency` in all), the
    /// deliveries waiting for a commit held the places the next claim needed, and the
    /// drain ran at the pace of the commits (BENCHMARKS.md, 2026-11-30). The bound stays:
    /// a delivery's lease must outlast its wait for the recorder (see
    /// [`LEASE_MARGIN_MS`]), so the queue must not grow while the database is slow. Eight
    /// rounds drained SQLite about as fast and PostgreSQL slower than three.
    fn unrecorded(&self) -> usize {
        self.settings.concurrency.saturating_mul(3)
    }

    /// How many free places ahead of the sends make a claim worthwhile while deliveries
    /// are in flight: a whole `concurrency`'s worth. Half as much made twice the claims,
    /// each then a transaction of five round trips on PostgreSQL; the drain went 15% faster
    /// with whole batches (BENCHMARKS.md, 2026-11-29 evening).
    fn batch(&self) -> usize {
        self.settings.concurrency.max(1)
    }

    fn request_timeout_ms(&self) -> i64 {
        i64::try_from(self.settings.request_timeout_ms).unwrap_or(i64::MAX / 4)
    }

    fn lease_ms(&self) -> i64 {
        self.request_timeout_ms().saturating_add(LEASE_MARGIN_MS)
    }

    /// One round as of `now_ms`: claims up to `delivery.concurrency` due deliveries,
    /// sends them concurrently and records each outcome. Tests step the engine with it.
    ///
    /// # Errors
    /// Database errors while claiming or recording.
    pub async fn step_at(&self, now_ms: i64) -> Result<StepReport, DbErr> {
        let claimed_at = Instant::now();
        let claimed = deliveries::claim(
            &self.db,
            Uuid::new_v4(),
            now_ms,
            self.lease_ms(),
            self.round_size(),
        )
        .await?;
        self.finish_round(now_ms, claimed, claimed_at).await
    }

    /// How many deliveries one round claims: `delivery.concurrency`.
    fn round_size(&self) -> u64 {
        u64::try_from(self.settings.concurrency).unwrap_or(u64::MAX)
    }

    /// Sends a round's claimed deliveries concurrently and records each outcome.
    async fn finish_round(
        &self,
        now_ms: i64,
        claimed: Vec<Delivery>,
        claimed_at: Instant,
    ) -> Result<StepReport, DbErr> {
        let mut report = StepReport {
            claimed: claimed.len(),
            ..StepReport::default()
        };
        let inputs = self.sender.read_inputs(&claimed).await;
        let attempts = futures_util::future::join_all(
            claimed
                .into_iter()
                .map(|d| self.attempt(d, &inputs, now_ms, claimed_at)),
        )
        .await;
        let mut finished = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            finished.extend(attempt?);
        }
        let recorded = delivery_records::finish_attempts(&self.db, &finished).await;
        for (one, recorded) in finished.iter().zip(recorded) {
            if !recorded? {
                continue;
            }
            self.observe(one.claimed.kind, &one.record.result);
            match one.record.result {
                AttemptResult::Delivered => report.delivered += 1,
                AttemptResult::RetryAt { .. } => report.retried += 1,
                AttemptResult::Throttled { .. } => report.throttled += 1,
                AttemptResult::Dead { .. } => report.dead += 1,
            }
        }
        Ok(report)
    }

    /// Sends one claimed delivery; what to record of it. `None` when there is nothing to
    /// record: the claim is too old to send safely within its lease (given back).
    async fn attempt(
        &self,
        claimed: Delivery,
        inputs: &SendInputs,
        claimed_ms: i64,
        claimed_at: Instant,
    ) -> Result<Option<Finished>, DbErr> {
        let elapsed_ms =
            |since: Instant| i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX / 4);
        let started = Instant::now();
        let outcome = match self.sender.prepare(&claimed, inputs).await {
            Err(outcome) => outcome,
            Ok(prepared) => {
                // Send only if the whole request fits in what is left of the lease, checked
                // after every database wait: otherwise another worker could take the
                // delivery over while this one is still sending it.
                let must_finish_by = claimed_ms
                    + elapsed_ms(claimed_at)
                    + self.request_timeout_ms()
                    + SEND_MARGIN_MS;
                if claimed
                    .lease_until_ms
                    .is_none_or(|until| must_finish_by > until)
                {
                    tracing::warn!(delivery_id = %claimed.id, tenant_id = %claimed.tenant_id, assessment_id = %claimed.assessment_id, "claim too old to send within its lease; giving it back");
                    deliveries::release(&self.db, &claimed).await?;
                    return Ok(None);
                }
                self.sender.send(&prepared, &claimed).await
            }
        };
        let duration_ms = elapsed_ms(started);
        let answered_ms = claimed_ms + elapsed_ms(claimed_at);
        let http_status = outcome.http_status();
        let jitter = rand::rng().random::<f64>();
        // Backoff and Retry-After count from Ashby's answer, not from the claim.
        let result = attempt_result(outcome, &claimed, &self.settings, answered_ms, jitter);
        log_attempt(&claimed, &result);
        let record = AttemptRecord {
            started_ms: answered_ms - duration_ms,
            duration_ms,
            http_status,
            result,
        };
        Ok(Some(Finished {
            claimed,
            record,
            now_ms: answered_ms,
        }))
    }

    /// Counts a recorded attempt in the metrics.
    fn observe(&self, kind: DeliveryKind, result: &AttemptResult) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        let outcome = match result {
            AttemptResult::Delivered => "delivered",
            AttemptResult::RetryAt { .. } => "retry",
            AttemptResult::Throttled { .. } => "throttled",
            AttemptResult::Dead { .. } => "dead",
        };
        metrics.observe_attempt(kind.as_str(), outcome);
        if let AttemptResult::Throttled {
            pause: Some(pause), ..
        } = result
        {
            let [tenant, partner] = crate::metrics::THROTTLE_SCOPES;
            metrics.observe_throttle(if pause.tenant_id.is_some() {
                tenant
            } else {
                partner
            });
        }
    }

    /// Runs until `shutdown` turns true, then lets in-flight sends finish.
    ///
    /// Three bounds, one per stage a claimed delivery goes through: at most
    /// [`Self::claimed_ahead`] wait for a send slot, `delivery.concurrency` requests are out
    /// at once, and at most [`Self::unrecorded`] wait for the recorder. A claim and a
    /// record are each a commit; with a bound per stage, the next batch is claimed, and the
    /// last ones recorded, while the sends go on, and neither waits for the other.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let ahead = Arc::new(Semaphore::new(self.claimed_ahead()));
        let stages = Arc::new(Stages {
            sending: Semaphore::new(self.settings.concurrency),
            unrecorded: Semaphore::new(self.unrecorded()),
            sent: Notify::new(),
        });
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let (record_tx, record_rx) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(Arc::clone(&self).record_batches(record_rx));
        tracing::info!(
            concurrency = self.settings.concurrency,
            "delivery workers started"
        );
        while !*shutdown.borrow() {
            while in_flight.try_join_next().is_some() {}
            let free = ahead.available_permits();
            let mut claimed_any = false;
            // A claim is a committed write: under load, claim in batches rather than one
            // row per finished send, or the claims themselves become the bottleneck.
            let worth_claiming = free > 0 && (in_flight.is_empty() || free >= self.batch());
            if worth_claiming {
                let claimed_at = Instant::now();
                let claim = deliveries::claim_on_lease_clock(
                    &self.db,
                    Uuid::new_v4(),
                    self.clock_skew_ms,
                    self.lease_ms(),
                    free as u64,
                );
                match claim.await {
                    Ok((now, batch)) => {
                        let inputs = Arc::new(self.sender.read_inputs(&batch).await);
                        for claimed in batch {
                            claimed_any = true;
                            let Ok(waiting) = ahead.clone().acquire_owned().await else {
                                break;
                            };
                            let run = Arc::clone(&self).run_one(
                                claimed,
                                Arc::clone(&inputs),
                                (now, claimed_at),
                                waiting,
                                Arc::clone(&stages),
                                record_tx.clone(),
                            );
                            in_flight.spawn(run);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "could not claim deliveries"),
                }
            }
            if claimed_any {
                continue;
            }
            // A send starting frees a place ahead (`sent`); a finishing delivery may let
            // the next of its assessment be claimed (join_next).
            let wait = if worth_claiming {
                self.idle_wait().await
            } else {
                IDLE_POLL
            };
            tokio::select! {
                () = self.waker.woken() => {}
                () = stages.sent.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(in_flight = in_flight.len(), "delivery workers stopping");
        while in_flight.join_next().await.is_some() {}
        drop(record_tx);
        if let Err(error) = recorder.await {
            tracing::warn!(%error, "the delivery recorder ended abnormally");
        }
    }

    /// One claimed delivery through the stages of [`Self::run`]: it waits for a send slot
    /// (holding `waiting`, its place ahead), is sent, then waits for the recorder (holding
    /// a place among the unrecorded) until its attempt is recorded.
    async fn run_one(
        self: Arc<Self>,
        claimed: Delivery,
        inputs: Arc<SendInputs>,
        (claimed_ms, claimed_at): (i64, Instant),
        waiting: OwnedSemaphorePermit,
        stages: Arc<Stages>,
        recorder: mpsc::UnboundedSender<ToRecord>,
    ) {
        let (id, tenant_id, assessment_id) = (claimed.id, claimed.tenant_id, claimed.assessment_id);
        let (attempted, _unrecorded) = {
            // Neither semaphore is ever closed: the acquires cannot fail.
            let _send_slot = stages.sending.acquire().await;
            drop(waiting);
            stages.sent.notify_one();
            let attempted = self.attempt(claimed, &inputs, claimed_ms, claimed_at).await;
            // An attempt to record keeps its send slot until there is room to wait for the
            // recorder: when records fall behind, sends (and so claims) slow down with them.
            let unrecorded = match &attempted {
                Ok(Some(_)) => Some(stages.unrecorded.acquire().await),
                Ok(None) | Err(_) => None,
            };
            (attempted, unrecorded)
        };
        let recorded = match attempted {
            Ok(Some(finished)) => {
                let (reply, answer) = oneshot::channel();
                let stopped = || DbErr::Custom("the recorder stopped".into());
                match recorder.send((finished, reply)) {
                    Ok(()) => answer.await.unwrap_or_else(|_| Err(stopped())),
                    Err(_) => Err(stopped()),
                }
            }
            Ok(None) => Ok(false),
            Err(error) => Err(error),
        };
        if let Err(error) = recorded {
            tracing::warn!(delivery_id = %id, %tenant_id, %assessment_id, %error, "could not record a delivery attempt; its lease will expire and it will be retried");
        }
    }

    /// Records finished attempts as they come, whatever has queued up meanwhile in one
    /// transaction (see [`delivery_records`]), and answers each sender.
    async fn record_batches(self: Arc<Self>, mut queue: mpsc::UnboundedReceiver<ToRecord>) {
        let mut batch = Vec::new();
        while queue.recv_many(&mut batch, MAX_RECORD_BATCH).await > 0 {
            let (finished, replies): (Vec<Finished>, Vec<_>) = batch.drain(..).unzip();
            let results = delivery_records::finish_attempts(&self.db, &finished).await;
            for ((one, result), reply) in finished.iter().zip(results).zip(replies) {
                if matches!(result, Ok(true)) {
                    self.observe(one.claimed.kind, &one.record.result);
                }
                // The sender may be gone (shutdown): its lease simply expires.
                let _ = reply.send(result);
            }
        }
    }

    /// Until the next delivery is due, at most [`IDLE_POLL`]. Deliveries already due but
    /// not claimable wait for an earlier one in flight, which wakes us when it finishes.
    async fn idle_wait(&self) -> Duration {
        match deliveries::next_due_ms(&self.db).await {
            Ok(Some(due)) => {
                let until = u64::try_from(due - now_ms()).unwrap_or(0);
                if until == 0 {
                    IDLE_POLL
                } else {
                    Duration::from_millis(until).min(IDLE_POLL)
                }
            }
            Ok(None) | Err(_) => IDLE_POLL,
        }
    }
}

/// What an attempt's outcome means for the delivery (CONTRACT §6).
fn attempt_result(
    outcome: CallOutcome,
    claimed: &Delivery,
    settings: &DeliverySettings,
    now_ms: i64,
    jitter: f64,
) -> AttemptResult {
    let failed = u32::try_from(claimed.attempts)
        .unwrap_or(0)
        .saturating_add(1);
    // Retry-After is honoured up to the longest backoff: a huge value must not park the
    // delivery (and every later one of its assessment) for good.
    let wait_ms = |retry_after: Option<Duration>| {
        let backoff = backoff_ms(
            failed,
            settings.initial_backoff_ms,
            settings.max_backoff_ms,
            jitter,
        );
        let asked = retry_after.map_or(0, |wait| {
            u64::try_from(wait.as_millis())
                .unwrap_or(u64::MAX)
                .min(settings.max_backoff_ms)
        });
        i64::try_from(backoff.max(asked)).unwrap_or(i64::MAX / 4)
    };
    match outcome {
        CallOutcome::Delivered { .. } => AttemptResult::Delivered,
        CallOutcome::Refused { reason, .. } => AttemptResult::Dead { error: reason },
        CallOutcome::Throttled {
            reason,
            retry_after,
            scope,
            ..
        } => {
            let until = now_ms.saturating_add(wait_ms(retry_after));
            let pause = match scope {
                ThrottleScope::Tenant => Pause {
                    tenant_id: Some(claimed.tenant_id.0),
                    until_ms: until,
                },
                ThrottleScope::Partner => Pause {
                    tenant_id: None,
                    until_ms: until,
                },
            };
            // Only Ashby's throttles pause others: a vendor endpoint's 429 holds back
            // this delivery alone.
            let to_ashby = claimed.kind != DeliveryKind::VendorWebhook;
            AttemptResult::Throttled {
                next_attempt_at_ms: until,
                error: reason,
                pause: to_ashby.then_some(pause),
            }
        }
        CallOutcome::Retry {
            reason,
            retry_after,
            ..
        } => {
            if settings.max_attempts > 0 && failed >= settings.max_attempts {
                return AttemptResult::Dead {
                    error: format!("gave up after {failed} attempts: {reason}"),
                };
            }
            let failing_since = claimed.failing_since_ms.unwrap_or(now_ms);
            if let Some(retry_for) = settings.retry_for {
                let limit = i64::try_from(retry_for.as_millis()).unwrap_or(i64::MAX);
                if now_ms.saturating_sub(failing_since) >= limit {
                    return AttemptResult::Dead {
                        error: format!(
                            "gave up after failing for {}: {reason}",
                            humantime::format_duration(retry_for)
                        ),
                    };
                }
            }
            AttemptResult::RetryAt {
                next_attempt_at_ms: now_ms.saturating_add(wait_ms(retry_after)),
                error: reason,
            }
        }
    }
}

/// One line per attempt, each naming the delivery, its tenant and its assessment, so an
/// operator can follow one customer's or one candidate's messages in the logs.
fn log_attempt(claimed: &Delivery, result: &AttemptResult) {
    let (id, kind, attempt) = (claimed.id, claimed.kind.as_str(), claimed.attempts + 1);
    let (tenant_id, assessment_id) = (claimed.tenant_id, claimed.assessment_id);
    match result {
        AttemptResult::Delivered => {
            tracing::info!(delivery_id = %id, %tenant_id, %assessment_id, kind, attempt, "delivered")
        }
        AttemptResult::RetryAt {
            error,
            next_attempt_at_ms,
        } => {
            tracing::warn!(delivery_id = %id, %tenant_id, %assessment_id, kind, attempt, %error, next_attempt_at_ms, "delivery failed; will retry");
        }
        AttemptResult::Throttled {
            error,
            next_attempt_at_ms,
            pause,
        } => {
            let partner_wide = pause.as_ref().is_some_and(|p| p.tenant_id.is_none());
            tracing::warn!(delivery_id = %id, %tenant_id, %assessment_id, kind, %error, next_attempt_at_ms, partner_wide, "throttled; holding back until then");
        }
        AttemptResult::Dead { error } => {
            tracing::error!(delivery_id = %id, %tenant_id, %assessment_id, kind, attempt, %error, "delivery dead; replay with `deliveries retry`");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DeliverySettings {
        DeliverySettings {
            retry_for: Some(Duration::from_secs(3600)),
            max_attempts: 3,
            initial_backoff_ms: 1000,
            max_backoff_ms: 60_000,
            request_timeout_ms: 1000,
            concurrency: 4,
        }
    }

    /// A claimed delivery to Ashby that has failed `attempts` times, since `failing_since`.
    fn claimed(attempts: i32, failing_since_ms: Option<i64>) -> Delivery {
        Delivery {
            id: crate::domain::ids::DeliveryId(Uuid::nil()),
            kind: DeliveryKind::AshbyUpdate,
            tenant_id: crate::domain::ids::TenantId(Uuid::from_u128(7)),
            assessment_id: crate::domain::ids::AssessmentId(Uuid::nil()),
            position: 0,
            status: crate::domain::delivery::DeliveryStatus::Pending,
            attempts,
            next_attempt_at_ms: 0,
            lease_until_ms: None,
            lease_owner: None,
            last_error: None,
            payload: serde_json::Value::Null,
            created_at_ms: 0,
            updated_at_ms: 0,
            delivered_at_ms: None,
            idempotency_key: None,
            request_fingerprint: None,
            failing_since_ms,
            trace_parent: None,
        }
    }

    fn retry(after: Option<Duration>) -> CallOutcome {
        CallOutcome::Retry {
            status: Some(503),
            reason: "HTTP 503".into(),
            retry_after: after,
        }
    }

    fn throttled(scope: ThrottleScope) -> CallOutcome {
        CallOutcome::Throttled {
            status: Some(429),
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(30)),
            scope,
        }
    }

    #[test]
    fn a_retryable_failure_is_retried_after_the_backoff() {
        let result = attempt_result(retry(None), &claimed(1, None), &settings(), 10_000, 1.0);
        assert_eq!(
            result,
            AttemptResult::RetryAt {
                next_attempt_at_ms: 12_000,
                error: "HTTP 503".into()
            }
        );
    }

    #[test]
    fn retry_after_wins_over_a_shorter_backoff() {
        let result = attempt_result(
            retry(Some(Duration::from_secs(30))),
            &claimed(0, None),
            &settings(),
            0,
            1.0,
        );
        assert!(matches!(
            result,
            AttemptResult::RetryAt {
                next_attempt_at_ms: 30_000,
                ..
            }
        ));
    }

    #[test]
    fn retry_after_is_capped_at_the_longest_backoff() {
        let result = attempt_result(
            retry(Some(Duration::from_secs(86_400 * 365))),
            &claimed(0, None),
            &settings(),
            0,
            1.0,
        );
        assert!(matches!(
            result,
            AttemptResult::RetryAt {
                next_attempt_at_ms: 60_000,
                ..
            }
        ));
    }

    #[test]
    fn the_last_allowed_attempt_failing_makes_the_delivery_dead() {
        let result = attempt_result(retry(None), &claimed(2, Some(0)), &settings(), 0, 0.5);
        assert_eq!(
            result,
            AttemptResult::Dead {
                error: "gave up after 3 attempts: HTTP 503".into()
            }
        );
    }

    #[test]
    fn without_an_attempt_cap_a_failure_goes_dead_once_it_has_failed_for_retry_for() {
        let settings = DeliverySettings {
            max_attempts: 0,
            ..settings()
        };
        let hour = 3_600_000;
        let still_young = attempt_result(
            retry(None),
            &claimed(500, Some(0)),
            &settings,
            hour - 1,
            0.5,
        );
        assert!(
            matches!(still_young, AttemptResult::RetryAt { .. }),
            "{still_young:?}"
        );
        let too_old = attempt_result(retry(None), &claimed(500, Some(0)), &settings, hour, 0.5);
        assert_eq!(
            too_old,
            AttemptResult::Dead {
                error: "gave up after failing for 1h: HTTP 503".into()
            }
        );
        // The clock starts at the first failure, not at creation.
        let first = attempt_result(retry(None), &claimed(0, None), &settings, 10 * hour, 0.5);
        assert!(matches!(first, AttemptResult::RetryAt { .. }), "{first:?}");
    }

    #[test]
    fn throttling_never_kills_and_pauses_the_tenant_or_the_partner() {
        // Far past both the attempt cap and retry_for: still only a wait.
        for (scope, tenant) in [
            (ThrottleScope::Tenant, Some(Uuid::from_u128(7))),
            (ThrottleScope::Partner, None),
        ] {
            let result = attempt_result(
                throttled(scope),
                &claimed(99, Some(0)),
                &settings(),
                10_000_000,
                0.0,
            );
            assert_eq!(
                result,
                AttemptResult::Throttled {
                    next_attempt_at_ms: 10_030_000,
                    error: "HTTP 429".into(),
                    pause: Some(Pause {
                        tenant_id: tenant,
                        until_ms: 10_030_000
                    }),
                }
            );
        }
    }

    #[test]
    fn a_vendor_endpoint_throttling_holds_back_only_its_own_webhook() {
        let webhook = Delivery {
            kind: DeliveryKind::VendorWebhook,
            ..claimed(0, None)
        };
        let result = attempt_result(
            throttled(ThrottleScope::Tenant),
            &webhook,
            &settings(),
            0,
            0.0,
        );
        assert!(
            matches!(result, AttemptResult::Throttled { pause: None, .. }),
            "{result:?}"
        );
    }

    #[test]
    fn a_refusal_is_dead_at_once_with_its_reason() {
        let refused = CallOutcome::Refused {
            status: Some(401),
            reason: "HTTP 401".into(),
        };
        assert_eq!(
            attempt_result(refused, &claimed(0, None), &settings(), 0, 0.5),
            AttemptResult::Dead {
                error: "HTTP 401".into()
            }
        );
    }
}
