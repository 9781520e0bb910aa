//! `demo` runs the whole flow with no configuration and no network, and says so.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// `demo` from an empty directory, its scratch files in `scratch`, with no inherited
/// configuration.
fn demo(cwd: &Path, scratch: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ashby-partner"));
    command.arg("demo").current_dir(cwd).env("TMPDIR", scratch);
    for (name, _) in std::env::vars() {
        if name.starts_with("ASHBY_PARTNER") || name == "DATABASE_URL" || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
}

fn assert_nothing_left_in(dirs: [&Path; 2]) {
    for dir in dirs {
        let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
        assert!(
            left.is_empty(),
            "the demo left {left:?} in {}",
            dir.display()
        );
    }
}

#[test]
fn the_demo_plays_the_whole_flow_and_exits_zero() {
    let empty_dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();

    let output = demo(empty_dir.path(), scratch.path()).output().unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "assessment.list",
        "assessment.start",
        "answers 503",
        "receives assessment.update \"In Progress\"",
        "receives assessment.update \"Completed\"",
        "matches Ashby's schema",
        "receives webhook \"assessment.started\" (signature verified)",
        // Ashby throttles the whole partner once; the update still arrives.
        "answers 429 integration-partner: every tenant holds back 1 s",
        // The tenant's Ashby webhooks are registered, each pinged with its signature.
        "webhook.create \"applicationUpdate\"",
        "ping answered 200",
        "Ashby webhooks → registered",
        // Ashby archives the second application: its assessment is cancelled.
        "sends signed applicationUpdate \"Archived\"",
        "cancelled (application_archived)",
        "receives webhook \"assessment.cancelled\" (signature verified) — reason application_archived",
        "Demo passed",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(!stdout.contains("BAD SIGNATURE"));
    assert!(!stdout.contains("Console:"), "{stdout}");
    assert_nothing_left_in([empty_dir.path(), scratch.path()]);
}

/// How long the demo may take to pass before printing the console's address (it gives
/// its own deliveries 30 s): a guard against a hang, not a measurement.
const DEMO_PATIENCE: Duration = Duration::from_secs(120);

#[tokio::test]
async fn with_keep_running_the_demo_serves_its_console_with_a_ready_sign_in_until_sigterm() {
    let empty_dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let logs = tempfile::tempfile().unwrap();
    let mut running = Running(
        demo(empty_dir.path(), scratch.path())
            .arg("--keep-running")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(logs)
            .spawn()
            .unwrap(),
    );
    let (lines, said) = mpsc::channel();
    let stdout = running.0.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut printed = Vec::new();
    let link = loop {
        let line = said
            .recv_timeout(DEMO_PATIENCE)
            .unwrap_or_else(|_| panic!("no console line from the demo: {printed:#?}"));
        if let Some(link) = line.strip_prefix("Console: ") {
            break link.to_owned();
        }
        printed.push(line);
    };
    assert!(
        printed.iter().any(|l| l.contains("Demo passed")),
        "{printed:#?}"
    );
    let link = url::Url::parse(&link).unwrap();
    assert_eq!(link.path(), "/console/sign-in");
    let (_, token) = link
        .query_pairs()
        .find(|(name, _)| name == "token")
        .unwrap();
    let token = token.into_owned();
    let token_line = said.recv_timeout(DEMO_PATIENCE).unwrap();
    assert!(token_line.contains("admin token"), "{token_line}");
    assert_eq!(said.recv_timeout(DEMO_PATIENCE).unwrap().trim(), token);

    // The link shows the sign-in form with the token filled in...
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(link.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let field = token_field(&html);
    assert!(field.contains(&format!("value=\"{token}\"")), "{field}");
    // ...which signs in (the GET alone does not).
    let signed_in = http
        .post(link.join("/console/sign-in").unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert!(
        signed_in.status().is_redirection(),
        "{}",
        signed_in.status()
    );
    assert!(signed_in.headers().contains_key("set-cookie"));

    stop(&running.0);
    let status = running.0.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success(), "{status}");
    let rest: Vec<String> = said.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("Stopping")), "{rest:#?}");
    assert_nothing_left_in([empty_dir.path(), scratch.path()]);
}

#[tokio::test]
async fn a_sign_in_link_only_fills_the_form_escaped_and_opens_no_session() {
    let app = crate::helpers::TestApp::spawn().await;
    let page = |query: &'static str| {
        let url = app.url(&format!("/console/sign-in{query}"));
        async move {
            let response = reqwest::get(url).await.unwrap();
            assert_eq!(response.status(), 200);
            assert!(!response.headers().contains_key("set-cookie"));
            response.text().await.unwrap()
        }
    };

    let hostile = page("?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert!(
        token_field(&hostile).contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{}",
        token_field(&hostile)
    );
    assert!(!hostile.contains("<script>"));
    for query in ["", "?token=", "?token=two%20words", "?token=a%0Ab"] {
        let html = page(query).await;
        assert!(!token_field(&html).contains("value="), "{query}: {html}");
    }
}

/// The `<input ...>` tag whose id is `token`.
fn token_field(html: &str) -> &str {
    html.split('<')
        .find(|tag| tag.starts_with("input") && tag.contains("id=\"token\""))
        .unwrap_or_else(|| panic!("no token field in {html}"))
}

/// The demo, killed if the test fails while it runs.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// SIGTERM, as a service manager stops it.
fn stop(child: &std::process::Child) {
    use rustix::process::{Pid, Signal, kill_process};
    kill_process(Pid::from_child(child), Signal::TERM).unwrap();
}
