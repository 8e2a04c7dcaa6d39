//! One fetch task: robots.txt check, GET, link extraction and filtering. Runs inside the fetch pool so
//! that network waits and HTML parsing never stall the scheduler loop.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use crawld_extract::{Scope, decode_html, extract_links, fingerprint, is_html};
use crawld_fetch::{FetchFailure, Fetcher, Response, RobotsVerdict};
use crawld_frontier::{Lease, SeenSet};
use crawld_sink::{HttpExchange, PageRecord, WarcPair};
use futures_util::FutureExt;
use tracing::instrument;
use url::Url;

/// What every fetch task shares (behind an `Arc`).
#[derive(Debug)]
pub struct TaskContext {
    pub fetcher: Fetcher,
    pub scope: Scope,
    pub seen: SeenSet,
    pub max_links: usize,
    pub max_depth: Option<u32>,
    pub delay: Duration,
    /// Encode WARC records (output.warc).
    pub warc: bool,
}

/// A finished task, handed back to the scheduler with its lease.
#[derive(Debug)]
pub struct Finished {
    pub lease: Lease,
    pub outcome: Outcome,
    /// robots.txt responses this task's robots check received (each redirect hop), encoded for the archive.
    pub robots_txt: Vec<WarcPair>,
    /// The page's exchange encoded as WARC records, when a response came and WARC is on.
    pub archive: Option<WarcPair>,
}

#[derive(Debug)]
pub enum Outcome {
    /// robots.txt disallows the URL; nothing was requested.
    Blocked {
        /// The host's Crawl-delay, reported with the host's first lease.
        robots: Option<Option<Duration>>,
    },
    /// robots.txt could not be had, so the URL was not requested; worth a retry.
    RobotsUnavailable { reason: String },
    /// The host is held as unreachable; nothing was requested.
    HostDown { reason: String },
    /// The task panicked (a bug). The URL is recorded with the panic message so that its lease is
    /// returned and its BFS level can drain.
    Crashed { first_of_host: bool, message: String },
    Fetched {
        /// The response, without its body: the links and the archived records are all that is kept of it.
        response: Box<Response>,
        /// The host's robots.txt Crawl-delay, reported with the host's first lease.
        robots: Option<Option<Duration>>,
        /// Links found on the page (before filtering).
        found: u32,
        /// In-scope links (with fingerprints) that may still matter to the frontier.
        links: Vec<(Url, u128)>,
        /// An in-scope redirect target.
        redirect: Option<(Url, u128)>,
    },
}

impl Outcome {
    /// `Some(crawl_delay)` when this outcome carries the host's robots.txt verdict for the frontier.
    pub fn robots_delay(&self) -> Option<Option<Duration>> {
        match self {
            Outcome::Crashed { first_of_host, .. } => first_of_host.then_some(None),
            Outcome::Blocked { robots } | Outcome::Fetched { robots, .. } => *robots,
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
            Outcome::Blocked { robots } => robots.is_some(),
            Outcome::HostDown { .. } => false,
            Outcome::Fetched { .. } | Outcome::RobotsUnavailable { .. } | Outcome::Crashed { .. } => true,
        }
    }

