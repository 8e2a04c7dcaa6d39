//! Live retuning: the config file is read again when it changes (its directory is watched, since
//! editors save by renaming a new file over the old one) or on SIGHUP, and the keys a running crawl can
//! take ([`LIVE_KEYS`]) are put in force through the scheduler's `watch` channel.
//!
//! A file that does not parse or validate is refused with the same `file:line:column: key: message` as at
//! start-up, and the crawl goes on with the last good config. Command-line flags win over the file until
//! the file changes the key they set.

use std::collections::BTreeMap;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::Watcher;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::{Config, HttpUrl};
use crate::control::{LIVE_KEYS, flatten, with_live_keys};

/// Events that come together (an editor's write, rename and chmod) make one reload.
const SETTLE: Duration = Duration::from_millis(150);

/// What the command line set over the config file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub seeds: Vec<HttpUrl>,
    pub out: Option<PathBuf>,
    pub max_depth: Option<u32>,
    pub max_pages: Option<NonZeroU64>,
    pub concurrency: Option<NonZeroUsize>,
    /// `--allow-private-networks`: on whatever the file says.
    pub allow_private_networks: bool,
}

impl Overrides {
    pub fn apply(&self, config: &mut Config) {
        if !self.seeds.is_empty() {
            config.seeds = self.seeds.clone();
        }
        if let Some(out) = &self.out {
            config.out = out.clone();
        }
        config.crawl.max_depth = self.max_depth.or(config.crawl.max_depth);
        config.crawl.max_pages = self.max_pages.or(config.crawl.max_pages);
        config.crawl.concurrency = self.concurrency.unwrap_or(config.crawl.concurrency);
        config.fetch.allow_private_networks |= self.allow_private_networks;
        if config.admin.token.is_none() {
            config.admin.token = std::env::var("CRAWLD_ADMIN_TOKEN").ok().filter(|t| !t.is_empty());
        }
    }

    /// Drop the flags whose key the file changed from `old` to `new`: from now on the file says.
    fn yield_to_file(&mut self, old: &BTreeMap<String, serde_json::Value>, new: &BTreeMap<String, serde_json::Value>) {
        let changed = |key: &str| old.get(key) != new.get(key);
        if self.max_depth.is_some() && changed("crawl.max_depth") {
            info!("crawl.max_depth changed in the config file: it now takes over from --max-depth");
            self.max_depth = None;
        }
        if self.max_pages.is_some() && changed("crawl.max_pages") {
            info!("crawl.max_pages changed in the config file: it now takes over from --max-pages");
            self.max_pages = None;
        }
        if self.concurrency.is_some() && changed("crawl.concurrency") {
            info!("crawl.concurrency changed in the config file: it now takes over from --concurrency");
            self.concurrency = None;
        }
    }
}

/// Re-reads one config file and sends what is to be in force.
#[derive(Debug)]
pub struct Reloader {
    path: PathBuf,
    overrides: Overrides,
    /// The file as last read successfully, before the flags.
    file: Config,
    /// The config in force.
    running: Arc<Config>,
    sender: watch::Sender<Arc<Config>>,
}

impl Reloader {
    /// `file` is the config as read at start-up (before `overrides`); `sender` carries the config in force.
    pub fn new(path: PathBuf, file: Config, overrides: Overrides, sender: watch::Sender<Arc<Config>>) -> Reloader {
        let running = sender.borrow().clone();
        Reloader { path, overrides, file, running, sender }
    }

    /// Read the file again and put its live keys in force. Returns what changed, `key: old → new`.
    pub fn reload(&mut self) -> anyhow::Result<Vec<String>> {
        let file = Config::load(&self.path)?;
        let (old_file, new_file) = (flatten(&self.file), flatten(&file));
        let mut overrides = self.overrides.clone();
        overrides.yield_to_file(&old_file, &new_file);
        let mut wanted = file.clone();
        overrides.apply(&mut wanted);
        wanted.validate()?;
        for (key, value) in &new_file {
            if !LIVE_KEYS.contains(&key.as_str()) && old_file.get(key) != Some(value) {
                warn!(key = key.as_str(), "{key} changed in the config file: ignored until crawld is restarted");
            }
        }
        let next = with_live_keys(&self.running, &wanted);
        let (before, after) = (flatten(&self.running), flatten(&next));
        let changes: Vec<String> = LIVE_KEYS
            .iter()
            .filter(|key| before.get(**key) != after.get(**key))
            .map(|key| format!("{key}: {} → {}", show(before.get(*key)), show(after.get(*key))))
            .collect();
        self.file = file;
        self.overrides = overrides;
        if !changes.is_empty() {
            self.running = Arc::new(next);
            self.sender.send_replace(self.running.clone());
        }
        Ok(changes)
    }

