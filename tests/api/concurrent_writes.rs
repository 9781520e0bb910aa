//! Many writers at once: on SQLite they queue in the process for the one write lock
//! (`store::begin_write`) instead of polling the file lock, so none is refused with
//! "database is locked", and new starts that arrive together share a commit; on PostgreSQL
//! they run side by side. Either way every start and its repeat succeeds, a repeat finds
//! the assessment its start created, and each new assessment has its webhook.

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

/// New starts arriving together share commits on SQLite (`service::Starter`): each is
/// still written with its own `assessment.started` webhook, and answered only with what
/// was committed.
#[tokio::test]
async fn concurrent_new_starts_are_each_written_with_their_webhook() {
    use entity::{assessment, delivery};
    use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};

    let app = TestApp::spawn_with(|settings| {
        settings.database.max_connections = 16;
        settings.limits.partner_requests_per_second = 0;
        // Webhooks are queued, not sent: the engine is not stepped here.
        settings.vendor.webhook_url = "http://127.0.0.1:9/hooks".into();
        settings.vendor.webhook_secret =
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string().into();
    })
    .await;
    let tenant = app.create_tenant("Acme").await;
    let starts = 80;

    let mut requests = tokio::task::JoinSet::new();
    for n in 0..starts {
        let (client, url, key) = (
            app.client.clone(),
            app.url("/assessment.start"),
            tenant.key.clone(),
        );
        requests.spawn(async move {
            let response = client
                .post(url)
                .basic_auth(key, Some(""))
                .json(&start_body(&format!("app-{n}")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: serde_json::Value = response.json().await.unwrap();
            body["results"]["assessment_id"]
                .as_str()
                .unwrap()
                .parse::<uuid::Uuid>()
                .unwrap()
        });
    }
    let mut answered = Vec::new();
    while let Some(id) = requests.join_next().await {
        answered.push(id.unwrap());
    }

    answered.sort_unstable();
    answered.dedup();
    assert_eq!(answered.len(), starts, "one new assessment per application");
    assert_eq!(
        assessment::Entity::find().count(&app.db).await.unwrap(),
        starts as u64
    );
    for id in answered {
        let webhooks = delivery::Entity::find()
            .filter(delivery::Column::AssessmentId.eq(id))
            .filter(delivery::Column::Kind.eq("vendor.webhook"))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(
            webhooks, 1,
            "assessment {id} and its webhook commit together"
        );
    }
}
