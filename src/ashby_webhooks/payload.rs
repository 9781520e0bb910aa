//! Reading a verified webhook body. Every one is `{"action": "<type>", "data": {...}}`
//! (Ashby's developer docs, webhook reference).

use serde_json::Value;

use crate::domain::lifecycle::EndReason;
use crate::service::AshbyNotice;

/// What a verified webhook body asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Ashby checking that the URL answers (sent when a webhook is created or edited).
    Ping,
    /// Something to apply.
    Notice(AshbyNotice),
    /// An action or a status that changes nothing here; the text says which, for the log.
    Ignored(String),
    /// The action is ours but the payload lacks what it needs; the text says what.
    Malformed(String),
}

/// Reads a webhook body. Field names as in Ashby's webhook reference: `candidateDelete`
/// and `candidateMerge` carry `data.candidate` / `data.mergedCandidate` and
/// `data.deletedCandidate` (each with `id`); `applicationUpdate` and `candidateHire`
/// carry `data.application` with `id` and `status`.
pub fn parse(body: &Value) -> Parsed {
    let Some(action) = body.get("action").and_then(Value::as_str) else {
        return Parsed::Malformed("no \"action\"".into());
    };
    let data = body.get("data").unwrap_or(&Value::Null);
    let id_at = |path: &[&str]| -> Result<String, Parsed> {
        let mut value = data;
        for key in path {
            value = value.get(key).unwrap_or(&Value::Null);
        }
        match value.get("id").and_then(Value::as_str) {
            Some(id) if !id.trim().is_empty() => Ok(id.to_owned()),
            _ => Err(Parsed::Malformed(format!(
                "{action} without data.{}.id",
                path.join(".")
            ))),
        }
    };
    let notice = match action {
        "ping" => return Parsed::Ping,
        "candidateDelete" => {
            id_at(&["candidate"]).map(|candidate_id| AshbyNotice::CandidateDeleted { candidate_id })
        }
        "candidateMerge" => id_at(&["deletedCandidate"]).and_then(|from| {
            id_at(&["mergedCandidate"]).map(|into| AshbyNotice::CandidatesMerged { from, into })
        }),
        "applicationUpdate" | "candidateHire" => {
            let application_id = match id_at(&["application"]) {
                Ok(id) => id,
                Err(malformed) => return malformed,
            };
            let status = data
                .get("application")
                .and_then(|application| application.get("status"))
                .and_then(Value::as_str);
            let reason = match status {
                Some("Archived") => EndReason::ApplicationArchived,
                Some("Hired") => EndReason::ApplicationHired,
                Some(other) => return Parsed::Ignored(format!("{action} with status {other}")),
                None => {
                    return Parsed::Malformed(format!("{action} without data.application.status"));
                }
            };
            Ok(AshbyNotice::ApplicationEnded {
                application_id,
                reason,
            })
        }
        other => return Parsed::Ignored(format!("action {other}")),
    };
    notice.map_or_else(|malformed| malformed, Parsed::Notice)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ashby_actions_become_notices_and_the_rest_is_ignored() {
        let parsed = |body: Value| parse(&body);
        assert_eq!(parsed(json!({"action": "ping", "data": {}})), Parsed::Ping);
        assert_eq!(
            parsed(json!({"action": "candidateDelete", "data": {"candidate": {"id": "c1"}}})),
            Parsed::Notice(AshbyNotice::CandidateDeleted {
                candidate_id: "c1".into()
            })
        );
        assert_eq!(
            parsed(json!({"action": "candidateMerge", "data": {
                "mergedCandidate": {"id": "keep"}, "deletedCandidate": {"id": "gone"}}})),
            Parsed::Notice(AshbyNotice::CandidatesMerged {
                from: "gone".into(),
                into: "keep".into()
            })
        );
        assert_eq!(
            parsed(
                json!({"action": "candidateHire", "data": {"application": {"id": "a", "status": "Hired"}}})
            ),
            Parsed::Notice(AshbyNotice::ApplicationEnded {
                application_id: "a".into(),
                reason: EndReason::ApplicationHired
            })
        );
        assert!(matches!(
            parsed(
                json!({"action": "applicationUpdate", "data": {"application": {"id": "a", "status": "Active"}}})
            ),
            Parsed::Ignored(_)
        ));
        assert!(matches!(
            parsed(json!({"action": "offerCreate"})),
            Parsed::Ignored(_)
        ));
        for malformed in [
            json!({}),
            json!({"action": "candidateDelete", "data": {}}),
            json!({"action": "candidateMerge", "data": {"mergedCandidate": {"id": "x"}}}),
            json!({"action": "applicationUpdate", "data": {"application": {"id": "a"}}}),
        ] {
            assert!(
                matches!(parse(&malformed), Parsed::Malformed(_)),
                "{malformed}"
            );
        }
    }
}
