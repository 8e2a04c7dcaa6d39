//! Crawl counters: the progress line, `stats.json` and the final summary.

use crawld_frontier::{Added, FrontierStats};
use crawld_sink::{Dropped, LineClass, PageRecord, RecordedPage};
use serde::{Deserialize, Serialize};

use crate::task::Filtered;

/// The crawl's counters. Each has one name, used alike in stats.json, the progress line, the final
/// summary and README. Every pages.jsonl line is counted in exactly one of the status classes,
/// `no_response`, `refused_private`, `robots_blocked`, `robots_unavailable`, `host_down_skipped` and
/// `internal_errors`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    /// Lines written to pages.jsonl.
    pub pages: u64,
    /// Pages answered with a status of each class.
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// Answered with a status outside 200-599.
    pub status_other: u64,
    /// Requested, but no HTTP response came (connection failed, timed out).
    pub no_response: u64,
    /// Not requested: the host's address is not public (loopback, private, link-local, ...) and
    /// `fetch.allow_private_networks` is off.
    pub refused_private: u64,
    /// Not requested: robots.txt disallows them.
    pub robots_blocked: u64,
    /// Not requested: the host's robots.txt could not be had through all retries.
    pub robots_unavailable: u64,
    /// Not requested: their host was held as unreachable.
    pub host_down_skipped: u64,
    /// Recorded with a crawld bug as the error (a fetch task panicked).
    pub internal_errors: u64,
    /// Under way when the crawl stopped, and not finished within `output.shutdown_grace`: they have no
    /// line, and stay queued for a resume.
    pub abandoned: u64,
    /// Attempts after the first, of any URL.
    pub retries: u64,
    /// Pages whose body was cut at `fetch.max_body_bytes`.
    pub truncated: u64,
    /// Body bytes received on the wire, over all pages.
    pub bytes: u64,
    /// robots.txt responses archived in WARC (they have no pages.jsonl line).
    pub robots_txt_archived: u64,
    /// Links (and redirect targets) queued for the first time.
    pub links_queued: u64,
    /// Queued URLs found again more shallowly and moved up.
    pub links_lowered: u64,
    /// In-scope links deeper than `crawl.max_depth`.
    pub links_too_deep: u64,
    /// Sitemaps and sitemap entries queued for the first time (`"via":"sitemap"`).
    pub sitemap_urls: u64,
    /// Sitemap entries left out because robots.txt disallows them.
    pub sitemap_disallowed: u64,
    /// Sitemap entries past the 50,000 of one sitemap or `crawl.max_sitemap_urls` of one site.
    pub sitemap_over_cap: u64,
    /// URLs (links or redirect targets) a guard kept out of the crawl, by guard.
    pub dropped: DroppedCounts,
    /// Links and redirect targets outside the configured scope, by rule.
    pub out_of_scope: OutOfScopeCounts,
    /// URLs waiting in the frontier (at the end: left unfetched).
    pub queued: u64,
    pub in_flight: u64,
    pub hosts: u64,
    /// Distinct URLs met.
    pub seen: u64,
    pub elapsed_secs: f64,
    /// The live-retunable config values in force (`crawl.concurrency`, ...), by key.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tunables: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Stats {
    /// Count a pages.jsonl line under its outcome.
    pub fn count(&mut self, page: &PageRecord) {
        self.count_line(page.bytes, page.truncated.is_some(), LineClass::of(page.status, page.error.as_deref()));
    }

    /// Count a line read back from pages.jsonl (on resume): its outcome, and its guards' drops.
    pub fn count_recorded(&mut self, page: &RecordedPage, class: LineClass) {
        self.count_line(page.bytes, page.truncated.is_some(), class);
        self.dropped.add(&page.dropped);
    }

    fn count_line(&mut self, bytes: u64, truncated: bool, class: LineClass) {
        self.pages += 1;
        self.bytes += bytes;
        self.truncated += u64::from(truncated);
        let counter = match class {
            LineClass::RobotsBlocked => &mut self.robots_blocked,
            LineClass::RobotsUnavailable => &mut self.robots_unavailable,
            LineClass::HostDownSkipped => &mut self.host_down_skipped,
            LineClass::InternalError => &mut self.internal_errors,
            LineClass::NoResponse => &mut self.no_response,
            LineClass::RefusedPrivate => &mut self.refused_private,
            LineClass::Status(200..=299) => &mut self.status_2xx,
            LineClass::Status(300..=399) => &mut self.status_3xx,
            LineClass::Status(400..=499) => &mut self.status_4xx,
            LineClass::Status(500..=599) => &mut self.status_5xx,
            LineClass::Status(_) => &mut self.status_other,
        };
        *counter += 1;
    }

    /// These counters, with those that pages.jsonl lines carry set to zero, to be counted again from it.
    pub fn without_line_counts(self) -> Stats {
        self.with_line_counts_of(&Stats::default())
    }

    /// These counters, with those that pages.jsonl lines carry taken from `lines` (the counts of a
    /// snapshot, to which the lines after it are added).
    pub fn with_line_counts_of(self, lines: &Stats) -> Stats {
        Stats {
            pages: lines.pages,
            status_2xx: lines.status_2xx,
            status_3xx: lines.status_3xx,
            status_4xx: lines.status_4xx,
            status_5xx: lines.status_5xx,
            status_other: lines.status_other,
            no_response: lines.no_response,
            refused_private: lines.refused_private,
            robots_blocked: lines.robots_blocked,
            robots_unavailable: lines.robots_unavailable,
            host_down_skipped: lines.host_down_skipped,
            internal_errors: lines.internal_errors,
            truncated: lines.truncated,
            bytes: lines.bytes,
            dropped: lines.dropped,
            ..self
        }
    }

    /// The outcome counts (each pages.jsonl line is under one of them), by name.
    pub fn outcomes(&self) -> [(&'static str, u64); 11] {
        [
            ("status_2xx", self.status_2xx),
            ("status_3xx", self.status_3xx),
            ("status_4xx", self.status_4xx),
            ("status_5xx", self.status_5xx),
            ("status_other", self.status_other),
            ("no_response", self.no_response),
            ("refused_private", self.refused_private),
            ("robots_blocked", self.robots_blocked),
            ("robots_unavailable", self.robots_unavailable),
            ("host_down_skipped", self.host_down_skipped),
            ("internal_errors", self.internal_errors),
        ]
    }

    /// What a page's task left out of its links and redirect.
    pub fn count_filtered(&mut self, filtered: &Filtered) {
        self.dropped.add(&filtered.dropped);
        self.out_of_scope.add(&filtered.out_of_scope);
        self.links_too_deep += filtered.too_deep;
        self.sitemap_disallowed += filtered.sitemap_disallowed;
        self.sitemap_over_cap += filtered.sitemap_over_cap;
    }

    /// A sitemap, or an entry of one, offered to the frontier.
    pub fn count_sitemap_url(&mut self, added: Added) {
        if added == Added::New {
            self.sitemap_urls += 1;
        }
        self.count_added(added);
    }

    pub fn count_added(&mut self, added: Added) {
        match added {
            Added::New => self.links_queued += 1,
            Added::Lowered => self.links_lowered += 1,
            Added::TooDeep => self.links_too_deep += 1,
            Added::Known => {}
        }
    }

    pub fn absorb_frontier(&mut self, f: FrontierStats) {
        self.queued = f.queued;
        self.in_flight = f.in_flight;
        self.hosts = f.hosts;
        self.seen = f.seen;
    }

    /// stats.json: the counters plus the crawl's state ("running", "complete", "stopped", "failed").
    pub fn to_json(&self, state: &str) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("state".into(), state.into());
            map.insert("updated_at".into(), rfc3339_now().into());
        }
        value
    }
}

