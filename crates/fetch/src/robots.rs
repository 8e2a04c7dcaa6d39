//! The per-origin robots.txt cache (RFC 9309): one fetch per origin, shared by every caller.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use texting_robots::Robot;
use tokio::sync::OnceCell;
use tracing::debug;
use url::{Position, Url};

use crate::Response;
use crate::client::Fetcher;

/// RFC 9309 §2.5: parse at least 500 KiB; anything past this is ignored.
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;
/// RFC 9309 §2.3.1.2: follow at least five consecutive redirects.
const MAX_REDIRECTS: usize = 5;
/// `Sitemap:` lines kept of one robots.txt at most.
const MAX_SITEMAPS: usize = 50;
/// RFC 9309 §2.4: do not use a cached robots.txt for more than 24 hours.
const RULES_TTL: Duration = Duration::from_secs(24 * 3600);

/// What robots.txt says about one URL.
#[derive(Debug, Clone, PartialEq)]
pub enum RobotsVerdict {
    /// `crawl_delay` is already capped at `max_crawl_delay`.
    Allowed { crawl_delay: Option<Duration> },
    /// The host's Crawl-delay still applies to its other URLs.
    Disallowed { crawl_delay: Option<Duration> },
    /// robots.txt could not be had (unreachable, timed out, 5xx, 429, cut off). RFC 9309 §2.3.1.4: crawl
    /// nothing of the origin meanwhile. Not cached: the next call asks the server again, so a caller can
    /// retry the URL later instead of losing the whole origin to one bad moment.
    Unavailable { reason: String },
}

impl RobotsVerdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, RobotsVerdict::Allowed { .. })
    }
}

#[derive(Debug)]
enum Rules {
    AllowAll,
    /// Why robots.txt could not be had.
    Unavailable(String),
    Parsed(Box<Robot>),
    /// The request was refused before it was made (a non-public address): nothing is known, and the
    /// page fetches, refused in the same way, carry the refusal. Not kept, so that a host whose
    /// address changes is asked again.
    Refused,
}

#[derive(Debug)]
struct Entry {
    rules: Rules,
    crawl_delay: Option<Duration>,
    loaded: Instant,
    expires: Instant,
    /// Its `Sitemap:` lines, as absolute http(s) URLs (at most [`MAX_SITEMAPS`]).
    sitemaps: Vec<Url>,
    /// The responses of the load, until one caller takes them for the archive.
    responses: Mutex<Vec<Response>>,
}

impl Entry {
    fn new(rules: Rules, crawl_delay: Option<Duration>, ttl: Duration, responses: Vec<Response>) -> Entry {
        let loaded = Instant::now();
        Entry {
            rules,
            crawl_delay,
            loaded,
            expires: loaded + ttl,
            sitemaps: Vec::new(),
            responses: Mutex::new(responses),
        }
    }

    fn verdict(&self, url: &Url) -> RobotsVerdict {
        let allowed = match &self.rules {
            Rules::AllowAll | Rules::Refused => true,
            // The robots.txt URL itself stays fetchable even when the origin is closed.
            Rules::Unavailable(_) if url.path() == "/robots.txt" => true,
            Rules::Unavailable(reason) => return RobotsVerdict::Unavailable { reason: reason.clone() },
            Rules::Parsed(robot) => {
                // The fragment never reaches the server, so it must not take part in `$` matches.
                let target = &url[..Position::AfterQuery];
                // The matcher runs on attacker-supplied patterns; a bug there must not take the crawler
                // down. When it trips, stay off the URL.
                std::panic::catch_unwind(AssertUnwindSafe(|| robot.allowed(target))).unwrap_or(false)
            }
        };
        let crawl_delay = self.crawl_delay;
        if allowed { RobotsVerdict::Allowed { crawl_delay } } else { RobotsVerdict::Disallowed { crawl_delay } }
    }
}

/// One origin's place in the cache.
#[derive(Debug, Default)]
struct Slot {
    cell: OnceCell<Arc<Entry>>,
    /// Asked for since eviction last looked at it: it gets a second chance.
    used: AtomicBool,
}

