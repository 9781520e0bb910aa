//! `demo` (CONTRACT §9): the whole flow on this machine, with no configuration and no
//! network — the server on a throwaway SQLite database, Ashby and the vendor's webhook
//! receiver played by a stand-in on loopback. Exits non-zero on any failure. With
//! `--keep-running`, the server stays up afterwards for a look at its console.
//!
//! Besides the happy path, the stand-in plays what Ashby does to a partner: a 503 once (a
//! retry), a 429 throttling the whole integration partner once (a pause, not a failure),
//! and a signed `applicationUpdate` archiving an application (its assessment is cancelled).

mod console;
mod stand_in;
mod timeline;

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use self::stand_in::StandIn;
use self::timeline::Timeline;
use crate::crypto::random_secret_base64;
use crate::secrets::ServerSecrets;
use crate::service::{self, NewTenant};
use crate::settings::Settings;
use crate::startup::Application;
use crate::store;
use crate::tokens::TokenKeys;

const ASHBY_KEY: &str = "demo-ashby-api-key";
/// How long the demo waits for the deliveries before calling it a failure.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs the demo; with `keep_running`, once it passed, serves until Ctrl-C or SIGTERM.
///
/// # Errors
/// Any step that does not go as Ashby's protocol and the contract say.
pub async fn run(settings: Settings, keep_running: bool) -> anyhow::Result<()> {
    let workdir = std::env::temp_dir().join(format!(
        "ashby-partner-demo-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&workdir)?;
    let outcome = play(settings, &workdir, keep_running).await;
    let _ = std::fs::remove_dir_all(&workdir);
    outcome
}

async fn play(
    mut settings: Settings,
    workdir: &std::path::Path,
    keep_running: bool,
) -> anyhow::Result<()> {
    let timeline = Timeline::new();
    let webhook_key: [u8; 32] = rand::random();
    let stand_in = StandIn::start(ASHBY_KEY, webhook_key.to_vec(), timeline.clone())?;
    configure(&mut settings, workdir, &stand_in.base_url, &webhook_key);
    let application = Application::build(settings.clone())
        .await
        .context("starting the server")?;
    let base = format!("http://127.0.0.1:{}", application.port());
    let server = application.handle();
    // Ashby's webhooks are registered with this URL, and the stand-in pings it.
    settings.server.public_url.clone_from(&base);
    let running = tokio::spawn(application.run_until_stopped());
    println!(
        "ashby-partner demo: server on {base}, Ashby stand-in on {}",
        stand_in.base_url
    );

    let mut result = exercise(&settings, &base, &stand_in, &timeline).await;

    println!("\nTimeline:\n{}", timeline.render());
    match &result {
        Ok(()) => println!(
            "\nDemo passed: every update reached Ashby, in order, matching Ashby's schema, \
             through a retry and a partner-wide throttle; Ashby's archive cancelled the \
             second assessment."
        ),
        Err(error) => println!("\nDemo FAILED: {error:#}"),
    }
    if keep_running && result.is_ok() {
        result = keep_serving(&settings, &base).await;
    }
    server.stop(true).await;
    let _ = running.await;
    stand_in.stop().await;
    result
}

/// `--keep-running`: the console's address and a sign-in, then wait for Ctrl-C/SIGTERM.
async fn keep_serving(settings: &Settings, base: &str) -> anyhow::Result<()> {
    console::announce(settings, base).await?;
    console::until_stopped()
        .await
        .context("waiting for Ctrl-C or SIGTERM")?;
    println!("Stopping the demo.");
    Ok(())
}

/// A throwaway database, loopback everything, fast retries.
fn configure(
    settings: &mut Settings,
    workdir: &std::path::Path,
    stand_in: &str,
    webhook_key: &[u8],
) {
    use base64::Engine as _;
    settings.server.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    settings.database.url = format!("sqlite://{}/demo.db?mode=rwc", workdir.display());
    settings.database.auto_migrate = true;
    settings.security.encryption_key = Some(random_secret_base64().into());
    settings.security.token_secret = Some(random_secret_base64().into());
    settings.ashby.base_url = stand_in.to_owned();
    settings.ashby.partner_id = Some(uuid::Uuid::new_v4());
    settings.delivery.initial_backoff_ms = 200;
    settings.delivery.max_backoff_ms = 1000;
    settings.delivery.request_timeout_ms = 2000;
    settings.vendor.webhook_url = format!("{stand_in}/vendor/webhook");
    settings.vendor.webhook_secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(webhook_key)
    )
    .into();
    settings.vendor.candidate_url_template = "https://tests.example/take/{token}".into();
}

async fn exercise(
    settings: &Settings,
    base: &str,
    stand_in: &StandIn,
    timeline: &Timeline,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let note = |actor: &'static str, what: String| timeline.note(Instant::now(), actor, what);

    // The operator onboards a customer organisation.
    let secrets = ServerSecrets::resolve(settings)?;
    let db = store::connect(&settings.database).await?;
    let onboarded = service::onboard_tenant(
        &db,
        &secrets.sealer,
        NewTenant {
            name: "Demo Org".into(),
            ashby_api_key: Some(ASHBY_KEY.into()),
            ashby_base_url: None,
            external_id: None,
        },
    )
    .await?;
    let tenant_id = onboarded.id;
    let partner_key = onboarded.partner_api_key.expose_secret().to_owned();
    note(
        "operator",
        format!("tenant create --name \"Demo Org\" → tenant {tenant_id}"),
    );
    // Ashby's webhooks for the tenant: the stand-in answers webhook.create and pings each.
    let registration =
        service::register_ashby_webhooks(&db, &secrets.sealer, settings, tenant_id).await?;
    let answer = registration.answer();
    ensure!(
        answer["status"] == "registered",
        "the Ashby webhooks were not registered: {}",
        answer["status"]
    );
    note(
        "operator",
        format!("tenant ashby-webhooks {tenant_id} → Ashby webhooks → registered"),
    );

    // Ashby fills its picker, then starts an assessment for a candidate.
    let listed = call(
        &http,
        &format!("{base}/assessment.list"),
        &partner_key,
        &json!({}),
    )
    .await?;
    let type_id = listed["results"][0]["assessment_type_id"]
        .as_str()
        .context("assessment.list returned no assessment type")?
        .to_owned();
    note(
        "Ashby",
        format!(
            "assessment.list → {} type(s), picks {}",
            listed["results"].as_array().map_or(0, Vec::len),
            listed["results"][0]["name"]
        ),
    );
    let start = |body: Value| {
        let http = &http;
        let (base, partner_key) = (base, &partner_key);
        async move {
            let started = call(
                http,
                &format!("{base}/assessment.start"),
                partner_key,
                &body,
            )
            .await?;
            let assessment_id = started["results"]["assessment_id"]
                .as_str()
                .context("assessment.start returned no assessment_id")?
                .to_owned();
            note(
                "Ashby",
                format!(
                    "assessment.start for {} → assessment {assessment_id} (\"{}\")",
                    body["candidate"]["first_name"].as_str().unwrap_or("?"),
                    started["results"]["update_request"]["assessment_status"]["value"]
                        .as_str()
                        .unwrap_or("?")
                ),
            );
            anyhow::Ok(assessment_id)
        }
    };
    let assessment_id = start(start_body(&type_id, "Ada", "Lovelace")).await?;
    // A second candidate, whose application Ashby will archive.
    let archived_body = start_body(&type_id, "Grace", "Hopper");
    let (archived_application, archived_candidate) = (
        archived_body["application"]["ashby_id"].clone(),
        archived_body["candidate"]["ashby_id"].clone(),
    );
    let archived_id = start(archived_body).await?;

    // The vendor's engine works the assessment.
    let token = TokenKeys::new(&secrets.token_secret)?
        .issue_vendor_token(Duration::from_secs(600))?
        .token;
    let vendor = |path: String, body: Option<Value>| {
        let request = match body {
            Some(body) => http.post(format!("{base}{path}")).json(&body),
            None => http.get(format!("{base}{path}")),
        };
        request.bearer_auth(token.expose_secret()).send()
    };
    let events = format!("/v1/assessments/{assessment_id}/events");
    let progress = json!({"status": "in_progress", "metadata": [
        {"identifier": "eta", "label": "Time left", "type": "numeric_duration_minutes", "value": 45}
    ]});
    expect_ok(vendor(events.clone(), Some(progress)).await?).await?;
    note("vendor", "reports in_progress (45 minutes left)".into());
    let completion = json!({
        "status": "completed",
        "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 87},
        "profile_url": "https://tests.example/results/demo",
        "metadata": [{"identifier": "time_taken", "label": "Time taken", "type": "numeric_duration_minutes", "value": 74}]
    });
    let final_state = expect_ok(vendor(events, Some(completion)).await?).await?;
    note(
        "vendor",
        format!(
            "reports completed, score 87 → assessment is {}",
            final_state["status"]
        ),
    );

    // Ashby archives the second candidate's application and says so, signed.
    let archive = json!({"action": "applicationUpdate", "data": {"application": {
        "id": archived_application, "status": "Archived",
        "candidate": {"id": archived_candidate}
    }}});
    let answered = stand_in.send_webhook("applicationUpdate", &archive).await?;
    ensure!(
        answered == 200,
        "the server answered {answered} to Ashby's applicationUpdate"
    );

    // The updates travel through the outbox to Ashby (a retry and a throttle included);
    // the vendor hears of both starts and of the cancel.
    wait_for(stand_in, |r| {
        r.updates.len() >= 2
            && webhooks_of(r, "assessment.started") >= 2
            && webhooks_of(r, "assessment.cancelled") >= 1
    })
    .await?;
    let cancelled =
        expect_ok(vendor(format!("/v1/assessments/{archived_id}"), None).await?).await?;
    let received = stand_in
        .received
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ensure!(
        received.problems.is_empty(),
        "{}",
        received.problems.join("; ")
    );
    let statuses: Vec<&str> = received
        .updates
        .iter()
        .map(|u| u["assessment_status"]["value"].as_str().unwrap_or(""))
        .collect();
    ensure!(
        statuses == ["In Progress", "Completed"],
        "Ashby received {statuses:?}"
    );
    let timestamps: Vec<i64> = received
        .updates
        .iter()
        .filter_map(|u| u["timestamp"].as_i64())
        .collect();
    ensure!(
        timestamps.windows(2).all(|w| w[0] < w[1]),
        "timestamps not increasing: {timestamps:?}"
    );
    ensure!(
        received.updates[1]["assessment_result"]["value"] == 87,
        "the result did not arrive"
    );
    ensure!(
        received.webhooks[0]["type"] == "assessment.started",
        "the vendor was not told of the start"
    );
    ensure!(
        received.throttled_once,
        "the stand-in never throttled the partner"
    );
    ensure!(
        cancelled["status"] == "cancelled",
        "Ashby archived the application, yet assessment {archived_id} is {}",
        cancelled["status"]
    );
    let cancels: Vec<&Value> = received
        .webhooks
        .iter()
        .filter(|w| w["type"] == "assessment.cancelled")
        .collect();
    ensure!(
        cancels.len() == 1
            && cancels[0]["data"]["id"] == archived_id.as_str()
            && cancels[0]["data"]["reason"] == "application_archived",
        "the vendor was not told of the cancel with reason application_archived: {cancels:?}"
    );
    // Nothing goes to Ashby for a cancel Ashby itself caused.
    ensure!(
        received.updates.len() == 2,
        "Ashby received {} updates",
        received.updates.len()
    );
    drop(received);
    note(
        "vendor",
        format!(
            "assessment {archived_id} is {} (application_archived): Ashby archived its application",
            cancelled["status"].as_str().unwrap_or("?")
        ),
    );
    Ok(())
}

fn webhooks_of(received: &stand_in::Received, kind: &str) -> usize {
    received
        .webhooks
        .iter()
        .filter(|w| w["type"] == kind)
        .count()
}

/// A partner call as Ashby makes it: Basic auth with the partner key as username.
async fn call(http: &reqwest::Client, url: &str, key: &str, body: &Value) -> anyhow::Result<Value> {
    let response = http
        .post(url)
        .basic_auth(key, Some(""))
        .json(body)
        .send()
        .await?;
    expect_ok(response).await
}

async fn expect_ok(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.context("the answer is not JSON")?;
    if !status.is_success() || body.get("success") == Some(&Value::Bool(false)) {
        bail!("HTTP {status}: {body}");
    }
    Ok(body)
}

async fn wait_for(
    stand_in: &StandIn,
    done: impl Fn(&stand_in::Received) -> bool,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if done(
            &stand_in
                .received
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ) {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, stand_in.arrived.notified())
            .await
            .is_err()
        {
            bail!("the updates did not reach the Ashby stand-in within {PATIENCE:?}");
        }
    }
}

fn start_body(type_id: &str, first_name: &str, last_name: &str) -> Value {
    let handle = first_name.to_ascii_lowercase();
    json!({
        "assessment_type_id": type_id,
        "candidate": {
            "ashby_id": uuid::Uuid::new_v4(), "first_name": first_name, "last_name": last_name,
            "email": format!("{handle}@example.com"),
            "ashby_profile_url": format!("https://app.ashbyhq.com/candidates/{handle}")
        },
        "application": {"ashby_id": uuid::Uuid::new_v4(), "status": "Active"},
        "job": {
            "ashby_id": uuid::Uuid::new_v4(), "name": "Backend Engineer",
            "ashby_job_url": "https://app.ashbyhq.com/jobs/backend"
        },
        "additional_fields": {"seniority": "sr"}
    })
}
