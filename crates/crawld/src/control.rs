//! Steering a running crawl from outside the scheduler loop, without sharing its state.
//!
//! ```text
//! admin API, progress display ── Control ── mpsc<Command> ──► scheduler loop (answers on a oneshot)
//! config reloader ───────────── watch<Arc<Config>> ────────► scheduler loop (retunes pool, frontier, fetcher)
//! ```
//! The loop owns every counter and queue; a [`Status`] is a snapshot it builds when asked. Only the
//! histograms of [`Metrics`] are written from the loop and read elsewhere (they are atomic).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use crawld_frontier::HostId;
use crawld_sink::PageRecord;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::stats::Stats;

/// The keys a running crawl takes from a changed config file. Every other key waits for a restart.
pub const LIVE_KEYS: [&str; 11] = [
    "crawl.concurrency",
    "crawl.max_depth",
    "crawl.max_pages",
    "crawl.max_retries",
    "crawl.retry_backoff",
    "crawl.max_retry_backoff",
    "politeness.per_host_concurrency",
    "politeness.delay",
    "politeness.max_crawl_delay",
    "fetch.timeout",
    "scope.exclude",
];

/// How long a caller waits for the loop to answer: it answers between two fetch completions, so only a
/// loop that is stopping (draining) or gone takes longer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// What the scheduler loop is asked to do.
#[derive(Debug)]
pub enum Command {
    Status(oneshot::Sender<Status>),
    Pause(oneshot::Sender<RunState>),
    Resume(oneshot::Sender<RunState>),
    /// Add URLs at depth 0, each checked against the scope.
    AddSeeds(Vec<Url>, oneshot::Sender<Vec<SeedAnswer>>),
}

/// Whether the crawl leases new URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    /// Nothing new is leased; fetches under way finish.
    Paused,
    /// Stopping (a signal or `POST /stop`): in-flight fetches are draining, then the crawl ends.
    Stopping,
}

/// What became of one URL of a `POST /seeds`.
#[derive(Debug, Clone, Serialize)]
pub struct SeedAnswer {
    pub url: String,
    pub added: bool,
    /// Why it was not added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A running crawl as the loop sees it at one instant: `GET /status`, `crawld status`, the progress display.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub state: RunState,
    pub uptime_secs: f64,
    pub pages: u64,
    pub queued: u64,
    pub in_flight: u64,
    pub hosts: u64,
    /// Fetches allowed in flight now (crawl.concurrency in force).
    pub concurrency: usize,
    pub pages_per_sec_last_minute: f64,
    pub pages_per_sec: f64,
    /// Body bytes received.
    pub bytes: u64,
    /// Pages by status class.
    pub status_classes: BTreeMap<&'static str, u64>,
    /// Pages that ended without a usable answer, by kind (only kinds that happened).
    pub errors: BTreeMap<&'static str, u64>,
    /// pages.jsonl lines per depth, from depth 0.
    pub pages_per_depth: Vec<u64>,
    pub top_hosts_by_pages: Vec<HostCount>,
    pub top_hosts_by_queue: Vec<HostCount>,
    /// The live-retunable config values in force.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Every counter, as in stats.json.
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostCount {
    pub host: String,
    pub count: u64,
}

/// Why a [`Control`] request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("the crawl is stopping: in-flight fetches are finishing")]
    Stopping,
    #[error("the crawl has ended")]
    Ended,
}

/// The handle outside the loop: cheap to clone, one per admin request or display.
#[derive(Debug, Clone)]
pub struct Control {
    commands: mpsc::Sender<Command>,
    cancel: CancellationToken,
    metrics: Arc<Metrics>,
}

impl Control {
    pub async fn status(&self) -> Result<Status, Unavailable> {
        self.ask(Command::Status).await
    }

    pub async fn pause(&self) -> Result<RunState, Unavailable> {
        self.ask(Command::Pause).await
    }

    pub async fn resume(&self) -> Result<RunState, Unavailable> {
        self.ask(Command::Resume).await
    }

    pub async fn add_seeds(&self, urls: Vec<Url>) -> Result<Vec<SeedAnswer>, Unavailable> {
        self.ask(|answer| Command::AddSeeds(urls, answer)).await
    }