/// Guard drops summed over the crawl; the names are those of a pages.jsonl line's `dropped`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DroppedCounts {
    pub links_over_cap: u64,
    pub url_too_long: u64,
    pub repeated_segments: u64,
    pub redirect_over_limit: u64,
}

impl DroppedCounts {
    fn add(&mut self, page: &Dropped) {
        self.links_over_cap += u64::from(page.links_over_cap);
        self.url_too_long += u64::from(page.url_too_long);
        self.repeated_segments += u64::from(page.repeated_segments);
        self.redirect_over_limit += u64::from(page.redirect_over_limit);
    }

    pub fn total(&self) -> u64 {
        self.links_over_cap + self.url_too_long + self.repeated_segments + self.redirect_over_limit
    }
}

/// Links and redirect targets outside the configured scope, by the rule that left them out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutOfScopeCounts {
    /// Not an allowed host or inside an allowed domain.
    pub host: u64,
    /// Matched a `scope.exclude` pattern.
    pub excluded: u64,
    /// Matched none of the `scope.include` patterns.
    pub not_included: u64,
    /// Not http or https (a redirect to ftp:, say).
    pub scheme: u64,
}

impl OutOfScopeCounts {
    fn add(&mut self, other: &OutOfScopeCounts) {
        self.host += other.host;
        self.excluded += other.excluded;
        self.not_included += other.not_included;
        self.scheme += other.scheme;
    }

    pub fn total(&self) -> u64 {
        self.host + self.excluded + self.not_included + self.scheme
    }
}

pub fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".to_owned())
}
