//! The breadth-first frontier of crawld: which URL may be fetched next, and when.
//!
//! A [`Frontier`] holds every URL that is queued or in flight, grouped by host (Mercator's "back queues"),
//! and a [`SeenSet`] of URL fingerprints so that each URL is crawled once. The scheduler drives it:
//!
//! ```text
//!   add(Candidate) ──► per-host queues (by depth) ──► next(now) ──► Lease ──► fetch ──► complete(lease)
//!                                                                              └──► retry(lease, not_before)
//! ```
//!
//! Three rules shape what [`Frontier::next`] hands out:
//! - **Honest BFS depth.** A URL of depth `k` is only leased once nothing of depth `≤ k-2` is queued or in
//!   flight, and a queued URL found again more shallowly has its depth lowered. Together these guarantee
//!   every URL is fetched (and recorded) at its true shortest link depth, while two levels can overlap so
//!   that the tail of one level does not stall the crawl.
//! - **Politeness per host.** At most `per_host_concurrency` leases of one host at a time (just one until
//!   the host's robots.txt is known, and again, with nothing else of the host in flight, when the verdict
//!   expires: the frontier owns that instant), and at least the host's delay between the end of one fetch
//!   and the start of the next; [`Frontier::pause_host`] pushes a host back further (429/503 `Retry-After`).
//! - **Limits.** `max_depth` refuses deeper URLs at [`Frontier::add`]; `max_pages` stops leasing new URLs
//!   (what is queued stays queued, for the count of what was left).
//!
//! The frontier knows nothing of HTTP or HTML: callers pass the fingerprint of each URL's normalized form.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use crawld_frontier::{Candidate, Frontier, FrontierConfig, Next};
//!
//! let mut frontier = Frontier::new(FrontierConfig::default());
//! let seed = url::Url::parse("http://example.com/").unwrap();
//! frontier.add(Candidate::seed(seed, 1));
//! let now = Instant::now();
//! let Next::Ready(lease) = frontier.next(now) else { panic!("the seed is ready") };
//! assert_eq!(lease.depth, 0);
//! frontier.complete(&lease, now);
//! assert!(matches!(frontier.next(now), Next::Done));
//! ```

mod backend;
mod host;
mod journal;
mod seen;
mod snapshot;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

pub use backend::FrontierBackend;
use host::HostState;
use journal::Journal;
pub use journal::{JOURNAL_FILE, JournalError, JournalSync, Journaled, Replayed};
pub use seen::{FingerprintHasher, FingerprintSet, SeenSet};
pub use snapshot::{PendingSnapshot, SNAPSHOT_FILE, Snapshot};

/// Knobs of the frontier. All of them can be changed while a crawl runs ([`Frontier::set_politeness`]).
#[derive(Debug, Clone)]
pub struct FrontierConfig {
    /// Leases of one host at the same time.
    pub per_host_concurrency: usize,
    /// Minimum time between the end of one fetch of a host and the start of the next.
    pub delay: Duration,
    /// Deepest link depth admitted (seeds are depth 0). `None`: unlimited.
    pub max_depth: Option<u32>,
    /// How many URLs to lease at most over the whole crawl (retries do not count). `None`: unlimited.
    pub max_pages: Option<u64>,
}

impl Default for FrontierConfig {
    fn default() -> Self {
        FrontierConfig { per_host_concurrency: 2, delay: Duration::from_millis(250), max_depth: None, max_pages: None }
    }
}

/// A URL offered to the frontier: a seed, a link found on a page, or a redirect target.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub url: Url,
    /// Fingerprint of the URL's normalized form: the dedup key.
    pub fingerprint: u128,
    pub depth: u32,
    /// The page this URL was found on; `None` for seeds.
    pub parent: Option<Arc<str>>,
    /// Redirect hops that led here (0 for a link or a seed).
    pub redirects: u8,
    /// How the URL was found; carried to its lease, never looked at by the frontier.
    pub via: Via,
}

impl Candidate {
    /// A seed URL: depth 0, no parent.
    pub fn seed(url: Url, fingerprint: u128) -> Candidate {
        Candidate { url, fingerprint, depth: 0, parent: None, redirects: 0, via: Via::Link }
    }
}

