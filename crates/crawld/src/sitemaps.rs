//! Sitemaps in a crawl: which sitemaps a site is looked up in, and which of their entries are queued.
//!
//! When a host's first lease learns its robots.txt, the site's sitemaps are queued: each `Sitemap:`
//! line of robots.txt and `/sitemap.xml`, when in scope, one hop deeper than that lease (depth 1 for a
//! seed's site), with robots.txt as their parent. They are fetched like any URL (scope, robots.txt,
//! politeness, retries, a pages.jsonl line with `"via":"sitemap"`). A sitemap that is one (a
//! `<urlset>` or `<sitemapindex>`, plain or gzipped) gives its entries, one hop deeper again: only
//! those on the sitemap's own origin (sitemaps.org), in scope, allowed by robots.txt, within
//! `crawl.max_depth` and within `crawl.max_sitemap_urls` for the site, in document order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crawld_extract::{SitemapKind, SitemapLimits, fingerprint, looks_like_sitemap, parse_sitemap};
use crawld_fetch::{Response, RobotsLoad};
use crawld_frontier::{Candidate, Lease, Via};
use tracing::debug;
use url::Url;

use crate::config::Config;
use crate::task::{Filtered, TaskContext};

/// The sitemap settings of a crawl and what each site has used of its budget.
#[derive(Debug)]
pub struct Sitemaps {
    enabled: bool,
    /// URLs queued from the sitemaps of one site at most (the sitemaps themselves included).
    max_per_site: u64,
    limits: SitemapLimits,
    /// URLs queued so far, by site (`scheme://host:port`).
    queued: Mutex<HashMap<String, u64>>,
}

impl Sitemaps {
    pub fn new(config: &Config) -> Sitemaps {
        // A gzipped sitemap is unpacked up to the body cap, as a content-encoded body is.
        let max_bytes = usize::try_from(config.fetch.max_body_bytes.get()).unwrap_or(usize::MAX);
        Sitemaps {
            enabled: config.crawl.sitemaps,
            max_per_site: config.crawl.max_sitemap_urls,
            limits: SitemapLimits {
                max_bytes: max_bytes.min(SitemapLimits::default().max_bytes),
                ..Default::default()
            },
            queued: Mutex::new(HashMap::new()),
        }
    }

    /// The sitemaps of the lease's site, for the first lease of its host once robots.txt is known:
    /// robots.txt's `Sitemap:` lines (`listed`) and `/sitemap.xml`. A lease that reads robots.txt again,
    /// the verdict expired, finds none: they were queued with the first.
    pub async fn roots(&self, ctx: &TaskContext, lease: &Lease, listed: Vec<Url>) -> Vec<Candidate> {
        if !self.enabled || !lease.first_of_host || lease.verdict_expired {
            return Vec::new();
        }
        let Ok(robots_txt) = lease.url.join("/robots.txt") else { return Vec::new() };
        let mut urls = listed;
        if let Ok(conventional) = lease.url.join("/sitemap.xml") {
            urls.push(conventional);
        }
        let parent: Arc<str> = Arc::from(robots_txt.as_str());
        let depth = lease.depth + 1;
        let mut roots = Vec::new();
        for url in urls {
            if ctx.scope().check(&url).is_err() || ctx.max_depth().is_some_and(|max| depth > max) {
                debug!(%url, "sitemap not looked up: out of scope or too deep");
                continue;
            }
            if !self.spend(&url) {
                break;
            }
            let fingerprint = fingerprint(&url);
            roots.push(Candidate {
                url,
                fingerprint,
                depth,
                parent: Some(parent.clone()),
                redirects: 0,
                via: Via::SitemapRoot,
            });
        }
        roots
    }

    /// Whether a fetched URL is read as a sitemap: it was queued as one (or listed by one) and came
    /// as a 2xx whose body is XML or gzip, not HTML.
    pub fn is_sitemap(&self, lease: &Lease, response: &Response) -> bool {
        let ok = response.status.is_some_and(|s| (200..300).contains(&s));
        let html = response.content_type.as_deref().is_some_and(|t| t.to_ascii_lowercase().contains("html"));
        self.enabled && lease.via != Via::Link && ok && !html && looks_like_sitemap(&response.body)
    }

    /// The entries of a sitemap that may be queued, and how many it listed.
    pub async fn entries(
        &self,
        ctx: &TaskContext,
        lease: &Lease,
        response: &Response,
        filtered: &mut Filtered,
    ) -> (u32, Vec<Candidate>) {
        let limits = self.limits;
        let body = response.body.clone();
        // Unpacking and reading up to 50 MB is real work: off the async threads.
        let Ok(sitemap) = tokio::task::spawn_blocking(move || parse_sitemap(&body, &limits)).await else {
            return (0, Vec::new());
        };
        let Some(kind) = sitemap.kind else { return (0, Vec::new()) };
        debug!(url = %lease.url, ?kind, entries = sitemap.urls.len(), over_cap = sitemap.over_cap,
            unusable = sitemap.unusable, cut = sitemap.cut, "sitemap read");
        let found = u32::try_from(sitemap.urls.len()).unwrap_or(u32::MAX);
        filtered.sitemap_over_cap += sitemap.over_cap as u64;
        let depth = lease.depth + 1;
        let parent: Arc<str> = Arc::from(lease.url.as_str());
        let mut entries = Vec::new();
        for url in sitemap.urls {
            if !same_origin(&url, &lease.url) {
                filtered.out_of_scope.host += 1;
                continue;
            }
            if !filtered.admit(&ctx.scope(), &url, &lease.url) {
                continue;
            }
            if ctx.max_depth().is_some_and(|max| depth > max) {
                filtered.too_deep += 1;
                continue;
            }
            // Its origin's robots.txt is the sitemap's own, nearly always cached. Read it again here
            // never: this fetch runs beside others of the host. Without a copy, the entry is queued,
            // and its own lease checks it.
            let verdict = ctx.fetcher.robots_lookup(&url, RobotsLoad::Never).await.map(|found| found.verdict);
            if verdict.is_some_and(|v| !v.is_allowed()) {
                filtered.sitemap_disallowed += 1;
                continue;
            }
            let fingerprint = fingerprint(&url);
            if !ctx.seen.may_improve(fingerprint, depth) {
                continue;
            }
            if !self.spend(&url) {
                filtered.sitemap_over_cap += 1;
                continue;
            }
            entries.push(Candidate {
                url,
                fingerprint,
                depth,
                parent: Some(parent.clone()),
                redirects: 0,
                via: Via::Sitemap,
            });
        }
        if kind == SitemapKind::Index {
            debug!(url = %lease.url, sitemaps = entries.len(), "sitemap index");
        }
        (found, entries)
    }

    /// Take one URL from the site's budget; false when it is spent.
    fn spend(&self, url: &Url) -> bool {
        let site = url.origin().ascii_serialization();
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        let used = queued.entry(site).or_insert(0);
        if *used >= self.max_per_site {
            return false;
        }
        *used += 1;
        true
    }
}

/// Same scheme, host and port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}
