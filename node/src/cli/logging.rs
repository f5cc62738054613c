//! tracing setup: logs go to stderr (stdout is for command output such as
//! `config show` or `cluster status --json`), readable lines by default,
//! one JSON object per line for log collectors.
//!
//! The filter comes from the config (`log`, which already folds in
//! `RUST_LOG` and `PADDLE_LOG`); commands without a config use
//! [`tool_filter`].

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The filter string is not a tracing filter.
    #[error("log = {filter:?} is not a tracing filter ({reason}); use e.g. `info` or `info,paddle_consensus=debug`")]
    BadFilter {
        /// The filter as given.
        filter: String,
        /// tracing-subscriber's message.
        reason: String,
    },
    /// Something installed a global subscriber first (a bug in `main`).
    #[error("logging was already initialised")]
    AlreadySet,
}

/// The filter for client and tool commands (`cluster`, `bid`, ...), whose
/// output is their answer: only warnings, unless `RUST_LOG` asks for more.
pub fn tool_filter() -> String {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "warn".to_owned())
}

/// Installs the process-wide subscriber writing to stderr. Call once, from
/// `main`, before anything logs.
pub fn init(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let subscriber = build(format, filter, ansi, std::io::stderr)?;
    tracing::subscriber::set_global_default(subscriber).map_err(|_| LoggingError::AlreadySet)
}

/// Builds the subscriber for any writer, so tests can capture its lines.
pub fn build<W>(
    format: LogFormat,
    filter: &str,
    ansi: bool,
    writer: W,
) -> Result<Box<dyn Subscriber + Send + Sync>, LoggingError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).map_err(|e| LoggingError::BadFilter {
        filter: filter.to_owned(),
        reason: e.to_string(),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    Ok(match format {
        LogFormat::Human => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer that keeps what was logged.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn log_with(format: LogFormat, filter: &str) -> String {
        let out = Captured::default();
        let subscriber = build(format, filter, false, out.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("apply", index = 42u64);
            let _entered = span.enter();
            tracing::info!(lot = "7", "bid accepted");
            tracing::debug!("hidden at info");
        });
        out.text()
    }

    #[test]
    fn human_lines_are_plain_text() {
        let text = log_with(LogFormat::Human, "info");
        assert!(text.contains("INFO"), "{text}");
        assert!(text.contains("bid accepted"), "{text}");
        assert!(text.contains("lot=\"7\""), "{text}");
        assert!(!text.contains("hidden"), "{text}");
        assert!(!text.contains('\u{1b}'), "no colour codes when ansi is off");
    }

    #[test]
    fn json_lines_parse_and_carry_fields_and_span() {
        let text = log_with(LogFormat::Json, "debug");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["message"], "bid accepted");
        assert_eq!(lines[0]["lot"], "7");
        assert_eq!(lines[0]["span"]["name"], "apply");
        assert_eq!(lines[0]["span"]["index"], 42);
        assert_eq!(lines[1]["level"], "DEBUG");
    }

    #[test]
    fn bad_filters_are_refused_with_the_value() {
        let err = build(
            LogFormat::Human,
            "paddle=verbose",
            false,
            Captured::default(),
        )
        .err()
        .expect("refused");
        assert!(err.to_string().contains("paddle=verbose"), "{err}");
    }
}
