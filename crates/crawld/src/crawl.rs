//! The scheduler loop: the one place that moves URLs from the frontier into the fetch pool and finished
//! fetches into the sink.
//!
//! ```text
//! loop (biased select):
//!   cancelled                             -> stop admitting, drain the pool within the grace period
//!   pool.join_next() -> finished fetch    -> sink.record(page); frontier.add(links); frontier.complete(lease)
//!   frontier.next(now), while pool has room -> pool.spawn(fetch task)
//!   frontier done and pool empty          -> the crawl is complete
//! ```
//! Fetching, robots.txt checks, HTML parsing and link filtering all run inside the fetch tasks
//! ([`crate::task`]), so this loop only does bookkeeping.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context;
use crawld_extract::{Scope, ScopeRules, fingerprint};
use crawld_fetch::{FetchConfig, FetchPool, Fetcher, Retry};
use crawld_frontier::{
    Added, Candidate, Frontier, FrontierBackend, FrontierConfig, HostId, JournalSync, Lease, Next, Snapshot, Via,
};
use crawld_sink::{AfterLines, BeforeLines, PageRecord, Sink, SinkOptions};
use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::control::{Hooks, Steer};
use crate::resume::{self, Previous};
use crate::stats::Stats;
use crate::task::{self, End, Finished, HostVerdict, Outcome, RobotsCheck, TaskContext};

/// Each guard that can drop something: its name in pages.jsonl and stats.json, the key that sets it,
/// and what it did.
const GUARDS: [(&str, &str, &str); 5] = [
    ("links_over_cap", "scope.max_links_per_page", "links past the cap were not followed"),
    ("url_too_long", "scope.max_url_length", "URLs too long to follow were dropped"),
    ("repeated_segments", "scope.max_repeated_segments", "URLs with repeated path segments were dropped"),
    ("redirect_over_limit", "crawl.max_redirects", "a redirect was not followed: too many hops in a row"),
    ("truncated", "fetch.max_body_bytes", "a body was cut at the size cap"),
];

/// How a crawl ended: stats.json's `state`, and (in `crawld run`) the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Nothing left: the frontier ran dry and nothing was in flight.
    Complete,
    /// `crawl.max_pages` was reached with URLs left over (`stats.queued` of them queued).
    Limit,
    /// Stopped by a signal (or the caller's token) before the frontier was empty.
    Stopped,
    /// Ran out of work without any seed answering: nothing of the crawl could be fetched.
    Failed,
}

impl Ending {
    /// The name stats.json's `state` and the summary give it.
    pub fn state(self) -> &'static str {
        match self {
            Ending::Complete => "complete",
            Ending::Limit => "limit",
            Ending::Stopped => "stopped",
            Ending::Failed => "failed",
        }
    }
}

/// What a finished crawl reports.
#[derive(Debug, Clone)]
pub struct CrawlSummary {
    pub ending: Ending,
    pub stats: Stats,
    pub elapsed: Duration,
    /// Why the crawl failed, when it did: each seed with what happened to it.
    pub failure: Option<String>,
    /// The output directory held a finished crawl, reported as it was: nothing was fetched.
    pub already_finished: bool,
}

mod hooks;

/// Run a crawl until the frontier is empty, a limit is hit, or `cancel` fires. An output directory that
/// holds an unfinished crawl is resumed (see [`crate::resume`]); one that holds a finished crawl is
/// reported as it is, untouched.
/// The config must have passed [`Config::validate`].
pub async fn run(config: Config, cancel: CancellationToken) -> anyhow::Result<CrawlSummary> {
    run_steered(config, cancel, Hooks::inert()).await
}

