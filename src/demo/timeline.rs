//! What happened when, across the demo's actors, printed at the end.

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// When, who, what.
type Event = (Instant, &'static str, String);

#[derive(Clone)]
pub struct Timeline {
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Timeline {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            events: Arc::default(),
        }
    }

    pub fn note(&self, at: Instant, actor: &'static str, what: String) {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((at, actor, what));
    }

    /// The events in time order, one line each.
    pub fn render(&self) -> String {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        events.sort_by_key(|(at, _, _)| *at);
        events
            .iter()
            .map(|(at, actor, what)| {
                let t = at.duration_since(self.start).as_secs_f64();
                format!("  +{t:>7.3}s  {actor:<18} {what}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
