//! Browser tests: headless Chromium (Debian's `chromium` and
//! `chromium-driver` packages, never a downloaded browser) driven over
//! WebDriver with fantoccini, against real `paddle serve` processes.
//!
//! - [`Driver`] runs one `chromedriver` for a test; each [`Page`] is its own
//!   browser session with a fresh profile (its own localStorage), so two
//!   pages are two different people.
//! - Every page gets a script before any of its own (CDP
//!   `Page.addScriptToEvaluateOnNewDocument`) that records errors, and, when
//!   asked, skews `Date` and `performance.now()` to play a phone whose clock
//!   is wrong.
//! - [`Page::shots`] saves a phone-sized and a desktop screenshot under
//!   `target/screenshots/`, for a person to look at.
//! - [`UiCluster`] starts a small local cluster whose nodes allow each
//!   other's origins, so a page can fail over from one node to another.
//!
//! Waits poll with generous deadlines and fail with what they were waiting
//! for; nothing asserts how long anything took.

mod driver;
mod nodes;
mod page;

pub use driver::{Device, Driver};
pub use nodes::UiCluster;
pub use page::Page;

use std::path::PathBuf;
use std::time::Duration;

/// How long any wait on a page may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Where screenshots go: `target/screenshots/` of the workspace (or of
/// `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("screenshots")
}

/// Browser tests run one at a time: each starts nodes and browsers, and two
/// cores cannot run several such tests side by side without starving the
/// nodes they test.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