/// [`run`], steered from outside through `hooks` (see [`crate::control`]): commands, a changing config.
pub async fn run_steered(config: Config, cancel: CancellationToken, hooks: Hooks) -> anyhow::Result<CrawlSummary> {
    // Before anything touches the output directory, so that a bad config never claims it.
    config.validate()?;
    let started = Instant::now();
    let unfinished = match resume::look(&config.out)? {
        Previous::Nothing => None,
        Previous::Unfinished { manifest, stats } => Some((manifest, stats)),
        Previous::Finished { manifest, state, stats } => {
            resume::check_same_crawl(&config, &manifest)?;
            let ending = if state == "failed" { Ending::Failed } else { Ending::Complete };
            let failure =
                (ending == Ending::Failed).then(|| "this output directory holds a crawl that failed".to_owned());
            return Ok(CrawlSummary { ending, stats, elapsed: Duration::ZERO, failure, already_finished: true });
        }
    };
    let out = std::path::absolute(&config.out).unwrap_or_else(|_| config.out.clone());
    let fetcher = Fetcher::new(FetchConfig {
        user_agent: config.fetch.user_agent.clone(),
        connect_timeout: config.fetch.connect_timeout,
        timeout: config.fetch.timeout,
        max_body_bytes: config.fetch.max_body_bytes.get(),
        respect_robots: config.politeness.respect_robots,
        max_crawl_delay: config.politeness.max_crawl_delay,
        robots_cache_size: config.fetch.robots_cache_size.get(),
        robots_cache_bytes: config.fetch.robots_cache_bytes.get(),
        robots_ttl: config.politeness.robots_ttl,
        max_header_bytes: config.fetch.max_header_bytes.get(),
        allow_private_networks: config.fetch.allow_private_networks,
        robots_redirect_delay: config.politeness.delay,
    })
    .context("cannot set up the HTTP client")?;
    let frontier_config = FrontierConfig {
        per_host_concurrency: config.politeness.per_host_concurrency.get(),
        delay: config.politeness.delay,
        max_depth: config.crawl.max_depth,
        max_pages: config.crawl.max_pages.map(|n| n.get()),
    };
    // The journal must reach the disk before the lines of the pages whose links it holds.
    let journal_first = Arc::new(JournalFirst::default());
    let sink_options = SinkOptions {
        warc_max_bytes: config.output.warc_max_bytes.get(),
        warc: config.output.warc,
        // Each queued page carries its compressed WARC records (up to about max_body_bytes): the queue
        // is bounded in pages and, for large ones, in bytes.
        queue: 64,
        max_queued_bytes: config.output.max_queued_bytes.get(),
        sync_interval: config.output.sync_interval,
        before_lines: Some(journal_first.clone()),
    };
    let state_dir = resume::state_dir(&config.out);
    let cannot_open = || format!("cannot open output directory {}", config.out.display());
    let mut scope = scope_of(&config);
    let (mut frontier, sink, stats, seeds, joined) = match unfinished {
        None => {
            let manifest = serde_json::json!({
                "crawld_version": env!("CARGO_PKG_VERSION"),
                "started_at": crate::stats::rfc3339_now(),
                "seeds": config.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "config": &config,
            });
            // The sink claims the directory (refusing one in use) before the journal is made in it.
            let sink = Sink::create(&config.out, &manifest, sink_options).with_context(cannot_open)?;
            let frontier = Frontier::create_durable(frontier_config, &state_dir).with_context(cannot_open)?;
            journal_first.set(&frontier);
            info!(seeds = config.seeds.len(), out = %out.display(), "crawl starting");
            (frontier, sink, Stats::default(), SeedReport::default(), Vec::new())
        }
        Some((manifest, stats)) => {
            resume::check_same_crawl(&config, &manifest)?;
            let snapshot = resume::snapshot(&config.out);
            let (snapshot, extra) = snapshot.map_or((None, None), |(s, e)| (Some(s), Some(e)));
            let mut restore = resume::Restore::new(&config, stats, extra.as_ref(), &mut scope);
            let start = snapshot.as_ref().map_or(0, Snapshot::pages_bytes);
            let recovered =
                Sink::recover_from(&config.out, start, |page| restore.line(page)).with_context(cannot_open)?;
            let done = std::mem::take(&mut restore.done);
            let (frontier, resumed) =
                Frontier::resume(frontier_config, &state_dir, snapshot.as_ref(), &done, |journaled| {
                    restore.journaled(journaled, &mut scope)
                })
                .with_context(cannot_open)?;
            drop(done);
            journal_first.set(&frontier);
            let sink = Sink::reopen(&config.out, sink_options).with_context(cannot_open)?;
            let cut = match resumed.replayed.cut {
                Some((offset, bytes)) => {
                    format!("{}; {bytes} bytes of the frontier journal at byte {offset}", recovered.cuts())
                }
                None => recovered.cuts(),
            };
            let from = if resumed.from_snapshot {
                "the frontier's snapshot and what followed it"
            } else {
                "the whole journal"
            };
            info!(
                out = %out.display(),
                pages = restore.stats.pages,
                queued = resumed.queued,
                sites_joined = restore.joined.len(),
                lines_read = recovered.lines,
                journal_records_read = resumed.replayed.frames,
                "resuming the crawl: {} pages recorded, {} URLs queued again (those in flight included), \
                 read from {from}; cut: {cut}",
                restore.stats.pages,
                resumed.queued
            );
            let seeds = SeedReport { answered: restore.seeds_answered, failures: Vec::new() };
            (frontier, sink, restore.stats, seeds, restore.joined)
        }
    };
    let ctx = Arc::new(TaskContext {
        fetcher,
        scope: RwLock::new(scope),
        seed_redirects_join_scope: config.scope.seed_redirects_join_scope,
        seen: frontier.seen_set(),
        max_links: config.scope.max_links_per_page,
        max_depth: task::depth_limit(config.crawl.max_depth),
        max_redirects: config.crawl.max_redirects,
        warc: config.output.warc,
        sitemaps: crate::sitemaps::Sitemaps::new(&config),
    });
    // On a resume, seeds already journaled are known and change nothing.
    let mut duplicate_seeds = 0;
    for seed in &config.seeds {
        let added = frontier.add(Candidate::seed(seed.0.clone(), fingerprint(&seed.0)));
        duplicate_seeds += u64::from(added == Added::Known);
    }
    if duplicate_seeds > 0 && seeds.answered == 0 && stats.pages == 0 {
        info!(
            seeds = config.seeds.len() as u64 - duplicate_seeds,
            duplicate_seeds, "{duplicate_seeds} duplicate seeds merged (the same URL once normalized)"
        );
    }
    frontier.set_snapshot_after(Some(config.output.snapshot_after).filter(|&n| n > 0));
    let elapsed_before = stats.elapsed_secs;
    // A stop while the disk is full must not wait for space: the writer gives up, and a resume goes on.
    let disk = sink.disk_watch();
    let give_up = {
        let (cancel, disk) = (cancel.clone(), disk.clone());
        tokio::spawn(async move {
            cancel.cancelled().await;
            disk.give_up();
        })
    };

    let mut crawl = Crawl {
        config: config.clone(),
        frontier: Box::new(frontier),
        pool: FetchPool::new(config.crawl.concurrency.get()),
        sink,
        disk,
        ctx,
        stats,
        down: HashMap::new(),
        robots_checked: HashSet::new(),
        hinted: false,
        in_flight: HashMap::new(),
        warned: HashSet::new(),
        seeds,
        joined,
        snapshotting: Arc::new(AtomicBool::new(false)),
        control: hooks,
    };
    let ending = crawl.run(&cancel).await.map_err(when_disk_full);
    if cancel.is_cancelled() {
        // The task above may not have run yet: the last writes below must not wait for space either.
        crawl.disk.give_up();
    }
    give_up.abort();
    let Crawl { sink, mut stats, frontier, seeds, .. } = crawl;
    stats.absorb_frontier(frontier.stats());
    stats.elapsed_secs = elapsed_before + started.elapsed().as_secs_f64();
    let mut failure = None;
    let ending = ending.map(|ending| match ending {
        Ending::Complete | Ending::Limit if seeds.answered == 0 => {
            failure = Some(format!("no seed could be fetched: {}", seeds.failures.join("; ")));
            Ending::Failed
        }
        Ending::Complete if frontier.cut_by_max_pages() => Ending::Limit,
        ending => ending,
    });
    let state = ending.as_ref().map_or("failed", |e| e.state());
    // Whatever happened, flush and sync what was recorded before reporting.
    let finished = async {
        // Every line on disk before the state that says the crawl is over: a kill in between must
        // leave a crawl that resumes, not one that claims to be complete without its last pages.
        sink.sync().await?;
        sink.write_stats(stats.to_json(state)).await?;
        sink.finish().await
    }
    .await;
    let ending = ending?;
    let written = finished.context("cannot finish writing the output directory").map_err(when_disk_full)?;
    crate::inspect::index_after_crawl(&config, written.index_lines).await;
    Ok(CrawlSummary { ending, stats, elapsed: started.elapsed(), failure, already_finished: false })
}

