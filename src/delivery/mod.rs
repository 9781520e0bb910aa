//! The delivery engine: workers that claim due outbox rows with a lease, send them,
//! record each attempt, and back off, keeping per-assessment order (see docs/delivery.md).

mod backoff;
mod engine;
mod sender;
pub mod webhook;

pub use backoff::backoff_ms;
pub use engine::{DeliveryEngine, StepReport};
pub use sender::{Prepared, SendInputs, Sender, SenderError};

use std::sync::Arc;

use tokio::sync::Notify;

/// Wakes idle workers right after new deliveries are committed, so an idle system
/// delivers at once instead of at the next poll.
///
/// A relayed waker ([`Self::relayed`]) keeps the threads that wake apart from the workers
/// woken: `wake` notifies a relay ([`Self::relay`]), which notifies the workers. That is
/// for workers on threads of lower priority (see [`crate::background`]): waking a task
/// schedules it on its runtime, under that runtime's locks, and a request thread must not
/// wait for a lock held by a lower-priority thread the kernel keeps waiting (priority
/// inversion). The relay, on a runtime of the requests' priority, does that waiting.
#[derive(Clone, Default)]
pub struct DeliveryWaker {
    /// What [`Self::wake`] notifies.
    raised: Arc<Notify>,
    /// What the workers wait on when relayed; otherwise they wait on `raised`.
    relayed_to: Option<Arc<Notify>>,
}

impl DeliveryWaker {
    /// A waker whose wakes reach the workers only while [`Self::relay`] runs.
    pub fn relayed() -> Self {
        Self {
            raised: Arc::default(),
            relayed_to: Some(Arc::default()),
        }
    }

    pub fn wake(&self) {
        self.raised.notify_one();
    }

    /// Passes every wake on to the workers, for as long as it runs (until dropped); ends
    /// at once for a waker that is not relayed.
    pub async fn relay(self) {
        let Some(workers) = self.relayed_to else {
            return;
        };
        loop {
            self.raised.notified().await;
            workers.notify_one();
        }
    }

    async fn woken(&self) {
        self.relayed_to
            .as_ref()
            .unwrap_or(&self.raised)
            .notified()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::FutureExt as _;

    use super::DeliveryWaker;

    #[tokio::test]
    async fn a_wake_reaches_the_workers_directly_or_only_through_the_relay() {
        let direct = DeliveryWaker::default();
        direct.wake();
        assert!(direct.woken().now_or_never().is_some(), "heard at once");

        let relayed = DeliveryWaker::relayed();
        relayed.wake();
        assert!(
            relayed.woken().now_or_never().is_none(),
            "heard without the relay"
        );
        let relay = tokio::spawn(relayed.clone().relay());
        tokio::time::timeout(Duration::from_secs(10), relayed.woken())
            .await
            .expect("the relay passed the wake on");
        relay.abort();
        // Ends at once when there is nothing to relay.
        DeliveryWaker::default().relay().await;
    }
}