    /// The same graceful stop as SIGTERM.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    pub fn is_stopping(&self) -> bool {
        self.cancel.is_cancelled()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Unavailable> {
        let gone = || if self.cancel.is_cancelled() { Unavailable::Stopping } else { Unavailable::Ended };
        if self.cancel.is_cancelled() {
            return Err(Unavailable::Stopping);
        }
        let (answer, answered) = oneshot::channel();
        self.commands.send(command(answer)).await.map_err(|_| gone())?;
        match tokio::time::timeout(ANSWER_WITHIN, answered).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) | Err(_) => Err(gone()),
        }
    }
}

/// The loop's end of the channels, plus what it keeps for status snapshots beyond its counters.
#[derive(Debug)]
pub struct Hooks {
    commands: Option<mpsc::Receiver<Command>>,
    config: Option<watch::Receiver<Arc<Config>>>,
    metrics: Arc<Metrics>,
    pub(crate) paused: bool,
    pub(crate) tracker: Tracker,
}

/// Steer a crawl: `control` for the admin API and the display, `hooks` for [`crate::crawl::run_steered`],
/// and the sender of the config in force for the reloader.
pub fn channel(config: &Config, cancel: CancellationToken) -> (Control, Hooks, watch::Sender<Arc<Config>>) {
    let (commands, receiver) = mpsc::channel(16);
    let (config_tx, config_rx) = watch::channel(Arc::new(config.clone()));
    let metrics = Arc::new(Metrics::new());
    let control = Control { commands, cancel, metrics: metrics.clone() };
    let hooks = Hooks {
        commands: Some(receiver),
        config: Some(config_rx),
        metrics,
        paused: false,
        tracker: Tracker::default(),
    };
    (control, hooks, config_tx)
}

impl Hooks {
    /// For a crawl nobody steers (tests, embedding): no command ever comes, the config never changes.
    pub fn inert() -> Hooks {
        Hooks {
            commands: None,
            config: None,
            metrics: Arc::new(Metrics::new()),
            paused: false,
            tracker: Tracker::default(),
        }
    }

    /// The next command or config change; pending forever once neither can come.
    pub(crate) async fn next_event(&mut self) -> Steer {
        loop {
            tokio::select! {
                command = next_command(&mut self.commands) => match command {
                    Some(command) => return Steer::Command(command),
                    None => self.commands = None,
                },
                config = next_config(&mut self.config) => match config {
                    Some(config) => return Steer::Config(config),
                    None => self.config = None,
                },
            }
        }
    }

    /// A pages.jsonl line was written.
    pub(crate) fn observe(&mut self, host: HostId, record: &PageRecord) {
        self.tracker.page(host, record.depth);
        if record.status.is_some() {
            self.metrics.observe_fetch(record.elapsed, record.bytes);
        }
    }
}

/// What the loop is woken for: a command, or a new config in force.
#[derive(Debug)]
pub enum Steer {
    Command(Command),
    Config(Arc<Config>),
}

