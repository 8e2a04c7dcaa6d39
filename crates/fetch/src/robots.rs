//! The per-origin robots.txt cache (RFC 9309): one fetch per origin, shared by every caller.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
pub const MAX_ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// What an origin's place in the cache costs besides its rules: the map entry, its key, the slot, the
/// entry, its place in the eviction queue.
const ENTRY_OVERHEAD: usize = 512;
/// What one Allow/Disallow rule costs besides its pattern: its place in the parser's rule list (80 bytes,
/// in a vector that grows by doubling).
const RULE_OVERHEAD: usize = 128;
/// What a rule with `$` costs on top: the parser compiles it into a regex (measured at about 6.4 KiB for
/// a short pattern, and up to 20 KiB once matching has filled its lazy DFA cache; the parser caps each
/// at 42 KiB of program and 42 KiB of cache).
const ANCHORED_RULE_COST: usize = 24 * 1024;

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
    /// What the entry holds in memory, estimated (see [`rules_size`]): what the cache's byte bound counts.
    bytes: usize,
}

impl Entry {
    fn new(rules: Rules, crawl_delay: Option<Duration>, ttl: Duration) -> Entry {
        let loaded = Instant::now();
        Entry { rules, crawl_delay, loaded, expires: loaded + ttl, sitemaps: Vec::new(), bytes: ENTRY_OVERHEAD }
    }

    fn lookup(&self, url: &Url, responses: Vec<Response>, sitemaps: Vec<Url>) -> RobotsLookup {
        RobotsLookup {
            verdict: self.verdict(url),
            fresh_for: self.expires.saturating_duration_since(Instant::now()),
            responses,
            sitemaps,
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

/// Whether a robots.txt lookup may fetch robots.txt when the cache has no fresh copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RobotsLoad {
    /// Fetch it (sharing a load already under way): for the one request of a host that may go while
    /// robots.txt is read.
    IfMissing,
    /// Answer from the cache only: for requests that run beside others of the host, where a fetch of
    /// robots.txt would break its one-at-a-time rule.
    Never,
}

/// What a robots.txt lookup found.
#[derive(Debug)]
pub struct RobotsLookup {
    pub verdict: RobotsVerdict,
    /// How much longer the copy the verdict came from may be used (zero: it could not be kept).
    pub fresh_for: Duration,
    /// The responses of the load this lookup made, for the archive; empty when it made none (a cache
    /// hit, or a load another caller made and archives).
    pub responses: Vec<Response>,
    /// With a load this lookup made: the robots.txt's `Sitemap:` lines, as absolute http(s) URLs.
    pub sitemaps: Vec<Url>,
}

impl RobotsLookup {
    /// Whether this lookup made requests to the host (robots.txt and its redirects).
    pub fn requested(&self) -> bool {
        self.responses.iter().any(|r| r.status.is_some())
    }
}

/// One origin's place in the cache.
#[derive(Debug, Default)]
struct Slot {
    cell: OnceCell<Arc<Entry>>,
    /// Asked for since eviction last looked at it: it gets a second chance.
    used: AtomicBool,
    /// The entry's estimated size, counted in the cache's total until the slot leaves the map (then
    /// zero, so that it is taken off once).
    bytes: AtomicUsize,
}

/// One lazily-filled cell per origin: the DashMap shard lock is held only to find or insert the cell,
/// never across the fetch, and the OnceCell makes concurrent first callers share one fetch.
///
/// At most `capacity` origins and about `max_bytes` of parsed rules are kept (a crawl of millions of
/// hosts would otherwise hold every robots.txt it read, each up to [`MAX_ROBOTS_BYTES`]). Eviction is
/// second-chance over insertion order, an approximation of least recently used that costs a flag store
/// per lookup instead of a lock.
pub(crate) struct RobotsCache {
    entries: DashMap<String, Arc<Slot>>,
    /// Origins in the order their slots were inserted; entries whose slot has gone are skipped.
    order: Mutex<VecDeque<(String, Weak<Slot>)>>,
    capacity: usize,
    max_bytes: usize,
    /// Estimated size of the entries in the map.
    bytes: AtomicUsize,
    /// How long a robots.txt that was read is used ([`MAX_ROBOTS_TTL`] at most).
    ttl: Duration,
    requests: AtomicU64,
}

impl std::fmt::Debug for RobotsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotsCache")
            .field("origins", &self.entries.len())
            .field("bytes", &self.bytes.load(Ordering::Relaxed))
            .field("requests", &self.requests.load(Ordering::Relaxed))
            .finish()
    }
}

