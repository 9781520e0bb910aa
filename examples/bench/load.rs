//! The load generator: a fixed number of requests through a bounded number of concurrent
//! clients (tokio tasks sharing one keep-alive connection pool), each timing its own
//! requests. The same generator drives every phase, so the rates compare.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What one phase measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub requests: usize,
    /// Requests whose answer was not the expected one (counted, still timed).
    pub errors: usize,
    pub elapsed: Duration,
    /// Sorted, shortest first.
    pub latencies: Vec<Duration>,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let requests = self.requests as f64;
        requests / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0..=1), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        quantile(&self.latencies, q)
    }

    pub fn summary(&self) -> Throughput {
        Throughput {
            requests: self.requests,
            errors: self.errors,
            per_second: self.rate(),
            p50_ms: ms(self.quantile(0.50)),
            p99_ms: ms(self.quantile(0.99)),
        }
    }
}

/// A phase's figures as reported.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Throughput {
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Nearest-rank quantile of sorted durations; zero when there are none.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Runs `task(n)` for n in 0..total, `concurrency` at a time; `task` answers whether the
/// request got the expected answer.
pub async fn run<F, Fut>(total: usize, concurrency: usize, task: F) -> Measured
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let task = Arc::new(task);
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let clients: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (task, next) = (Arc::clone(&task), Arc::clone(&next));
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        break;
                    }
                    let started = Instant::now();
                    if !task(n).await {
                        errors += 1;
                    }
                    latencies.push(started.elapsed());
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut measured = Measured {
        requests: total,
        ..Measured::default()
    };
    for client in clients {
        let (latencies, errors) = client.await.expect("a load client panicked");
        measured.latencies.extend(latencies);
        measured.errors += errors;
    }
    measured.elapsed = began.elapsed();
    measured.latencies.sort();
    measured
}
