//! Ashby's webhooks, as this server uses them. Relied on, from Ashby's developer docs
//! (developers.ashbyhq.com): "Setting up Webhooks" (a webhook has a type, a request URL
//! and an optional secret token; creating one sends a signed `ping` to the URL, and a URL
//! that answers an error leaves the webhook disabled), "Authenticating Webhooks"
//! (`Ashby-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the secret>`),
//! and the API reference's `webhook.create` (`webhookType`, `requestUrl`, `secretToken`).

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

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
}