impl RobotsCache {
    /// A cache of at most `capacity` origins (at least one) and about `max_bytes`, each robots.txt
    /// used for `ttl` after it was read.
    pub(crate) fn new(capacity: usize, max_bytes: usize, ttl: Duration) -> RobotsCache {
        RobotsCache {
            entries: DashMap::new(),
            order: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            max_bytes,
            bytes: AtomicUsize::new(0),
            ttl: ttl.min(MAX_ROBOTS_TTL),
            requests: AtomicU64::new(0),
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) async fn verdict(&self, fetcher: &Fetcher, url: &Url) -> RobotsVerdict {
        match self.lookup(fetcher, url, RobotsLoad::IfMissing).await {
            Some(found) => found.verdict,
            // Only a lookup that may not load finds nothing.
            None => RobotsVerdict::Unavailable { reason: "not cached".to_owned() },
        }
    }

    /// The verdict for `url`, from the cache or (with [`RobotsLoad::IfMissing`]) from a load of robots.txt;
    /// `None` when the cache has no fresh copy and `load` forbids fetching one.
    pub(crate) async fn lookup(&self, fetcher: &Fetcher, url: &Url, load: RobotsLoad) -> Option<RobotsLookup> {
        // robots.txt governs http(s) only; anything else is refused at fetch time anyway.
        let Some(origin) = origin_of(url) else {
            let verdict = RobotsVerdict::Allowed { crawl_delay: None };
            return Some(RobotsLookup { verdict, fresh_for: self.ttl, responses: Vec::new(), sitemaps: Vec::new() });
        };
        if load == RobotsLoad::Never {
            return self.cached(&origin).map(|entry| entry.lookup(url, Vec::new(), Vec::new()));
        }
        let mut loaded = None;
        let entry = self.entry(fetcher, &origin, &mut loaded).await;
        Some(match loaded {
            Some(responses) => entry.lookup(url, responses, entry.sitemaps.clone()),
            None => entry.lookup(url, Vec::new(), Vec::new()),
        })
    }

    /// The origin's entry if it is cached, loaded and fresh.
    fn cached(&self, origin: &str) -> Option<Arc<Entry>> {
        let slot = Arc::clone(self.entries.get(origin)?.value());
        slot.used.store(true, Ordering::Relaxed);
        let entry = slot.cell.get()?;
        (entry.expires > Instant::now()).then(|| Arc::clone(entry))
    }

    /// The origin's entry, loading it if there is no fresh one; `loaded` gets the responses of a load
    /// this call made (a load it shared with another caller is that caller's to archive).
    async fn entry(&self, fetcher: &Fetcher, origin: &str, loaded: &mut Option<Vec<Response>>) -> Arc<Entry> {
        let asked = Instant::now();
        let slot = self.slot(origin);
        let entry = Arc::clone(slot.cell.get_or_init(|| self.load(fetcher, origin, &slot, loaded)).await);
        // Fresh, or loaded for this very call: an unavailable robots.txt expires at once but still
        // answers the callers that waited for its load.
        if entry.expires > Instant::now() || entry.loaded >= asked {
            return entry;
        }
        // Stale: retire this slot unless a concurrent caller already did, then share the next load.
        if self.entries.remove_if(origin, |_, current| Arc::ptr_eq(current, &slot)).is_some() {
            self.forget(&slot);
        }
        let slot = self.slot(origin);
        Arc::clone(slot.cell.get_or_init(|| self.load(fetcher, origin, &slot, loaded)).await)
    }

    /// Take a slot that left the map off the byte count.
    fn forget(&self, slot: &Slot) {
        self.bytes.fetch_sub(slot.bytes.swap(0, Ordering::Relaxed), Ordering::Relaxed);
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

    fn over(&self) -> bool {
        self.entries.len() > self.capacity || self.bytes.load(Ordering::Relaxed) > self.max_bytes
    }

    /// Note a new slot, and evict until the cache holds at most `capacity` origins and `max_bytes`. A
    /// slot used since it was last looked at goes to the back of the line instead; one still loading is
    /// kept (its callers are waiting on it), so the cache may run over while more than `capacity` load
    /// at once, or while one robots.txt alone is larger than `max_bytes`.
    fn make_room(&self, origin: &str, slot: &Arc<Slot>) {
        // Poisoning cannot leave the queue half-changed: every change is one push or pop.
        let mut order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        order.push_back((origin.to_owned(), Arc::downgrade(slot)));
        self.evict(&mut order);
    }

    fn evict(&self, order: &mut VecDeque<(String, Weak<Slot>)>) {
        // Two rounds: enough for every used slot to lose its second chance.
        let mut budget = 2 * order.len();
        while self.over() && budget > 0 {
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
            if self.entries.remove_if(&name, |_, s| Arc::ptr_eq(s, &candidate)).is_some() {
                self.forget(&candidate);
            }
            debug!(origin = name, "robots.txt evicted from the cache");
        }
        // Slots retired as stale leave their names behind; drop them before they pile up.
        if order.len() > 2 * self.capacity + 64 {
            order.retain(|(_, weak)| weak.strong_count() > 0);
        }
    }

    /// Load the origin's robots.txt into `slot` (the caller's: the cell is set when this returns), count
    /// its size, and make room for it.
    async fn load(
        &self,
        fetcher: &Fetcher,
        origin: &str,
        slot: &Slot,
        loaded: &mut Option<Vec<Response>>,
    ) -> Arc<Entry> {
        let (entry, responses) = self.read(fetcher, origin).await;
        *loaded = Some(responses);
        // Counted before the cell is set: until then eviction passes the slot by, so it cannot be
        // taken off the count before it is on it.
        slot.bytes.store(entry.bytes, Ordering::Relaxed);
        self.bytes.fetch_add(entry.bytes, Ordering::Relaxed);
        if self.over() {
            self.evict(&mut self.order.lock().unwrap_or_else(PoisonError::into_inner));
        }
        Arc::new(entry)
    }

    async fn read(&self, fetcher: &Fetcher, origin: &str) -> (Entry, Vec<Response>) {
        let mut responses = Vec::new();
        let (rules, how) = self.fetch_rules(fetcher, origin, &mut responses).await;
        let max_delay = fetcher.max_crawl_delay();
        let crawl_delay = match &rules {
            Rules::Parsed(robot) => robot.delay.and_then(|secs| crawl_delay(secs, max_delay)),
            _ => None,
        };
        let ttl = if matches!(rules, Rules::Unavailable(_) | Rules::Refused) { Duration::ZERO } else { self.ttl };
        let rule_bytes = match (&rules, responses.last()) {
            (Rules::Parsed(_), Some(last)) => rules_size(fetcher.agent_token(), &last.body),
            _ => 0,
        };
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
        let bytes = ENTRY_OVERHEAD
            + origin.len()
            + rule_bytes
            + sitemaps.iter().map(|u| std::mem::size_of::<Url>() + u.as_str().len()).sum::<usize>();
        (Entry { sitemaps, bytes, ..Entry::new(rules, crawl_delay, ttl) }, responses)
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

/// What the parser keeps in memory of `body` for `agent`, from above: the Allow/Disallow rules of every
/// group that names the agent or `*` (the parser keeps only one of the two) and of the lines before the
/// first group, each [`RULE_OVERHEAD`] plus its pattern twice (as written and with runs of `*` folded,
/// non-ASCII bytes percent-encoded), plus [`ANCHORED_RULE_COST`] for a pattern with `$`. Groups for
/// other crawlers cost nothing: the parser drops them, however large the file.
fn rules_size(agent: &str, body: &[u8]) -> usize {
    let agent = agent.to_ascii_lowercase();
    let mut size = 0;
    // Whether the rules read now may be kept, and whether the last directive was a User-agent line
    // (consecutive ones open one group).
    let (mut applies, mut in_agents) = (true, false);
    for line in body.split(|b| matches!(b, b'\n' | b'\r' | 0)) {
        let line = line.split(|&b| b == b'#').next().unwrap_or_default().trim_ascii();
        // The parser takes `key: value` and `key value` alike.
        let (key, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => (&line[..colon], &line[colon + 1..]),
            None => line.split_at(line.iter().position(u8::is_ascii_whitespace).unwrap_or(line.len())),
        };
        let key: Vec<u8> =
            key.iter().filter(|b| !matches!(b, b'-' | b' ' | b'\t')).map(u8::to_ascii_lowercase).collect();
        let value = value.trim_ascii();
        if key.is_empty() {
            continue;
        }
        if key == b"useragent" {
            if !in_agents {
                (applies, in_agents) = (false, true);
            }
            applies |= value == b"*" || value.eq_ignore_ascii_case(agent.as_bytes());
            continue;
        }
        in_agents = false;
        // allow, disallow, and the misspellings of it the parser takes (dissallow, disalow, ...).
        let rule = [&b"llow"[..], b"alow", b"allaw"].iter().any(|tail| key.ends_with(tail));
        if applies && rule {
            let encoded = value.len() + 2 * value.iter().filter(|b| !b.is_ascii()).count();
            size += RULE_OVERHEAD + 2 * encoded + if value.contains(&b'$') { ANCHORED_RULE_COST } else { 0 };
        }
    }
    size
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
    (Entry::new(rules, crawl_delay, Duration::ZERO).verdict(url), sitemaps)
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
        Entry::new(Rules::Parsed(Box::new(Robot::new("crawld", txt.as_bytes()).unwrap())), None, Duration::ZERO)
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
        let e = Entry::new(Rules::Unavailable("503".into()), None, Duration::ZERO);
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
        let e = Entry::new(Rules::Parsed(robot), None, Duration::ZERO);
        let verdict = |path: &str| e.verdict(&Url::parse(&format!("http://h{path}")).unwrap()).is_allowed();
        assert!(!verdict("/private/a"));
        assert!(verdict("/private/a.html"));
        assert!(!verdict("/x"));
        assert!(verdict("/xy"));
        assert!(verdict("/public"));
    }

    /// What the byte bound counts of a robots.txt: the rules that may apply to us, not the file.
    #[test]
    fn the_size_of_a_robots_txt_is_what_the_parser_keeps() {
        let rule = |pattern: &str| RULE_OVERHEAD + 2 * pattern.len();
        let table: &[(&str, usize)] = &[
            ("", 0),
            ("# nothing but a comment\n\n", 0),
            ("Disallow: /a\n", rule("/a")),
            ("User-agent: *\nDisallow: /a\nAllow: /b # why\n", rule("/a") + rule("/b")),
            ("User-agent: otherbot\nDisallow: /a\nDisallow: /b\n", 0),
            ("User-agent: otherbot\nUser-agent: CRAWLD\nDisallow /a\n", rule("/a")),
            ("User-agent: crawld\nDisallow: /a\nUser-agent: other\nDisallow: /b\n", rule("/a")),
            ("user agent: *\ndissallow: /a\r\nCrawl-delay: 5\nSitemap: http://h/s.xml\n", rule("/a")),
            ("User-agent: *\nDisallow: /*.pdf$\n", rule("/*.pdf$") + ANCHORED_RULE_COST),
            ("User-agent: *\nDisallow: /é\n", rule("/%C3%A9")),
        ];
        for (body, size) in table {
            assert_eq!(rules_size("crawld", body.as_bytes()), *size, "{body:?}");
        }
        let others = format!("User-agent: otherbot\n{}", "Disallow: /*.pdf$\n".repeat(20_000));
        assert_eq!(rules_size("crawld", others.as_bytes()), 0, "however large, another crawler's group costs nothing");
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
                let e = Entry::new(Rules::Parsed(Box::new(robot)), None, Duration::ZERO);
                let _ = e.verdict(&Url::parse("http://h/some/path?q=1").unwrap());
            }
        }
    }
}
