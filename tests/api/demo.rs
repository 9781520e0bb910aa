//! `demo` runs the whole flow with no configuration and no network, and says so.

use std::process::Command;

#[test]
fn the_demo_plays_the_whole_flow_and_exits_zero() {
    let empty_dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ashby-partner"));
    command
        .arg("demo")
        .current_dir(empty_dir.path())
        .env("TMPDIR", scratch.path());
    for (name, _) in std::env::vars() {
        if name.starts_with("ASHBY_PARTNER") || name == "DATABASE_URL" || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }

    let output = command.output().unwrap();

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
    for dir in [empty_dir.path(), scratch.path()] {
        let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
        assert!(
            left.is_empty(),
            "the demo left {left:?} in {}",
            dir.display()
        );
    }
}
