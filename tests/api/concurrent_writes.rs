//! Many writers at once: on SQLite they queue in the process for the one write lock
//! (`store::begin_write`) instead of polling the file lock, so none is refused with
//! "database is locked", and new starts that arrive together share a commit; on PostgreSQL
//! they run side by side. Either way every start and its repeat succeeds, a repeat finds
//! the assessment its start created, and each new assessment has its webhook.

use crate::helpers::{TestApp, TestTenant, start_body};

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

    // Each application is started twice at once: one creates, one repeats.
    let applications = (0..starts).map(|n| format!("app-{}", n / 2)).collect();
    let answers = start_all_at_once(&app, &tenant, applications).await;

    let mut ids = std::collections::HashMap::new();
    for (application, status, text) in answers {
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

    let applications = (0..starts).map(|n| format!("app-{n}")).collect();
    let mut answered = Vec::new();
    for (_, status, text) in start_all_at_once(&app, &tenant, applications).await {
        assert_eq!(status, 200, "{text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        let id = body["results"]["assessment_id"].as_str().unwrap();
        answered.push(id.parse::<uuid::Uuid>().unwrap());
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

/// `assessment.start` for every application of `applications`, all at once; each answer
/// as (application, HTTP status, body), in the order they came back.
async fn start_all_at_once(
    app: &TestApp,
    tenant: &TestTenant,
    applications: Vec<String>,
) -> Vec<(String, u16, String)> {
    let mut requests = tokio::task::JoinSet::new();
    for application in applications {
        let (client, url, key) = (
            app.client.clone(),
            app.url("/assessment.start"),
            tenant.key.clone(),
        );
        requests.spawn(async move {
            let response = client
                .post(url)
                .basic_auth(key, Some(""))
                .json(&start_body(&application))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (application, status, response.text().await.unwrap())
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = requests.join_next().await {
        answers.push(answer.unwrap());
    }
    answers
}

/// New starts written together (SQLite's group commit) first go in one transaction
/// without savepoints; when one of them fails, that transaction is rolled back and the
/// batch written again with a savepoint each. Either way a failing start fails alone.
#[tokio::test]
async fn a_start_that_fails_among_others_written_together_fails_alone() {
    use ashby_partner::candidate_links::CandidateLinks;
    use ashby_partner::delivery::DeliveryWaker;
    use ashby_partner::domain::ids::TenantId;
    use ashby_partner::domain::start_request::StartRequest;
    use ashby_partner::service::{Outbound, Starter};
    use ashby_partner::tokens::TokenKeys;
    use entity::assessment;
    use sea_orm::{EntityTrait as _, PaginatorTrait as _};

    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let tokens = TokenKeys::new(&app.secrets().token_secret).unwrap();
    let outbound = Outbound {
        candidate_links: CandidateLinks::new(&app.settings.vendor, tokens),
        vendor_webhooks: false,
        waker: DeliveryWaker::default(),
    };
    let starter = Starter::new(app.db.clone(), outbound);
    // No such tenant: its assessment breaks the foreign key, the others are fine.
    let ghost = TenantId::new_random();
    let starts: Vec<(TenantId, StartRequest)> = (0..20)
        .map(|n| {
            let owner = if n == 7 { ghost } else { tenant.id };
            let body = start_body(&format!("app-{n}"));
            (owner, StartRequest::parse(body, |_| true).unwrap())
        })
        .collect();

    let results = futures_util::future::join_all(
        starts
            .iter()
            .map(|(owner, request)| starter.start(*owner, request)),
    )
    .await;

    for (n, result) in results.iter().enumerate() {
        assert_eq!(
            result.is_ok(),
            n != 7,
            "start {n}: {:?}",
            result.as_ref().err()
        );
    }
    assert_eq!(assessment::Entity::find().count(&app.db).await.unwrap(), 19);
}

/// On PostgreSQL a start is one statement: the assessment's insert, its outbox rows
/// inserted once per row that insert returns, and the open assessment a repeat refers to.
/// Inserted, the assessment comes with every outbox row; colliding with the open
/// assessment, it writes nothing — no outbox row either — and answers that assessment.
/// (SQLite has no inserts in common table expressions: its starts go through the group
/// commit, covered above.)
#[tokio::test]
async fn a_start_statement_writes_its_outbox_rows_exactly_when_it_inserts() {
    use ashby_partner::domain::delivery::DeliveryKind;
    use ashby_partner::domain::ids::AssessmentId;
    use ashby_partner::store::assessments::{self, StartWritten};
    use ashby_partner::store::deliveries::NewDelivery;
    use entity::{assessment, delivery};
    use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};

    let app = TestApp::spawn().await;
    if !app.database.is_postgres() {
        return;
    }
    let tenant = app.create_tenant("Acme").await;
    // A first assessment for app-1, cancelled: the retake is the open one a repeat means.
    let cancelled = app.start_assessment(&tenant, &start_body("app-1")).await;
    let response = app
        .post_as(
            &tenant,
            "/assessment.cancel",
            &serde_json::json!({ "assessment_id": cancelled }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let started = app.start_assessment(&tenant, &start_body("app-1")).await;
    assert_ne!(started, cancelled, "a retake is a new assessment");
    let open = assessments::find_any(&app.db, AssessmentId(started.parse().unwrap()))
        .await
        .unwrap()
        .unwrap();
    let outbox_rows = |assessment: &ashby_partner::domain::assessment::Assessment, rows: i64| {
        (0..rows)
            .map(|position| NewDelivery {
                kind: DeliveryKind::VendorWebhook,
                tenant_id: assessment.tenant_id.0,
                assessment_id: assessment.id.0,
                position,
                payload: serde_json::json!({ "position": position }),
                idempotency: None,
                trace_parent: None,
            })
            .collect::<Vec<_>>()
    };
    let deliveries_of = |id: uuid::Uuid| {
        delivery::Entity::find()
            .filter(delivery::Column::AssessmentId.eq(id))
            .count(&app.db)
    };
    let db = &app.db;
    let exists = |id: uuid::Uuid| async move {
        assessment::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .is_some()
    };
    let now = ashby_partner::store::now_ms();

    // The same application and type while the retake is open: a collision, answered with
    // the open assessment (not the cancelled one).
    let mut colliding = open.clone();
    colliding.id = AssessmentId::new_random();
    let written =
        assessments::start_in_one_statement(&app.db, &colliding, outbox_rows(&colliding, 2), now)
            .await
            .unwrap();
    let StartWritten::AlreadyOpen(answered) = written else {
        panic!("a repeat is answered with the open assessment, not {written:?}");
    };
    assert_eq!(answered.id, open.id);
    assert_eq!(answered.start_request, open.start_request);
    assert!(!exists(colliding.id.0).await);
    assert_eq!(deliveries_of(colliding.id.0).await.unwrap(), 0);

    // Another application: inserted, with both of its outbox rows.
    let mut new = open;
    new.id = AssessmentId::new_random();
    new.application_ashby_id = "app-2".into();
    let written = assessments::start_in_one_statement(&app.db, &new, outbox_rows(&new, 2), now)
        .await
        .unwrap();
    assert!(matches!(written, StartWritten::Inserted), "{written:?}");
    assert!(exists(new.id.0).await);
    assert_eq!(deliveries_of(new.id.0).await.unwrap(), 2);

    // Without outbox rows (no webhooks configured) it inserts just the same.
    let mut quiet = new.clone();
    quiet.id = AssessmentId::new_random();
    quiet.application_ashby_id = "app-3".into();
    let written = assessments::start_in_one_statement(&app.db, &quiet, Vec::new(), now)
        .await
        .unwrap();
    assert!(matches!(written, StartWritten::Inserted), "{written:?}");
    assert!(exists(quiet.id.0).await);
}
