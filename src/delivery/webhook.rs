//! Vendor webhooks, signed per Standard Webhooks: `webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret as _, SecretBox};
use sha2::Sha256;

use crate::outgoing::{self, CallOutcome, read_answer};

/// Where webhooks go and the key they are signed with.
pub struct WebhookTarget {
    pub url: String,
    pub key: SecretBox<Vec<u8>>,
}

pub struct WebhookClient {
    http: reqwest::Client,
    target: WebhookTarget,
}

impl WebhookClient {
    /// # Errors
    /// The TLS backend cannot be initialised.
    pub fn new(target: WebhookTarget, timeout: Duration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: outgoing::http_client(timeout)?,
            target,
        })
    }

    /// Sends `body` as the webhook with id `id`. The vendor's 2xx is success; 408, 429
    /// and 5xx are retried (Retry-After honoured); any other answer is final.
    pub async fn send(&self, id: &str, body: &serde_json::Value) -> CallOutcome {
        let body = body.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(self.target.key.expose_secret(), id, timestamp, &body);
        let sent = self
            .http
            .post(&self.target.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .headers(outgoing::trace_headers())
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return outgoing::unanswered("webhook", error),
        };
        // The body means nothing to us, but it is read (bounded) all the same: a 2xx
        // whose answer never ends has not been shown to be taken.
        let answer = match read_answer(response).await {
            Ok(answer) => answer,
            Err(outcome) => return outcome,
        };
        let status = answer.status;
        match status {
            200..=299 => CallOutcome::Delivered { status },
            408 | 429 | 500..=599 => CallOutcome::Retry {
                status: Some(status),
                reason: format!("webhook answered HTTP {status}"),
                retry_after: answer.retry_after,
            },
            _ => CallOutcome::Refused {
                status: Some(status),
                reason: format!("webhook answered HTTP {status}"),
            },
        }
    }
}

/// The parts of a webhook's `data` (an Assessment, CONTRACT §5) that are the start request
/// itself. The assessment row holds them already, and they are by far the largest part
/// (up to `server.max_body_bytes`): the outbox row leaves them out, and they are put back
/// when the body is rendered. They never change after the start, so the rendered body is
/// the one of the moment the event happened.
const REQUEST_PARTS: [&str; 4] = ["candidate", "application", "job", "additional_fields"];

/// What the outbox keeps of a webhook body: everything but the start request's parts —
/// the type, the timestamp, and the assessment's status, history, result and links as of
/// the event.
pub fn stored_body(mut body: serde_json::Value) -> serde_json::Value {
    if let Some(data) = body
        .get_mut("data")
        .and_then(serde_json::Value::as_object_mut)
    {
        for part in REQUEST_PARTS {
            data.remove(part);
        }
    }
    body
}

/// The body as sent (and as the API shows it): the stored body with the start request's
/// parts taken from the assessment's `start_request`, as the Assessment representation
/// takes them. A body stored whole (by an earlier version) is already complete.
pub fn rendered_body(
    stored: &serde_json::Value,
    start_request: &serde_json::Value,
) -> serde_json::Value {
    use serde_json::Value;
    let mut body = stored.clone();
    if let Some(data) = body.get_mut("data").and_then(Value::as_object_mut)
        && !data.contains_key("candidate")
    {
        for part in REQUEST_PARTS {
            let value = match start_request.get(part) {
                Some(value) => value.clone(),
                None if part == "additional_fields" => Value::Object(serde_json::Map::new()),
                None => Value::Null,
            };
            data.insert(part.to_owned(), value);
        }
    }
    body
}

/// `v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretBox;

    use super::*;

    #[test]
    fn a_stored_body_leaves_out_the_request_and_rendering_puts_it_back() {
        let request = serde_json::json!({
            "candidate": {"email": "a@example.com"},
            "application": {"ashby_id": "app"},
            "job": {"ashby_id": "job"},
            "additional_fields": {"notes": "n"},
            "interviewStageId": "not part of the Assessment"
        });
        let full = serde_json::json!({
            "type": "assessment.started",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "data": {
                "id": "x", "status": "started", "history": [],
                "candidate": request["candidate"], "application": request["application"],
                "job": request["job"], "additional_fields": request["additional_fields"]
            }
        });
        let stored = stored_body(full.clone());
        assert_eq!(stored["data"].as_object().unwrap().len(), 3, "{stored}");
        assert_eq!(rendered_body(&stored, &request), full);
        assert_eq!(
            rendered_body(&full, &serde_json::json!({})),
            full,
            "old rows"
        );
        let bare = rendered_body(&stored, &serde_json::json!({}));
        assert_eq!(bare["data"]["additional_fields"], serde_json::json!({}));
        assert_eq!(bare["data"]["candidate"], serde_json::Value::Null);
    }

    #[test]
    fn signatures_match_the_standard_webhooks_reference_vector() {
        // The example of the Standard Webhooks specification.
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[tokio::test]
    async fn an_oversize_answer_from_the_vendor_is_a_retry() {
        let mut server = mockito::Server::new_async().await;
        let _mock = server
            .mock("POST", "/hooks")
            .with_status(200)
            .with_body("x".repeat(200 * 1024))
            .create_async()
            .await;
        let client = WebhookClient::new(
            WebhookTarget {
                url: format!("{}/hooks", server.url()),
                key: SecretBox::new(Box::new(b"0123456789abcdef".to_vec())),
            },
            Duration::from_secs(10),
        )
        .unwrap();

        let outcome = client.send("msg_1", &serde_json::json!({"a": 1})).await;

        assert!(
            matches!(outcome, CallOutcome::Retry { status: Some(200), ref reason, .. } if reason.contains("larger than 64 KiB")),
            "{outcome:?}"
        );
    }
}
