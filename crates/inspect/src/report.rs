//! The report: one pass over pages.jsonl, in memory bounded by the number of hosts and the top-N lists.
//!
//! [`Report`] is also the `--json` document: its fields, serialized as they are, are what README
//! documents. Every figure the text and HTML renderings show comes from it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use crawld_sink::LineClass;
use serde::Serialize;

use crate::Error;
use crate::read::{Flow, Line, Lines, epoch_millis};

/// Length of the top-N lists (largest, slowest pages, failed sample).
pub const TOP: usize = 10;
/// Hosts listed by name; the totals count every host.
pub const TOP_HOSTS: usize = 20;
/// Distinct content types and error kinds kept by name; past that they count as `(other)`.
const MAX_KINDS: usize = 200;
/// Throughput buckets: their width doubles whenever the crawl outgrows them.
const BUCKETS: usize = 120;
/// Upper bounds (ms) of the latency histogram's buckets; the last bucket is everything slower.
pub const LATENCY_BOUNDS_MS: [f64; 12] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0];

/// Which pages the report counts. All set conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The URL's host, with or without its port.
    pub host: Option<String>,
    pub status: Option<StatusFilter>,
    pub depth: Option<u32>,
    /// Media type, without parameters (`text/html`), compared case-insensitively; a prefix ending in `/`
    /// (`image/`) matches the whole family.
    pub content_type: Option<String>,
    /// Only failed pages: an error, no response, or a status of 400 or more.
    pub failed: bool,
}

/// A status code, or a class written `4xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Class(u16),
    Code(u16),
}

impl FromStr for StatusFilter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Usage(format!("--status {s}: expected a code (404) or a class (4xx)"));
        let s = s.trim();
        if let Some(class) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
            let c: u16 = class.parse().map_err(|_| bad())?;
            return if (1..=9).contains(&c) { Ok(StatusFilter::Class(c)) } else { Err(bad()) };
        }
        s.parse().map(StatusFilter::Code).map_err(|_| bad())
    }
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.host.is_none()
            && self.status.is_none()
            && self.depth.is_none()
            && self.content_type.is_none()
            && !self.failed
    }

    pub fn matches(&self, line: &Line<'_>) -> bool {
        if let Some(want) = &self.host {
            let host = host_of(&line.url);
            let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
            if !host.eq_ignore_ascii_case(want) && !bare.eq_ignore_ascii_case(want) {
                return false;
            }
        }
        match (self.status, line.status) {
            (None, _) => {}
            (Some(_), None) => return false,
            (Some(StatusFilter::Code(c)), Some(s)) if c != s => return false,
            (Some(StatusFilter::Class(c)), Some(s)) if s / 100 != c => return false,
            _ => {}
        }
        if self.depth.is_some_and(|d| d != line.depth) {
            return false;
        }
        if let Some(want) = &self.content_type {
            let mime = mime_of(line.content_type.as_deref());
            let hit = if want.ends_with('/') {
                mime.to_ascii_lowercase().starts_with(&want.to_ascii_lowercase())
            } else {
                mime.eq_ignore_ascii_case(want)
            };
            if !hit {
                return false;
            }
        }
        !self.failed || is_failed(line)
    }

    /// The filter as the command line would give it, for the report's header.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(h) = &self.host {
            parts.push(format!("--host {h}"));
        }
        match self.status {
            Some(StatusFilter::Class(c)) => parts.push(format!("--status {c}xx")),
            Some(StatusFilter::Code(c)) => parts.push(format!("--status {c}")),
            None => {}
        }
        if let Some(d) = self.depth {
            parts.push(format!("--depth {d}"));
        }
        if let Some(t) = &self.content_type {
            parts.push(format!("--type {t}"));
        }
        if self.failed {
            parts.push("--error".into());
        }
        parts.join(" ")
    }
}

/// A page that did not get a usable answer: an error, no response, or a status of 400 or more.
pub fn is_failed(line: &Line<'_>) -> bool {
    line.error.is_some() || line.status.is_none_or(|s| s >= 400)
}

