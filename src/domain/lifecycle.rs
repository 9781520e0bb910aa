//! The assessment state machine: which status changes are allowed, and the history
//! entry each one records. Handlers ask [`decide`]; they never re-decide transitions.
//!
//! ```text
//!            ┌────────── in_progress ◄─┐ (repeats: progress updates)
//!            │               │  └──────┘
//! started ───┼───────────────┼──► completed
//!            │               ├──► cancelled   (by Ashby or by the vendor)
//!            └───────────────┴──► expired
//! ```
//! `completed`, `cancelled` and `expired` are terminal.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentStatus {
    Started,
    InProgress,
    Completed,
    Cancelled,
    Expired,
}

impl AssessmentStatus {
    pub const ALL: [Self; 5] = [
        Self::Started,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
        Self::Expired,
    ];

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// The value of the `status` data block Ashby shows for this status.
    pub fn ashby_label(self) -> &'static str {
        match self {
            Self::Started => "Started",
            Self::InProgress => "In Progress",
            Self::Completed => "Completed",
            Self::Cancelled => "Cancelled",
            Self::Expired => "Expired",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// A terminal assessment never changes again; a new start makes a new one (a retake).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled | Self::Expired)
    }
}

/// Who caused a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Ashby,
    Vendor,
    System,
}

/// One line of an assessment's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub status: AssessmentStatus,
    pub at_ms: i64,
    pub source: Source,
}

/// Something that asks an assessment to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Ashby called `assessment.cancel`.
    CancelledByAshby,
}

/// A change to apply: the new status and the history entry recording it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub to: AssessmentStatus,
    pub history: HistoryEntry,
}

/// What an event does to an assessment in a given status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Apply(Transition),
    /// The event asks for what already holds (a repeat): succeed, change nothing.
    AlreadyDone,
}

/// Why an event cannot apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the assessment is already completed")]
    AlreadyCompleted,
}

/// The first status of every assessment, recorded when Ashby starts it.
pub fn start(at_ms: i64) -> Transition {
    Transition {
        to: AssessmentStatus::Started,
        history: HistoryEntry {
            status: AssessmentStatus::Started,
            at_ms,
            source: Source::Ashby,
        },
    }
}

/// Decides what `event` does to an assessment that is `current`.
///
/// # Errors
/// [`Refusal`] when the event is not allowed in `current`.
pub fn decide(current: AssessmentStatus, event: Event, at_ms: i64) -> Result<Decision, Refusal> {
    use AssessmentStatus::*;
    match (event, current) {
        (Event::CancelledByAshby, Started | InProgress) => Ok(Decision::Apply(Transition {
            to: Cancelled,
            history: HistoryEntry {
                status: Cancelled,
                at_ms,
                source: Source::Ashby,
            },
        })),
        // Ashby wants it stopped, and it already is: nothing to do, and nothing to refuse.
        (Event::CancelledByAshby, Cancelled | Expired) => Ok(Decision::AlreadyDone),
        (Event::CancelledByAshby, Completed) => Err(Refusal::AlreadyCompleted),
    }
}

#[cfg(test)]
mod tests {
    use super::AssessmentStatus::*;
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_spelling() {
        for status in AssessmentStatus::ALL {
            assert_eq!(AssessmentStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, status.as_str());
        }
        assert_eq!(AssessmentStatus::parse("done"), None);
    }

    #[test]
    fn exactly_completed_cancelled_and_expired_are_terminal() {
        let terminal: Vec<_> = AssessmentStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, vec![Completed, Cancelled, Expired]);
    }

    #[test]
    fn a_start_records_started_by_ashby() {
        let transition = start(42);
        assert_eq!(transition.to, Started);
        assert_eq!(
            transition.history,
            HistoryEntry {
                status: Started,
                at_ms: 42,
                source: Source::Ashby
            }
        );
    }

    #[test]
    fn ashby_can_cancel_a_running_assessment() {
        for current in [Started, InProgress] {
            let decision = decide(current, Event::CancelledByAshby, 7).unwrap();
            assert_eq!(
                decision,
                Decision::Apply(Transition {
                    to: Cancelled,
                    history: HistoryEntry {
                        status: Cancelled,
                        at_ms: 7,
                        source: Source::Ashby
                    }
                })
            );
        }
    }

    #[test]
    fn cancelling_an_ended_assessment_changes_nothing() {
        for current in [Cancelled, Expired] {
            assert_eq!(
                decide(current, Event::CancelledByAshby, 7),
                Ok(Decision::AlreadyDone)
            );
        }
    }

    #[test]
    fn a_completed_assessment_cannot_be_cancelled() {
        assert_eq!(
            decide(Completed, Event::CancelledByAshby, 7),
            Err(Refusal::AlreadyCompleted)
        );
    }
}