    /// Why the host could not be reached at all, when that is what this outcome says.
    pub fn unreachable(&self) -> Option<String> {
        match self {
            Outcome::RobotsUnavailable { reason } => Some(format!("robots.txt unavailable: {reason}")),
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
    Finished { lease, outcome: Outcome::HostDown { reason }, robots_txt: Vec::new(), archive: None }
}

/// One fetch task. Never loses its lease: a panic inside becomes [`Outcome::Crashed`].
pub async fn run(ctx: std::sync::Arc<TaskContext>, lease: Lease) -> Finished {
    let (kept, first_of_host) = (lease.clone(), lease.first_of_host);
    match AssertUnwindSafe(fetch_page(ctx, lease)).catch_unwind().await {
        Ok(finished) => finished,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::error!(url = %kept.url, %message, "fetch task panicked");
            let outcome = Outcome::Crashed { first_of_host, message };
            Finished { lease: kept, outcome, robots_txt: Vec::new(), archive: None }
        }
    }
}

#[instrument(level = "trace", skip_all, fields(url = %lease.url))]
async fn fetch_page(ctx: std::sync::Arc<TaskContext>, lease: Lease) -> Finished {
    let mut robots = None;
    let mut robots_txt = Vec::new();
    if ctx.fetcher.config().respect_robots {
        let (verdict, responses) = ctx.fetcher.robots_for_archive(&lease.url).await;
        robots_txt = responses.iter().filter_map(|r| archive(&ctx, r)).collect();
        match verdict {
            RobotsVerdict::Disallowed { crawl_delay } => {
                let robots = lease.first_of_host.then_some(crawl_delay);
                return Finished { outcome: Outcome::Blocked { robots }, lease, robots_txt, archive: None };
            }
            RobotsVerdict::Unavailable { reason } => {
                let outcome = Outcome::RobotsUnavailable { reason };
                return Finished { outcome, lease, robots_txt, archive: None };
            }
            RobotsVerdict::Allowed { crawl_delay } => {
                if lease.first_of_host {
                    robots = Some(crawl_delay);
                    // robots.txt was just requested from this host: keep the host's delay before the page.
                    tokio::time::sleep(crawl_delay.unwrap_or_default().max(ctx.delay)).await;
                }
            }
        }
    } else if lease.first_of_host {
        robots = Some(None);
    }

    let mut response = ctx.fetcher.fetch(&lease.url).await;
    let (found, links) = links_of(&ctx, &lease, &response);
    let archive = archive(&ctx, &response);
    // The body has given its links and its records: free it now, not after the page is written.
    response.body = bytes::Bytes::new();
    response.exchange = None;
    let redirect = response
        .location
        .as_ref()
        .filter(|_| response.status.is_some_and(|s| (300..400).contains(&s)))
        .filter(|target| ctx.scope.check(target).is_ok())
        .map(|target| {
            let mut target = target.clone();
            target.set_fragment(None);
            let fp = fingerprint(&target);
            (target, fp)
        });
    let outcome = Outcome::Fetched { response: Box::new(response), robots, found, links, redirect };
    Finished { outcome, lease, robots_txt, archive }
}

/// A response's exchange as WARC records, made here so that compression runs on every core.
fn archive(ctx: &TaskContext, response: &Response) -> Option<WarcPair> {
    let ex = response.exchange.as_ref().filter(|_| ctx.warc)?;
    let exchange = HttpExchange {
        request_head: ex.request_head.clone(),
        response_head: ex.response_head.clone(),
        body: ex.raw_body.clone(),
        remote_ip: ex.remote_ip,
    };
    WarcPair::encode(response.url.as_str(), response.fetched_at, response.truncated, &exchange)
        .inspect_err(|e| tracing::error!(url = %response.url, error = %e, "cannot encode WARC records"))
        .ok()
}

/// Links of a successful HTML page that are in scope, within depth, and not already known shallower.
fn links_of(ctx: &TaskContext, lease: &Lease, response: &Response) -> (u32, Vec<(Url, u128)>) {
    let ok = response.status.is_some_and(|s| (200..300).contains(&s));
    if !ok || !is_html(response.content_type.as_deref(), &response.body) {
        return (0, Vec::new());
    }
    let html = decode_html(&response.body, response.content_type.as_deref());
    let extracted = extract_links(&response.url, &html, ctx.max_links);
    let found = extracted.links.len() as u32;
    let depth = lease.depth + 1;
    if ctx.max_depth.is_some_and(|max| depth > max) {
        return (found, Vec::new());
    }
    let links = extracted
        .links
        .into_iter()
        .filter(|url| ctx.scope.check(url).is_ok())
        .map(|url| {
            let fp = fingerprint(&url);
            (url, fp)
        })
        .filter(|(_, fp)| ctx.seen.may_improve(*fp, depth))
        .collect();
    (found, links)
}

/// The pages.jsonl line (and WARC exchange) of a finished URL.
pub fn page_record(lease: &Lease, outcome: &Outcome) -> PageRecord {
    let error = |text: String| PageRecord { error: Some(text), ..PageRecord::new(lease.url.as_str(), lease.depth) };
    let record = match outcome {
        Outcome::Blocked { .. } => error("disallowed by robots.txt".to_owned()),
        Outcome::Crashed { message, .. } => error(format!("internal error: {message}")),
        Outcome::RobotsUnavailable { reason } => error(format!("robots.txt unavailable: {reason}")),
        Outcome::HostDown { reason } => error(format!("host unreachable, not requested ({reason})")),
        Outcome::Fetched { response, found, .. } => {
            PageRecord { links: *found, ..response_record(response, lease.depth) }
        }
    };
    PageRecord { parent: lease.parent.as_deref().map(str::to_owned), attempts: lease.retries + 1, ..record }
}

/// What a response says, as a record at `depth` (no parent, first attempt, no links counted).
fn response_record(r: &Response, depth: u32) -> PageRecord {
    PageRecord {
        status: r.status,
        content_type: r.content_type.clone(),
        bytes: r.wire_bytes,
        fetched_at: r.fetched_at,
        elapsed_ms: r.elapsed.as_millis() as u64,
        error: r.failure.as_ref().map(|f| f.to_string()),
        redirect: r.location.as_ref().map(|l| l.to_string()),
        truncated: r.truncated,
        ..PageRecord::new(r.url.as_str(), depth)
    }
}
