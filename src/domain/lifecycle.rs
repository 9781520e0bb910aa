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

use super::report::StatusReport;
pub use super::status::AssessmentStatus;
use super::vendor_event::VendorEvent;

/// Who caused a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'a> {
    /// Ashby called `assessment.cancel`.
    CancelledByAshby,
    /// The vendor's engine reported progress, a result, a cancellation or an expiry.
    Vendor(&'a VendorEvent),
    /// Nothing happened to an open assessment for `vendor.expire_after`.
    ExpiredForInactivity,
    /// Ashby told us by webhook that the assessment has no point any more (the candidate
    /// was deleted, the application archived or hired). Nothing goes back to Ashby.
    EndedInAshby(EndReason),
}

/// Why Ashby's webhook ended an assessment; the vendor's `assessment.cancelled` carries
/// it as `data.reason` (CONTRACT §7, §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    CandidateDeleted,
    ApplicationArchived,
    ApplicationHired,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CandidateDeleted => "candidate_deleted",
            Self::ApplicationArchived => "application_archived",
            Self::ApplicationHired => "application_hired",
        }
    }
}

/// A message a transition sends out, written to the outbox with the state change.
#[derive(Debug, Clone, PartialEq)]
pub enum Emission {
    /// A status report to the ATS (for Ashby, an `assessment.update`); the service adds
    /// the assessment and the timestamp.
    StatusReport(Box<StatusReport>),
    /// A webhook to the vendor's engine (sent only when `vendor.webhook_url` is set).
    VendorWebhook(WebhookEvent),
}

/// What a vendor webhook announces (CONTRACT §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookEvent {
    /// Ashby started an assessment: the vendor should invite the candidate.
    Started,
    /// Ashby cancelled it: the vendor should stop it.
    Cancelled,
    /// It expired for inactivity: the vendor should stop it.
    Expired,
    /// Ashby's webhook ended it, for this reason: the vendor should stop it.
    CancelledFor(EndReason),
}

impl WebhookEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "assessment.started",
            Self::Cancelled | Self::CancelledFor(_) => "assessment.cancelled",
            Self::Expired => "assessment.expired",
        }
    }

    /// The reason the webhook's `data` carries, when it has one.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::CancelledFor(reason) => Some(reason.as_str()),
            Self::Started | Self::Cancelled | Self::Expired => None,
        }
    }
}

/// A change to apply: the new status, the history entry recording it, what it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub to: AssessmentStatus,
    pub history: HistoryEntry,
    pub emissions: Vec<Emission>,
}

/// What an event does to an assessment in a given status.
#[derive(Debug, Clone, PartialEq)]
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
    #[error("the assessment is already {}, which is final", .0.as_str())]
    Final(AssessmentStatus),
}

/// The first status of every assessment, recorded when Ashby starts it. Ashby learns it
/// from the start answer itself; the vendor is told with a webhook.
pub fn start(at_ms: i64) -> Transition {
    Transition {
        to: AssessmentStatus::Started,
        history: HistoryEntry {
            status: AssessmentStatus::Started,
            at_ms,
            source: Source::Ashby,
        },
        emissions: vec![Emission::VendorWebhook(WebhookEvent::Started)],
    }
}

