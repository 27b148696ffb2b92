//! Harness for zoolab's end-to-end tests: the real `zoolab play` binary serving the
//! built playground, driven by headless Chromium through ChromeDriver (WebDriver).
//!
//! The tests are `#[ignore]`d in a plain `cargo test` because they need the wasm build
//! and a browser; `make test` builds both and runs them with `--ignored`.

use fantoccini::{Client, ClientBuilder};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Chromium flags that work headless as root on a machine with no network but loopback.
pub const CHROME_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,800",
];

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where screenshots of end-to-end runs are saved (ignored by git; CI keeps them).
pub fn artifacts() -> PathBuf {
    let dir = workspace().join("tests").join("artifacts");
    std::fs::create_dir_all(&dir).expect("create tests/artifacts");
    dir
}

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().unwrap().port()
}

/// A child process killed (by its own pid) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A served playground and a browser session on it.
pub struct Session {
    /// The WebDriver client.
    pub client: Client,
    /// The playground's URL.
    pub url: String,
    _server: Guard,
    _driver: Guard,
}

/// The `zoolab` binary the tests run (`ZOOLAB_BIN`, else target/debug/zoolab).
pub fn zoolab_bin() -> PathBuf {
    let bin = std::env::var_os("ZOOLAB_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target").join("debug").join("zoolab"));
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p zoolab-server` (make test does)",
        bin.display()
    );
    bin
}

/// Starts `zoolab play` (with `extra` arguments) on a free port and reads the URL it prints.
fn start_playground(extra: &[&str]) -> (Guard, String) {
    let mut child = Command::new(zoolab_bin())
        .args(["play", "--port", &free_port().to_string(), "--www"])
        .arg(workspace().join("www"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start zoolab play");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read zoolab play's first line");
    let guard = Guard(child);
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("zoolab play printed no URL: {line:?}"))
        .to_string();
    (guard, url)
}

fn start_chromedriver() -> (Guard, u16) {
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = free_port();
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {driver}: {e} (make test installs chromium-driver)"));
    let guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on {port} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

impl Session {
    /// Serves the playground, starts Chromium, and opens the page.
    pub async fn open() -> Session {
        Session::open_at("").await
    }

    /// Like [`Session::open`], with a URL fragment (a share link's `z1.…`), in a fresh
    /// browser (its own ChromeDriver, profile and server).
    pub async fn open_at(fragment: &str) -> Session {
        Session::open_with(&[], fragment).await
    }

    /// Like [`Session::open_at`], with more arguments for `zoolab play` (e.g. `--attach`).
    pub async fn open_with(play_args: &[&str], fragment: &str) -> Session {
        let (server, url) = start_playground(play_args);
        let (driver, port) = start_chromedriver();
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), serde_json::json!({ "args": CHROME_ARGS }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session in headless Chromium");
        let target = if fragment.is_empty() { url.clone() } else { format!("{url}#{fragment}") };
        client.goto(&target).await.expect("open the playground");
        Session { client, url, _server: server, _driver: driver }
    }

    /// Waits (up to 10 s) until `css` matches at least one element.
    pub async fn wait_for(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"));
    }

    /// The `data-role` of every server card, in page order.
    pub async fn roles(&self) -> Vec<String> {
        let mut roles = Vec::new();
        for card in self.client.find_all(fantoccini::Locator::Css(".server")).await.expect("server cards") {
            roles.push(card.attr("data-role").await.expect("data-role").unwrap_or_default());
        }
        roles
    }

    /// The text of the element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// An attribute of the element `css` selects.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("{name} of {css}: {e}"))
    }

    /// A DOM property (not the attribute) of the element `css` selects, e.g. an input's value.
    pub async fn prop(&self, css: &str, name: &str) -> Option<String> {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .prop(name)
            .await
            .unwrap_or_else(|e| panic!("{name} of {css}: {e}"))
    }

    /// How many elements `css` selects.
    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(fantoccini::Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
    }

    /// Waits (up to 10 s) until `css` matches nothing.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.count(css).await > 0 {
            assert!(Instant::now() < deadline, "{css} did not go away");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Saves a screenshot as `tests/artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(artifacts().join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Ends the browser session (the processes stop when the session is dropped).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
