//! The one place that turns what the domain decided into Ashby's bodies: a neutral
//! [`StatusReport`] into `assessment.update` (CONTRACT §6), and a completed assessment
//! into `assessment.addCompletedToCandidate`.

use serde_json::Value;
use uuid::Uuid;

use super::wire::{AddCompletedRequest, CompletedAssessment, UpdateFields, UpdateRequest};
use crate::domain::data_block::DataBlock;
use crate::domain::ids::{AssessmentId, AssessmentTypeId};
use crate::domain::report::StatusReport;
use crate::domain::status::AssessmentStatus;

/// The value of the `status` data block Ashby shows for a status.
pub fn status_label(status: AssessmentStatus) -> &'static str {
    match status {
        AssessmentStatus::Started => "Started",
        AssessmentStatus::InProgress => "In Progress",
        AssessmentStatus::Completed => "Completed",
        AssessmentStatus::Cancelled => "Cancelled",
        AssessmentStatus::Expired => "Expired",
    }
}

// The identifiers below are data_block::SERVER_IDENTIFIERS, which vendors may not use.
fn status_block(status: AssessmentStatus) -> DataBlock {
    DataBlock::string("status", "Status", status_label(status))
}

fn profile_url_block(url: &str) -> DataBlock {
    DataBlock::url("profile_url", "Results", url)
}

/// What Ashby is told for a report: a running assessment shows its status (and where to
/// see it, when the vendor said); a completed one its result too; an ended one shows why
/// it ended, since `cancelled_reason` is what tells Ashby it is cancelled.
pub fn update_fields(report: &StatusReport) -> UpdateFields {
    let metadata = report.metadata.clone();
    match report.status {
        AssessmentStatus::Started | AssessmentStatus::InProgress => UpdateFields {
            assessment_status: Some(status_block(report.status)),
            assessment_profile_url: report.profile_url.as_deref().map(profile_url_block),
            metadata,
            ..UpdateFields::default()
        },
        AssessmentStatus::Completed => UpdateFields {
            assessment_status: Some(status_block(report.status)),
            assessment_result: report.result.clone(),
            assessment_profile_url: report.profile_url.as_deref().map(profile_url_block),
            metadata,
            ..UpdateFields::default()
        },
        AssessmentStatus::Cancelled | AssessmentStatus::Expired => {
            let default_reason = status_label(report.status);
            UpdateFields {
                cancelled_reason: Some(DataBlock::string(
                    "cancelled_reason",
                    "Reason",
                    report.reason.as_deref().unwrap_or(default_reason),
                )),
                metadata,
                ..UpdateFields::default()
            }
        }
    }
}

/// The body of `assessment.update` for a report about `assessment_id` at `timestamp`
/// (also the `update_request` of a start answer).
pub fn update_request(
    assessment_id: AssessmentId,
    timestamp: i64,
    report: &StatusReport,
) -> UpdateRequest {
    UpdateRequest {
        assessment_id,
        timestamp,
        fields: update_fields(report),
    }
}

/// Whom a completed assessment belongs to: Ashby's candidate id, or an email to look the
/// candidate up by (with `candidate.search`, when it is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateRef {
    Id(Uuid),
    Email(String),
}

/// Where the email of a candidate still to be looked up waits in a stored body.
pub const CANDIDATE_EMAIL_FIELD: &str = "candidateEmail";

/// An assessment finished outside Ashby's flow, to attach to a candidate.
pub struct CompletedOutsideAshby {
    pub candidate: CandidateRef,
    pub assessment_type_id: AssessmentTypeId,
    pub assessment_id: AssessmentId,
    pub assessment_name: String,
    pub result: DataBlock,
    pub metadata: Vec<DataBlock>,
    pub completed_at_ms: i64,
}

/// The body of `assessment.addCompletedToCandidate`. For a candidate known only by email
/// the body holds `candidateEmail` instead of `candidateId`: [`with_candidate_id`] completes
/// it once the candidate is found.
pub fn add_completed_request(partner_id: Uuid, completed: CompletedOutsideAshby) -> Value {
    let candidate_id = match &completed.candidate {
        CandidateRef::Id(id) => *id,
        CandidateRef::Email(_) => Uuid::nil(),
    };
    let request = AddCompletedRequest {
        candidate_id,
        partner_id,
        timestamp: completed.completed_at_ms,
        assessment: CompletedAssessment {
            assessment_type_id: completed.assessment_type_id,
            assessment_id: completed.assessment_id,
            assessment_name: completed.assessment_name,
            result: completed.result,
            metadata: completed.metadata,
        },
    };
    let mut body = serde_json::to_value(request).unwrap_or(Value::Null);
    if let (CandidateRef::Email(email), Some(fields)) = (completed.candidate, body.as_object_mut())
    {
        fields.remove("candidateId");
        fields.insert(CANDIDATE_EMAIL_FIELD.into(), Value::String(email));
    }
    body
}

/// The email of the candidate a stored body still has to look up, if any.
pub fn candidate_email_to_resolve(body: &Value) -> Option<&str> {
    body.get(CANDIDATE_EMAIL_FIELD).and_then(Value::as_str)
}