/// An error that a full disk caused says how to go on.
fn when_disk_full(e: anyhow::Error) -> anyhow::Error {
    let disk_full = e.chain().any(|c| c.downcast_ref::<crawld_sink::SinkError>().is_some_and(|e| e.is_disk_full()));
    if disk_full {
        e.context("the disk is full: free some space, then run the same command again to resume")
    } else {
        e
    }
}

/// The frontier's journal, for the sink to sync before it writes page lines. Set once the frontier
/// exists (it is made after the sink claims the directory); no line can come before that.
#[derive(Debug, Default)]
struct JournalFirst(OnceLock<JournalSync>);

impl JournalFirst {
    fn set(&self, frontier: &Frontier) {
        if let Some(journal) = frontier.journal_sync() {
            let _ = self.0.set(journal);
        }
    }
}

impl BeforeLines for JournalFirst {
    fn sync(&self) -> std::io::Result<()> {
        self.0.get().map_or(Ok(()), JournalSync::sync)
    }

    fn path(&self) -> &std::path::Path {
        self.0.get().map_or(std::path::Path::new(crawld_frontier::JOURNAL_FILE), JournalSync::path)
    }
}

/// A host that could not be reached through all the retries of a URL.
#[derive(Debug)]
struct Down {
    /// The end of the current hold.
    until: Instant,
    reason: String,
    /// Holds in a row, without the host answering in between. While it is at most `max_retries`, the
    /// host's URLs wait in the frontier for the end of the hold, each hold standing for one retry of
    /// them all; past that the host stayed down through their retries, and they are recorded
    /// unrequested until the hold ends.
    holds: u32,
}