/// One lazily-filled cell per origin: the DashMap shard lock is held only to find or insert the cell,
/// never across the fetch, and the OnceCell makes concurrent first callers share one fetch.
///
/// At most `capacity` origins are kept (a crawl of millions of hosts would otherwise hold every
/// robots.txt it read). Eviction is second-chance over insertion order, an approximation of least
/// recently used that costs a flag store per lookup instead of a lock.
pub(crate) struct RobotsCache {
    entries: DashMap<String, Arc<Slot>>,
    /// Origins in the order their slots were inserted; entries whose slot has gone are skipped.
    order: Mutex<VecDeque<(String, Weak<Slot>)>>,
    capacity: usize,
    requests: AtomicU64,
}

impl std::fmt::Debug for RobotsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotsCache")
            .field("origins", &self.entries.len())
            .field("requests", &self.requests.load(Ordering::Relaxed))
            .finish()
    }
}

impl RobotsCache {
    /// A cache of at most `capacity` origins (at least one).
    pub(crate) fn new(capacity: usize) -> RobotsCache {
        RobotsCache {
            entries: DashMap::new(),
            order: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            requests: AtomicU64::new(0),
        }
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) async fn verdict(&self, fetcher: &Fetcher, url: &Url) -> RobotsVerdict {
        // robots.txt governs http(s) only; anything else is refused at fetch time anyway.
        let Some(origin) = origin_of(url) else {
            return RobotsVerdict::Allowed { crawl_delay: None };
        };
        self.entry(fetcher, &origin).await.verdict(url)
    }

    /// The `Sitemap:` lines of the robots.txt of `url`'s origin (loading it if need be).
    pub(crate) async fn sitemaps(&self, fetcher: &Fetcher, url: &Url) -> Vec<Url> {
        let Some(origin) = origin_of(url) else { return Vec::new() };
        self.entry(fetcher, &origin).await.sitemaps.clone()
    }

    pub(crate) async fn verdict_and_responses(&self, fetcher: &Fetcher, url: &Url) -> (RobotsVerdict, Vec<Response>) {
        let Some(origin) = origin_of(url) else {
            return (RobotsVerdict::Allowed { crawl_delay: None }, Vec::new());
        };
        let entry = self.entry(fetcher, &origin).await;
        // Poisoning cannot leave a Vec half-taken, so the inner value is safe to use.
        let responses = std::mem::take(&mut *entry.responses.lock().unwrap_or_else(PoisonError::into_inner));
        (entry.verdict(url), responses)
    }

    async fn entry(&self, fetcher: &Fetcher, origin: &str) -> Arc<Entry> {
        let asked = Instant::now();
        let slot = self.slot(origin);
        let entry = Arc::clone(slot.cell.get_or_init(|| self.load(fetcher, origin)).await);
        // Fresh, or loaded for this very call: an unavailable robots.txt expires at once but still
        // answers the callers that waited for its load.
        if entry.expires > Instant::now() || entry.loaded >= asked {
            return entry;
        }
        // Stale: retire this slot unless a concurrent caller already did, then share the next load.
        self.entries.remove_if(origin, |_, current| Arc::ptr_eq(current, &slot));
        let slot = self.slot(origin);
        Arc::clone(slot.cell.get_or_init(|| self.load(fetcher, origin)).await)
    }

    fn slot(&self, origin: &str) -> Arc<Slot> {
        if let Some(slot) = self.entries.get(origin) {
            slot.used.store(true, Ordering::Relaxed);
            return Arc::clone(slot.value());
        }
        let (slot, inserted) = match self.entries.entry(origin.to_owned()) {
            dashmap::Entry::Occupied(found) => (Arc::clone(found.get()), false),
            dashmap::Entry::Vacant(vacant) => (Arc::clone(vacant.insert(Arc::default()).value()), true),
        };
        // The map's guard is gone here: the order lock is never taken while holding it.
        if inserted {
            self.make_room(origin, &slot);
        }
        slot
    }

