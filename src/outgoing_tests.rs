use reqwest::header::HeaderValue;

use super::*;

/// POSTs to `url` with the shared client and reads the answer as deliveries do.
async fn post(client: &reqwest::Client, url: &str) -> Result<Answer, CallOutcome> {
    match client.post(url).body("{}").send().await {
        Ok(response) => read_answer(response).await,
        Err(error) => Err(unanswered("test", error)),
    }
}

#[test]
fn retry_after_is_read_in_seconds_or_as_an_http_date() {
    let mut headers = HeaderMap::new();
    assert_eq!(retry_after(&headers), None);
    headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    let in_a_minute =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(60));
    headers.insert(RETRY_AFTER, HeaderValue::from_str(&in_a_minute).unwrap());
    let wait = retry_after(&headers).unwrap();
    assert!(
        wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
    assert_eq!(retry_after(&headers), None);
}

#[tokio::test]
async fn requests_carry_our_user_agent_and_redirects_are_not_followed() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/hook")
        .match_header("user-agent", USER_AGENT)
        .with_status(307)
        .with_header("location", "/elsewhere")
        .create_async()
        .await;
    let client = http_client(Duration::from_secs(10)).unwrap();

    let answer = post(&client, &format!("{}/hook", server.url()))
        .await
        .unwrap();

    assert_eq!(answer.status, 307);
    mock.assert_async().await;
    assert!(USER_AGENT.starts_with("ashby-partner/"));
}

#[tokio::test]
async fn an_answer_within_the_limit_is_read_whole_with_its_retry_after() {
    let mut server = mockito::Server::new_async().await;
    let body = "y".repeat(MAX_ANSWER_BYTES);
    let _mock = server
        .mock("POST", "/hook")
        .with_status(503)
        .with_header("retry-after", "3")
        .with_body(&body)
        .create_async()
        .await;
    let client = http_client(Duration::from_secs(10)).unwrap();

    let answer = post(&client, &format!("{}/hook", server.url()))
        .await
        .unwrap();

    assert_eq!(answer.status, 503);
    assert_eq!(answer.retry_after, Some(Duration::from_secs(3)));
    assert_eq!(answer.body, body.as_bytes());
}

#[tokio::test]
async fn an_announced_oversize_answer_is_a_retry_keeping_retry_after() {
    let mut server = mockito::Server::new_async().await;
    let _mock = server
        .mock("POST", "/hook")
        .with_status(200)
        .with_header("retry-after", "9")
        .with_body("y".repeat(MAX_ANSWER_BYTES + 1))
        .create_async()
        .await;
    let client = http_client(Duration::from_secs(10)).unwrap();

    let outcome = post(&client, &format!("{}/hook", server.url())).await;

    let Err(CallOutcome::Retry {
        status,
        reason,
        retry_after,
    }) = outcome
    else {
        panic!("expected a retry");
    };
    assert_eq!(status, Some(200));
    assert_eq!(retry_after, Some(Duration::from_secs(9)));
    assert!(reason.contains("larger than 64 KiB"), "{reason}");
}

#[tokio::test]
async fn an_endless_answer_is_abandoned_once_it_passes_the_limit() {
    let mut server = mockito::Server::new_async().await;
    let _mock = server
        .mock("POST", "/hook")
        .with_status(200)
        // No length announced, and no end: only a reader that stops can return.
        .with_chunked_body(|writer| {
            loop {
                writer.write_all(&[b'x'; 8192])?;
            }
        })
        .create_async()
        .await;
    let patient = http_client(Duration::from_secs(3600)).unwrap();

    let outcome = post(&patient, &format!("{}/hook", server.url())).await;

    assert!(
        matches!(outcome, Err(CallOutcome::Retry { ref reason, .. }) if reason.contains("larger than 64 KiB")),
        "{:?}",
        outcome.err()
    );
}

#[tokio::test]
async fn a_timeout_and_a_refused_connection_are_retried() {
    // A server that accepts the connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let slow = http_client(Duration::from_millis(200)).unwrap();
    let outcome = post(&slow, &format!("http://{address}/x")).await;
    assert!(
        matches!(outcome, Err(CallOutcome::Retry { status: None, ref reason, .. }) if reason.starts_with("test timed out")),
        "{:?}",
        outcome.err()
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let outcome = post(&slow, &format!("http://{closed}/x")).await;
    assert!(
        matches!(outcome, Err(CallOutcome::Retry { status: None, .. })),
        "{:?}",
        outcome.err()
    );
}

#[tokio::test]
async fn a_refused_connection_and_an_unknown_host_say_which_they_were() {
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = http_client(Duration::from_secs(5)).unwrap();
    let refused = client
        .post(format!("http://127.0.0.1:{port}/x"))
        .send()
        .await
        .unwrap_err();
    let outcome = unanswered("", refused);
    assert!(
        matches!(&outcome, CallOutcome::Retry { reason, .. } if reason.starts_with("connection refused")),
        "{outcome:?}"
    );
    // `.invalid` never resolves (RFC 2606); the lookup fails without leaving the machine.
    let unknown = client
        .post("http://ashby-partner-test.invalid/x")
        .send()
        .await
        .unwrap_err();
    let outcome = unanswered("", unknown);
    assert!(
        matches!(&outcome, CallOutcome::Retry { reason, .. } if reason.starts_with("DNS lookup failed")),
        "{outcome:?}"
    );
}
