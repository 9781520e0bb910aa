//! The delivery engine: workers that claim due outbox rows with a lease, send them,
//! record each attempt, and back off, keeping per-assessment order (see docs/delivery.md).

mod backoff;
mod coalesced;
mod engine;
mod sender;
pub mod webhook;

pub use backoff::backoff_ms;
pub use engine::{DeliveryEngine, StepReport};
pub use sender::{Sender, SenderError};

use std::sync::Arc;

use tokio::sync::Notify;

/// Wakes idle workers right after new deliveries are committed, so an idle system
/// delivers at once instead of at the next poll.
#[derive(Clone, Default)]
pub struct DeliveryWaker(Arc<Notify>);

impl DeliveryWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}