    /// Note a new slot, and evict until the cache holds at most `capacity` origins. A slot used since
    /// it was last looked at goes to the back of the line instead; one still loading is kept (its
    /// callers are waiting on it), so the cache may run over while more than `capacity` load at once.
    fn make_room(&self, origin: &str, slot: &Arc<Slot>) {
        // Poisoning cannot leave the queue half-changed: every change is one push or pop.
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        order.push_back((origin.to_owned(), Arc::downgrade(slot)));
        // Two rounds: enough for every used slot to lose its second chance.
        let mut budget = 2 * order.len();
        while self.entries.len() > self.capacity && budget > 0 {
            budget -= 1;
            let Some((name, weak)) = order.pop_front() else { break };
            let Some(candidate) = weak.upgrade() else { continue };
            let current = self.entries.get(&name).is_some_and(|s| Arc::ptr_eq(s.value(), &candidate));
            if !current {
                continue;
            }
            if candidate.used.swap(false, Ordering::Relaxed) || !candidate.cell.initialized() {
                order.push_back((name, weak));
                continue;
            }
            self.entries.remove_if(&name, |_, s| Arc::ptr_eq(s, &candidate));
            debug!(origin = name, "robots.txt evicted from the cache");
        }
        // Slots retired as stale leave their names behind; drop them before they pile up.
        if order.len() > 2 * self.capacity + 64 {
            order.retain(|(_, weak)| weak.strong_count() > 0);
        }
    }

    async fn load(&self, fetcher: &Fetcher, origin: &str) -> Arc<Entry> {
        let mut responses = Vec::new();
        let (rules, how) = self.fetch_rules(fetcher, origin, &mut responses).await;
        let max_delay = fetcher.max_crawl_delay();
        let crawl_delay = match &rules {
            Rules::Parsed(robot) => robot.delay.and_then(|secs| crawl_delay(secs, max_delay)),
            _ => None,
        };
        let ttl = if matches!(rules, Rules::Unavailable(_) | Rules::Refused) { Duration::ZERO } else { RULES_TTL };
        let verdict = match &rules {
            Rules::AllowAll => "allow all",
            Rules::Refused => "refused",
            Rules::Unavailable(_) => "unavailable",
            Rules::Parsed(_) => "rules",
        };
        debug!(origin, verdict, how = %how, crawl_delay_ms = crawl_delay.map(|d| d.as_millis() as u64), "robots.txt");
        let mut rules = rules;
        let sitemaps = match (&mut rules, responses.last()) {
            (Rules::Parsed(robot), Some(last)) => {
                // The lines themselves are not kept: a robots.txt of nothing but Sitemap lines would
                // otherwise sit in the cache at full size.
                let lines = std::mem::take(&mut robot.sitemaps);
                sitemap_urls(&last.url, &lines)
            }
            _ => Vec::new(),
        };
        Arc::new(Entry { sitemaps, ..Entry::new(rules, crawl_delay, ttl, responses) })
    }

