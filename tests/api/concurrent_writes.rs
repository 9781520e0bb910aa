//! Many writers at once: on SQLite they queue in the process for the one write lock
//! (`store::begin_write`) instead of polling the file lock, so none is refused with
//! "database is locked"; on PostgreSQL they run side by side. Either way every start and
//! its repeat succeeds, and a repeat finds the assessment its start created.

use crate::helpers::{TestApp, start_body};

#[tokio::test]
async fn many_concurrent_starts_and_repeats_all_succeed() {
    let app = TestApp::spawn_with(|settings| {
        settings.database.max_connections = 16;
        // The burst is the point here, not the per-tenant rate limit.
        settings.limits.partner_requests_per_second = 0;
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    let starts = 120;

    let mut requests = tokio::task::JoinSet::new();
    for n in 0..starts {
        let (client, url, key) = (
            app.client.clone(),
            app.url("/assessment.start"),
            tenant.key.clone(),
        );
        requests.spawn(async move {
            // Each application is started twice at once: one creates, one repeats.
            let body = start_body(&format!("app-{}", n / 2));
            let response = client
                .post(url)
                .basic_auth(key, Some(""))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (n / 2, status, text)
        });
    }

    let mut ids = std::collections::HashMap::new();
    while let Some(answer) = requests.join_next().await {
        let (application, status, text) = answer.unwrap();
        assert_eq!(status, 200, "{text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        let id = body["results"]["assessment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let first = ids.entry(application).or_insert_with(|| id.clone());
        assert_eq!(*first, id, "a start and its repeat answer one assessment");
    }
    assert_eq!(ids.len(), starts / 2);
}
