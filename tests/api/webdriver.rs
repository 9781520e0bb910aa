//! Headless Chromium driven through ChromeDriver (WebDriver). The console's end-to-end
//! test and the screenshot example (`examples/console_screenshots.rs`, which includes this
//! file) share it, so it holds no `unwrap`: the example is linted like the server.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Where Debian's packages `chromium` and `chromium-driver` put them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long ChromeDriver may take to say which port it listens on.
const DRIVER_START: Duration = Duration::from_secs(30);
/// Polls of ChromeDriver's `/status` before giving up, `POLL` apart.
const STATUS_TRIES: u32 = 100;
/// Page elements are waited for at most this long (a cold Chromium is slow on a busy CI).
pub const ELEMENT_WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

/// A ChromeDriver process and one headless Chromium session on it.
pub struct Browser {
    pub client: Client,
    _driver: Driver,
}

/// ChromeDriver, stopped when dropped: also when a test fails before [`Browser::quit`].
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Browser {
    /// Starts ChromeDriver on a port it picks itself (`--port=0`, read from its output, so
    /// no other process can take the port in between) and opens a 1280×900 headless
    /// Chromium window.
    ///
    /// # Errors
    /// Chromium or ChromeDriver is not installed (saying how to install them), or does not
    /// start.
    pub async fn start() -> anyhow::Result<Self> {
        for path in [CHROMIUM, CHROMEDRIVER] {
            ensure!(
                Path::new(path).exists(),
                "{path} is missing: the console's browser test needs Debian's chromium and \
                 chromium-driver (`apt-get install --no-install-recommends chromium \
                 chromium-driver`; .ci/run installs them)"
            );
        }
        let mut driver = Driver(
            Command::new(CHROMEDRIVER)
                .arg("--port=0")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot start {CHROMEDRIVER}"))?,
        );
        let client = connect(&mut driver.0).await?;
        Ok(Self {
            client,
            _driver: driver,
        })
    }

    /// Ends the session (Chromium exits) and stops ChromeDriver.
    ///
    /// # Errors
    /// ChromeDriver did not end the session.
    pub async fn quit(self) -> anyhow::Result<()> {
        self.client
            .close()
            .await
            .context("closing the browser session")
    }

    /// Waits for an element matching `css`.
    ///
    /// # Errors
    /// None appeared within [`ELEMENT_WAIT`].
    pub async fn element(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        match self
            .client
            .wait()
            .at_most(ELEMENT_WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => Ok(element),
            Err(error) => {
                Err(error).context(format!("no element {css:?} on {}", self.location().await))
            }
        }
    }

    /// Waits until the element matching `css` exists and its text is `text` (a page
    /// loading after a click may still show the previous one for a moment).
    ///
    /// # Errors
    /// It did not, within [`ELEMENT_WAIT`]; the error says what was there instead.
    pub async fn text_becomes(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + ELEMENT_WAIT;
        let mut seen = String::from("(no such element)");
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(found) = element.text().await
            {
                if found.trim() == text {
                    return Ok(());
                }
                seen = found;
            }
            tokio::time::sleep(POLL).await;
        }
        bail!(
            "{css:?} on {} says {seen:?}, not {text:?}",
            self.location().await
        )
    }

    /// The page's address, for error messages.
    async fn location(&self) -> String {
        self.client
            .current_url()
            .await
            .map_or_else(|_| "the page".into(), |url| url.to_string())
    }
}

/// Reads ChromeDriver's port, waits until it is ready, opens the session.
async fn connect(driver: &mut Child) -> anyhow::Result<Client> {
    let stdout = driver
        .stdout
        .take()
        .context("ChromeDriver's output is not piped")?;
    let (lines, said) = mpsc::channel();
    // Reads to the end, so ChromeDriver never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let deadline = Instant::now() + DRIVER_START;
    let port = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = said
            .recv_timeout(left)
            .context("ChromeDriver did not say which port it listens on")?;
        if let Some(port) = started_on_port(&line) {
            break port;
        }
    };
    let url = format!("http://127.0.0.1:{port}");
    wait_until_ready(&url).await?;
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                // Containers often have a tiny /dev/shm.
                "--disable-dev-shm-usage"
            ]
        }
    });
    let Value::Object(capabilities) = capabilities else {
        bail!("the capabilities are not a JSON object");
    };
    // Plain HTTP: ChromeDriver listens on loopback only, so no TLS stack is involved.
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&url)
        .await
        .context("ChromeDriver could not start Chromium")
}

/// The port in "ChromeDriver was started successfully on port 34005."
fn started_on_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("started successfully on port ")?;
    rest.trim_end_matches('.').trim().parse().ok()
}

async fn wait_until_ready(url: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for _ in 0..STATUS_TRIES {
        if let Ok(response) = http.get(format!("{url}/status")).send().await
            && let Ok(status) = response.json::<Value>().await
            && status["value"]["ready"] == true
        {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
    bail!("ChromeDriver at {url} was not ready after {STATUS_TRIES} polls of /status")
}

#[test]
fn chromedrivers_port_is_read_from_its_greeting() {
    assert_eq!(
        started_on_port("ChromeDriver was started successfully on port 34005."),
        Some(34005)
    );
    assert_eq!(
        started_on_port("Starting ChromeDriver 156.0 on port 0"),
        None
    );
}