/// `host[:port]` of a URL, as written in it.
pub fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// The media type without parameters, lowercased; `(none)` when there is no Content-Type.
pub fn mime_of(content_type: Option<&str>) -> String {
    match content_type {
        Some(ct) => ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase(),
        None => "(none)".to_owned(),
    }
}

/// The outcome classes of README's Counters: every page is in exactly one.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcomes {
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub status_other: u64,
    pub no_response: u64,
    pub refused_private: u64,
    pub robots_blocked: u64,
    pub robots_unavailable: u64,
    pub host_down_skipped: u64,
    pub internal_errors: u64,
}

impl Outcomes {
    fn count(&mut self, line: &Line<'_>) {
        // The crawl's own classification (stats.json counts the same way).
        let slot = match LineClass::of(line.status, line.error.as_deref()) {
            LineClass::Status(200..=299) => &mut self.status_2xx,
            LineClass::Status(300..=399) => &mut self.status_3xx,
            LineClass::Status(400..=499) => &mut self.status_4xx,
            LineClass::Status(500..=599) => &mut self.status_5xx,
            LineClass::Status(_) => &mut self.status_other,
            LineClass::NoResponse => &mut self.no_response,
            LineClass::RefusedPrivate => &mut self.refused_private,
            LineClass::RobotsBlocked => &mut self.robots_blocked,
            LineClass::RobotsUnavailable => &mut self.robots_unavailable,
            LineClass::HostDownSkipped => &mut self.host_down_skipped,
            LineClass::InternalError => &mut self.internal_errors,
        };
        *slot += 1;
    }

