//! One browser page (its own WebDriver session and profile): open, act,
//! wait, read, screenshot, and collect console errors.

use std::io::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use base64::Engine as _;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value as Json};

use super::{screenshot_dir, Device, Driver, DEADLINE};

/// Runs before any script of every document: keeps every error the page
/// meets (uncaught exceptions, rejected promises, console.error, failed
/// script or style loads) in `window.__errors`.
const ERROR_TRAP: &str = r#"
window.__errors = [];
addEventListener("error", (e) => {
  const t = e.target;
  const what = e.message || (t && (t.src || t.href)) || "unknown";
  window.__errors.push("error: " + what);
}, true);
addEventListener("unhandledrejection", (e) => {
  const r = e.reason;
  window.__errors.push("unhandled rejection: " + ((r && (r.stack || r.message)) || r));
});
const __ce = console.error.bind(console);
console.error = (...a) => { window.__errors.push("console.error: " + a.join(" ")); __ce(...a); };
"#;

/// Moves the page's clocks (`Date`, `Date.now()`, `performance.now()`) by
/// `skew` ms: a phone whose clock is wrong.
fn skew_script(skew_ms: i64) -> String {
    format!(
        r#"(() => {{
  const skew = {skew_ms};
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {{
    constructor(...args) {{ if (args.length === 0) super(realNow() + skew); else super(...args); }}
    static now() {{ return realNow() + skew; }}
  }}
  globalThis.Date = SkewedDate;
  const realPerf = performance.now.bind(performance);
  performance.now = () => realPerf() + skew;
  window.__skew = skew;
}})();"#
    )
}

/// A chromedriver endpoint fantoccini has no method for.
#[derive(Debug)]
struct Raw {
    path: &'static str,
    body: Json,
}

impl WebDriverCompatibleCommand for Raw {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// A page in its own browser.
pub struct Page {
    pub client: Client,
    pub name: String,
    pub device: Device,
    driver_url: String,
    session: Option<String>,
    errors: Mutex<Vec<String>>,
}

impl Page {
    /// A new browser (fresh profile) named `name` (used in screenshot
    /// file names), sized for `device`, its clocks moved by `skew_ms`.
    pub async fn open(
        driver: &Driver,
        name: &str,
        device: Device,
        skew_ms: i64,
    ) -> anyhow::Result<Page> {
        Page::open_with_args(driver, name, device, skew_ms, &[]).await
    }

    /// [`Page::open`] with extra Chromium flags (an HTTPS test's
    /// `--ignore-certificate-errors-spki-list=<hash>`).
    pub async fn open_with_args(
        driver: &Driver,
        name: &str,
        device: Device,
        skew_ms: i64,
        extra_args: &[String],
    ) -> anyhow::Result<Page> {
        let (w, h) = device.size();
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--mute-audio".into(),
            "--hide-scrollbars".into(),
            "--force-device-scale-factor=1".into(),
            format!("--window-size={w},{h}"),
        ];
        args.extend(extra_args.iter().cloned());
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": driver.chromium,
                "args": args,
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .with_context(|| format!("opening a Chromium session for {name}"))?;
        let session = client.session_id().await?;
        let page = Page {
            client,
            name: name.to_string(),
            device,
            driver_url: driver.url.clone(),
            session,
            errors: Mutex::new(Vec::new()),
        };
        let mut script = ERROR_TRAP.to_string();
        if skew_ms != 0 {
            script.push_str(&skew_script(skew_ms));
        }
        page.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await
        .context("installing the error trap (CDP)")?;
        page.client.set_window_size(w, h).await?;
        Ok(page)
    }

