//! The live progress display of `crawld run` on a terminal: one line at the bottom of stderr, redrawn
//! from status snapshots, with log lines printed above it. Off a terminal the log's periodic `progress`
//! line says the same.

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::fmt::MakeWriter;

use crate::control::{Control, RunState, Status};

/// How often the display asks the crawl for a snapshot.
const REFRESH: Duration = Duration::from_millis(250);

/// The display's bar, hidden until a crawl starts. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    pub fn new() -> Progress {
        Progress { bar: ProgressBar::hidden() }
    }

    /// The log's writer: each event is printed above the bar, which is redrawn below it.
    pub fn log_writer(&self) -> LogWriter {
        LogWriter { bar: self.bar.clone() }
    }

    /// Show the bar on stderr and keep it up to date until `stop`; the bar is cleared then.
    pub async fn run(self, control: Control, stop: CancellationToken) {
        let style = ProgressStyle::with_template("{spinner} {elapsed_precise} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        self.bar.set_style(style);
        self.bar.set_draw_target(ProgressDrawTarget::stderr());
        self.bar.set_message("starting");
        let mut tick = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let message = match control.status().await {
                Ok(status) => line(&status),
                Err(_) => "stopping: in-flight fetches are finishing".to_owned(),
            };
            self.bar.set_message(message);
            self.bar.tick();
        }
        self.bar.finish_and_clear();
        self.bar.set_draw_target(ProgressDrawTarget::hidden());
    }
}

/// One line of the display.
pub fn line(s: &Status) -> String {
    let depth = s.pages_per_depth.len().saturating_sub(1);
    let errors: u64 = s.errors.values().sum();
    let paused = if s.state == RunState::Paused { "PAUSED · " } else { "" };
    format!(
        "{paused}pages {} · {:.1}/s · queued {} · in flight {}/{} · depth {depth} · errors {errors}",
        s.pages, s.pages_per_sec_last_minute, s.queued, s.in_flight, s.concurrency
    )
}

/// Writes log lines to stderr around the progress bar.
#[derive(Debug, Clone)]
pub struct LogWriter {
    bar: ProgressBar,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one whole event per write: the bar steps aside for it.
        self.bar.suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        self.clone()
    }
}
