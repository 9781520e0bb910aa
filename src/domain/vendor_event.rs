//! A status event from the vendor's engine (`POST /v1/assessments/{id}/events`),
//! parsed and checked at the edge.

use serde::{Deserialize, Serialize};

use super::data_block::{self, DataBlock};
use super::status::AssessmentStatus;

/// The earliest time a vendor may report: 2000-01-01T00:00:00Z. Anything earlier is a
/// zero or default value, not a real event (year 1 reached Ashby as a negative timestamp).
pub const EARLIEST_EVENT_MS: i64 = 946_684_800_000;
/// How far ahead of our clock a vendor's clock may be.
pub const MAX_CLOCK_AHEAD_MS: i64 = 5 * 60 * 1000;

/// Parses an RFC 3339 time the vendor reports (`occurred_at`, `completed_at`) into
/// milliseconds, refusing times before 2000 or more than five minutes after `now_ms`.
///
/// # Errors
/// A message naming `field` and saying what is wrong.
pub fn parse_event_time(field: &str, text: &str, now_ms: i64) -> Result<i64, String> {
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("{field} must be an RFC 3339 timestamp (got {text:?})"))?;
    if at < EARLIEST_EVENT_MS {
        return Err(format!(
            "{field} must not be before 2000-01-01T00:00:00Z (got {text:?})"
        ));
    }
    if at > now_ms.saturating_add(MAX_CLOCK_AHEAD_MS) {
        return Err(format!(
            "{field} must not be more than 5 minutes in the future (got {text:?})"
        ));
    }
    Ok(at)
}

/// The statuses a vendor may report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorStatus {
    InProgress,
    Completed,
    Cancelled,
    Expired,
}

impl VendorStatus {
    pub fn status(self) -> AssessmentStatus {
        match self {
            Self::InProgress => AssessmentStatus::InProgress,
            Self::Completed => AssessmentStatus::Completed,
            Self::Cancelled => AssessmentStatus::Cancelled,
            Self::Expired => AssessmentStatus::Expired,
        }
    }
}

/// The request body as sent. `completed` needs `result` and `profile_url`; `reason` goes
/// with `cancelled` and `expired`; `occurred_at` is RFC 3339.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorEventBody {
    pub status: VendorStatus,
    pub result: Option<DataBlock>,
    pub profile_url: Option<String>,
    pub metadata: Option<Vec<DataBlock>>,
    pub reason: Option<String>,
    pub occurred_at: Option<String>,
}

/// A checked event. Serialised, it is the event's identity: an exact repeat of the
/// event that ended an assessment serialises the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorEvent {
    pub status: VendorStatus,
    pub result: Option<DataBlock>,
    pub profile_url: Option<String>,
    pub metadata: Vec<DataBlock>,
    pub reason: Option<String>,
    pub occurred_at_ms: Option<i64>,
}

impl TryFrom<VendorEventBody> for VendorEvent {
    type Error = String;