    /// Reload and log the outcome.
    fn reload_and_log(&mut self, why: &str) {
        match self.reload() {
            Ok(changes) if changes.is_empty() => debug!(why, "config file read again: no live key changed"),
            Ok(changes) => {
                for change in &changes {
                    info!(why, "config changed: {change}");
                }
            }
            Err(e) => warn!(why, "config not reloaded, the crawl goes on with the last good one: {e:#}"),
        }
    }

    /// Watch the file and SIGHUP until `stop`. The watcher lives as long as this task.
    pub async fn run(mut self, stop: CancellationToken) {
        let (events, mut changed) = mpsc::unbounded_channel();
        let watcher = watch_file(&self.path, events)
            .inspect_err(|e| {
                warn!(path = %self.path.display(), error = %e, "cannot watch the config file: reloads on SIGHUP only")
            })
            .ok();
        let mut hangup = hangups();
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(()) = changed.recv() => {
                    // Let the editor finish, and take the burst of events as one.
                    tokio::time::sleep(SETTLE).await;
                    while changed.try_recv().is_ok() {}
                    self.reload_and_log("file changed");
                }
                Some(()) = next_hangup(&mut hangup) => self.reload_and_log("SIGHUP"),
            }
        }
        drop(watcher);
    }
}

/// Notify `events` of any change to the file at `path`, watching its directory.
fn watch_file(path: &Path, events: mpsc::UnboundedSender<()>) -> notify::Result<notify::RecommendedWatcher> {
    let name = path.file_name().map(|n| n.to_owned());
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        if event.paths.iter().any(|p| p.file_name() == name.as_deref()) {
            let _ = events.send(());
        }
    })?;
    watcher.watch(&dir, notify::RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

/// SIGHUP handling: installed at once, so that a SIGHUP never kills the crawl.
#[cfg(unix)]
pub fn hangups() -> Hangups {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .inspect_err(|e| warn!(error = %e, "cannot listen for SIGHUP"))
        .ok()
}

#[cfg(not(unix))]
pub fn hangups() -> Hangups {
    None
}

#[cfg(unix)]
async fn next_hangup(hangups: &mut Hangups) -> Option<()> {
    match hangups {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangups) -> Option<()> {
    std::future::pending().await
}

/// Without a config file: SIGHUP has nothing to reload, and says so.
pub async fn ignore_hangups(stop: CancellationToken) {
    let mut hangup = hangups();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            Some(()) = next_hangup(&mut hangup) => warn!("SIGHUP: no config file to reload (crawld run was started without --config)"),
        }
    }
}

fn show(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "none".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn reloader(dir: &Path, text: &str, overrides: Overrides) -> (Reloader, watch::Receiver<Arc<Config>>) {
        let path = dir.join("c.toml");
        std::fs::write(&path, text).unwrap();
        let file = Config::load(&path).unwrap();
        let mut running = file.clone();
        overrides.apply(&mut running);
        let (sender, receiver) = watch::channel(Arc::new(running));
        (Reloader::new(path, file, overrides, sender), receiver)
    }

    #[test]
    fn live_keys_change_others_wait_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let base = "seeds = [\"http://a.test/\"]\n[crawl]\nconcurrency = 4\n[politeness]\ndelay = \"1s\"\n";
        let (mut r, receiver) = reloader(dir.path(), base, Overrides::default());
        let path = dir.path().join("c.toml");

        std::fs::write(&path, base.replace("\"1s\"", "\"20ms\"").replace("a.test", "b.test")).unwrap();
        assert_eq!(r.reload().unwrap(), ["politeness.delay: 1s → 20ms"]);
        assert_eq!(receiver.borrow().politeness.delay, Duration::from_millis(20));
        assert_eq!(receiver.borrow().seeds[0].0.as_str(), "http://a.test/", "seeds wait for a restart");

        std::fs::write(&path, base.replace("concurrency = 4", "concurrency = 0")).unwrap();
        let error = format!("{:#}", r.reload().unwrap_err());
        assert!(error.starts_with(&format!("{}:3:15: `concurrency`", path.display())), "{error}");
        assert_eq!(receiver.borrow().crawl.concurrency.get(), 4, "the last good config stays");
    }

    #[test]
    fn a_flag_wins_until_the_file_changes_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let base = "seeds = [\"http://a.test/\"]\n[crawl]\nconcurrency = 4\nmax_retries = 1\n";
        let flags = Overrides { concurrency: NonZeroUsize::new(9), ..Overrides::default() };
        let (mut r, receiver) = reloader(dir.path(), base, flags);
        let path = dir.path().join("c.toml");
        std::fs::write(&path, base.replace("max_retries = 1", "max_retries = 3")).unwrap();
        assert_eq!(r.reload().unwrap(), ["crawl.max_retries: 1 → 3"]);
        assert_eq!(receiver.borrow().crawl.concurrency.get(), 9, "--concurrency still wins");
        std::fs::write(&path, base.replace("concurrency = 4", "concurrency = 2")).unwrap();
        assert_eq!(r.reload().unwrap(), ["crawl.concurrency: 9 → 2", "crawl.max_retries: 3 → 1"]);
    }
}
