//! One `chromedriver` process per test, on a free port, killed when the
//! test ends (also when the test process dies: PR_SET_PDEATHSIG).

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The screen a page is opened on (its screenshots are taken on both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// 390 × 844, a common phone.
    Phone,
    /// 1280 × 900, a laptop.
    Desktop,
}

impl Device {
    pub fn size(self) -> (u32, u32) {
        match self {
            Device::Phone => (390, 844),
            Device::Desktop => (1280, 900),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Device::Phone => "phone",
            Device::Desktop => "desktop",
        }
    }
}

/// A running chromedriver.
pub struct Driver {
    child: Child,
    pub url: String,
    pub chromium: String,
}

/// The first of `names` found on PATH or in /usr/bin.
fn find(names: &[&str]) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    for name in names {
        for dir in path.split(':').chain(["/usr/bin", "/usr/lib/chromium"]) {
            let p = std::path::Path::new(dir).join(name);
            if p.is_file() {
                return Some(p.to_string_lossy().into_owned());
            }
        }
    }
    None
}

impl Driver {
    /// Start chromedriver. Fails (never skips) when Chromium or its driver
    /// is missing: `scripts/test` installs both from Debian's packages.
    pub async fn start() -> anyhow::Result<Driver> {
        let driver = find(&["chromedriver"]).context(
            "chromedriver not found: install Debian's chromium and chromium-driver \
             (scripts/test does: apt-get install -y chromium chromium-driver)",
        )?;
        let chromium = find(&["chromium", "chromium-browser"])
            .context("chromium not found: apt-get install -y chromium")?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let mut cmd = Command::new(&driver);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().with_context(|| format!("starting {driver}"))?;
        let url = format!("http://127.0.0.1:{port}/");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{url}status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("chromedriver did not answer on {url} within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Driver {
            child,
            url,
            chromium,
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