    /// Name and count of each class, in README's order.
    pub fn named(&self) -> [(&'static str, u64); 11] {
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
}

/// One output directory: how its crawl stands, from crawl.json and stats.json.
#[derive(Debug, Clone, Serialize)]
pub struct CrawlInfo {
    pub dir: PathBuf,
    /// stats.json's state (`complete`, `limit`, `stopped`, `failed`, `running`), or `interrupted`: it
    /// says `running` but has not been rewritten for much longer than the progress interval, so the
    /// process is gone.
    pub state: String,
    pub seeds: Vec<String>,
    pub started_at: Option<String>,
    pub elapsed_secs: Option<f64>,
    pub crawld_version: Option<String>,
    /// URLs left in the frontier, per stats.json.
    pub queued: Option<u64>,
    /// pages.jsonl ended in half a line (being written); it was skipped.
    pub partial_last_line: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Count<K> {
    pub key: K,
    pub pages: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeRow {
    pub content_type: String,
    pub pages: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostRow {
    pub host: String,
    pub pages: u64,
    /// Failed pages (see [`is_failed`]).
    pub errors: u64,
    pub bytes: u64,
    pub mean_latency_ms: f64,
}

/// A page in a top-N list.
#[derive(Debug, Clone, Serialize, PartialEq, PartialOrd)]
pub struct PageRow {
    pub url: String,
    pub status: Option<u16>,
    pub bytes: u64,
    pub elapsed_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailedRow {
    pub url: String,
    pub status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub mean_ms: f64,
    pub max_ms: f64,
    /// Pages per bucket: `le_ms` is the bucket's upper bound, null for the last (everything slower).
    pub histogram: Vec<LatencyBucket>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyBucket {
    pub le_ms: Option<f64>,
    pub pages: u64,
}

/// Pages per time bucket from the first `fetched_at`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Throughput {
    /// `fetched_at` of the earliest page.
    pub start: Option<String>,
    pub bucket_secs: f64,
    /// Pages started in each bucket; pages/s is `pages[i] / bucket_secs`.
    pub pages: Vec<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Duplicates {
    /// Lines skipped because their URL was already read from an earlier directory.
    pub count: u64,
    pub sample: Vec<String>,
}

/// The whole report; also the `--json` document.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub crawls: Vec<CrawlInfo>,
    /// The filter as given on the command line; empty for the whole crawl.
    pub filter: String,
    /// Pages counted (after the filter, each URL once).
    pub pages: u64,
    pub bytes: u64,
    pub stored_bytes: u64,
    pub outcomes: Outcomes,
    /// Every status code met, most frequent first.
    pub status_codes: Vec<Count<u16>>,
    pub depths: Vec<Count<u32>>,
    pub content_types: Vec<TypeRow>,
    pub hosts_total: u64,
    /// The hosts with most pages.
    pub hosts: Vec<HostRow>,
    /// Error kinds (an error's text up to its first `:` or `(`), most frequent first.
    pub errors: Vec<Count<String>>,
    /// Attempts after the first, and the pages that needed any.
    pub retries: u64,
    pub pages_retried: u64,
    pub redirects: u64,
    pub truncated: u64,
    pub latency: Latency,
    pub throughput: Throughput,
    pub largest: Vec<PageRow>,
    pub slowest: Vec<PageRow>,
    pub failed_total: u64,
    /// The first failed pages met.
    pub failed: Vec<FailedRow>,
    pub duplicates: Duplicates,
}

#[derive(Debug, Default)]
struct HostAgg {
    pages: u64,
    errors: u64,
    bytes: u64,
    elapsed_ms: f64,
}

/// Keeps the N greatest by key; ties keep the first met.
#[derive(Debug)]
struct TopN {
    heap: BinaryHeap<Reverse<(u64, Reverse<u64>, usize)>>,
    rows: Vec<Option<PageRow>>,
    seq: u64,
}

impl TopN {
    fn new() -> Self {
        TopN { heap: BinaryHeap::new(), rows: Vec::new(), seq: 0 }
    }

    fn offer(&mut self, key: u64, line: &Line<'_>) {
        self.seq += 1;
        if self.heap.len() == TOP {
            let Some(Reverse((min, _, _))) = self.heap.peek() else { return };
            if key <= *min {
                return;
            }
        }
        let row =
            PageRow { url: line.url.to_string(), status: line.status, bytes: line.bytes, elapsed_ms: line.elapsed_ms };
        let slot = if self.heap.len() == TOP {
            match self.heap.pop() {
                Some(Reverse((_, _, slot))) => slot,
                None => return,
            }
        } else {
            self.rows.push(None);
            self.rows.len() - 1
        };
        self.rows[slot] = Some(row);
        self.heap.push(Reverse((key, Reverse(self.seq), slot)));
    }

    fn into_rows(self) -> Vec<PageRow> {
        let mut order: Vec<_> = self.heap.into_iter().map(|Reverse(x)| x).collect();
        order.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let mut rows = self.rows;
        order.into_iter().filter_map(|(_, _, slot)| rows[slot].take()).collect()
    }
}

/// Counts by a string key, at most MAX_KINDS of them by name.
fn bump(map: &mut HashMap<String, (u64, u64)>, key: &str, bytes: u64) {
    if let Some(v) = map.get_mut(key) {
        v.0 += 1;
        v.1 += bytes;
        return;
    }
    let key = if map.len() < MAX_KINDS { key } else { "(other)" };
    let v = map.entry(key.to_owned()).or_default();
    v.0 += 1;
    v.1 += bytes;
}

/// An error's kind: its text up to the first `:` or `(`, so that URLs and numbers do not split it.
pub fn error_kind(error: &str) -> &str {
    let end = error.find([':', '(']).unwrap_or(error.len());
    error[..end].trim()
}

#[derive(Debug, Default)]
struct Buckets {
    origin: Option<i64>,
    width_ms: i64,
    pages: Vec<u64>,
}

impl Buckets {
    fn add(&mut self, at: i64) {
        let origin = *self.origin.get_or_insert(at);
        if self.width_ms == 0 {
            // Powers of two from 1/8 s, so a short crawl gets a curve too and widths stay round.
            self.width_ms = 125;
        }
        // Lines come in finishing order, so a page can start a little before the first one read.
        let mut i = ((at - origin).max(0) / self.width_ms) as usize;
        while i >= BUCKETS {
            self.pages = self.pages.chunks(2).map(|c| c.iter().sum()).collect();
            self.width_ms *= 2;
            i = ((at - origin).max(0) / self.width_ms) as usize;
        }
        if self.pages.len() <= i {
            self.pages.resize(i + 1, 0);
        }
        self.pages[i] += 1;
    }
}

impl Report {
    /// Read every line of `lines` once and build the report of the pages `filter` lets through.
    pub fn build(lines: &Lines, filter: &Filter) -> Result<Report, Error> {
        let mut r = Report {
            crawls: Vec::new(),
            filter: filter.describe(),
            pages: 0,
            bytes: 0,
            stored_bytes: 0,
            outcomes: Outcomes::default(),
            status_codes: Vec::new(),
            depths: Vec::new(),
            content_types: Vec::new(),
            hosts_total: 0,
            hosts: Vec::new(),
            errors: Vec::new(),
            retries: 0,
            pages_retried: 0,
            redirects: 0,
            truncated: 0,
            latency: Latency::default(),
            throughput: Throughput::default(),
            largest: Vec::new(),
            slowest: Vec::new(),
            failed_total: 0,
            failed: Vec::new(),
            duplicates: Duplicates::default(),
        };
        let mut codes: BTreeMap<u16, u64> = BTreeMap::new();
        let mut depths: BTreeMap<u32, u64> = BTreeMap::new();
        let mut types: HashMap<String, (u64, u64)> = HashMap::new();
        let mut errors: HashMap<String, (u64, u64)> = HashMap::new();
        let mut hosts: HashMap<String, HostAgg> = HashMap::new();
        let mut latency = [0u64; LATENCY_BOUNDS_MS.len() + 1];
        let (mut elapsed_sum, mut elapsed_max) = (0.0f64, 0.0f64);
        let mut first: Option<(i64, String)> = None;
        let mut buckets = Buckets::default();
        let (mut largest, mut slowest) = (TopN::new(), TopN::new());

        let summary = lines.for_each(|line, _| {
            if !filter.matches(line) {
                return Flow::Continue;
            }
            r.pages += 1;
            r.bytes += line.bytes;
            r.stored_bytes += line.stored_bytes;
            r.outcomes.count(line);
            if let Some(s) = line.status {
                *codes.entry(s).or_default() += 1;
            }
            *depths.entry(line.depth).or_default() += 1;
            bump(&mut types, &mime_of(line.content_type.as_deref()), line.bytes);
            let failed = is_failed(line);
            if let Some(e) = &line.error {
                bump(&mut errors, error_kind(e), 0);
            }
            let host = host_of(&line.url);
            let agg = match hosts.get_mut(host) {
                Some(agg) => agg,
                None => hosts.entry(host.to_owned()).or_default(),
            };
            agg.pages += 1;
            agg.errors += u64::from(failed);
            agg.bytes += line.bytes;
            agg.elapsed_ms += line.elapsed_ms;
            let retries = u64::from(line.attempts.saturating_sub(1));
            r.retries += retries;
            r.pages_retried += u64::from(retries > 0);
            r.redirects += u64::from(line.redirect.is_some());
            r.truncated += u64::from(line.truncated.is_some());
            let slot = LATENCY_BOUNDS_MS.iter().position(|&b| line.elapsed_ms <= b).unwrap_or(LATENCY_BOUNDS_MS.len());
            latency[slot] += 1;
            elapsed_sum += line.elapsed_ms;
            elapsed_max = elapsed_max.max(line.elapsed_ms);
            if let Some(at) = epoch_millis(&line.fetched_at) {
                if first.as_ref().is_none_or(|(t, _)| at < *t) {
                    first = Some((at, line.fetched_at.to_string()));
                }
                buckets.add(at);
            }
            largest.offer(line.bytes, line);
            slowest.offer((line.elapsed_ms * 1000.0) as u64, line);
            if failed {
                r.failed_total += 1;
                if r.failed.len() < TOP {
                    r.failed.push(FailedRow {
                        url: line.url.to_string(),
                        status: line.status,
                        error: line.error.as_ref().map(|e| e.to_string()),
                    });
                }
            }
            Flow::Continue
        })?;

        r.duplicates = Duplicates { count: summary.duplicates, sample: summary.duplicate_sample };
        r.crawls =
            lines.dirs().iter().map(|d| crawl_info(d, summary.torn.contains(&d.join(crate::PAGES_FILE)))).collect();
        let mut codes: Vec<_> = codes.into_iter().map(|(key, pages)| Count { key, pages }).collect();
        codes.sort_by(|a, b| b.pages.cmp(&a.pages).then(a.key.cmp(&b.key)));
        r.status_codes = codes;
        r.depths = depths.into_iter().map(|(key, pages)| Count { key, pages }).collect();
        let mut types: Vec<_> =
            types.into_iter().map(|(content_type, (pages, bytes))| TypeRow { content_type, pages, bytes }).collect();
        types.sort_by(|a, b| b.pages.cmp(&a.pages).then_with(|| a.content_type.cmp(&b.content_type)));
        r.content_types = types;
        let mut errors: Vec<_> = errors.into_iter().map(|(key, (pages, _))| Count { key, pages }).collect();
        errors.sort_by(|a, b| b.pages.cmp(&a.pages).then_with(|| a.key.cmp(&b.key)));
        r.errors = errors;
        r.hosts_total = hosts.len() as u64;
        let mut hosts: Vec<_> = hosts
            .into_iter()
            .map(|(host, a)| HostRow {
                host,
                pages: a.pages,
                errors: a.errors,
                bytes: a.bytes,
                mean_latency_ms: round3(a.elapsed_ms / a.pages.max(1) as f64),
            })
            .collect();
        hosts.sort_by(|a, b| b.pages.cmp(&a.pages).then_with(|| a.host.cmp(&b.host)));
        hosts.truncate(TOP_HOSTS);
        r.hosts = hosts;
        r.latency = Latency {
            mean_ms: round3(elapsed_sum / r.pages.max(1) as f64),
            max_ms: elapsed_max,
            histogram: latency
                .iter()
                .enumerate()
                .map(|(i, &pages)| LatencyBucket { le_ms: LATENCY_BOUNDS_MS.get(i).copied(), pages })
                .collect(),
        };
        r.throughput = Throughput {
            start: first.map(|(_, s)| s),
            bucket_secs: buckets.width_ms.max(125) as f64 / 1000.0,
            pages: buckets.pages,
        };
        r.largest = largest.into_rows();
        r.slowest = slowest.into_rows();
        Ok(r)
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// How the crawl in `dir` stands, from its crawl.json and stats.json (each may be missing or half
/// written: the report then says less, it does not fail).
fn crawl_info(dir: &Path, partial_last_line: bool) -> CrawlInfo {
    let manifest = read_json(&dir.join("crawl.json")).unwrap_or_default();
    let stats = read_json(&dir.join("stats.json")).unwrap_or_default();
    let progress = manifest["config"]["output"]["progress_interval"]
        .as_str()
        .and_then(|s| humantime::parse_duration(s).ok())
        .unwrap_or(Duration::from_secs(5));
    let state = match stats["state"].as_str() {
        Some("running") | None => {
            let touched = ["stats.json", "pages.jsonl"]
                .iter()
                .filter_map(|f| std::fs::metadata(dir.join(f)).and_then(|m| m.modified()).ok())
                .max();
            let age = touched.and_then(|t| SystemTime::now().duration_since(t).ok()).unwrap_or_default();
            if age > progress * 3 + Duration::from_secs(60) { "interrupted" } else { "running" }
        }
        Some(state) => state,
    };
    CrawlInfo {
        dir: dir.to_owned(),
        state: state.to_owned(),
        seeds: manifest["seeds"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        started_at: manifest["started_at"].as_str().map(str::to_owned),
        elapsed_secs: stats["elapsed_secs"].as_f64(),
        crawld_version: manifest["crawld_version"].as_str().map(str::to_owned),
        queued: stats["queued"].as_u64(),
        partial_last_line,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn status_filters_parse() {
        assert_eq!("4xx".parse::<StatusFilter>().unwrap(), StatusFilter::Class(4));
        assert_eq!("404".parse::<StatusFilter>().unwrap(), StatusFilter::Code(404));
        assert!("4x".parse::<StatusFilter>().is_err());
    }

    #[test]
    fn hosts_and_error_kinds() {
        assert_eq!(host_of("http://u@a.example:81/x?y"), "a.example:81");
        assert_eq!(host_of("https://b.example"), "b.example");
        assert_eq!(error_kind("robots.txt unavailable: 503"), "robots.txt unavailable");
        assert_eq!(error_kind("host unreachable, not requested (refused)"), "host unreachable, not requested");
    }

    #[test]
    fn a_running_crawl_that_stopped_writing_long_ago_is_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = r#"{"seeds":["http://a/"],"config":{"output":{"progress_interval":"5s"}}}"#;
        std::fs::write(dir.path().join("crawl.json"), manifest).unwrap();
        std::fs::write(dir.path().join("pages.jsonl"), "").unwrap();
        std::fs::write(dir.path().join("stats.json"), r#"{"state":"running","queued":7}"#).unwrap();
        let info = crawl_info(dir.path(), false);
        assert_eq!(
            (info.state.as_str(), info.queued, info.seeds.as_slice()),
            ("running", Some(7), &["http://a/".to_owned()][..])
        );

        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for file in ["stats.json", "pages.jsonl"] {
            let f = std::fs::File::options().write(true).open(dir.path().join(file)).unwrap();
            f.set_modified(hour_ago).unwrap();
        }
        assert_eq!(crawl_info(dir.path(), false).state, "interrupted");
        std::fs::write(dir.path().join("stats.json"), r#"{"state":"stopped"}"#).unwrap();
        assert_eq!(crawl_info(dir.path(), false).state, "stopped");
    }

    /// Regression: inspect classified lines by its own copy of the crawl's rules, which had no
    /// `refused_private` (such lines were counted as `no_response`, unlike stats.json).
    #[test]
    fn lines_are_classed_as_the_crawl_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let line = |n: u32, status: &str, error: &str| {
            format!(
                r#"{{"url":"http://a/{n}","depth":1,"parent":null,"status":{status},"content_type":null,"bytes":0,"fetched_at":"2026-11-22T10:00:00.000Z","elapsed_ms":1.0{error}}}"#
            )
        };
        let refused = r#","error":"refused: 10.0.0.1 is a private address; non-public addresses are fetched only with fetch.allow_private_networks = true""#;
        let lines = [
            line(1, "200", ""),
            line(2, "null", refused),
            line(3, "null", r#","error":"disallowed by robots.txt""#),
            line(4, "null", r#","error":"connection refused""#),
        ];
        std::fs::write(dir.path().join("pages.jsonl"), lines.join("\n") + "\n").unwrap();
        let report = Report::build(&Lines::new(&[dir.path().to_path_buf()]).unwrap(), &Filter::default()).unwrap();
        let o = &report.outcomes;
        assert_eq!((o.status_2xx, o.refused_private, o.robots_blocked, o.no_response), (1, 1, 1, 1));
    }

    #[test]
    fn buckets_double_and_keep_every_page() {
        let mut b = Buckets::default();
        for s in 0..1000i64 {
            b.add(s * 1000);
        }
        assert!(b.pages.len() <= BUCKETS);
        assert_eq!(b.pages.iter().sum::<u64>(), 1000);
        assert_eq!(b.width_ms, 16_000);
        assert_eq!(b.pages.len(), 63);
    }
}