/// Whether any seed answered, and what happened to those that did not.
#[derive(Debug, Default)]
struct SeedReport {
    /// Seeds that got an HTTP response (of any status).
    answered: u64,
    /// `url: error` of the first few seeds that got none.
    failures: Vec<String>,
}

/// The scope of a crawl: the configured hosts and domains, or the seeds' sites when none are given.
fn scope_of(config: &Config) -> Scope {
    let s = &config.scope;
    Scope::new(ScopeRules {
        allowed_hosts: s.allowed_hosts.clone(),
        allowed_domains: s.allowed_domains.clone(),
        seeds: config.seeds.iter().map(|seed| seed.0.clone()).collect(),
        include: s.include.iter().map(|p| p.0.clone()).collect(),
        exclude: s.exclude.iter().map(|p| p.0.clone()).collect(),
        max_url_length: s.max_url_length,
        max_repeated_segments: s.max_repeated_segments,
    })
}

struct Crawl {
    /// The config in force: a live reload changes its retunable keys.
    config: Config,
    /// Reached only through the backend's methods: the embedded frontier today.
    frontier: Box<dyn FrontierBackend>,
    pool: FetchPool<Finished>,
    sink: Sink,
    /// Whether the output's disk is full: no new fetches meanwhile.
    disk: crawld_sink::DiskWatch,
    ctx: Arc<TaskContext>,
    stats: Stats,
    /// Hosts held as unreachable, until they answer again.
    down: HashMap<HostId, Down>,
    /// URLs given back by the lease that (re)loaded their host's robots.txt, which already checked them:
    /// their next lease goes straight to the page. Without this, a robots.txt cache too small for the
    /// hosts at work could evict a host's copy before its page came up, again and again (each refetch
    /// evicting another host's copy), and no page would ever be fetched.
    robots_checked: HashSet<u128>,
    /// The per-host concurrency hint was given.
    hinted: bool,
    /// Leases handed to the pool and not finished yet, by fingerprint: what a shutdown may abandon.
    in_flight: HashMap<u128, Lease>,
    /// (host, guard) pairs already warned about: a guard's drops are logged once per host.
    warned: HashSet<(HostId, &'static str)>,
    seeds: SeedReport,
    /// Sites that joined the scope through a seed's redirects, as the URLs they were reached at: for
    /// the frontier's snapshots.
    joined: Vec<String>,
    /// A snapshot of the frontier is being committed: no other starts meanwhile.
    snapshotting: Arc<AtomicBool>,
    /// Commands and config changes from outside the loop, and what status snapshots need.
    control: Hooks,
}

impl Crawl {
    async fn run(&mut self, cancel: &CancellationToken) -> anyhow::Result<Ending> {
        let mut progress = tokio::time::interval(self.config.output.progress_interval);
        progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        progress.tick().await;
        let mut last_progress = (Instant::now(), 0u64);
        self.stats.tunables = crate::control::tunables(&self.config);
        loop {
            // Paused: nothing new is leased, and the crawl waits for a resume even when nothing is left.
            let wake_at = if self.control.paused { None } else { self.fill()? };
            if self.pool.is_empty() && wake_at.is_none() && !self.control.paused {
                return Ok(Ending::Complete);
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    info!(in_flight = self.pool.len(), grace = ?self.config.output.shutdown_grace,
                        "stopping: letting in-flight fetches finish");
                    for finished in self.pool.drain(self.config.output.shutdown_grace).await {
                        self.finish(finished, true).await?;
                    }
                    // What the grace period cut short gets no line: it stays queued in the journal, for a
                    // resume to fetch.
                    let abandoned = self.in_flight.len();
                    if abandoned > 0 {
                        warn!(count = abandoned, "fetches abandoned at the end of the grace period: they stay queued");
                        self.stats.abandoned += abandoned as u64;
                    }
                    return Ok(Ending::Stopped);
                }
                event = self.control.next_event() => match event {
                    Steer::Command(command) => self.command(command),
                    Steer::Config(config) => self.retune(config),
                },
                // Timers before join_next: at full speed a fetch is nearly always ready, and a biased
                // select would never get to them; they are ready at most once per interval anyway.
                _ = progress.tick() => {
                    last_progress = self.report_progress(last_progress).await?;
                }
                _ = sleep_until(wake_at) => {}
                Some(joined) = self.pool.join_next() => match joined {
                    Ok(finished) => {
                        self.finish(finished, false).await?;
                        self.maybe_snapshot().await?;
                    }
                    // Tasks catch their own panics (task::run); only an abort lands here.
                    Err(e) => warn!(error = %e, "a fetch task was lost"),
                },
            }
        }
    }