/// Decides what `event` does to an assessment that is `current`. `terminal_event` is
/// the vendor event that ended it, if a vendor event did.
///
/// # Errors
/// [`Refusal`] when the event is not allowed in `current`.
pub fn decide(
    current: AssessmentStatus,
    event: Event<'_>,
    at_ms: i64,
    terminal_event: Option<&VendorEvent>,
) -> Result<Decision, Refusal> {
    use AssessmentStatus::*;
    match (event, current) {
        // Ashby asked for the cancel: nothing goes back to Ashby; the vendor is told.
        (Event::CancelledByAshby, Started | InProgress) => Ok(Decision::Apply(Transition {
            to: Cancelled,
            history: HistoryEntry {
                status: Cancelled,
                at_ms,
                source: Source::Ashby,
            },
            emissions: vec![Emission::VendorWebhook(WebhookEvent::Cancelled)],
        })),
        // Ashby wants it stopped, and it already is: nothing to do, and nothing to refuse.
        (Event::CancelledByAshby, Cancelled | Expired) => Ok(Decision::AlreadyDone),
        (Event::CancelledByAshby, Completed) => Err(Refusal::AlreadyCompleted),
        // Nobody reported on it for too long: both sides are told it expired.
        (Event::ExpiredForInactivity, Started | InProgress) => Ok(Decision::Apply(Transition {
            to: Expired,
            history: HistoryEntry {
                status: Expired,
                at_ms,
                source: Source::System,
            },
            emissions: vec![
                Emission::StatusReport(Box::new(StatusReport::status_only(Expired))),
                Emission::VendorWebhook(WebhookEvent::Expired),
            ],
        })),
        // It ended meanwhile (another replica expired it, or an event ended it).
        (Event::ExpiredForInactivity, Completed | Cancelled | Expired) => Ok(Decision::AlreadyDone),
        // Ashby's webhook: the vendor is told why; nothing goes back to Ashby.
        (Event::EndedInAshby(reason), Started | InProgress) => Ok(Decision::Apply(Transition {
            to: Cancelled,
            history: HistoryEntry {
                status: Cancelled,
                at_ms,
                source: Source::Ashby,
            },
            emissions: vec![Emission::VendorWebhook(WebhookEvent::CancelledFor(reason))],
        })),
        // Already over, however it ended: the webhook (or Ashby's retry of it) has
        // nothing left to stop, and a webhook is not a request that could be refused.
        (Event::EndedInAshby(_), Completed | Cancelled | Expired) => Ok(Decision::AlreadyDone),
        (Event::Vendor(vendor), Started | InProgress) => {
            let to = vendor.status.status();
            Ok(Decision::Apply(Transition {
                to,
                history: HistoryEntry {
                    status: to,
                    at_ms,
                    source: Source::Vendor,
                },
                emissions: vec![Emission::StatusReport(Box::new(
                    StatusReport::of_vendor_event(vendor),
                ))],
            }))
        }
        (Event::Vendor(vendor), Completed | Cancelled | Expired) => {
            if terminal_event == Some(vendor) {
                Ok(Decision::AlreadyDone)
            } else {
                Err(Refusal::Final(current))
            }
        }
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
    fn a_start_records_started_by_ashby_and_tells_the_vendor() {
        let transition = start(42);
        assert_eq!(transition.to, Started);
        assert_eq!(
            transition.emissions,
            [Emission::VendorWebhook(WebhookEvent::Started)]
        );
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
            let decision = decide(current, Event::CancelledByAshby, 7, None).unwrap();
            assert_eq!(
                decision,
                Decision::Apply(Transition {
                    to: Cancelled,
                    history: HistoryEntry {
                        status: Cancelled,
                        at_ms: 7,
                        source: Source::Ashby
                    },
                    emissions: vec![Emission::VendorWebhook(WebhookEvent::Cancelled)],
                })
            );
        }
    }

    #[test]
    fn cancelling_an_ended_assessment_changes_nothing() {
        for current in [Cancelled, Expired] {
            assert_eq!(
                decide(current, Event::CancelledByAshby, 7, None),
                Ok(Decision::AlreadyDone)
            );
        }
    }

    #[test]
    fn an_inactive_open_assessment_expires_telling_both_sides_once() {
        for current in [Started, InProgress] {
            let transition = applied(decide(current, Event::ExpiredForInactivity, 5, None));
            assert_eq!(transition.to, Expired);
            assert_eq!(transition.history.source, Source::System);
            assert_eq!(
                transition.emissions,
                [
                    Emission::StatusReport(Box::new(StatusReport::status_only(Expired))),
                    Emission::VendorWebhook(WebhookEvent::Expired),
                ]
            );
        }
        for current in [Completed, Cancelled, Expired] {
            assert_eq!(
                decide(current, Event::ExpiredForInactivity, 5, None),
                Ok(Decision::AlreadyDone)
            );
        }
    }

    #[test]
    fn a_completed_assessment_cannot_be_cancelled() {
        assert_eq!(
            decide(Completed, Event::CancelledByAshby, 7, None),
            Err(Refusal::AlreadyCompleted)
        );
    }

    #[test]
    fn ashby_webhooks_cancel_open_assessments_with_their_reason() {
        for reason in [
            EndReason::CandidateDeleted,
            EndReason::ApplicationArchived,
            EndReason::ApplicationHired,
        ] {
            for current in [Started, InProgress] {
                let transition = applied(decide(current, Event::EndedInAshby(reason), 7, None));
                assert_eq!(transition.to, Cancelled);
                assert_eq!(transition.history.source, Source::Ashby);
                assert_eq!(
                    transition.emissions,
                    [Emission::VendorWebhook(WebhookEvent::CancelledFor(reason))]
                );
            }
            for current in [Completed, Cancelled, Expired] {
                assert_eq!(
                    decide(current, Event::EndedInAshby(reason), 7, None),
                    Ok(Decision::AlreadyDone)
                );
            }
        }
        assert_eq!(
            WebhookEvent::CancelledFor(EndReason::ApplicationHired).reason(),
            Some("application_hired")
        );
        assert_eq!(WebhookEvent::Cancelled.reason(), None);
    }

    fn vendor(body: serde_json::Value) -> VendorEvent {
        let body: crate::domain::vendor_event::VendorEventBody =
            serde_json::from_value(body).unwrap();
        VendorEvent::try_from(body).unwrap()
    }

    fn applied(decision: Result<Decision, Refusal>) -> Transition {
        match decision {
            Ok(Decision::Apply(transition)) => transition,
            other => panic!("expected a transition, got {other:?}"),
        }
    }

    fn report_of(transition: &Transition) -> &StatusReport {
        let [Emission::StatusReport(report)] = transition.emissions.as_slice() else {
            panic!("expected one status report, got {:?}", transition.emissions);
        };
        report
    }

    #[test]
    fn progress_is_reported_as_in_progress_with_its_metadata_and_may_repeat() {
        let event = vendor(serde_json::json!({"status": "in_progress", "metadata": [
            {"identifier": "eta", "label": "ETA", "type": "numeric_duration_minutes", "value": 30}
        ]}));
        for current in [Started, InProgress] {
            let transition = applied(decide(current, Event::Vendor(&event), 9, None));
            assert_eq!(transition.to, InProgress);
            assert_eq!(transition.history.source, Source::Vendor);
            let report = report_of(&transition);
            assert_eq!(report.status, InProgress);
            assert_eq!(report.metadata, event.metadata);
            assert_eq!((&report.result, &report.reason), (&None, &None));
        }
    }

    #[test]
    fn a_completion_reports_status_result_and_profile_url() {
        let event = vendor(serde_json::json!({
            "status": "completed",
            "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 88},
            "profile_url": "https://tests.example/r/1"
        }));
        let transition = applied(decide(InProgress, Event::Vendor(&event), 9, None));
        assert_eq!(transition.to, Completed);
        let report = report_of(&transition);
        assert_eq!(report.status, Completed);
        assert_eq!(report.result, event.result);
        assert_eq!(
            report.profile_url.as_deref(),
            Some("https://tests.example/r/1")
        );
    }

    #[test]
    fn vendor_cancellations_and_expiries_report_their_reason() {
        let cases = [
            (serde_json::json!({"status": "cancelled"}), Cancelled, None),
            (serde_json::json!({"status": "expired"}), Expired, None),
            (
                serde_json::json!({"status": "cancelled", "reason": "Candidate withdrew"}),
                Cancelled,
                Some("Candidate withdrew"),
            ),
        ];
        for (body, status, reason) in cases {
            let event = vendor(body);
            let transition = applied(decide(Started, Event::Vendor(&event), 9, None));
            assert_eq!(transition.to, status);
            assert_eq!(report_of(&transition).status, status);
            assert_eq!(report_of(&transition).reason.as_deref(), reason);
        }
    }

    #[test]
    fn terminal_states_are_final_except_for_an_exact_repeat() {
        let done = vendor(serde_json::json!({"status": "expired"}));
        let other = vendor(serde_json::json!({"status": "expired", "reason": "late"}));
        let progress = vendor(serde_json::json!({"status": "in_progress"}));
        assert_eq!(
            decide(Expired, Event::Vendor(&done), 9, Some(&done)),
            Ok(Decision::AlreadyDone)
        );
        assert_eq!(
            decide(Expired, Event::Vendor(&other), 9, Some(&done)),
            Err(Refusal::Final(Expired))
        );
        for current in [Completed, Cancelled, Expired] {
            assert_eq!(
                decide(current, Event::Vendor(&progress), 9, None),
                Err(Refusal::Final(current))
            );
        }
    }
}
