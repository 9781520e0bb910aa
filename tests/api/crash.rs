//! Crash safety of the real binary (CONTRACT §6, "Durable"): completions accepted by
//! `serve` while Ashby is down survive a SIGKILL of that process and reach Ashby once
//! `serve` runs again. The database is the test's; the in-process app only prepares it
//! (it runs no delivery workers) and reads it back.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::helpers::{ASHBY_OK, TestApp, assert_matches_schema, start_body};

const ASHBY_KEY: &str = "ashby-key-for-the-crash-test";
const ASSESSMENTS: usize = 5;
/// How long `serve` may take to listen, and its workers to make progress, before the
/// test fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(60);
/// How often the database is read while waiting for the workers.
const POLL: Duration = Duration::from_millis(20);

/// A running `ashby-partner serve`. Killed (SIGKILL) when dropped, so a failing
/// assertion never leaves it behind.
pub(crate) struct Serve {
    child: Child,
    /// `http://127.0.0.1:<port>`, from its "listening" log line.
    pub(crate) address: String,
    /// Every line it wrote to stderr, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
    /// Its working directory (empty: no `config/` is read).
    _cwd: tempfile::TempDir,
}

impl Serve {
    /// Starts `serve` on the app's database and secrets, on a free port, with fast
    /// retries, and returns once it is listening.
    async fn start(app: &TestApp) -> Self {
        Self::start_with(app, &[]).await
    }

    /// [`Self::start`], with more settings (`ASHBY_PARTNER__...` variables).
    pub(crate) async fn start_with(app: &TestApp, settings: &[(&str, &str)]) -> Self {
        let cwd = tempfile::tempdir().unwrap();
        let mut command = app.binary(cwd.path());
        command.envs(settings.iter().copied());
        command
            .arg("serve")
            .env("ASHBY_PARTNER__SERVER__BIND", "127.0.0.1:0")
            .env("ASHBY_PARTNER_LOG_FORMAT", "json")
            .env("ASHBY_PARTNER__DELIVERY__INITIAL_BACKOFF_MS", "50")
            .env("ASHBY_PARTNER__DELIVERY__MAX_BACKOFF_MS", "200")
            .env("ASHBY_PARTNER__DELIVERY__REQUEST_TIMEOUT_MS", "1000")
            // With 50–200 ms backoffs the default 15 attempts last about two seconds: a
            // slow machine must not see the deliveries die before the crash.
            .env("ASHBY_PARTNER__DELIVERY__MAX_ATTEMPTS", "1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (lines, mut received) = tokio::sync::mpsc::unbounded_channel::<String>();
        // Drains stderr until the process ends, so it never blocks on a full pipe.
        std::thread::spawn({
            let log = Arc::clone(&log);
            move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push(line.clone());
                    // Nobody listens once the port is known; the log keeps the lines.
                    let _ = lines.send(line);
                }
            }
        });
        let mut serve = Self {
            child,
            address: String::new(),
            log,
            _cwd: cwd,
        };
        let port = tokio::time::timeout(DEADLINE, async {
            while let Some(line) = received.recv().await {
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if event["message"] == "listening" {
                    return event["port"].as_u64();
                }
            }
            None // stderr closed: the process ended.
        })
        .await;
        let port = match port {
            Ok(Some(port)) => port,
            Ok(None) => panic!(
                "serve ended ({:?}) without listening:\n{}",
                serve.child.try_wait(),
                serve.log_tail()
            ),
            Err(_) => panic!(
                "serve did not listen within {DEADLINE:?}:\n{}",
                serve.log_tail()
            ),
        };
        serve.address = format!("http://127.0.0.1:{port}");
        serve
    }

    /// The last lines it logged.
    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(40)..].join("\n")
    }

    /// SIGTERM, as a service manager stops it; returns once it has exited, successfully.
    #[cfg(unix)]
    pub(crate) fn terminate(mut self) {
        use rustix::process::{Pid, Signal, kill_process};
        kill_process(Pid::from_child(&self.child), Signal::TERM).unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}: {}", self.log_tail());
    }

    /// SIGKILL: no graceful shutdown, no chance to finish or release anything.
    fn crash(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(status.signal(), Some(9), "{status}: {}", self.log_tail());
        }
        #[cfg(not(unix))]
        assert!(!status.success(), "{status}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every request Ashby received: its Authorization header and its body.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Value)>>>);

impl Received {
    fn matcher(&self) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
        let log = Arc::clone(&self.0);
        move |request| {
            let authorization = request
                .header("authorization")
                .first()
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = request.utf8_lossy_body().unwrap_or_default();
            log.lock().unwrap().push((
                authorization,
                serde_json::from_str(&body).unwrap_or(Value::Null),
            ));
            true
        }
    }

    fn requests(&self) -> Vec<(String, Value)> {
        self.0.lock().unwrap().clone()
    }
}