    /// Spawn fetches while the pool has room. Returns when the frontier next has something, if it waits on time.
    fn fill(&mut self) -> anyhow::Result<Option<Instant>> {
        if self.disk.is_full() {
            // Nothing new until the writer has space again; look again soon.
            return Ok(Some(Instant::now() + Duration::from_millis(500)));
        }
        while self.pool.has_room() {
            match self.frontier.next(Instant::now().into_std()) {
                Next::Ready(lease) => {
                    self.in_flight.insert(lease.fingerprint, lease.clone());
                    let robots = if self.robots_checked.remove(&lease.fingerprint) {
                        RobotsCheck::Done
                    } else {
                        RobotsCheck::Ask
                    };
                    match self.down_reason(lease.host) {
                        Some(reason) => self.pool.spawn(std::future::ready(task::host_down(lease, reason))),
                        None => {
                            if lease.first_of_host && !self.ctx.fetcher.config().respect_robots {
                                // No robots.txt to wait for: the host opens up at once.
                                self.frontier.set_host_delay(lease.host, None, None);
                            }
                            debug!(url = %lease.url, depth = lease.depth, "fetch");
                            self.pool.spawn(task::run(self.ctx.clone(), lease, robots));
                        }
                    }
                }
                Next::Wait(at) => return Ok(Some(at.into())),
                Next::Busy | Next::Done => return Ok(None),
                Next::Broken(error) => anyhow::bail!("{error}"),
            }
        }
        Ok(None)
    }

    /// Why a host's URLs are to be recorded without a request: it stayed unreachable through their
    /// retries and its hold has not ended.
    fn down_reason(&self, host: HostId) -> Option<String> {
        let down = self.down.get(&host)?;
        (down.holds > self.config.crawl.max_retries && down.until > Instant::now()).then(|| down.reason.clone())
    }