/// How a URL was found. The frontier only carries it from [`Candidate`] to [`Lease`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Via {
    /// A seed, a link on a page, or a redirect target.
    #[default]
    Link,
    /// A sitemap crawld looks for on a site of its own accord (robots.txt's `Sitemap:` lines,
    /// `/sitemap.xml`).
    SitemapRoot,
    /// An entry of a sitemap: a page, or a further sitemap of a sitemap index.
    Sitemap,
}

/// What [`Frontier::add`] did with a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Queued for the first time.
    New,
    /// Already queued deeper: moved up to this shallower depth.
    Lowered,
    /// Already queued at this depth or shallower, or already leased.
    Known,
    /// Deeper than `max_depth`.
    TooDeep,
}

/// Identifies a host inside one frontier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(u32);

/// Names one lease of a frontier: what a shared backend would expire when its holder dies (a
/// visibility timeout) and what a snapshot lists as in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseId(u64);

/// A URL handed out to be fetched. Give it back with [`Frontier::complete`] or [`Frontier::retry`].
#[derive(Debug, Clone)]
pub struct Lease {
    pub id: LeaseId,
    pub url: Url,
    pub fingerprint: u128,
    pub depth: u32,
    pub parent: Option<Arc<str>>,
    pub redirects: u8,
    pub via: Via,
    /// Attempts before this one (0 on the first try).
    pub retries: u32,
    pub host: HostId,
    /// True when this host's robots.txt verdict is not known ([`Frontier::set_host_delay`]): never
    /// reported, or expired since. Nothing else of the host is in flight, and nothing else of it is
    /// leased until the verdict is reported.
    pub first_of_host: bool,
    /// Where its record is in the journal: a snapshot lists leases in flight by it.
    offset: u64,
    /// With `first_of_host`: the host had a verdict, which expired ([`Frontier::expire_host_verdict`] or
    /// its instant passed). The lease reloads robots.txt; it is not the host's first contact.
    pub verdict_expired: bool,
}

impl Lease {
    /// The URL as it was queued, to queue it again.
    fn candidate(&self) -> Candidate {
        Candidate {
            url: self.url.clone(),
            fingerprint: self.fingerprint,
            depth: self.depth,
            parent: self.parent.clone(),
            redirects: self.redirects,
            via: self.via,
        }
    }
}

/// The answer of [`Frontier::next`].
#[derive(Debug)]
pub enum Next {
    /// Fetch this now.
    Ready(Lease),
    /// Nothing may start before this instant (politeness); ask again then, or when a lease completes.
    Wait(Instant),
    /// Nothing can start until an in-flight lease completes (per-host limits, BFS level, or `max_pages`).
    Busy,
    /// Nothing queued and nothing in flight: the crawl is complete.
    Done,
    /// A queued URL could not be read back from the journal (an I/O error): stop the crawl; a resume
    /// reads the journal afresh.
    Broken(String),
}

/// Counters for progress lines and stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrontierStats {
    pub queued: u64,
    pub in_flight: u64,
    pub leased: u64,
    pub hosts: u64,
    pub seen: u64,
}

/// The embedded (in-process) frontier. See the crate docs for the rules it keeps.
#[derive(Debug)]
pub struct Frontier {
    config: FrontierConfig,
    seen: SeenSet,
    hosts: Vec<HostState>,
    host_ids: HashMap<String, HostId>,
    /// Hosts with something to lease, by the instant they may next start a fetch.
    ready: BinaryHeap<Reverse<(Option<Instant>, HostId)>>,
    /// Hosts whose shallowest queued URL is too deep to lease until a shallower level drains.
    level_blocked: Vec<HostId>,
    /// Live URLs (queued or in flight) per depth: the BFS level bookkeeping.
    pending: Vec<u64>,
    queued: u64,
    in_flight: u64,
    /// New URLs leased so far (retries excluded): what `max_pages` counts.
    leased: u64,
    /// Where every queued URL is recorded: on disk for a durable frontier, else in memory. Queues hold
    /// offsets into it.
    journal: Journal,
    /// The first error reading a queued URL back from the journal.
    broken: Option<String>,
    /// Leases handed out and not finished: what a snapshot must list as still to do.
    leases: HashMap<LeaseId, host::InFlight>,
    next_lease: u64,
    /// When a snapshot is due (see [`Frontier::snapshot_due`]).
    snapshots: snapshot::Schedule,
}

/// What [`Frontier::resume`] rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumed {
    pub replayed: Replayed,
    /// Distinct journaled URLs that were done (had their line) and are not queued again.
    pub done: u64,
    /// URLs queued again.
    pub queued: u64,
    /// Whether it started from a snapshot (else it replayed the whole journal).
    pub from_snapshot: bool,
}

