//! Progress of a long benchmark on the terminal (indicatif): a spinner per
//! phase and a bar for the measured seconds. Quiet when stderr is not a
//! terminal or the report is JSON, so pipes and scripts get the report only.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The progress line of one benchmark run.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Shown only on a terminal and without `--json`.
    pub fn new(json: bool) -> Self {
        Self::shown_if(!json && std::io::stderr().is_terminal())
    }

    /// A progress line that draws only when `shown`.
    pub fn shown_if(shown: bool) -> Self {
        let bar = if shown {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar }
    }

    /// Whether anything is drawn.
    pub fn is_shown(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// A phase without a known length: a spinner and `msg`.
    pub fn phase(&self, msg: impl Into<String>) {
        self.bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .expect("a valid template"),
        );
        self.bar.set_length(0);
        self.bar.set_message(msg.into());
    }

    /// A phase of `len` steps (seconds, connections): a bar.
    pub fn steps(&self, len: u64, unit: &str, msg: impl Into<String>) {
        self.bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit} {{msg}}"
            ))
            .expect("a valid template"),
        );
        self.bar.set_length(len);
        self.bar.set_position(0);
        self.bar.set_message(msg.into());
    }

    /// Move the bar to `pos` and update its message.
    pub fn at(&self, pos: u64, msg: impl Into<String>) {
        self.bar.set_position(pos);
        self.bar.set_message(msg.into());
    }

    /// Remove the line (before the report is printed).
    pub fn done(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_or_no_terminal_draws_nothing() {
        assert!(!Progress::new(true).is_shown());
        assert!(!Progress::shown_if(false).is_shown());
        // Calls on a hidden line are harmless.
        let p = Progress::shown_if(false);
        p.phase("starting");
        p.steps(10, "s", "bidding");
        p.at(3, "x");
        p.done();
    }
}
