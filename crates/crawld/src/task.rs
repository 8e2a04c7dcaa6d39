//! One fetch task: robots.txt check, GET, link extraction and filtering. Runs inside the fetch pool so
//! that network waits and HTML parsing never stall the scheduler loop.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use crawld_extract::{OutOfScope, Scope, decode_html, extract_links, fingerprint, is_html};
use crawld_fetch::{FetchFailure, Fetcher, Response, RobotsLoad, RobotsVerdict};
use crawld_frontier::{Candidate, Lease, SeenSet, Via};
use crawld_sink::{Dropped, HttpExchange, PageRecord, Truncation, WarcPair, errors};
use futures_util::FutureExt;
use tracing::{debug, instrument};
use url::Url;

use crate::stats::OutOfScopeCounts;

/// What every fetch task shares (behind an `Arc`).
#[derive(Debug)]
pub struct TaskContext {
    pub fetcher: Fetcher,
    /// Written only when a seed's redirect brings another host into the scope.
    pub scope: RwLock<Scope>,
    pub seed_redirects_join_scope: bool,
    pub seen: SeenSet,
    pub max_links: usize,
    /// crawl.max_depth in force ([`depth_limit`]): a running crawl may change it.
    pub max_depth: AtomicU64,
    pub max_redirects: u8,
    /// Encode WARC records (output.warc).
    pub warc: bool,
    pub sitemaps: crate::sitemaps::Sitemaps,
}

/// A `TaskContext::max_depth`: `u64::MAX` for no limit.
pub fn depth_limit(max_depth: Option<u32>) -> AtomicU64 {
    AtomicU64::new(max_depth.map_or(u64::MAX, u64::from))
}

impl TaskContext {
    pub fn max_depth(&self) -> Option<u32> {
        u32::try_from(self.max_depth.load(Ordering::Relaxed)).ok()
    }

    pub fn set_max_depth(&self, max_depth: Option<u32>) {
        self.max_depth.store(max_depth.map_or(u64::MAX, u64::from), Ordering::Relaxed);
    }

    /// The scope, for a short read; never held across an await.
    pub fn scope(&self) -> std::sync::RwLockReadGuard<'_, Scope> {
        self.scope.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A finished task, handed back to the scheduler with its lease.
#[derive(Debug)]
pub struct Finished {
    pub lease: Lease,
    pub end: End,
    /// robots.txt responses this task's robots check received (each redirect hop), encoded for the archive.
    pub robots_txt: Vec<WarcPair>,
    /// The page's exchange encoded as WARC records, when a response came and WARC is on.
    pub archive: Option<WarcPair>,
    /// URLs to queue that are not links of the page: the site's sitemaps (with its first lease), or
    /// the entries of a sitemap.
    pub discovered: Vec<Candidate>,
}

/// Whether a lease's URL still has to be checked against robots.txt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RobotsCheck {
    Ask,
    /// The lease that (re)loaded its host's robots.txt checked it, and gave it back.
    Done,
}

/// A host's robots.txt verdict, as a lease that (re)loaded robots.txt reports it to the frontier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostVerdict {
    pub crawl_delay: Option<Duration>,
    /// How long the robots.txt it came from may be used.
    pub fresh_for: Duration,
    /// robots.txt was requested from the host (not a copy in the cache): the host's delay runs from now.
    pub requested: bool,
}

/// How a task ended.
#[derive(Debug)]
pub enum End {
    /// The lease the frontier marked to (re)load robots.txt (the host's first, or its first since the
    /// verdict expired) read it, it allows the URL, and went no further. The URL goes back to the
    /// frontier, which opens the host up to its concurrency at once; the URL waits out the host's delay
    /// there, queued rather than in flight, so that a slow first page never holds the rest of its host
    /// back.
    RobotsTxtOnly(HostVerdict),
    /// The cache no longer had the host's robots.txt (expired, or evicted) for a lease that runs beside
    /// others of its host, where reading it again is not polite. The URL goes back, and the host waits
    /// for its fetches to finish; then one lease reads robots.txt again, alone.
    RobotsGone,
    /// The URL is done with (for this attempt): it gets a pages.jsonl line, or a retry.
    Page(Box<Outcome>),
}

