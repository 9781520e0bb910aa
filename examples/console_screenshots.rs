//! Takes the README's console screenshots from the real console: runs `ashby-partner demo
//! --keep-running`, signs in through the link it prints in headless Chromium, and saves
//! `console-overview.png` and `console-timeline.png` (1280 wide) into `docs/`.
//!
//! `scripts/console-screenshots.sh` builds and runs it. By hand:
//! `cargo run --example console_screenshots -- [BINARY] [OUT_DIR]` (BINARY defaults to the
//! `ashby-partner` built beside this example, OUT_DIR to `docs`).

// The end-to-end test's browser driver, shared rather than copied; the test uses more of it.
#[allow(dead_code)]
#[path = "../tests/api/webdriver.rs"]
mod webdriver;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use webdriver::Browser;

/// The demo's first candidate, whose timeline is shown.
const CANDIDATE_EMAIL: &str = "ada@example.com";
/// How long the demo may take to pass and print the console's address.
const DEMO_PATIENCE: Duration = Duration::from_secs(120);
/// Pages taller than the window are shot whole, up to this height.
const MAX_HEIGHT: u32 = 2400;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let binary = match args.next() {
        Some(binary) => PathBuf::from(binary),
        None => beside_this_example()?,
    };
    let out = args
        .next()
        .map_or_else(|| PathBuf::from("docs"), PathBuf::from);
    let cwd = tempfile::tempdir()?;
    let mut demo = Command::new(&binary);
    demo.args(["demo", "--keep-running"])
        // No config/ of the working directory: the demo as a newcomer sees it.
        .current_dir(cwd.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("ASHBY_PARTNER") || name == "DATABASE_URL" || name == "RUST_LOG" {
            demo.env_remove(&*name);
        }
    }
    let mut demo = demo
        .spawn()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let outcome = match console_link(&mut demo) {
        Ok(link) => shoot(&link, &out).await,
        Err(error) => Err(error),
    };
    stop(&demo)?;
    let status = demo.wait()?;
    outcome?;
    if !status.success() {
        bail!("the demo ended with {status}");
    }
    println!(
        "Saved {} and {}",
        out.join("console-overview.png").display(),
        out.join("console-timeline.png").display()
    );
    Ok(())
}

/// `target/debug/ashby-partner`, beside `target/debug/examples/console_screenshots`.
fn beside_this_example() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me
        .parent()
        .and_then(Path::parent)
        .context("cannot tell where the binary was built")?;
    Ok(dir.join("ashby-partner"))
}

/// Reads the demo's output up to the line with the console's address.
fn console_link(demo: &mut Child) -> anyhow::Result<String> {
    let stdout = demo
        .stdout
        .take()
        .context("the demo's output is not piped")?;
    let (lines, said) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    loop {
        let line = said
            .recv_timeout(DEMO_PATIENCE)
            .context("the demo printed no console address (did it fail?)")?;
        if let Some(link) = line.strip_prefix("Console: ") {
            return Ok(link.to_owned());
        }
    }
}

async fn shoot(link: &str, out: &Path) -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    let outcome = async {
        // The link fills in the form; signing in is still a click.
        browser.client.goto(link).await?;
        browser.element("#sign-in").await?.click().await?;
        browser.text_becomes("h1", "Overview").await?;
        save_page(&browser, &out.join("console-overview.png")).await?;

        browser
            .element("#search")
            .await?
            .send_keys(CANDIDATE_EMAIL)
            .await?;
        browser.element("#search-go").await?.click().await?;
        browser.element("a.assessment-link").await?.click().await?;
        browser.element("[id^='delivery-'] .status").await?;
        save_page(&browser, &out.join("console-timeline.png")).await
    }
    .await;
    browser.quit().await?;
    outcome
}

/// The whole page (up to [`MAX_HEIGHT`]) at 1280 wide.
async fn save_page(browser: &Browser, path: &Path) -> anyhow::Result<()> {
    let height = browser
        .client
        .execute("return document.documentElement.scrollHeight;", Vec::new())
        .await?
        .as_u64()
        .and_then(|h| u32::try_from(h).ok())
        .unwrap_or(900)
        .clamp(900, MAX_HEIGHT);
    browser.client.set_window_size(1280, height).await?;
    let png = browser.client.screenshot().await?;
    browser.client.set_window_size(1280, 900).await?;
    std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// SIGTERM, as Ctrl-C or a service manager stops it.
fn stop(demo: &Child) -> anyhow::Result<()> {
    use rustix::process::{Pid, Signal, kill_process};
    kill_process(Pid::from_child(demo), Signal::TERM).context("cannot stop the demo")
}
