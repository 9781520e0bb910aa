use base64::Engine as _;
use mockito::Matcher;
use serde_json::json;

use super::*;
use crate::outgoing::USER_AGENT;

fn key() -> SecretString {
    "ashby-key-123".to_string().into()
}

fn client() -> AshbyClient {
    AshbyClient::new(Duration::from_millis(500)).unwrap()
}

async fn call_answering(status: usize, headers: &[(&str, &str)], body: &str) -> CallOutcome {
    let mut server = mockito::Server::new_async().await;
    let mut mock = server
        .mock("POST", "/assessment.update")
        .with_status(status)
        .with_body(body);
    for (name, value) in headers {
        mock = mock.with_header(*name, value);
    }
    let _mock = mock.create_async().await;
    client()
        .call(&server.url(), "assessment.update", &key(), &json!({"x": 1}))
        .await
}

#[tokio::test]
async fn requests_carry_basic_auth_version_accept_user_agent_and_the_json_body() {
    let mut server = mockito::Server::new_async().await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ashby-key-123:")
    );
    let body = json!({"assessment_id": "a", "timestamp": 1});
    let mock = server
        .mock("POST", "/assessment.update")
        .match_header("authorization", basic.as_str())
        .match_header("accept", "application/json; version=1")
        .match_header("content-type", "application/json")
        .match_header("user-agent", USER_AGENT)
        .match_body(Matcher::Json(body.clone()))
        .with_status(200)
        .with_body(r#"{"success": true, "results": {}}"#)
        .create_async()
        .await;
    let base = format!("{}/", server.url());
    let outcome = client()
        .call(&base, "assessment.update", &key(), &body)
        .await;
    assert_eq!(outcome, CallOutcome::Delivered { status: 200 });
    mock.assert_async().await;
    assert!(USER_AGENT.starts_with("ashby-partner/"));
}

#[tokio::test]
async fn success_false_is_refused_with_ashbys_code() {
    let outcome = call_answering(
        200,
        &[],
        r#"{"success": false, "errorInfo": {"code": "invalid_input", "message": "bad id", "requestId": "r1"}}"#,
    )
    .await;
    let CallOutcome::Refused { status, reason } = outcome else {
        panic!("expected refused, got {outcome:?}");
    };
    assert_eq!(status, Some(200));
    assert!(
        reason.contains("invalid_input") && reason.contains("bad id"),
        "{reason}"
    );
}

#[tokio::test]
async fn the_older_errors_form_is_understood_too() {
    let outcome = call_answering(
        200,
        &[],
        r#"{"success": false, "errors": ["application_not_found"]}"#,
    )
    .await;
    assert!(
        matches!(outcome, CallOutcome::Refused { ref reason, .. } if reason.contains("application_not_found")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn success_false_with_a_throttling_code_is_a_tenant_throttle() {
    let outcome = call_answering(
        200,
        &[],
        r#"{"success": false, "errorInfo": {"code": "rate_limit_exceeded"}}"#,
    )
    .await;
    assert!(
        matches!(
            outcome,
            CallOutcome::Throttled {
                scope: ThrottleScope::Tenant,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_429_for_the_integration_partner_throttles_the_whole_partner() {
    let outcome = call_answering(
        429,
        &[
            ("retry-after", "30"),
            ("x-ratelimit-scope", "integration-partner"),
        ],
        "",
    )
    .await;
    assert!(
        matches!(
            outcome,
            CallOutcome::Throttled {
                status: Some(429),
                scope: ThrottleScope::Partner,
                retry_after: Some(wait),
                ..
            } if wait == Duration::from_secs(30)
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn unauthorised_and_forbidden_are_refused_at_once() {
    for status in [401, 403, 400, 404, 422] {
        let outcome = call_answering(
            status,
            &[],
            r#"{"success": false, "errorInfo": {"code": "x"}}"#,
        )
        .await;
        assert!(
            matches!(outcome, CallOutcome::Refused { status: Some(s), .. } if s == status as u16),
            "{status}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_honouring_retry_after() {
    let outcome = call_answering(429, &[("retry-after", "7")], "").await;
    assert_eq!(
        outcome,
        CallOutcome::Throttled {
            status: Some(429),
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(7)),
            scope: ThrottleScope::Tenant,
        }
    );
    let in_a_minute =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(60));
    let outcome = call_answering(503, &[("retry-after", &in_a_minute)], "").await;
    let CallOutcome::Retry {
        retry_after: Some(wait),
        ..
    } = outcome
    else {
        panic!("expected a retry with a wait, got {outcome:?}");
    };
    assert!(
        wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    for status in [500, 502, 408] {
        let outcome = call_answering(status, &[], "oops").await;
        assert!(
            matches!(
                outcome,
                CallOutcome::Retry {
                    retry_after: None,
                    ..
                }
            ),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_2xx_without_the_success_flag_is_not_taken_as_delivered() {
    let outcome = call_answering(200, &[], "<html>maintenance</html>").await;
    assert!(matches!(outcome, CallOutcome::Retry { .. }), "{outcome:?}");
}

#[test]
fn reasons_never_contain_the_api_key() {
    let outcome = classify(401, None, br#"{"success": false}"#);
    assert!(!format!("{outcome:?}").contains("ashby-key-123"));
}

#[tokio::test]
async fn an_oversize_answer_is_a_retry_however_it_begins() {
    // Starts like a success: read whole, it would have been taken as delivered.
    let padding = "x".repeat(200 * 1024);
    let body = format!(r#"{{"success": true, "padding": "{padding}"}}"#);

    let outcome = call_answering(200, &[], &body).await;

    let CallOutcome::Retry { status, reason, .. } = outcome else {
        panic!("expected a retry, got {outcome:?}");
    };
    assert_eq!(status, Some(200));
    assert!(reason.contains("larger than 64 KiB"), "{reason}");
}
