//! The vendor API wants a valid, unexpired bearer token signed with our secret.

use serde_json::Value;

use crate::helpers::TestApp;

async fn types_with(app: &TestApp, authorization: Option<String>) -> reqwest::Response {
    let mut request = app.client.get(app.url("/v1/assessment-types"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

fn token_signed_with(secret: &str, ttl_secs: i64) -> String {
    // A token with the right shape, signed with another secret or already expired.
    #[derive(serde::Serialize)]
    struct Claims {
        sub: &'static str,
        aud: &'static str,
        iat: i64,
        exp: i64,
    }
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: "vendor",
        aud: "ashby-partner/vendor-api",
        iat: now - 7200,
        exp: now + ttl_secs,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let app = TestApp::spawn().await;
    let response = types_with(&app, Some(format!("Bearer {}", app.vendor_token()))).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"][0]["id"], crate::helpers::TYPE_ID);
}

#[tokio::test]
async fn missing_malformed_expired_and_wrongly_signed_tokens_get_401() {
    let app = TestApp::spawn().await;
    use secrecy::ExposeSecret as _;
    let our_secret = app.secrets().token_secret.expose_secret().to_owned();
    let cases = [
        ("missing", None),
        ("not bearer", Some(format!("Basic {}", app.vendor_token()))),
        ("empty bearer", Some("Bearer ".to_string())),
        ("garbage", Some("Bearer not.a.jwt".to_string())),
        (
            "expired",
            Some(format!("Bearer {}", token_signed_with(&our_secret, -3600))),
        ),
        (
            "wrong secret",
            Some(format!(
                "Bearer {}",
                token_signed_with("someone-elses-secret-of-32-bytes!!", 3600)
            )),
        ),
    ];
    for (case, authorization) in cases {
        let response = types_with(&app, authorization).await;
        assert_eq!(response.status(), 401, "{case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{case}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{case}"
        );
    }
}