/// The body to send, once the candidate a stored body named by email is found.
pub fn with_candidate_id(body: &Value, candidate_id: Uuid) -> Value {
    let mut body = body.clone();
    if let Some(fields) = body.as_object_mut() {
        fields.remove(CANDIDATE_EMAIL_FIELD);
        fields.insert(
            "candidateId".into(),
            Value::String(candidate_id.to_string()),
        );
    }
    body
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_candidate_known_by_email_is_completed_once_found() {
        let stored = add_completed_request(
            Uuid::from_u128(1),
            CompletedOutsideAshby {
                candidate: CandidateRef::Email("ada@example.com".into()),
                assessment_type_id: AssessmentTypeId(Uuid::from_u128(3)),
                assessment_id: AssessmentId(Uuid::from_u128(4)),
                assessment_name: "Backend take-home".into(),
                result: block(
                    json!({"identifier": "score", "label": "Score", "type": "numeric_score", "value": 88}),
                ),
                metadata: vec![],
                completed_at_ms: 1_700_000_000_000,
            },
        );
        assert_eq!(candidate_email_to_resolve(&stored), Some("ada@example.com"));
        assert!(stored.get("candidateId").is_none());

        let sent = with_candidate_id(&stored, Uuid::from_u128(2));

        assert_eq!(candidate_email_to_resolve(&sent), None);
        assert_eq!(sent["candidateId"], json!(Uuid::from_u128(2)));
        assert_valid(
            include_str!(
                "../../tests/ashby-schemas/assessment.addCompletedToCandidate.request.json"
            ),
            &sent,
        );
    }

    fn block(value: Value) -> DataBlock {
        serde_json::from_value(value).unwrap()
    }

    fn report(status: AssessmentStatus) -> StatusReport {
        StatusReport::status_only(status)
    }

    /// Checks `body` against Ashby's own schema of the request it is sent as.
    fn assert_valid(schema: &str, body: &Value) {
        let schema: Value = serde_json::from_str(schema).unwrap();
        let validator = jsonschema::options().build(&schema).unwrap();
        let problems: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
        assert!(problems.is_empty(), "{body} is not valid: {problems:?}");
    }

    fn update_body(report: &StatusReport) -> Value {
        let body = serde_json::to_value(update_request(
            AssessmentId(Uuid::nil()),
            1_700_000_000_000,
            report,
        ))
        .unwrap();
        assert_valid(
            include_str!("../../tests/ashby-schemas/assessment.update.request.json"),
            &body,
        );
        body
    }

    #[test]
    fn progress_is_sent_as_in_progress_with_its_metadata() {
        let eta = json!({"identifier": "eta", "label": "ETA", "type": "numeric_duration_minutes", "value": 30});
        let body = update_body(&StatusReport {
            metadata: vec![block(eta.clone())],
            ..report(AssessmentStatus::InProgress)
        });
        assert_eq!(
            body,
            json!({
                "assessment_id": Uuid::nil(),
                "timestamp": 1_700_000_000_000_i64,
                "assessment_status": {"identifier": "status", "label": "Status", "type": "string", "value": "In Progress"},
                "metadata": [eta]
            })
        );
    }

    #[test]
    fn a_profile_url_given_with_progress_is_sent_too() {
        let body = update_body(&StatusReport {
            profile_url: Some("https://tests.example/live/1".into()),
            ..report(AssessmentStatus::InProgress)
        });
        assert_eq!(body["assessment_status"]["value"], "In Progress");
        assert_eq!(
            body["assessment_profile_url"]["value"],
            "https://tests.example/live/1"
        );
        assert_eq!(body["assessment_profile_url"]["type"], "url");
    }

    #[test]
    fn a_completion_is_sent_with_status_result_and_profile_url() {
        let score =
            json!({"identifier": "score", "label": "Score", "type": "numeric_score", "value": 88});
        let body = update_body(&StatusReport {
            result: Some(block(score.clone())),
            profile_url: Some("https://tests.example/r/1".into()),
            ..report(AssessmentStatus::Completed)
        });
        assert_eq!(body["assessment_status"]["value"], "Completed");
        assert_eq!(body["assessment_result"], score);
        assert_eq!(
            body["assessment_profile_url"],
            json!({"identifier": "profile_url", "label": "Results", "type": "url", "value": "https://tests.example/r/1"})
        );
    }

    #[test]
    fn an_ended_assessment_is_sent_with_its_reason_or_a_default_one() {
        let cases = [
            (AssessmentStatus::Cancelled, None, "Cancelled"),
            (AssessmentStatus::Expired, None, "Expired"),
            (
                AssessmentStatus::Cancelled,
                Some("Candidate withdrew"),
                "Candidate withdrew",
            ),
        ];
        for (status, reason, sent) in cases {
            let body = update_body(&StatusReport {
                reason: reason.map(Into::into),
                ..report(status)
            });
            assert_eq!(body["cancelled_reason"]["value"], sent);
            assert!(body.get("assessment_status").is_none(), "{body}");
        }
    }

    #[test]
    fn the_start_answer_reports_started() {
        let body = update_body(&report(AssessmentStatus::Started));
        assert_eq!(body["assessment_status"]["value"], "Started");
    }

    #[test]
    fn a_completed_assessment_outside_ashby_matches_ashbys_schema() {
        let body = add_completed_request(
            Uuid::from_u128(1),
            CompletedOutsideAshby {
                candidate: CandidateRef::Id(Uuid::from_u128(2)),
                assessment_type_id: AssessmentTypeId(Uuid::from_u128(3)),
                assessment_id: AssessmentId(Uuid::from_u128(4)),
                assessment_name: "Backend take-home".into(),
                result: block(
                    json!({"identifier": "score", "label": "Score", "type": "numeric_score", "value": 88}),
                ),
                metadata: vec![],
                completed_at_ms: 1_700_000_000_000,
            },
        );
        let body = serde_json::to_value(body).unwrap();
        assert_valid(
            include_str!(
                "../../tests/ashby-schemas/assessment.addCompletedToCandidate.request.json"
            ),
            &body,
        );
        assert_eq!(body["partnerId"], json!(Uuid::from_u128(1)));
        assert_eq!(
            body["assessment"]["assessmentId"],
            json!(Uuid::from_u128(4))
        );
    }
}
