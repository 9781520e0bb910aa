//! Ashby's webhooks, as this server uses them. Relied on, from Ashby's developer docs
//! (developers.ashbyhq.com): "Setting up Webhooks" (a webhook has a type, a request URL
//! and an optional secret token; creating one sends a signed `ping` to the URL, and a URL
//! that answers an error leaves the webhook disabled), "Authenticating Webhooks"
//! (`Ashby-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the secret>`),
//! and the API reference's `webhook.create` (`webhookType`, `requestUrl`, `secretToken`).
//! Every webhook body is `{"action": "<type>", "data": {...}}`.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::domain::lifecycle::EndReason;
use crate::service::AshbyNotice;

/// The `Ashby-Signature` header.
pub const SIGNATURE_HEADER: &str = "Ashby-Signature";

/// The `webhook.create` body for one type.
pub fn create_body(webhook_type: &str, request_url: &str, secret_token: &str) -> Value {
    json!({
        "webhookType": webhook_type,
        "requestUrl": request_url,
        "secretToken": secret_token,
    })
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` keyed by `secret`. The
/// comparison is constant-time (`verify_slice`), so the answer's timing tells a forger
/// nothing about how close a guess was.
pub fn signature_is_valid(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(digest) = header
        .and_then(|value| value.trim().strip_prefix("sha256="))
        .and_then(decode_hex)
    else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

/// `sha256=<hex>` of `body` keyed by `secret`: what Ashby sends (and the tests).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

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
    use super::*;

    #[test]
    fn signatures_verify_only_with_the_same_secret_and_body() {
        let header = sign(b"s3cret", b"{\"action\":\"ping\"}");
        assert!(signature_is_valid(
            b"s3cret",
            b"{\"action\":\"ping\"}",
            Some(&header)
        ));
        assert!(!signature_is_valid(
            b"other",
            b"{\"action\":\"ping\"}",
            Some(&header)
        ));
        assert!(!signature_is_valid(
            b"s3cret",
            b"{\"action\":\"pong\"}",
            Some(&header)
        ));
        for bad in ["", "sha256=", "sha256=zz", "md5=00", &header[7..]] {
            assert!(!signature_is_valid(b"s3cret", b"{}", Some(bad)), "{bad}");
        }
        assert!(!signature_is_valid(b"s3cret", b"{}", None));
    }

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