    /// A URL of this host could not reach it through all its retries: hold the host.
    fn hold(&mut self, host: HostId, reason: String) {
        let now = Instant::now();
        let hold = self.config.politeness.host_down_hold;
        let holds = match self.down.get(&host) {
            // Its other URLs failing alongside belong to the same hold.
            Some(down) if down.until > now => down.holds,
            Some(down) => down.holds + 1,
            None => 1,
        };
        let name = self.frontier.host_name(host).to_owned();
        if holds > self.config.crawl.max_retries {
            warn!(host = name, %reason, ?hold, holds,
                "host still unreachable after its URLs' retries: they are recorded without a request for a while");
        } else {
            warn!(host = name, %reason, ?hold, holds, "host unreachable: its URLs wait for the end of the hold");
            self.frontier.pause_host(host, (now + hold).into_std());
        }
        self.down.insert(host, Down { until: now + hold, reason, holds });
    }

    /// Hand a finished fetch to the sink and its links to the frontier; or queue it again for a retry.
    async fn finish(&mut self, finished: Finished, stopping: bool) -> anyhow::Result<()> {
        let Finished { lease, end, robots_txt, archive, discovered } = finished;
        self.in_flight.remove(&lease.fingerprint);
        let now = Instant::now().into_std();
        for pair in robots_txt {
            self.stats.robots_txt_archived += 1;
            self.sink.archive(pair).await.context("cannot write to the output directory")?;
        }
        for candidate in discovered {
            let added = self.frontier.add(candidate);
            self.stats.count_sitemap_url(added);
        }
        let outcome = match end {
            End::RobotsTxtOnly(verdict) => {
                self.down.remove(&lease.host);
                self.report_verdict(lease.host, verdict, now);
                self.robots_checked.insert(lease.fingerprint);
                self.frontier.give_back(&lease, verdict.requested.then_some(now));
                return Ok(());
            }
            End::RobotsGone => {
                debug!(url = %lease.url, "robots.txt left the cache: the host waits for its fetches, then reads it again");
                self.frontier.expire_host_verdict(lease.host);
                self.frontier.give_back(&lease, None);
                return Ok(());
            }
            End::Page(outcome) => *outcome,
        };
        if let Some(verdict) = outcome.robots_verdict() {
            self.report_verdict(lease.host, verdict, now);
        }
        if let Outcome::Fetched { response, .. } = &outcome
            && matches!(response.status, Some(429 | 503))
            && let Some(wait) = response.retry_after
        {
            // The server asked the whole host to slow down, whether or not this URL is tried again.
            self.frontier.pause_host(lease.host, now + wait);
        }
        if !stopping && let Some(wait) = self.retry_wait(&lease, &outcome) {
            debug!(url = %lease.url, attempt = lease.retries + 1, wait = ?wait, "retrying later");
            self.stats.retries += 1;
            if outcome.unreachable().is_some() {
                // The host itself failed (no connection, or no robots.txt): none of its URLs can go
                // before this one's retry. A page's own failure holds only that page.
                self.frontier.pause_host(lease.host, now + wait);
            }
            self.frontier.retry(&lease, now, now + wait);
            return Ok(());
        }
        if let Some(reason) = outcome.unreachable() {
            self.hold(lease.host, reason);
        } else if outcome.host_answered() {
            self.down.remove(&lease.host);
        }
        let record = PageRecord { archive, ..task::page_record(&lease, &outcome) };
        self.stats.count(&record);
        self.control.observe(lease.host, &record);
        if lease.depth == 0 {
            self.note_seed(&outcome, &record);
        }
        let capped = matches!(&outcome, Outcome::Fetched { response, .. } if response.body_capped);
        self.warn_of_guards(&lease, &record, capped);
        if let Outcome::Fetched { links, redirect, filtered, .. } = &outcome {
            self.stats.count_filtered(filtered);
            let parent: Arc<str> = Arc::from(lease.url.as_str());
            for (url, fp) in links {
                let added = self.frontier.add(Candidate {
                    url: url.clone(),
                    fingerprint: *fp,
                    depth: lease.depth + 1,
                    parent: Some(parent.clone()),
                    redirects: 0,
                    via: Via::Link,
                });
                self.stats.count_added(added);
            }
            if let Some(redirect) = redirect {
                if redirect.joins_scope {
                    self.widen_scope(&lease, &redirect.url);
                }
                let added = self.frontier.add(Candidate {
                    url: redirect.url.clone(),
                    fingerprint: redirect.fingerprint,
                    depth: lease.depth + 1,
                    parent: Some(parent),
                    redirects: lease.redirects + 1,
                    via: Via::Link,
                });
                self.stats.count_added(added);
            }
        }
        if outcome.made_a_request() {
            self.frontier.complete(&lease, now);
        } else {
            self.frontier.complete_unrequested(&lease);
        }
        self.sink.record(record).await.context("cannot write to the output directory")?;
        Ok(())
    }