    /// Fetches and interprets the origin's robots.txt; the text says what decided it, for the log.
    async fn fetch_rules(&self, fetcher: &Fetcher, origin: &str, responses: &mut Vec<Response>) -> (Rules, String) {
        let mut target = match Url::parse(&format!("{origin}/robots.txt")) {
            Ok(url) => url,
            Err(e) => return (Rules::AllowAll, format!("no robots.txt URL: {e}")),
        };
        let mut hops = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let resp = fetcher.get(&target, MAX_ROBOTS_BYTES).await;
            // Bytes inside: a cheap clone, kept for the archive.
            responses.push(resp.clone());
            let status = match (resp.status, &resp.failure) {
                (None, Some(failure @ crate::FetchFailure::Refused(_))) => {
                    return (Rules::Refused, failure.to_string());
                }
                // RFC 9309 §2.3.1.4: unreachable means assume complete disallow.
                (None, Some(failure)) => return unavailable(failure.to_string()),
                (None, None) => return unavailable("no response".to_owned()),
                (Some(status), _) => status,
            };
            match status {
                200..=299 => {
                    if let Some(failure) = &resp.failure {
                        match failure {
                            crate::FetchFailure::Decode(_) => {
                                return (Rules::AllowAll, format!("{status}, undecodable body: allow all"));
                            }
                            // A robots.txt cut off mid-way may be missing the very rule that matters.
                            _ => return unavailable(format!("{status}, then {failure}")),
                        }
                    }
                    return (parse(fetcher.agent_token(), resp.body).await, format!("{status}"));
                }
                300..=399 => match resp.location {
                    // Only within the site, as a crawl's scope is: a robots.txt must not send the
                    // crawler to another server, whose politeness this one does not govern.
                    Some(next) if !same_site(&target, &next) => {
                        return (Rules::AllowAll, format!("{status} redirect to another site not followed: {next}"));
                    }
                    Some(next) if hops < MAX_REDIRECTS => {
                        hops += 1;
                        target = next;
                        // Paced like any two requests to the host.
                        tokio::time::sleep(fetcher.config().robots_redirect_delay).await;
                    }
                    // §2.3.1.2: past the redirect limit robots.txt counts as unavailable.
                    _ => return (Rules::AllowAll, format!("{status} redirect unusable after {hops} hops")),
                },
                // Overload is a server problem in all but number: stay away as for 5xx.
                429 => return unavailable(format!("{status}")),
                // §2.3.1.3: unavailable, crawl as if there were no robots.txt.
                400..=499 => return (Rules::AllowAll, format!("{status}")),
                _ => return unavailable(format!("{status}")),
            }
        }
    }
}

fn unavailable(reason: String) -> (Rules, String) {
    (Rules::Unavailable(reason.clone()), reason)
}

/// Parses off the async threads: a 512 KiB file of wildcards is real work.
async fn parse(agent: &str, body: bytes::Bytes) -> Rules {
    let agent = agent.to_owned();
    match tokio::task::spawn_blocking(move || parse_rules(&agent, &body)).await {
        Ok(rules) => rules,
        Err(e) => {
            debug!(error = %e, "robots.txt parser crashed, allowing all");
            Rules::AllowAll
        }
    }
}

/// RFC 9309 §2.2: lines that do not parse are ignored, and only they. The parser rejects a whole file
/// for one rule it cannot compile, so such lines are taken out first; a file it still rejects has no
/// rules it can use, and allows everything.
fn parse_rules(agent: &str, body: &[u8]) -> Rules {
    let (body, dropped) = without_rejected_lines(agent, body);
    if dropped > 0 {
        debug!(dropped, "robots.txt lines the parser rejects are ignored");
    }
    match Robot::new(agent, &body) {
        Ok(robot) => Rules::Parsed(Box::new(robot)),
        Err(e) => {
            debug!(error = %e, "robots.txt unparseable, allowing all");
            Rules::AllowAll
        }
    }
}

/// The body with each line the parser would reject on its own turned into a comment, and how many.
/// Only a rule with `$` is compiled into a regex, the one step that can fail, so only such lines are
/// tried, each alone in a group that applies to us.
fn without_rejected_lines(agent: &str, body: &[u8]) -> (Vec<u8>, usize) {
    let mut body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body).to_vec();
    let mut dropped = 0;
    let mut start = 0;
    while start < body.len() {
        // The parser ends lines at CR or LF, and reads NUL as LF.
        let end = body[start..].iter().position(|b| matches!(b, b'\n' | b'\r' | 0)).map_or(body.len(), |i| start + i);
        let line = &body[start..end];
        if line.contains(&b'$') {
            let mut alone = b"User-agent: *\n".to_vec();
            alone.extend_from_slice(line);
            if Robot::new(agent, &alone).is_err() {
                body[start] = b'#';
                dropped += 1;
            }
        }
        start = end + 1;
    }
    (body, dropped)
}