    /// A Chrome DevTools command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Json) -> anyhow::Result<Json> {
        let cmd = cmd.to_string();
        Ok(self
            .client
            .issue_cmd(Raw {
                path: "goog/cdp/execute",
                body: json!({ "cmd": cmd, "params": params }),
            })
            .await?)
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.collect_errors().await;
        self.client
            .goto(url)
            .await
            .with_context(|| format!("{}: loading {url}", self.name))
    }

    /// Run `js` (a function body; `return` gives the value).
    pub async fn eval(&self, js: &str) -> anyhow::Result<Json> {
        self.client
            .execute(js, vec![])
            .await
            .with_context(|| format!("{}: running {js}", self.name))
    }

    /// The text of the first element matching `css` ("" if none).
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let v = self
            .eval(&format!(
                "const e = document.querySelector({css:?}); return e ? e.textContent : '';"
            ))
            .await?;
        Ok(v.as_str().unwrap_or_default().trim().to_string())
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, attr: &str) -> anyhow::Result<Option<String>> {
        let v = self
            .eval(&format!(
                "const e = document.querySelector({css:?}); return e ? e.getAttribute({attr:?}) : null;"
            ))
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    /// Find the element at `css` once `ready_js` says it is there, and `act`
    /// on it. A page that re-renders (a live list redrawn on an event) can
    /// replace the element between finding and acting on it; a person
    /// would use the new one, so the action is tried again on the element
    /// now there (a few times).
    async fn on_element<F, Fut>(
        &self,
        what: &str,
        css: &str,
        ready_js: &str,
        act: F,
    ) -> anyhow::Result<()>
    where
        F: Fn(fantoccini::elements::Element) -> Fut,
        Fut: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        let mut attempts = 0;
        loop {
            self.wait_js(&format!("{what} {css}"), ready_js).await?;
            let done = match self.client.find(Locator::Css(css)).await {
                Ok(e) => act(e).await,
                Err(e) => Err(e),
            };
            match done {
                Ok(()) => return Ok(()),
                Err(e) if attempts < 5 && e.to_string().contains("stale element") => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e))
                        .with_context(|| format!("{}: {what} {css}", self.name))
                }
            }
        }
    }

    /// Click what a person would click (waits until it is there and enabled).
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let ready = format!("const e = document.querySelector({css:?}); return !!(e && !e.disabled && e.offsetParent !== null) || null;");
        self.on_element("clicking", css, &ready, |e| async move {
            e.click().await.map(|_| ())
        })
        .await
    }

    /// Type into a field (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let ready = format!("return !!document.querySelector({css:?}) || null;");
        self.on_element("typing into", css, &ready, |e| async move {
            e.clear().await?;
            e.send_keys(text).await
        })
        .await
    }

    /// Choose a file in a file input (`path` on this machine).
    pub async fn upload(&self, css: &str, path: &std::path::Path) -> anyhow::Result<()> {
        let ready = format!("return !!document.querySelector({css:?}) || null;");
        let path = path.to_string_lossy();
        self.on_element("choosing a file in", css, &ready, |e| {
            let path = &path;
            async move { e.send_keys(path).await }
        })
        .await
    }

    /// Poll `js` until it returns something other than null/false/"";
    /// returns that value. Fails after [`DEADLINE`] with `what`, the last
    /// value, and a screenshot of the page as it was.
    pub async fn wait_js(&self, what: &str, js: &str) -> anyhow::Result<Json> {
        let started = Instant::now();
        let mut last;
        loop {
            match self.client.execute(js, vec![]).await {
                Ok(v) if !matches!(v, Json::Null | Json::Bool(false)) && v != json!("") => {
                    return Ok(v)
                }
                Ok(v) => last = v,
                Err(e) => last = json!(format!("error: {e}")),
            }
            if started.elapsed() > DEADLINE {
                let _ = self.shot(&format!("timeout-{}", slug(what))).await;
                bail!(
                    "{}: gave up waiting for {what} (last value {last})",
                    self.name
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Wait until the text of `css` satisfies `pred`; returns it.
    pub async fn wait_text(
        &self,
        css: &str,
        what: &str,
        pred: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            let t = self.text(css).await.unwrap_or_default();
            if pred(&t) {
                return Ok(t);
            }
            if started.elapsed() > DEADLINE {
                let _ = self.shot(&format!("timeout-{}", slug(what))).await;
                bail!(
                    "{}: gave up waiting for {what}: {css} shows {t:?}",
                    self.name
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// One full-page screenshot at the current size:
    /// `target/screenshots/<test>-<page>-<tag>.png`.
    pub async fn shot(&self, tag: &str) -> anyhow::Result<std::path::PathBuf> {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        // A full-page capture of a scrolled page draws the sticky header
        // half-way down: start from the top.
        let _ = self.client.execute("window.scrollTo(0, 0);", vec![]).await;
        let png = match self
            .cdp(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await
        {
            Ok(v) => base64::engine::general_purpose::STANDARD
                .decode(v["data"].as_str().unwrap_or_default())
                .context("decoding the screenshot")?,
            Err(_) => self.client.screenshot().await?,
        };
        let path = dir.join(format!("{}-{}.png", self.name, slug(tag)));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Screenshots at phone and desktop size (then back to this page's size).
    pub async fn shots(&self, tag: &str) -> anyhow::Result<()> {
        for device in [Device::Phone, Device::Desktop] {
            let (w, h) = device.size();
            self.client.set_window_size(w, h).await?;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            self.shot(&format!("{tag}-{}", device.name())).await?;
        }
        let (w, h) = self.device.size();
        self.client.set_window_size(w, h).await?;
        Ok(())
    }

    /// Move the browser's own error log and the trap's into `self.errors`.
    async fn collect_errors(&self) {
        let mut found = Vec::new();
        if let Ok(v) = self
            .client
            .issue_cmd(Raw {
                path: "se/log",
                body: json!({ "type": "browser" }),
            })
            .await
        {
            for entry in v.as_array().into_iter().flatten() {
                if entry["level"] == "SEVERE" {
                    found.push(entry["message"].as_str().unwrap_or_default().to_string());
                }
            }
        }
        if let Ok(Json::Array(trapped)) = self
            .client
            .execute("return window.__errors || [];", vec![])
            .await
        {
            found.extend(
                trapped
                    .into_iter()
                    .map(|e| e.as_str().unwrap_or_default().to_string()),
            );
            let _ = self.client.execute("window.__errors = [];", vec![]).await;
        }
        self.errors.lock().expect("errors").extend(found);
    }

    /// Every console error so far, except those containing one of `allow`
    /// (e.g. failed connections to a node the test killed on purpose).
    pub async fn errors(&self, allow: &[&str]) -> Vec<String> {
        self.collect_errors().await;
        let all = self.errors.lock().expect("errors").clone();
        all.into_iter()
            .filter(|e| !allow.iter().any(|a| e.contains(a)))
            .collect()
    }

    /// Fail when the page logged any error not in `allow`.
    pub async fn assert_no_errors(&self, allow: &[&str]) -> anyhow::Result<()> {
        let errors = self.errors(allow).await;
        if !errors.is_empty() {
            bail!("{}: console errors:\n  {}", self.name, errors.join("\n  "));
        }
        Ok(())
    }

    /// End the browser session.
    pub async fn close(mut self) {
        self.session = None;
        let client = self.client.clone();
        let _ = client.close().await;
    }
}

impl Drop for Page {
    /// A test that failed half-way still ends its browser: a plain HTTP
    /// DELETE of the session (no runtime is needed for that).
    fn drop(&mut self) {
        let Some(id) = self.session.take() else {
            return;
        };
        let Some(addr) = self
            .driver_url
            .strip_prefix("http://")
            .map(|a| a.trim_end_matches('/').to_string())
        else {
            return;
        };
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = write!(s, "DELETE /session/{id} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = std::io::Read::read(&mut s, &mut [0u8; 512]);
        }
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}