    /// Take a snapshot of the frontier when one is due, so that a resume need not read the whole
    /// history. Written here, between two pages, it is committed by the sink's writer once every line
    /// of the pages it counts done is durable. A snapshot that cannot be written costs a longer resume,
    /// not the crawl: it is logged and the crawl goes on.
    async fn maybe_snapshot(&mut self) -> anyhow::Result<()> {
        if !self.frontier.snapshot_due() || self.snapshotting.load(Ordering::Acquire) {
            return Ok(());
        }
        let started = Instant::now();
        let extra = resume::SnapshotExtra {
            stats: self.stats.clone(),
            seeds_answered: self.seeds.answered,
            joined: self.joined.clone(),
        };
        let extra = serde_json::to_vec(&extra).context("cannot serialize the crawl's state for a snapshot")?;
        let pending = match self.frontier.write_snapshot(&extra) {
            Ok(Some(pending)) => pending,
            Ok(None) => return Ok(()),
            Err(e) => {
                warn!(error = %e, "cannot write a snapshot of the frontier: a resume will read more");
                return Ok(());
            }
        };
        let written = started.elapsed();
        self.snapshotting.store(true, Ordering::Release);
        let snapshotting = Arc::clone(&self.snapshotting);
        let commit = move |pages_bytes| {
            let committed = started.elapsed();
            match pending.commit(pages_bytes) {
                Ok(()) => info!(
                    written_ms = written.as_millis() as u64,
                    committed_ms = (started.elapsed() - committed).as_millis() as u64,
                    pages_bytes,
                    "frontier snapshot taken"
                ),
                Err(e) => warn!(error = %e, "cannot commit a snapshot of the frontier: a resume will read more"),
            }
            snapshotting.store(false, Ordering::Release);
        };
        // Committing fsyncs a file of about 16 bytes per URL: off the writer's thread, which has lines
        // to write meanwhile.
        let flag = Arc::clone(&self.snapshotting);
        let then = AfterLines::new(move |pages_bytes| {
            let spawned = std::thread::Builder::new().name("crawld-snapshot".into()).spawn(move || commit(pages_bytes));
            if let Err(e) = spawned {
                warn!(error = %e, "cannot start the thread that commits a snapshot of the frontier");
                flag.store(false, Ordering::Release);
            }
        });
        self.sink.after_lines(then).await.context("cannot write to the output directory")
    }

    /// A host's robots.txt verdict, for the frontier: it holds while the robots.txt it came from is fresh,
    /// and the frontier gates the host again when it expires (so that no fetch of the host runs while
    /// robots.txt is read again).
    fn report_verdict(&mut self, host: HostId, verdict: HostVerdict, now: std::time::Instant) {
        self.frontier.set_host_delay(host, verdict.crawl_delay, now.checked_add(verdict.fresh_for));
    }

    /// A seed redirected to another host: that host is where the seed's site is, so it joins the scope
    /// before the target is queued (its links are checked against the wider scope).
    fn widen_scope(&mut self, lease: &Lease, target: &url::Url) {
        let host = target.host_str().unwrap_or_default();
        self.joined.push(target.to_string());
        self.ctx.scope.write().unwrap_or_else(PoisonError::into_inner).admit_site(target);
        info!(
            from = %lease.url,
            to = %target,
            host,
            "a seed redirects to another host: it joins the scope (scope.seed_redirects_join_scope)"
        );
    }

    fn note_seed(&mut self, outcome: &Outcome, record: &PageRecord) {
        const KEPT: usize = 5;
        let answered = matches!(outcome, Outcome::Fetched { response, .. } if response.status.is_some());
        if answered {
            self.seeds.answered += 1;
        } else if self.seeds.failures.len() < KEPT {
            let error = record.error.as_deref().unwrap_or("no response");
            self.seeds.failures.push(format!("{}: {error}", record.url));
        }
    }