/// The `Sitemap:` values that are http(s) URLs (relative ones resolved against robots.txt's URL), each
/// once, at most [`MAX_SITEMAPS`].
fn sitemap_urls(robots_url: &Url, lines: &[String]) -> Vec<Url> {
    let mut urls: Vec<Url> = Vec::new();
    for line in lines {
        let Ok(mut url) = robots_url.join(line.trim()) else { continue };
        url.set_fragment(None);
        if matches!(url.scheme(), "http" | "https") && !urls.contains(&url) {
            urls.push(url);
            if urls.len() == MAX_SITEMAPS {
                break;
            }
        }
    }
    urls
}

/// robots.txt as crawld reads it, without the network: the verdict for `url`, the Crawl-delay, and the
/// Sitemap URLs. For the fuzz target (`fuzz/`) and tests.
pub(crate) fn read_offline(agent: &str, body: &[u8], url: &Url) -> (RobotsVerdict, Vec<Url>) {
    let rules = parse_rules(agent, body);
    let (crawl_delay, sitemaps) = match &rules {
        Rules::Parsed(robot) => (
            robot.delay.and_then(|secs| crawl_delay(secs, Duration::from_secs(30))),
            Url::parse("http://robots.invalid/robots.txt")
                .map(|base| sitemap_urls(&base, &robot.sitemaps))
                .unwrap_or_default(),
        ),
        _ => (None, Vec::new()),
    };
    (Entry::new(rules, crawl_delay, Duration::ZERO, Vec::new()).verdict(url), sitemaps)
}

/// Crawl-delay seconds as a Duration, capped; nonsense (negative, NaN, infinite, zero) gives none.
fn crawl_delay(secs: f32, max: Duration) -> Option<Duration> {
    if secs.is_nan() || secs <= 0.0 {
        return None;
    }
    // Too large for a Duration still means "as long as you allow".
    Some(Duration::try_from_secs_f32(secs).unwrap_or(max).min(max))
}

/// Whether a redirect from `from` stays on its site: http or https, the same host, and the same port
/// or a default one (80, 443), as crawld's scope counts a site.
fn same_site(from: &Url, to: &Url) -> bool {
    let port = to.port_or_known_default();
    matches!(to.scheme(), "http" | "https")
        && to.host_str().is_some_and(|h| Some(h) == from.host_str())
        && (port == from.port_or_known_default() || matches!(port, Some(80 | 443)))
}