impl Finished {
    fn page(lease: Lease, outcome: Outcome, robots_txt: Vec<WarcPair>) -> Finished {
        Finished { lease, end: End::Page(Box::new(outcome)), robots_txt, archive: None, discovered: Vec::new() }
    }
}

#[derive(Debug)]
pub enum Outcome {
    /// robots.txt disallows the URL; nothing was requested.
    Blocked {
        /// The host's verdict, reported by a lease that (re)loaded robots.txt.
        robots: Option<HostVerdict>,
    },
    /// robots.txt could not be had, so the URL was not requested; worth a retry.
    RobotsUnavailable { reason: String },
    /// The host is held as unreachable; nothing was requested.
    HostDown { reason: String },
    /// The task panicked (a bug). The URL is recorded with the panic message so that its lease is
    /// returned and its BFS level can drain.
    Crashed { message: String },
    Fetched {
        /// The response, without its body: the links and the archived records are all that is kept of it.
        response: Box<Response>,
        /// Body bytes kept (as received, within the cap): what WARC archives.
        stored_bytes: u64,
        /// Unique links taken from the page (at most `max_links`), before filtering.
        found: u32,
        /// In-scope links (with fingerprints) that may still matter to the frontier.
        links: Vec<(Url, u128)>,
        /// An in-scope redirect target, within `max_redirects`.
        redirect: Option<Redirect>,
        /// What was left out of the links and the redirect, and why.
        filtered: Box<Filtered>,
    },
}

/// A redirect target to follow.
#[derive(Debug)]
pub struct Redirect {
    pub url: Url,
    pub fingerprint: u128,
    /// The target is on another host, reached from a seed through redirects only: its host joins the
    /// scope, as a seed's would.
    pub joins_scope: bool,
}

/// The links and redirect target of a page that the crawl does not follow, by reason.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filtered {
    /// Cut by a guard (the cap, a trap rule, the redirect limit): recorded on the page's line too.
    pub dropped: Dropped,
    /// Outside the configured scope.
    pub out_of_scope: OutOfScopeCounts,
    /// In scope, but deeper than `max_depth`.
    pub too_deep: u64,
    /// Sitemap entries robots.txt disallows.
    pub sitemap_disallowed: u64,
    /// Sitemap entries past the per-sitemap or per-site cap.
    pub sitemap_over_cap: u64,
}

impl Filtered {
    /// Whether the crawl may follow `url`; counts the reason when not.
    pub(crate) fn admit(&mut self, scope: &Scope, url: &Url, found_on: &Url) -> bool {
        let Err(reason) = scope.check(url) else { return true };
        debug!(url = %url, found_on = %found_on, %reason, "not followed");
        let d = &mut self.dropped;
        let s = &mut self.out_of_scope;
        match reason {
            OutOfScope::TooLong => d.url_too_long += 1,
            OutOfScope::RepeatedSegments => d.repeated_segments += 1,
            OutOfScope::Host => s.host += 1,
            OutOfScope::Excluded => s.excluded += 1,
            OutOfScope::NotIncluded => s.not_included += 1,
            OutOfScope::Scheme => s.scheme += 1,
        }
        false
    }
}

impl Outcome {
    /// The host's robots.txt verdict for the frontier, when this outcome carries one.
    pub fn robots_verdict(&self) -> Option<HostVerdict> {
        match self {
            // A crash says nothing of robots.txt: the host stays at one request at a time, and its
            // next lease asks robots.txt again.
            Outcome::Crashed { .. } => None,
            Outcome::Blocked { robots } => *robots,
            Outcome::Fetched { .. } => None,
            // The verdict is still unknown: the host stays at one request at a time.
            Outcome::RobotsUnavailable { .. } | Outcome::HostDown { .. } => None,
        }
    }
}