/// An address where nothing listens: Ashby is down.
fn nowhere() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// The deliveries of these assessments.
async fn deliveries_of_all(app: &TestApp, ids: &[String]) -> Vec<entity::delivery::Model> {
    let mut rows = Vec::new();
    for id in ids {
        rows.extend(app.deliveries_of(id).await);
    }
    rows
}

#[tokio::test]
async fn completions_accepted_while_ashby_is_down_reach_it_after_serve_is_killed_and_restarted() {
    // Arrange: assessments started, their tenant pointed at an Ashby that is down.
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    app.connect_tenant_to_ashby(&tenant, &nowhere(), ASHBY_KEY)
        .await;
    let mut ids = Vec::new();
    for n in 0..ASSESSMENTS {
        ids.push(
            app.start_assessment(&tenant, &start_body(&format!("crash-app-{n}")))
                .await,
        );
    }
    let first = Serve::start(&app).await;

    // Act: the vendor completes every assessment through the real binary...
    let token = app.vendor_token();
    for (n, id) in ids.iter().enumerate() {
        let response = app
            .client
            .post(format!("{}/v1/assessments/{id}/events", first.address))
            .bearer_auth(&token)
            .json(&json!({
                "status": "completed",
                "result": {"identifier": "score", "label": "Score", "type": "numeric_score", "value": 50 + n},
                "profile_url": format!("https://tests.example/results/{n}")
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", first.log_tail());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "completed", "{body}");
    }
    // ...its workers try Ashby and fail...
    let deadline = Instant::now() + DEADLINE;
    loop {
        let rows = deliveries_of_all(&app, &ids).await;
        if rows.iter().any(|d| d.attempts >= 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no delivery attempt within {DEADLINE:?}: {rows:#?}\n{}",
            first.log_tail()
        );
        tokio::time::sleep(POLL).await;
    }
    // ...and the process dies.
    first.crash();

    let at_crash = deliveries_of_all(&app, &ids).await;
    assert_eq!(at_crash.len(), ASSESSMENTS, "one update per completion");
    assert!(
        at_crash.iter().all(|d| d.status == "pending"),
        "{at_crash:#?}"
    );
    let failed_before_the_crash: Vec<uuid::Uuid> = at_crash
        .iter()
        .filter(|d| d.attempts >= 1)
        .map(|d| d.id)
        .collect();
    assert!(!failed_before_the_crash.is_empty());
    for delivery in at_crash.iter().filter(|d| d.attempts >= 1) {
        assert!(
            delivery.last_error.is_some(),
            "a failed attempt says why: {delivery:#?}"
        );
    }

    // Ashby comes back; serve is started again.
    let mut ashby = mockito::Server::new_async().await;
    let received = Received::default();
    let mock = ashby
        .mock("POST", "/assessment.update")
        .match_request(received.matcher())
        .with_status(200)
        .with_body(ASHBY_OK)
        .expect(ASSESSMENTS)
        .create_async()
        .await;
    app.connect_tenant_to_ashby(&tenant, &ashby.url(), ASHBY_KEY)
        .await;
    let second = Serve::start(&app).await;

    // Assert: every completion is delivered (waiting for the background workers).
    let deadline = Instant::now() + DEADLINE;
    let delivered = loop {
        let rows = deliveries_of_all(&app, &ids).await;
        assert!(
            rows.iter().all(|d| d.status != "dead"),
            "a delivery died: {rows:#?}\n{}",
            second.log_tail()
        );
        if rows.iter().all(|d| d.status == "delivered") {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "not all delivered within {DEADLINE:?}: {rows:#?}\n{}",
            second.log_tail()
        );
        tokio::time::sleep(POLL).await;
    };
    drop(second);

    mock.assert_async().await;
    assert_eq!(delivered.len(), ASSESSMENTS);
    for delivery in &delivered {
        assert!(delivery.delivered_at_ms.is_some(), "{delivery:#?}");
        if failed_before_the_crash.contains(&delivery.id) {
            assert!(
                delivery.attempts >= 2,
                "failed before the crash, delivered after it: {delivery:#?}"
            );
        }
    }
    let expected_authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ASHBY_KEY}:"))
    );
    let requests = received.requests();
    assert_eq!(requests.len(), ASSESSMENTS, "{requests:#?}");
    for (authorization, body) in &requests {
        assert_eq!(authorization, &expected_authorization);
        assert_matches_schema("assessment.update.request.json", body);
    }
    for (n, id) in ids.iter().enumerate() {
        let completions: Vec<&Value> = requests
            .iter()
            .map(|(_, body)| body)
            .filter(|body| body["assessment_id"] == id.as_str())
            .collect();
        assert_eq!(completions.len(), 1, "{id}: {completions:#?}");
        let body = completions[0];
        assert_eq!(body["assessment_status"]["value"], "Completed", "{body}");
        assert_eq!(body["assessment_result"]["value"], 50 + n, "{body}");
    }
}
