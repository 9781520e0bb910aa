//! The console in a real browser (headless Chromium through WebDriver): a support engineer
//! finds a candidate by email, opens the timeline and retries the delivery that died, and
//! sees it delivered. One test only: a browser is slow to start.

use serde_json::json;

use crate::helpers::{ASHBY_OK, TestApp, start_body};
use crate::webdriver::Browser;

const CANDIDATE_EMAIL: &str = "katherine.johnson@example.com";

#[tokio::test]
async fn a_dead_delivery_is_found_by_the_candidates_email_retried_and_seen_delivered() {
    let app = TestApp::spawn().await;
    // Ashby refuses the customer's revoked key; the new one is accepted.
    let mut ashby = mockito::Server::new_async().await;
    let refused = ashby
        .mock("POST", "/assessment.update")
        .with_status(401)
        .with_body(r#"{"success": false, "errorInfo": {"code": "unauthorized", "message": "revoked key"}}"#)
        .expect(1)
        .create_async()
        .await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "revoked-key")
        .await;
    let mut body = start_body(&uuid::Uuid::new_v4().to_string());
    body["candidate"]["first_name"] = json!("Katherine");
    body["candidate"]["last_name"] = json!("Johnson");
    body["candidate"]["email"] = json!(CANDIDATE_EMAIL);
    let assessment_id = app.start_assessment(&tenant, &body).await;
    app.vendor_event(&assessment_id, &json!({"status": "in_progress"}))
        .await;
    app.deliver_everything().await;
    refused.assert_async().await;
    let deliveries = app.deliveries_of(&assessment_id).await;
    let dead: Vec<_> = deliveries.iter().filter(|d| d.status == "dead").collect();
    assert_eq!(dead.len(), 1, "{deliveries:?}");
    let delivery_id = dead[0].id;
    refused.remove_async().await;
    let accepted = ashby
        .mock("POST", "/assessment.update")
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(1)
        .create_async()
        .await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), "new-key")
        .await;

    let browser = Browser::start()
        .await
        .unwrap_or_else(|error| panic!("{error:#}"));
    let outcome = retry_in_the_browser(&app, &browser, &delivery_id.to_string()).await;
    let closed = browser.quit().await;
    outcome.unwrap_or_else(|error| panic!("{error:#}"));
    closed.unwrap();

    accepted.assert_async().await;
    let row = app.deliveries_of(&assessment_id).await;
    let row = row.iter().find(|d| d.id == delivery_id).unwrap();
    assert_eq!(row.status, "delivered");
}

/// Everything the browser does; the test then closes it whatever happened.
async fn retry_in_the_browser(
    app: &TestApp,
    browser: &Browser,
    delivery_id: &str,
) -> anyhow::Result<()> {
    use anyhow::ensure;

    browser.client.goto(&app.url("/console/sign-in")).await?;
    browser
        .element("#token")
        .await?
        .send_keys(&app.token_with_scope("admin"))
        .await?;
    browser.element("#sign-in").await?.click().await?;
    browser.text_becomes("h1", "Overview").await?;

    browser
        .element("#search")
        .await?
        .send_keys(CANDIDATE_EMAIL)
        .await?;
    browser.element("#search-go").await?.click().await?;
    browser.element("a.assessment-link").await?.click().await?;
    let status = format!("#delivery-{delivery_id} .status");
    browser.text_becomes(&status, "dead").await?;
    let heading = browser.element("h1").await?.text().await?;
    ensure!(
        heading.contains("Katherine Johnson"),
        "the timeline's heading is {heading:?}"
    );
    browser
        .element(&format!("#delivery-{delivery_id} button.retry"))
        .await?
        .click()
        .await?;
    browser.text_becomes(&status, "pending").await?;
    ensure!(
        browser
            .client
            .find_all(fantoccini::Locator::Css(&format!(
                "#delivery-{delivery_id} button.retry"
            )))
            .await?
            .is_empty(),
        "a pending delivery still offers a retry"
    );

    app.deliver_everything().await;
    browser.client.refresh().await?;
    browser.text_becomes(&status, "delivered").await?;
    Ok(())
}