impl Frontier {
    pub fn new(config: FrontierConfig) -> Frontier {
        Frontier {
            config,
            seen: SeenSet::default(),
            hosts: Vec::new(),
            host_ids: HashMap::new(),
            ready: BinaryHeap::new(),
            level_blocked: Vec::new(),
            pending: Vec::new(),
            queued: 0,
            in_flight: 0,
            leased: 0,
            journal: Journal::memory(),
            broken: None,
            leases: HashMap::new(),
            next_lease: 0,
            snapshots: snapshot::Schedule::default(),
        }
    }

    /// A frontier that journals every URL it queues in `state_dir` (a new journal, replacing any there),
    /// so that [`Frontier::resume`] can rebuild its queue after the process is gone.
    /// Give [`Frontier::journal_sync`] to whatever records pages as done, to call before it does.
    pub fn create_durable(config: FrontierConfig, state_dir: &Path) -> Result<Frontier, JournalError> {
        let mut frontier = Frontier::new(config);
        frontier.journal = Journal::create(state_dir)?;
        Ok(frontier)
    }

    /// Rebuild a durable frontier from `state_dir`: its `snapshot` (if the caller has one it trusts,
    /// [`Snapshot::open`]), then the journal frames after it (all of them without one). Every URL is
    /// queued again, at the smallest depth journaled for it, in the order first queued, unless `done`
    /// holds its fingerprint (it has a page line the snapshot does not cover) or the snapshot counts it
    /// done. URLs that were in flight when the last process ended are queued like the others. `visit`
    /// sees each journal frame replayed. Attempts so far are not kept: a URL queued for a retry starts
    /// its attempts afresh.
    pub fn resume(
        config: FrontierConfig,
        state_dir: &Path,
        snapshot: Option<&Snapshot>,
        done: &FingerprintSet,
        mut visit: impl FnMut(&Journaled<'_>),
    ) -> Result<(Frontier, Resumed), JournalError> {
        let mut frontier = Frontier::new(config);
        let start = snapshot.map_or(0, |s| s.journal_len);
        // About one URL per 90 bytes of journal and per 16 of snapshot: room for them all at once, no
        // rehash of a huge table.
        let journal_bytes = std::fs::metadata(state_dir.join(JOURNAL_FILE)).map_or(0, |m| m.len());
        let urls = journal_bytes.saturating_sub(start) / 90 + snapshot.map_or(0, |s| s.size / 16);
        frontier.seen = SeenSet::with_capacity(usize::try_from(urls).unwrap_or(0));
        let mut restored_done = 0;
        let mut snapshot_entries = 0;
        if let Some(snapshot) = snapshot {
            // The lines after the snapshot, by the bits the seen-set keeps.
            let done_after: FingerprintSet = done.iter().map(|&f| SeenSet::key_bits(f)).collect();
            let mut hosts: Vec<HostId> = Vec::new();
            snapshot.read(|item| {
                snapshot_entries += 1;
                match item {
                    snapshot::Item::Host(key) => hosts.push(frontier.host_id(key)),
                    snapshot::Item::Seen { key, packed } => {
                        restored_done += u64::from(frontier.seen.restore(key, packed, done_after.contains(&key)));
                    }
                    snapshot::Item::Queued { fingerprint, .. }
                        if done_after.contains(&SeenSet::key_bits(fingerprint)) => {}
                    snapshot::Item::Queued { host, depth, fingerprint, offset } => {
                        // Known live: the seen-set holds it queued at this depth already.
                        frontier.bump_pending(depth);
                        frontier.queued += 1;
                        frontier.hosts[hosts[host as usize].index()]
                            .push(depth, host::Queued::new(fingerprint, offset));
                    }
                }
            })?;
            frontier.schedule_all();
        }
        let (journal, replayed) = Journal::resume(state_dir, start, |journaled, offset| {
            visit(journaled);
            if done.contains(&journaled.fingerprint) {
                restored_done += u64::from(frontier.seen.restore_done(journaled.fingerprint, journaled.depth));
            } else if let Some(key) = host_key_str(journaled.url) {
                frontier.enqueue(journaled.fingerprint, journaled.depth, &key, |_| offset);
            }
        })?;
        // What max_pages counts: the pages done count as leased.
        frontier.leased = restored_done;
        frontier.journal = journal;
        // What a resume would replay now: the frames after the snapshot (all, without one).
        frontier.snapshots.since = replayed.frames;
        frontier.snapshots.last_entries = snapshot_entries;
        let queued = frontier.queued;
        Ok((frontier, Resumed { replayed, done: restored_done, queued, from_snapshot: snapshot.is_some() }))
    }

    /// Take a snapshot once the journal and the leases since the last one reach `after` entries (and
    /// the last snapshot's size): see [`Frontier::snapshot_due`]. `None`: never. Only a durable
    /// frontier takes snapshots.
    pub fn set_snapshot_after(&mut self, after: Option<u64>) {
        self.snapshots.after = after.filter(|_| self.journal.sync_handle().is_some());
    }

    /// Whether enough happened since the last snapshot that a resume would replay less with a new one.
    pub fn snapshot_due(&self) -> bool {
        self.snapshots.due()
    }

    /// Write a snapshot of the frontier as it is now, with `extra` (the caller's own state at this
    /// instant, handed back by [`Snapshot::extra`]). It is in force only once committed: see
    /// [`PendingSnapshot::commit`]. `None` for a frontier that is not durable.
    pub fn write_snapshot(&mut self, extra: &[u8]) -> Result<Option<PendingSnapshot>, JournalError> {
        let Some(journal_sync) = self.journal.sync_handle() else { return Ok(None) };
        let dir = journal_sync.path().parent().map(Path::to_path_buf).unwrap_or_default();
        // Frames from here on never refer back to a Parent frame before this point.
        self.journal.start_afresh();
        let mut pending = snapshot::create(&dir, Some(journal_sync), self.journal.len(), extra)?;
        let written = (|| {
            pending.hosts(self.hosts.iter().map(|h| h.key.as_str()))?;
            self.seen.each_mark(|key, packed| pending.seen(key, packed))?;
            pending.end_seen()?;
            for lease in self.leases.values() {
                pending.queued(lease.host.0, lease.depth, lease.fingerprint, lease.offset)?;
            }
            for (index, host) in self.hosts.iter().enumerate() {
                host.each_queued(&self.seen, |fingerprint, depth, offset| {
                    pending.queued(index as u32, depth, fingerprint, offset)
                })?;
            }
            pending.end_queued()
        })();
        if let Err(e) = written {
            let error = JournalError::io("write", &pending.tmp_path(), e);
            pending.discard();
            return Err(error);
        }
        self.snapshots.since = 0;
        self.snapshots.last_entries = pending.entries;
        Ok(Some(pending))
    }

    /// The handle that makes this frontier's journal durable (None when it keeps none).
    pub fn journal_sync(&self) -> Option<JournalSync> {
        self.journal.sync_handle()
    }

    /// A handle on the seen-set, for fetch tasks to drop links that cannot matter before they reach the
    /// scheduler ([`SeenSet::may_improve`]).
    pub fn seen_set(&self) -> SeenSet {
        self.seen.clone()
    }

    /// Change politeness while the crawl runs. Takes effect for the next lease of each host.
    pub fn set_politeness(&mut self, per_host_concurrency: usize, delay: Duration) {
        self.config.per_host_concurrency = per_host_concurrency.max(1);
        self.config.delay = delay;
        self.schedule_all();
    }

    /// Change `max_depth` / `max_pages` while the crawl runs.
    pub fn set_limits(&mut self, max_depth: Option<u32>, max_pages: Option<u64>) {
        self.config.max_depth = max_depth;
        self.config.max_pages = max_pages;
        self.schedule_all();
    }

    pub fn config(&self) -> &FrontierConfig {
        &self.config
    }

    pub fn stats(&self) -> FrontierStats {
        FrontierStats {
            queued: self.queued,
            in_flight: self.in_flight,
            leased: self.leased,
            hosts: self.hosts.len() as u64,
            seen: self.seen.len() as u64,
        }
    }

    /// Whether `max_pages` cut the crawl short: it was reached with URLs left queued. (URLs found after
    /// it are still queued, never leased, so that the count of what was left is true.)
    pub fn cut_by_max_pages(&self) -> bool {
        self.pages_exhausted() && self.queued > 0
    }

    /// Hosts with URLs queued or in flight. Walks every host: for occasional reports, not per lease.
    pub fn busy_hosts(&self) -> u64 {
        self.hosts.iter().filter(|h| h.live > 0 || h.in_flight > 0).count() as u64
    }

    fn pages_exhausted(&self) -> bool {
        self.config.max_pages.is_some_and(|max| self.leased >= max)
    }

    /// Offer a URL. Deduplicates by fingerprint and keeps the shallowest depth.
    pub fn add(&mut self, candidate: Candidate) -> Added {
        self.admit(&candidate, None)
    }

    fn admit(&mut self, candidate: &Candidate, journaled: Option<u64>) -> Added {
        let Some(key) = host_key(&candidate.url) else {
            // Only http(s) URLs are offered, and they always have a host; refuse rather than panic.
            return Added::Known;
        };
        self.enqueue(candidate.fingerprint, candidate.depth, &key, |journal| {
            journaled.unwrap_or_else(|| journal.append(candidate))
        })
    }

    /// Queue a URL of host `key` unless known at this depth or shallower; `record` gives the offset of
    /// its journal record (appending it, or where it already is, on resume).
    fn enqueue(&mut self, fingerprint: u128, depth: u32, key: &str, record: impl FnOnce(&mut Journal) -> u64) -> Added {
        if self.config.max_depth.is_some_and(|max| depth > max) {
            return Added::TooDeep;
        }
        let lowered_from = match self.seen.offer(fingerprint, depth) {
            seen::Offer::Known => return Added::Known,
            seen::Offer::New => None,
            seen::Offer::Lowered { from } => Some(from),
        };
        let host = self.host_id(key);
        if let Some(from) = lowered_from {
            // The deeper copy stays in its queue and is skipped as stale when it comes up.
            self.pending[from as usize] -= 1;
            self.queued -= 1;
            self.hosts[host.index()].live -= 1;
        }
        self.bump_pending(depth);
        self.queued += 1;
        let offset = record(&mut self.journal);
        self.snapshots.since += 1;
        self.hosts[host.index()].push(depth, host::Queued::new(fingerprint, offset));
        self.schedule(host);
        if lowered_from.is_some() { Added::Lowered } else { Added::New }
    }

    /// The next URL to fetch at `now`, or why there is none.
    pub fn next(&mut self, now: Instant) -> Next {
        if let Some(error) = &self.broken {
            return Next::Broken(error.clone());
        }
        let retries_only = self.pages_exhausted();
        let allowed = self.allowed_depth();
        while let Some(&Reverse((at, host))) = self.ready.peek() {
            if let Some(at) = at.filter(|&at| at > now) {
                return Next::Wait(at);
            }
            self.ready.pop();
            let per_host = self.config.per_host_concurrency;
            let state = &mut self.hosts[host.index()];
            state.scheduled = false;
            state.expire_verdict(now);
            if state.live == 0 || state.in_flight >= state.limit(per_host) {
                continue; // scheduled again when it gains work or a lease of it completes
            }
            if !state.may_start(now, retries_only) {
                self.schedule(host); // its delay or its retry moved since this heap entry was made
                continue;
            }
            let Some(depth) = state.front_depth(&self.seen, now) else { continue };
            if retries_only && !state.front_is_retry(now) {
                continue;
            }
            if depth > allowed {
                if !state.level_blocked {
                    state.level_blocked = true;
                    self.level_blocked.push(host);
                }
                continue;
            }
            let Some(popped) = state.pop(&self.seen, now) else { continue };
            let entry = match popped {
                host::Popped::Retry(entry) => entry,
                host::Popped::Queued { queued, depth } => match self.journal.read(queued.offset) {
                    Ok(candidate) if candidate.fingerprint == queued.fingerprint() => {
                        host::Entry { candidate: Candidate { depth, ..candidate }, retries: 0, offset: queued.offset }
                    }
                    Ok(_) => return self.broken(std::io::Error::other("a queued URL's record is another URL's")),
                    Err(e) => return self.broken(e),
                },
            };
            return Next::Ready(self.lease(host, entry));
        }
        if self.in_flight > 0 { Next::Busy } else { Next::Done }
    }

    /// A queued URL could not be read back: nothing more is handed out (the journal on disk is what a
    /// resume reads, so nothing is lost by stopping).
    fn broken(&mut self, error: std::io::Error) -> Next {
        let message = format!("cannot read a queued URL back from the frontier's journal: {error}");
        self.broken = Some(message.clone());
        Next::Broken(message)
    }

    fn lease(&mut self, host: HostId, entry: host::Entry) -> Lease {
        self.seen.mark_leased(entry.candidate.fingerprint);
        self.queued -= 1;
        self.in_flight += 1;
        if entry.retries == 0 {
            self.leased += 1;
        }
        self.snapshots.since += 1;
        let state = &mut self.hosts[host.index()];
        state.in_flight += 1;
        let first_of_host = !state.robots_known;
        let verdict_expired = first_of_host && state.had_verdict;
        self.schedule(host);
        let c = entry.candidate;
        let id = LeaseId(self.next_lease);
        self.next_lease += 1;
        self.leases
            .insert(id, host::InFlight { host, fingerprint: c.fingerprint, depth: c.depth, offset: entry.offset });
        Lease {
            id,
            url: c.url,
            fingerprint: c.fingerprint,
            depth: c.depth,
            parent: c.parent,
            redirects: c.redirects,
            via: c.via,
            retries: entry.retries,
            host,
            first_of_host,
            offset: entry.offset,
            verdict_expired,
        }
    }

    /// A lease finished for good (whatever its status). Starts the host's politeness delay.
    pub fn complete(&mut self, lease: &Lease, now: Instant) {
        self.finish(lease, Some(now));
    }

    /// A lease finished without any request to its host (robots.txt disallowed it, or the host is
    /// known to be down): the host's politeness clock does not move.
    pub fn complete_unrequested(&mut self, lease: &Lease) {
        self.finish(lease, None);
    }

    fn finish(&mut self, lease: &Lease, requested_at: Option<Instant>) {
        self.seen.mark_done(lease.fingerprint);
        let before = self.allowed_depth();
        let pending = self.pending.get_mut(lease.depth as usize);
        // Every lease was counted at its depth when queued; drift here would stall or skip levels.
        debug_assert!(pending.as_ref().is_some_and(|n| **n > 0), "BFS level count of depth {} drifted", lease.depth);
        if let Some(n) = pending {
            *n = n.saturating_sub(1);
        }
        self.release(lease, requested_at);
        if self.allowed_depth() != before {
            // A BFS level drained: hosts waiting for it may go.
            for host in std::mem::take(&mut self.level_blocked) {
                self.hosts[host.index()].level_blocked = false;
                self.schedule(host);
            }
        }
    }

    /// A lease failed in a way worth another attempt: it waits until `not_before`, then goes first in
    /// its host's queue. The host's other URLs go on meanwhile (after its delay, as after any request).
    /// The URL stays pending at its depth, so no BFS level two deeper opens meanwhile.
    pub fn retry(&mut self, lease: &Lease, now: Instant, not_before: Instant) {
        self.seen.mark_retrying(lease.fingerprint);
        let state = &mut self.hosts[lease.host.index()];
        let entry = host::Entry { candidate: lease.candidate(), retries: lease.retries + 1, offset: lease.offset };
        state.push_retry(entry, Some(not_before));
        self.queued += 1;
        self.release(lease, Some(now));
    }

    /// Give a lease back unfetched: it goes first in its host's queue again, with its attempts and its
    /// place in `max_pages` unchanged. For the first lease of a host, which only fetched robots.txt
    /// (`requested_at`: then the host's delay runs from there, as after any request).
    pub fn give_back(&mut self, lease: &Lease, requested_at: Option<Instant>) {
        self.seen.mark_retrying(lease.fingerprint);
        if lease.retries == 0 {
            // Leased again later, it is counted again then.
            self.leased = self.leased.saturating_sub(1);
        }
        let entry = host::Entry { candidate: lease.candidate(), retries: lease.retries, offset: lease.offset };
        // Due at once: it was given back, not failed.
        self.hosts[lease.host.index()].push_retry(entry, None);
        self.queued += 1;
        self.release(lease, requested_at);
    }

    /// Record the host's robots.txt Crawl-delay (if any) and lift the one-at-a-time limit that holds
    /// until robots.txt is known. Call before [`Frontier::complete`] so the delay applies at once.
    ///
    /// The verdict holds until `expires` (`None`: for good). From then on the host is gated as before
    /// its first contact: no new lease of it until those in flight are done, then one lease with
    /// [`Lease::first_of_host`] (and [`Lease::verdict_expired`]) to reload robots.txt. A verdict that
    /// expires at once (robots.txt could not be kept) leaves the host gated: each lease reloads it.
    pub fn set_host_delay(&mut self, host: HostId, crawl_delay: Option<Duration>, expires: Option<Instant>) {
        let state = &mut self.hosts[host.index()];
        state.robots_known = true;
        state.had_verdict = true;
        state.crawl_delay = crawl_delay;
        state.verdict_until = expires;
        self.schedule(host);
    }

    /// The host's verdict is gone before its time (the robots.txt cache let it go): gate the host as
    /// when it expires. A no-op for a host already gated.
    pub fn expire_host_verdict(&mut self, host: HostId) {
        self.hosts[host.index()].robots_known = false;
    }

    /// Keep a host idle until `until` (a 429/503 with `Retry-After`).
    pub fn pause_host(&mut self, host: HostId, until: Instant) {
        self.hosts[host.index()].hold_until(until);
    }

    /// The `n` hosts with the most URLs queued, most first, as (`host:port`, queued). Walks every host:
    /// for status requests, not per lease.
    pub fn longest_queues(&self, n: usize) -> Vec<(&str, u64)> {
        let mut hosts: Vec<(&str, u64)> =
            self.hosts.iter().filter(|h| h.live > 0).map(|h| (h.key.as_str(), h.live as u64)).collect();
        hosts.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        hosts.truncate(n);
        hosts
    }

    /// The key (`host:port`) a lease's host is known by, for logs.
    pub fn host_name(&self, host: HostId) -> &str {
        &self.hosts[host.index()].key
    }

    fn release(&mut self, lease: &Lease, requested_at: Option<Instant>) {
        self.leases.remove(&lease.id);
        let delay = self.config.delay;
        let state = &mut self.hosts[lease.host.index()];
        state.in_flight = state.in_flight.saturating_sub(1);
        if let Some(now) = requested_at {
            let delay = state.crawl_delay.map_or(delay, |c| c.max(delay));
            state.hold_until(now + delay);
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        self.schedule(lease.host);
    }

    /// Deepest depth that may be leased now: one below the shallowest level that still has live URLs.
    fn allowed_depth(&self) -> u32 {
        match self.pending.iter().position(|&n| n > 0) {
            Some(shallowest) => shallowest as u32 + 1,
            None => u32::MAX,
        }
    }

    fn bump_pending(&mut self, depth: u32) {
        let depth = depth as usize;
        if self.pending.len() <= depth {
            self.pending.resize(depth + 1, 0);
        }
        self.pending[depth] += 1;
    }

    fn host_id(&mut self, key: &str) -> HostId {
        if let Some(&id) = self.host_ids.get(key) {
            return id;
        }
        let id = HostId(self.hosts.len() as u32);
        self.hosts.push(HostState::new(key.to_owned()));
        self.host_ids.insert(key.to_owned(), id);
        id
    }

    /// Put a host on the ready heap if it has work and room and is not there already. A heap entry may
    /// go stale (the host's delay moved later, or it filled up): `next` re-checks each one it pops.
    fn schedule(&mut self, host: HostId) {
        let per_host = self.config.per_host_concurrency;
        let retries_only = self.pages_exhausted();
        let state = &mut self.hosts[host.index()];
        if state.scheduled || state.live == 0 || state.in_flight >= state.limit(per_host) {
            return;
        }
        state.scheduled = true;
        let at = state.start_at(retries_only);
        self.ready.push(Reverse((at, host)));
    }

    fn schedule_all(&mut self) {
        self.level_blocked.clear();
        for index in 0..self.hosts.len() {
            self.hosts[index].level_blocked = false;
            self.schedule(HostId(index as u32));
        }
    }

    /// The politeness key of a URL: `host:port`.
    pub fn host_key_of(url: &Url) -> Option<String> {
        host_key(url)
    }
}

/// [`host_key`] of a URL as the `url` crate serializes it, without parsing it again: for resuming
/// millions of journaled URLs. Gives the same key as `host_key` of the parsed URL.
fn host_key_str(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let close = v6.find(']')?;
            (&host_port[..close + 2], v6[close + 1..].strip_prefix(':'))
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        return None;
    }
    let default = match scheme {
        "http" | "ws" => Some("80"),
        "https" | "wss" => Some("443"),
        "ftp" => Some("21"),
        _ => None,
    };
    Some(match port.filter(|p| !p.is_empty()).or(default) {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

fn host_key(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

impl HostId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

#[cfg(test)]
mod tests;
