//! The delivery workers run on threads of their own, at `server.background_nice` on
//! PostgreSQL, so that requests come first when the cores are busy; the HTTP workers keep
//! the process's priority.

#![cfg(target_os = "linux")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ashby_partner::background::{THREAD_NAME, this_threads_nice};
use ashby_partner::telemetry::SpanScope;
use tokio::sync::Notify;
use tracing::span::Id;
use tracing::{Dispatch, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

use crate::helpers::{TestApp, TestDatabase, start_body, test_settings};

/// One span entered: its name, the thread's name and that thread's nice value.
type Entry = (String, Option<String>, i32);

/// Where each span was entered.
#[derive(Clone, Default)]
struct Entered(Arc<Mutex<Vec<Entry>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Entered {
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let thread = std::thread::current().name().map(str::to_owned);
        let nice = this_threads_nice().unwrap();
        self.0
            .lock()
            .unwrap()
            .push((span.name().to_owned(), thread, nice));
    }
}

impl Entered {
    fn of(&self, span: &str) -> Vec<(Option<String>, i32)> {
        let entered = self.0.lock().unwrap();
        entered
            .iter()
            .filter(|(name, ..)| name == span)
            .map(|(_, thread, nice)| (thread.clone(), *nice))
            .collect()
    }
}

#[tokio::test]
async fn webhooks_are_sent_from_lower_priority_threads_and_requests_are_not_served_from_them() {
    let database = TestDatabase::create().await;
    let postgres = database.is_postgres();
    let ours = this_threads_nice().unwrap();
    let mut vendor = mockito::Server::new_async().await;
    let arrived = Arc::new(Notify::new());
    let signal = Arc::clone(&arrived);
    let hook = vendor
        .mock("POST", "/hooks")
        .match_request(move |_| {
            signal.notify_one();
            true
        })
        .with_status(200)
        .create_async()
        .await;
    let mut settings = test_settings(&database.url);
    settings.vendor.webhook_url = format!("{}/hooks", vendor.url());
    settings.vendor.webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string().into();
    settings.server.background_nice = 12;
    let entered = Entered::default();
    let scope = SpanScope::of(Dispatch::new(
        tracing_subscriber::registry().with(entered.clone()),
    ));
    let app = TestApp::serve_in_scope(settings, database, scope).await;
    let tenant = app.create_tenant("Acme").await;

    // The start is answered by an HTTP worker; its webhook goes out from the delivery
    // workers, by themselves (nothing steps them).
    app.start_assessment(&tenant, &start_body("app-nice")).await;
    tokio::time::timeout(Duration::from_secs(30), arrived.notified())
        .await
        .expect("the started webhook never arrived");
    hook.assert_async().await;

    let deliveries = entered.of("delivery");
    assert!(!deliveries.is_empty(), "no delivery span was entered");
    for (thread, nice) in &deliveries {
        if postgres {
            // Lowered, never raised.
            assert_eq!(thread.as_deref(), Some(THREAD_NAME), "{deliveries:?}");
            assert_eq!(*nice, ours.max(12), "{deliveries:?}");
        } else {
            // Not at all on SQLite (a connection's thread would inherit it), and then on
            // the server's runtime: no threads of its own.
            assert_ne!(thread.as_deref(), Some(THREAD_NAME), "{deliveries:?}");
            assert_eq!(*nice, ours, "{deliveries:?}");
        }
    }
    // The requests are served by the actix workers (every test's, in this process), and
    // none of them runs at the lowered priority.
    let workers = threads_named("actix-server wo");
    assert!(!workers.is_empty(), "no actix worker thread found");
    assert!(workers.iter().all(|&nice| nice == ours), "{workers:?}");
}

/// The nice values of this process's threads whose (15-byte) name is `name`.
fn threads_named(name: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = task.unwrap().path();
        // A thread may end between the listing and the reads.
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        if comm.trim_end() != name {
            continue;
        }
        // After the command's closing parenthesis come the fields from the 3rd on; the
        // nice value is the 19th (proc_pid_stat(5)).
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        found.push(fields[19 - 3].parse().unwrap());
    }
    found
}