    fn try_from(body: VendorEventBody) -> Result<Self, Self::Error> {
        let completed = body.status == VendorStatus::Completed;
        match (&body.result, completed) {
            (None, true) => return Err("result is required when status is completed".into()),
            (Some(_), false) => {
                return Err("result is only allowed when status is completed".into());
            }
            (Some(result), true) => result.validate("result")?,
            (None, false) => {}
        }
        match (&body.profile_url, completed) {
            (None, true) => {
                return Err("profile_url is required when status is completed".into());
            }
            (Some(url), _) if !data_block::is_http_url(url) => {
                return Err(format!("profile_url must be an http(s) URL (got {url:?})"));
            }
            _ => {}
        }
        if body.reason.is_some()
            && !matches!(body.status, VendorStatus::Cancelled | VendorStatus::Expired)
        {
            return Err("reason is only allowed when status is cancelled or expired".into());
        }
        if body.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
            return Err("reason must not be empty".into());
        }
        let metadata = body.metadata.unwrap_or_default();
        data_block::validate_list("metadata", &metadata)?;
        data_block::check_unique_identifiers(body.result.as_ref(), &metadata)?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let occurred_at_ms = body
            .occurred_at
            .map(|text| parse_event_time("occurred_at", &text, now_ms))
            .transpose()?;
        Ok(Self {
            status: body.status,
            result: body.result,
            profile_url: body.profile_url,
            metadata,
            reason: body.reason,
            occurred_at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse(body: Value) -> Result<VendorEvent, String> {
        let body: VendorEventBody = serde_json::from_value(body).map_err(|e| e.to_string())?;
        VendorEvent::try_from(body)
    }

    fn score() -> Value {
        json!({"identifier": "score", "label": "Score", "type": "numeric_score", "value": 91})
    }

    #[test]
    fn a_completion_needs_a_result_and_an_http_profile_url() {
        assert!(parse(json!({"status": "completed", "result": score(), "profile_url": "https://t.example/r"})).is_ok());
        let cases = [
            (
                json!({"status": "completed", "profile_url": "https://t.example/r"}),
                "result is required",
            ),
            (
                json!({"status": "completed", "result": score()}),
                "profile_url is required",
            ),
            (
                json!({"status": "completed", "result": score(), "profile_url": "javascript:x"}),
                "profile_url must be",
            ),
        ];
        for (body, expected) in cases {
            let error = parse(body).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn fields_are_only_allowed_with_the_statuses_they_belong_to() {
        assert!(
            parse(json!({"status": "in_progress", "result": score()}))
                .unwrap_err()
                .contains("only allowed")
        );
        assert!(
            parse(json!({"status": "in_progress", "reason": "x"}))
                .unwrap_err()
                .contains("only allowed")
        );
        assert!(parse(json!({"status": "expired", "reason": "no show"})).is_ok());
    }

    #[test]
    fn data_blocks_timestamps_and_unknown_fields_are_checked() {
        let bad_block =
            json!({"identifier": "s", "label": "S", "type": "numeric_score", "value": "high"});
        assert!(
            parse(json!({"status": "in_progress", "metadata": [bad_block]}))
                .unwrap_err()
                .contains("metadata[0].value")
        );
        assert!(
            parse(json!({"status": "in_progress", "occurred_at": "yesterday"}))
                .unwrap_err()
                .contains("occurred_at")
        );
        assert!(
            parse(json!({"status": "in_progress", "colour": "red"}))
                .unwrap_err()
                .contains("colour")
        );
        assert!(parse(json!({"status": "started"})).is_err());
        let event =
            parse(json!({"status": "in_progress", "occurred_at": "2026-01-02T03:04:05.678Z"}))
                .unwrap();
        assert_eq!(event.occurred_at_ms, Some(1_767_323_045_678));
    }

    #[test]
    fn event_times_are_bounded_by_2000_and_five_minutes_ahead() {
        let now = 1_767_323_045_000;
        assert_eq!(
            parse_event_time("at", "2000-01-01T00:00:00Z", now),
            Ok(EARLIEST_EVENT_MS)
        );
        assert_eq!(
            parse_event_time("at", "2026-01-02T03:09:05Z", now),
            Ok(now + MAX_CLOCK_AHEAD_MS)
        );
        for (text, expected) in [
            ("1999-12-31T23:59:59.999Z", "before 2000"),
            ("0001-01-01T00:00:00Z", "before 2000"),
            ("0000-01-01T00:00:00Z", "at must"),
            ("2026-01-02T03:09:05.001Z", "5 minutes in the future"),
            ("9999-12-31T23:59:59Z", "5 minutes in the future"),
        ] {
            let error = parse_event_time("at", text, now).unwrap_err();
            assert!(
                error.starts_with("at must") && error.contains(expected),
                "{text}: {error}"
            );
        }
    }
}