impl Outcome {
    /// Whether the host was contacted (and so its politeness delay should start).
    pub fn made_a_request(&self) -> bool {
        match self {
            // With the host's first lease, the task fetched robots.txt itself.
            Outcome::Blocked { robots } => robots.is_some_and(|v| v.requested),
            Outcome::HostDown { .. } => false,
            Outcome::Fetched { .. } | Outcome::RobotsUnavailable { .. } | Outcome::Crashed { .. } => true,
        }
    }

    /// Whether the host answered (robots.txt or the page itself): it is not down.
    pub fn host_answered(&self) -> bool {
        match self {
            Outcome::Blocked { .. } => true,
            Outcome::Fetched { response, .. } => response.status.is_some(),
            _ => false,
        }
    }

    /// Why the host could not be reached at all, when that is what this outcome says.
    pub fn unreachable(&self) -> Option<String> {
        match self {
            Outcome::RobotsUnavailable { reason } => Some(format!("{}{reason}", errors::ROBOTS_UNAVAILABLE)),
            Outcome::Fetched { response, .. } => match &response.failure {
                Some(failure @ FetchFailure::Connect(_)) if response.status.is_none() => Some(failure.to_string()),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A lease of a host held as unreachable: recorded without a request.
pub fn host_down(lease: Lease, reason: String) -> Finished {
    Finished::page(lease, Outcome::HostDown { reason }, Vec::new())
}

/// One fetch task. Never loses its lease: a panic inside becomes [`Outcome::Crashed`].
pub async fn run(ctx: std::sync::Arc<TaskContext>, lease: Lease, robots: RobotsCheck) -> Finished {
    let kept = lease.clone();
    match AssertUnwindSafe(fetch_page(ctx, lease, robots)).catch_unwind().await {
        Ok(finished) => finished,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(url = %kept.url, %message, "fetch task panicked");
            Finished::page(kept, Outcome::Crashed { message }, Vec::new())
        }
    }
}

#[instrument(level = "trace", skip_all, fields(url = %lease.url))]
async fn fetch_page(ctx: std::sync::Arc<TaskContext>, lease: Lease, check: RobotsCheck) -> Finished {
    let mut robots_txt = Vec::new();
    let mut sitemaps = Vec::new();
    if ctx.fetcher.config().respect_robots && check == RobotsCheck::Ask {
        // Only the lease the frontier marked may read robots.txt: nothing else of its host is in flight.
        let load = if lease.first_of_host { RobotsLoad::IfMissing } else { RobotsLoad::Never };
        let Some(found) = ctx.fetcher.robots_lookup(&lease.url, load).await else {
            return Finished { lease, end: End::RobotsGone, robots_txt, archive: None, discovered: Vec::new() };
        };
        robots_txt = found.responses.iter().filter_map(|r| archive(&ctx, r)).collect();
        let (fresh_for, requested) = (found.fresh_for, found.requested());
        sitemaps = found.sitemaps;
        let verdict = |crawl_delay| HostVerdict { crawl_delay, fresh_for, requested };
        match found.verdict {
            RobotsVerdict::Disallowed { crawl_delay } => {
                let robots = lease.first_of_host.then(|| verdict(crawl_delay));
                let discovered = ctx.sitemaps.roots(&ctx, &lease, sitemaps).await;
                return Finished { discovered, ..Finished::page(lease, Outcome::Blocked { robots }, robots_txt) };
            }
            RobotsVerdict::Unavailable { reason } => {
                return Finished::page(lease, Outcome::RobotsUnavailable { reason }, robots_txt);
            }
            // The page waits for the host's delay after robots.txt (and for its Crawl-delay, which may
            // have changed), queued, while the host opens up. A verdict that could not be kept (the
            // request was refused unmade) opens nothing: the page goes on at once.
            RobotsVerdict::Allowed { crawl_delay } if lease.first_of_host && !fresh_for.is_zero() => {
                let discovered = ctx.sitemaps.roots(&ctx, &lease, sitemaps).await;
                let end = End::RobotsTxtOnly(verdict(crawl_delay));
                return Finished { lease, end, robots_txt, archive: None, discovered };
            }
            RobotsVerdict::Allowed { .. } => {}
        }
    }
    // Without robots.txt, the first lease of a host still finds its sitemaps.
    let mut discovered = ctx.sitemaps.roots(&ctx, &lease, sitemaps).await;

    let mut response = ctx.fetcher.fetch(&lease.url).await;
    let mut filtered = Filtered::default();
    let (found, links) = if ctx.sitemaps.is_sitemap(&lease, &response) {
        let (found, entries) = ctx.sitemaps.entries(&ctx, &lease, &response, &mut filtered).await;
        discovered.extend(entries);
        (found, Vec::new())
    } else if lease.via == Via::SitemapRoot {
        // A sitemap crawld went looking for is no page of the site: what it holds is not followed.
        (0, Vec::new())
    } else {
        links_of(&ctx, &lease, &response, &mut filtered)
    };
    let redirect = redirect_of(&ctx, &lease, &response, &mut filtered);
    // The body has given its links: the exchange, its only holder now unless a decoded copy was made,
    // goes to the WARC records, which compress a large body where it lies; it is freed once they are made,
    // not after the page is written.
    response.body = bytes::Bytes::new();
    let exchange = response.exchange.take();
    let stored_bytes = exchange.as_ref().map_or(0, |e| e.raw_body.len() as u64);
    let archive = exchange.and_then(|ex| archive_owned(&ctx, &response, ex));
    // A Location too long to follow is not kept for the page's line either (`redirect`): it is counted
    // as dropped.url_too_long, and the WARC record holds it as sent.
    if redirect.is_none()
        && response.location.as_ref().is_some_and(|l| ctx.scope().check(l) == Err(OutOfScope::TooLong))
    {
        response.location = None;
    }
    let outcome = Outcome::Fetched {
        response: Box::new(response),
        stored_bytes,
        found,
        links,
        redirect,
        filtered: Box::new(filtered),
    };
    Finished { archive, discovered, ..Finished::page(lease, outcome, robots_txt) }
}

/// A response's exchange as WARC records, made here so that compression runs on every core.
fn archive(ctx: &TaskContext, response: &Response) -> Option<WarcPair> {
    let ex = response.exchange.clone()?;
    archive_owned(ctx, response, ex)
}

/// [`archive`] of an exchange taken out of its response.
fn archive_owned(ctx: &TaskContext, response: &Response, ex: crawld_fetch::Exchange) -> Option<WarcPair> {
    if !ctx.warc {
        return None;
    }
    let exchange = HttpExchange {
        request_head: ex.request_head,
        response_head: ex.response_head,
        body: ex.raw_body,
        remote_ip: ex.remote_ip,
    };
    WarcPair::encode_owned(response.url.as_str(), response.fetched_at, truncation(response), exchange)
        .inspect_err(|e| tracing::error!(url = %response.url, error = %e, "cannot encode WARC records"))
        .ok()
}

/// Why the body as received, which is what WARC archives, stops short: the same on the record and the line.
fn truncation(response: &Response) -> Option<Truncation> {
    response.truncated.map(|cut| match cut {
        crawld_fetch::Truncation::Length => Truncation::Length,
        crawld_fetch::Truncation::Time => Truncation::Time,
        crawld_fetch::Truncation::Disconnect => Truncation::Disconnect,
    })
}

/// The redirect target of a 3xx response, when the crawl follows it.
fn redirect_of(ctx: &TaskContext, lease: &Lease, response: &Response, filtered: &mut Filtered) -> Option<Redirect> {
    let mut target = response.location.clone().filter(|_| response.status.is_some_and(|s| (300..400).contains(&s)))?;
    target.set_fragment(None);
    let scope = ctx.scope();
    // Every hop from the seed to here was a redirect: the target is where the seed's site really is.
    let from_a_seed = lease.depth == u32::from(lease.redirects);
    let joins_scope =
        ctx.seed_redirects_join_scope && from_a_seed && scope.check(&target) == Err(OutOfScope::Host) && {
            let mut widened = scope.clone();
            widened.admit_site(&target);
            widened.check(&target).is_ok()
        };
    if !joins_scope && !filtered.admit(&scope, &target, &lease.url) {
        return None;
    }
    if lease.redirects >= ctx.max_redirects {
        debug!(url = %lease.url, to = %target, "redirect not followed: crawl.max_redirects hops in a row");
        filtered.dropped.redirect_over_limit += 1;
        return None;
    }
    let fingerprint = fingerprint(&target);
    Some(Redirect { url: target, fingerprint, joins_scope })
}

/// Links of a successful HTML page that are in scope, within depth, and not already known shallower.
fn links_of(ctx: &TaskContext, lease: &Lease, response: &Response, filtered: &mut Filtered) -> (u32, Vec<(Url, u128)>) {
    let ok = response.status.is_some_and(|s| (200..300).contains(&s));
    if !ok || !is_html(response.content_type.as_deref(), &response.body) {
        return (0, Vec::new());
    }
    let html = decode_html(&response.body, response.content_type.as_deref());
    let extracted = extract_links(&response.url, &html, ctx.max_links);
    filtered.dropped.links_over_cap = u32::try_from(extracted.over_cap).unwrap_or(u32::MAX);
    let found = u32::try_from(extracted.links.len()).unwrap_or(u32::MAX);
    let depth = lease.depth + 1;
    let too_deep = ctx.max_depth().is_some_and(|max| depth > max);
    let mut links = Vec::new();
    // Taken after parsing: the scheduler may be waiting to widen the scope.
    let scope = ctx.scope();
    for link in extracted.links {
        if !filtered.admit(&scope, &link.url, &lease.url) {
            continue;
        }
        if too_deep {
            filtered.too_deep += 1;
            continue;
        }
        if ctx.seen.may_improve(link.fingerprint, depth) {
            links.push((link.url, link.fingerprint));
        }
    }
    (found, links)
}

/// The pages.jsonl line (and WARC exchange) of a finished URL.
pub fn page_record(lease: &Lease, outcome: &Outcome) -> PageRecord {
    let error = |text: String| PageRecord { error: Some(text), ..PageRecord::new(lease.url.as_str(), lease.depth) };
    let record = match outcome {
        Outcome::Blocked { .. } => error(errors::ROBOTS_BLOCKED.to_owned()),
        Outcome::Crashed { message, .. } => error(format!("{}{message}", errors::INTERNAL_ERROR)),
        Outcome::RobotsUnavailable { reason } => error(format!("{}{reason}", errors::ROBOTS_UNAVAILABLE)),
        Outcome::HostDown { reason } => error(format!("{}{reason})", errors::HOST_DOWN_SKIPPED)),
        Outcome::Fetched { response, stored_bytes, found, filtered, .. } => PageRecord {
            links: *found,
            stored_bytes: *stored_bytes,
            dropped: filtered.dropped,
            ..response_record(response, lease.depth)
        },
    };
    let via = (lease.via != Via::Link).then_some("sitemap");
    PageRecord { parent: lease.parent.as_deref().map(str::to_owned), attempts: lease.retries + 1, via, ..record }
}

/// What a response says, as a record at `depth` (no parent, first attempt, no links counted).
fn response_record(r: &Response, depth: u32) -> PageRecord {
    PageRecord {
        status: r.status,
        content_type: r.content_type.clone(),
        bytes: r.wire_bytes,
        fetched_at: r.fetched_at,
        elapsed: r.elapsed,
        ttfb: r.ttfb,
        error: r.failure.as_ref().map(|f| f.to_string()),
        redirect: r.location.as_ref().map(|l| l.to_string()),
        truncated: truncation(r),
        ..PageRecord::new(r.url.as_str(), depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (defect 4): a host's first lease that crashed reported an empty robots.txt verdict,
    /// which lifted the host's one-at-a-time gate without robots.txt ever being read.
    #[test]
    fn a_crash_reports_no_robots_verdict() {
        let crashed = Outcome::Crashed { message: "bug".to_owned() };
        assert_eq!(crashed.robots_verdict(), None);
        assert!(crashed.made_a_request());
        let verdict = HostVerdict { crawl_delay: None, fresh_for: Duration::from_secs(1), requested: true };
        assert_eq!(Outcome::Blocked { robots: Some(verdict) }.robots_verdict(), Some(verdict));
    }
}