    /// Say once when `crawl.concurrency` cannot be reached because the hosts with work, each at most
    /// `per_host_concurrency` at a time, cannot fill it: on a crawl of one host, the global limit
    /// changes nothing and the per-host one sets the speed.
    fn hint_at_per_host_limits(&mut self, queued: u64) {
        let concurrency = self.config.crawl.concurrency.get() as u64;
        let per_host = self.config.politeness.per_host_concurrency.get() as u64;
        if self.hinted || queued == 0 || self.pool.len() as u64 >= concurrency {
            return;
        }
        let hosts = self.frontier.busy_hosts();
        if hosts.saturating_mul(per_host) >= concurrency {
            return;
        }
        self.hinted = true;
        info!(
            concurrency,
            hosts_with_work = hosts,
            per_host_concurrency = per_host,
            "crawl.concurrency cannot be reached: {hosts} host(s) with work, at most {per_host} fetches each \
             (politeness.per_host_concurrency, and politeness.delay between them); raise those to go faster, \
             if the sites allow it"
        );
    }

    /// Warn the first time a guard drops something of a host; later drops are only counted (pages.jsonl
    /// and stats.json), so that a site of a million pages does not log a million lines.
    /// `capped`: the body was cut at the cap, as received or once decoded.
    fn warn_of_guards(&mut self, lease: &Lease, record: &PageRecord, capped: bool) {
        let d = &record.dropped;
        let counts = [d.links_over_cap, d.url_too_long, d.repeated_segments, d.redirect_over_limit, u32::from(capped)];
        for (&(reason, limit, what), count) in GUARDS.iter().zip(counts) {
            if count == 0 || !self.warned.insert((lease.host, reason)) {
                continue;
            }
            warn!(
                host = self.frontier.host_name(lease.host),
                url = %lease.url,
                reason,
                count,
                limit,
                "{what}; further cases on this host are counted in pages.jsonl and stats.json without a warning"
            );
        }
    }

    /// How long to wait before another attempt, when this outcome deserves one.
    fn retry_wait(&self, lease: &Lease, outcome: &Outcome) -> Option<Duration> {
        let server_says = match outcome {
            Outcome::Fetched { response, .. } => match response.retry() {
                Retry::After(server_says) => server_says,
                Retry::No => return None,
            },
            Outcome::RobotsUnavailable { .. } => None,
            Outcome::Blocked { .. } | Outcome::Crashed { .. } | Outcome::HostDown { .. } => {
                return None;
            }
        };
        if lease.retries >= self.config.crawl.max_retries {
            return None;
        }
        let c = &self.config.crawl;
        let backoff = c.retry_backoff.saturating_mul(1 << lease.retries.min(16)).min(c.max_retry_backoff);
        // Jitter (50–100 %) so that many URLs failing together do not come back together.
        let jittered = backoff.mul_f64(rand::rng().random_range(0.5..=1.0));
        Some(server_says.map_or(jittered, |s| s.max(jittered)))
    }

    async fn report_progress(&mut self, (at, pages_then): (Instant, u64)) -> anyhow::Result<(Instant, u64)> {
        let now = Instant::now();
        let f = self.frontier.stats();
        let rate = (self.stats.pages - pages_then) as f64 / now.duration_since(at).as_secs_f64().max(1e-3);
        let s = &self.stats;
        info!(
            pages = s.pages,
            pages_per_sec = format_args!("{rate:.1}"),
            queued = f.queued,
            in_flight = f.in_flight,
            status_2xx = s.status_2xx,
            status_3xx = s.status_3xx,
            status_4xx = s.status_4xx,
            status_5xx = s.status_5xx,
            no_response = s.no_response,
            robots_blocked = s.robots_blocked,
            retries = s.retries,
            out_of_scope = s.out_of_scope.total(),
            dropped = s.dropped.total(),
            "progress"
        );
        self.hint_at_per_host_limits(f.queued);
        let mut stats = self.stats.clone();
        stats.absorb_frontier(f);
        let state = if self.disk.is_full() { "disk_full" } else { "running" };
        self.sink.write_stats(stats.to_json(state)).await.context("cannot write stats.json")?;
        Ok((now, self.stats.pages))
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