/// `scheme://host:port`, the unit robots.txt applies to.
fn origin_of(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    Some(format!("{}://{host}:{port}", url.scheme()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn origins() {
        let o = |s: &str| origin_of(&Url::parse(s).unwrap());
        assert_eq!(o("http://Example.COM/a?b").as_deref(), Some("http://example.com:80"));
        assert_eq!(o("https://example.com:8443/").as_deref(), Some("https://example.com:8443"));
        assert_eq!(o("http://[::1]:9/").as_deref(), Some("http://[::1]:9"));
        assert_eq!(o("mailto:a@b.c"), None);
        assert_eq!(o("ftp://example.com/"), None);
    }

    #[test]
    fn robots_txt_redirects_stay_on_the_site() {
        let from = Url::parse("http://example.org/robots.txt").unwrap();
        let to = |s: &str| same_site(&from, &Url::parse(s).unwrap());
        assert!(to("https://example.org/robots.txt"));
        assert!(to("http://EXAMPLE.org:80/moved/robots.txt"));
        assert!(to("https://example.org:443/x"));
        assert!(!to("http://example.org:8080/robots.txt"), "another server");
        assert!(!to("http://www.example.org/robots.txt"));
        assert!(!to("http://169.254.169.254/latest/meta-data"));
        assert!(!to("ftp://example.org/robots.txt"));
        let from = Url::parse("http://127.0.0.1:8080/robots.txt").unwrap();
        assert!(same_site(&from, &Url::parse("http://127.0.0.1:8080/r").unwrap()));
        assert!(same_site(&from, &Url::parse("https://127.0.0.1/r").unwrap()));
        assert!(!same_site(&from, &Url::parse("http://127.0.0.1:9090/r").unwrap()));
    }

    #[test]
    fn crawl_delays() {
        let max = Duration::from_secs(10);
        assert_eq!(crawl_delay(2.5, max), Some(Duration::from_millis(2500)));
        assert_eq!(crawl_delay(100.0, max), Some(max));
        assert_eq!(crawl_delay(f32::INFINITY, max), Some(max));
        assert_eq!(crawl_delay(1e30, max), Some(max));
        assert_eq!(crawl_delay(0.0, max), None);
        assert_eq!(crawl_delay(-3.0, max), None);
        assert_eq!(crawl_delay(f32::NAN, max), None);
    }

    fn parsed(txt: &str) -> Entry {
        Entry::new(Rules::Parsed(Box::new(Robot::new("crawld", txt.as_bytes()).unwrap())), None, Duration::ZERO, vec![])
    }

    #[test]
    fn fragments_do_not_defeat_anchors() {
        let e = parsed("User-agent: *\nDisallow: /*.pdf$\n");
        assert_eq!(
            e.verdict(&Url::parse("http://h/x.pdf#page=2").unwrap()),
            RobotsVerdict::Disallowed { crawl_delay: None }
        );
        assert!(e.verdict(&Url::parse("http://h/x.pdf?dl=1").unwrap()).is_allowed());
    }

    #[test]
    fn unavailable_keeps_robots_txt_reachable() {
        let e = Entry::new(Rules::Unavailable("503".into()), None, Duration::ZERO, vec![]);
        assert_eq!(e.verdict(&Url::parse("http://h/").unwrap()), RobotsVerdict::Unavailable { reason: "503".into() });
        assert!(e.verdict(&Url::parse("http://h/robots.txt").unwrap()).is_allowed());
    }

    /// Regression: one rule too large to compile voided the whole file (allow all).
    #[test]
    fn a_rejected_rule_leaves_the_other_rules_in_force() {
        let huge = format!("/{}$", "ab".repeat(20_000));
        assert!(Robot::new("crawld", format!("User-agent: *\nDisallow: {huge}\n").as_bytes()).is_err());
        let txt = format!(
            "\u{FEFF}User-agent: *\r\nDisallow: {huge}\r\nDisallow: /private\rAllow: /*.html$\n\
             Disallow: /{huge}\0Disallow: /x$\nUser-agent: other\nDisallow: {huge}"
        );
        let (cleaned, dropped) = without_rejected_lines("crawld", txt.as_bytes());
        assert_eq!(dropped, 3);
        assert_eq!(cleaned.len(), txt.len() - 3, "only the BOM goes");
        let Rules::Parsed(robot) = parse_rules("crawld", txt.as_bytes()) else { panic!("rules expected") };
        let e = Entry::new(Rules::Parsed(robot), None, Duration::ZERO, vec![]);
        let verdict = |path: &str| e.verdict(&Url::parse(&format!("http://h{path}")).unwrap()).is_allowed();
        assert!(!verdict("/private/a"));
        assert!(verdict("/private/a.html"));
        assert!(!verdict("/x"));
        assert!(verdict("/xy"));
        assert!(verdict("/public"));
    }

    #[test]
    fn garbage_never_panics() {
        let inputs: Vec<Vec<u8>> = vec![
            b"\xff\xfe\x00\x00garbage\n\n\x00Disallow".to_vec(),
            b"User-agent: *\nDisallow: /**********$$$$[[[(((\n".to_vec(),
            b"Crawl-delay: -1e99\nUser-agent:\nAllow:\nDisallow: *\n".to_vec(),
            "User-agent: crawld\nDisallow: /\u{1F600}\u{0}\r\r\n".as_bytes().to_vec(),
            vec![b'*'; 100_000],
        ];
        for input in inputs {
            if let Ok(robot) = Robot::new("crawld", &input) {
                let e = Entry::new(Rules::Parsed(Box::new(robot)), None, Duration::ZERO, vec![]);
                let _ = e.verdict(&Url::parse("http://h/some/path?q=1").unwrap());
            }
        }
    }
}