/// `None` once the channel is closed; pending forever when there is none.
async fn next_command(commands: &mut Option<mpsc::Receiver<Command>>) -> Option<Command> {
    match commands {
        Some(commands) => commands.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_config(config: &mut Option<watch::Receiver<Arc<Config>>>) -> Option<Arc<Config>> {
    match config {
        Some(config) => config.changed().await.ok().map(|()| config.borrow_and_update().clone()),
        None => std::future::pending().await,
    }
}

/// What a status needs that stats.json does not count: pages per depth and per host, and the recent rate.
#[derive(Debug)]
pub(crate) struct Tracker {
    pub(crate) started: Instant,
    pub(crate) per_depth: Vec<u64>,
    pub(crate) per_host: HashMap<HostId, u64>,
    /// Pages of this run (a resumed crawl's stats count earlier runs too).
    pub(crate) pages: u64,
    /// (instant, pages by then), about one a second over the last minute.
    samples: VecDeque<(Instant, u64)>,
}

impl Default for Tracker {
    fn default() -> Self {
        let started = Instant::now();
        Tracker {
            started,
            per_depth: Vec::new(),
            per_host: HashMap::new(),
            pages: 0,
            samples: VecDeque::from([(started, 0)]),
        }
    }
}

impl Tracker {
    fn page(&mut self, host: HostId, depth: u32) {
        let depth = depth as usize;
        if self.per_depth.len() <= depth {
            self.per_depth.resize(depth + 1, 0);
        }
        self.per_depth[depth] += 1;
        *self.per_host.entry(host).or_default() += 1;
        self.pages += 1;
        let now = Instant::now();
        if self.samples.back().is_none_or(|&(at, _)| now.duration_since(at) >= Duration::from_secs(1)) {
            self.samples.push_back((now, self.pages));
        }
        while self.samples.len() > 2 && self.samples.get(1).is_some_and(|&(at, _)| now.duration_since(at) > MINUTE) {
            self.samples.pop_front();
        }
    }

    /// Pages per second over the last minute (over the whole crawl while it is younger).
    pub(crate) fn recent_rate(&self) -> f64 {
        let now = Instant::now();
        let (at, then) = self
            .samples
            .iter()
            .copied()
            .find(|&(at, _)| now.duration_since(at) <= MINUTE)
            .or_else(|| self.samples.back().copied())
            .unwrap_or((self.started, 0));
        (self.pages - then) as f64 / now.duration_since(at).as_secs_f64().max(1.0)
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// The config as `section.key` -> value (durations as "250ms", absent values as null).
pub fn flatten(config: &Config) -> BTreeMap<String, serde_json::Value> {
    fn walk(prefix: &str, value: serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let name = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
                    walk(&name, value, out);
                }
            }
            value => {
                out.insert(prefix.to_owned(), value);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", serde_json::to_value(config).unwrap_or_default(), &mut out);
    out
}

/// The live-retunable values of a config, by key.
pub fn tunables(config: &Config) -> BTreeMap<String, serde_json::Value> {
    let mut all = flatten(config);
    all.retain(|key, _| LIVE_KEYS.contains(&key.as_str()));
    all
}

/// `running` with the live keys of `next`: what a reload puts in force (other keys wait for a restart).
pub fn with_live_keys(running: &Config, next: &Config) -> Config {
    let mut out = running.clone();
    out.crawl.concurrency = next.crawl.concurrency;
    out.crawl.max_depth = next.crawl.max_depth;
    out.crawl.max_pages = next.crawl.max_pages;
    out.crawl.max_retries = next.crawl.max_retries;
    out.crawl.retry_backoff = next.crawl.retry_backoff;
    out.crawl.max_retry_backoff = next.crawl.max_retry_backoff;
    out.politeness.per_host_concurrency = next.politeness.per_host_concurrency;
    out.politeness.delay = next.politeness.delay;
    out.politeness.max_crawl_delay = next.politeness.max_crawl_delay;
    out.fetch.timeout = next.fetch.timeout;
    out.scope.exclude = next.scope.exclude.clone();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_live_key_is_a_config_key_and_carried_by_with_live_keys() {
        let running = Config::default();
        let text = "[crawl]\nconcurrency = 3\nmax_depth = 4\nmax_pages = 5\nmax_retries = 6\n\
                    retry_backoff = \"7s\"\nmax_retry_backoff = \"8s\"\n\
                    [politeness]\nper_host_concurrency = 9\ndelay = \"10ms\"\nmax_crawl_delay = \"11s\"\n\
                    [fetch]\ntimeout = \"12s\"\nuser_agent = \"other/1\"\n[scope]\nexclude = [\"x\"]\n";
        let next = Config::parse(text, std::path::Path::new("c.toml")).unwrap();
        let merged = with_live_keys(&running, &next);
        let (before, after, wanted) = (flatten(&running), flatten(&merged), flatten(&next));
        for key in LIVE_KEYS {
            assert!(before.contains_key(key), "{key} is a config key");
            assert_ne!(before[key], after[key], "{key} changed");
            assert_eq!(after[key], wanted[key], "{key} taken from the new config");
        }
        assert_eq!(after["fetch.user_agent"], before["fetch.user_agent"], "other keys wait for a restart");
        assert_eq!(tunables(&merged).len(), LIVE_KEYS.len());
    }
}
