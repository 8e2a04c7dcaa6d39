//! Resuming a crawl from its output directory: what the directory holds, whether it is the same crawl,
//! and the state rebuilt from its pages.jsonl.
//!
//! pages.jsonl says what is done, the frontier's journal (`state/frontier.journal`) what was queued; the
//! sink and the frontier each cut their torn tails (see `crawld_sink::Sink::recover` and
//! `crawld_frontier::Frontier::resume`). Counters that pages.jsonl carries (pages by outcome, bytes,
//! truncations, guard drops) are counted again from it; the others (links queued, retries, ...) go on
//! from the last stats.json, which may lag the kill by up to `output.progress_interval`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use crawld_extract::{OutOfScope, Scope, fingerprint};
use crawld_frontier::{FingerprintSet, Journaled, Snapshot};
use crawld_sink::{LineClass, RecordedPage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::stats::Stats;

const MANIFEST: &str = "crawl.json";
const PAGES: &str = "pages.jsonl";
const STATS: &str = "stats.json";

/// The frontier's state directory in an output directory.
pub fn state_dir(out: &Path) -> PathBuf {
    out.join("state")
}

/// What an output directory holds.
#[derive(Debug)]
pub enum Previous {
    /// Nothing of a crawl: start one.
    Nothing,
    /// A crawl that did not finish: resume it.
    Unfinished { manifest: Value, stats: Stats },
    /// A crawl that ended `complete` or `failed`: nothing to do.
    Finished { manifest: Value, state: String, stats: Stats },
}

/// Look at `out` before a crawl claims it.
pub fn look(out: &Path) -> anyhow::Result<Previous> {
    if !out.join(PAGES).exists() {
        return Ok(Previous::Nothing);
    }
    let manifest_path = out.join(MANIFEST);
    let manifest: Value = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is damaged; cannot tell which crawl this is", manifest_path.display()))?,
        Err(e) => bail!(
            "{} holds a pages.jsonl but no readable crawl.json ({e}): not a crawld output directory",
            out.display()
        ),
    };
    let (state, stats) = read_stats(&out.join(STATS));
    if matches!(state.as_deref(), Some("complete" | "failed")) {
        return Ok(Previous::Finished { manifest, state: state.unwrap_or_default(), stats });
    }
    if !crawld_frontier_journal(out).exists() {
        bail!(
            "{} holds a crawl that did not finish, made without a frontier journal (an older crawld): \
             it cannot be resumed; choose another output directory",
            out.display()
        );
    }
    Ok(Previous::Unfinished { manifest, stats })
}

fn crawld_frontier_journal(out: &Path) -> PathBuf {
    state_dir(out).join(crawld_frontier::JOURNAL_FILE)
}

/// stats.json's state and counters; a missing or unreadable file counts as zero (it is rewritten).
fn read_stats(path: &Path) -> (Option<String>, Stats) {
    let Some(value) = std::fs::read(path).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
        return (None, Stats::default());
    };
    let state = value["state"].as_str().map(str::to_owned);
    (state, serde_json::from_value(value).unwrap_or_default())
}

/// The config of the crawl saved in `out`'s crawl.json, with `out` as its output directory.
pub fn saved_config(out: &Path) -> anyhow::Result<Config> {
    let path = out.join(MANIFEST);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let manifest: Value = serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))?;
    let mut config: Config = serde_json::from_value(manifest["config"].clone())
        .with_context(|| format!("{} holds no config this crawld can read", path.display()))?;
    config.out = out.to_path_buf();
    Ok(config)
}

/// Refuse to resume with seeds or a scope other than the saved crawl's: the pages already recorded
/// answer to those. Exclude patterns and the guards (URL length, ...) may change; they only narrow.
pub fn check_same_crawl(config: &Config, manifest: &Value) -> anyhow::Result<()> {
    let mut saved: Vec<String> = manifest["seeds"]
        .as_array()
        .map(|seeds| seeds.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let mut now: Vec<String> = config.seeds.iter().map(|s| s.to_string()).collect();
    saved.sort();
    now.sort();
    if saved != now {
        bail!(
            "{} holds a crawl of other seeds ({}); resuming it with these ({}) is refused: \
             run `crawld resume {}` to go on with its own, or choose another output directory",
            config.out.display(),
            saved.join(" "),
            now.join(" "),
            config.out.display()
        );
    }
    let scope = serde_json::to_value(&config.scope).unwrap_or_default();
    for key in ["allowed_hosts", "allowed_domains", "include", "seed_redirects_join_scope"] {
        let was = &manifest["config"]["scope"][key];
        if *was != scope[key] {
            bail!(
                "{} holds a crawl with scope.{key} = {was}; resuming it with scope.{key} = {} is refused \
                 (the scope of a crawl cannot change; exclude patterns may)",
                config.out.display(),
                scope[key]
            );
        }
    }
    Ok(())
}

/// What a frontier snapshot carries of the crawl's own state, at the instant it was taken: what a
/// resume from it would otherwise count again from the lines and frames before it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SnapshotExtra {
    /// Counters at that instant; those that pages.jsonl lines carry are used.
    pub stats: Stats,
    pub seeds_answered: u64,
    /// Sites that joined the scope through a seed's redirects, as the URL they were reached at.
    pub joined: Vec<String>,
}

/// The snapshot of the frontier to resume from, if there is one that can be trusted: a damaged one,
/// or one that does not agree with pages.jsonl, is set aside with a warning (a resume without it
/// replays the whole journal and loses nothing).
pub fn snapshot(out: &Path) -> Option<(Snapshot, SnapshotExtra)> {
    let unusable = |why: String| {
        tracing::warn!("the frontier's snapshot cannot be used ({why}): replaying the whole journal instead");
        None
    };
    let snapshot = match Snapshot::open(&state_dir(out)) {
        Ok(snapshot) => snapshot?,
        Err(e) => return unusable(e.to_string()),
    };
    let pages = std::fs::metadata(out.join(PAGES)).map_or(0, |m| m.len());
    if pages < snapshot.pages_bytes() {
        return unusable(format!("it counts {} bytes of pages.jsonl, which holds {pages}", snapshot.pages_bytes()));
    }
    match serde_json::from_slice(snapshot.extra()) {
        Ok(extra) => Some((snapshot, extra)),
        Err(e) => unusable(format!("its crawl state does not parse: {e}")),
    }
}

/// What pages.jsonl and the journal rebuild of a crawl's state, line by line (after the snapshot, when
/// there is one).
#[derive(Debug)]
pub struct Restore {
    /// Fingerprints of the URLs with a line read: done, never fetched again.
    pub done: FingerprintSet,
    pub stats: Stats,
    /// Seeds that got an HTTP response before.
    pub seeds_answered: u64,
    /// Sites that joined the scope through a seed's redirects (before the snapshot, and found again
    /// in the journal after it).
    pub joined: Vec<String>,
    seed_redirects_join_scope: bool,
}

impl Restore {
    /// Start from the last stats.json's counters, and the snapshot's counts of lines if there is one;
    /// the lines after that are counted again. The sites the snapshot says joined the scope join it.
    pub fn new(config: &Config, saved: Stats, snapshot: Option<&SnapshotExtra>, scope: &mut Scope) -> Restore {
        let empty = SnapshotExtra::default();
        let from = snapshot.unwrap_or(&empty);
        for site in &from.joined {
            if let Ok(url) = url::Url::parse(site) {
                scope.admit_site(&url);
            }
        }
        Restore {
            done: FingerprintSet::default(),
            stats: saved.with_line_counts_of(&from.stats),
            seeds_answered: from.seeds_answered,
            joined: from.joined.clone(),
            seed_redirects_join_scope: config.scope.seed_redirects_join_scope,
        }
    }

    /// One recorded line.
    pub fn line(&mut self, page: &RecordedPage) {
        if let Ok(url) = url::Url::parse(&page.url) {
            self.done.insert(fingerprint(&url));
        }
        self.stats.count_recorded(page, LineClass::of(page.status, page.error.as_deref()));
        if page.depth == 0 && page.status.is_some() {
            self.seeds_answered += 1;
        }
    }

    /// One journaled URL: a seed's redirect target (reached from a seed by redirects alone) outside
    /// the configured scope joined it then, so it joins it again.
    pub fn journaled(&mut self, journaled: &Journaled<'_>, scope: &mut Scope) {
        let from_a_seed = journaled.depth == u32::from(journaled.redirects) && journaled.depth > 0;
        if self.seed_redirects_join_scope
            && from_a_seed
            && let Ok(url) = url::Url::parse(journaled.url)
            && scope.check(&url) == Err(OutOfScope::Host)
        {
            scope.admit_site(&url);
            self.joined.push(journaled.url.to_owned());
        }
    }
}
