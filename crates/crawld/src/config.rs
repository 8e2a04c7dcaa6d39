//! The crawl configuration: a TOML file (`config/crawld.toml` is the commented reference), checked as it
//! is read so that a bad key or value stops start-up with `file:line:column: key: message`.
//!
//! Values are validated by their types while deserializing (non-zero counts, durations such as "250ms",
//! http(s) URLs, regexes), so the TOML parser reports the exact place of any bad value. The few rules
//! that span several keys are checked afterwards by [`Config::validate`].

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// Everything a crawl needs to know. Serialized as-is into the output's `crawl.json`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Start URLs (depth 0).
    pub seeds: Vec<HttpUrl>,
    /// A file with one seed URL per line (`#` comments and blank lines allowed), relative to the config file.
    pub seeds_file: Option<PathBuf>,
    /// The output directory. It must not hold a previous crawl.
    pub out: PathBuf,
    pub crawl: CrawlSection,
    pub politeness: PolitenessSection,
    pub fetch: FetchSection,
    pub scope: ScopeSection,
    pub output: OutputSection,
    pub admin: AdminSection,
    /// Where the config was read from (set by [`Config::parse`]), for errors found after reading.
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// The config file and the place of each key in it (`crawl.max_pages` -> line, column).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    path: PathBuf,
    keys: HashMap<String, (usize, usize)>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrawlSection {
    /// Fetches in flight across all hosts.
    pub concurrency: NonZeroUsize,
    /// Deepest link depth followed (seeds are 0). Absent: unlimited.
    pub max_depth: Option<u32>,
    /// Stop after this many URLs have been fetched (retries not counted). Absent: unlimited.
    pub max_pages: Option<NonZeroU64>,
    /// Redirect hops followed from one link.
    pub max_redirects: u8,
    /// Further attempts after a connection error, timeout, 5xx, 408 or 429.
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each later one, with jitter.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// Ceiling of the wait between retries.
    #[serde(with = "humantime_serde")]
    pub max_retry_backoff: Duration,
    /// Look up each site's sitemaps (robots.txt's `Sitemap:` lines and /sitemap.xml) and queue their entries.
    pub sitemaps: bool,
    /// URLs queued from the sitemaps of one site at most (scheme, host and port), the sitemaps included.
    pub max_sitemap_urls: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolitenessSection {
    pub per_host_concurrency: NonZeroUsize,
    /// From the end of one fetch of a host to the start of the next.
    #[serde(with = "humantime_serde")]
    pub delay: Duration,
    pub respect_robots: bool,
    /// Ceiling for a robots.txt Crawl-delay.
    #[serde(with = "humantime_serde")]
    pub max_crawl_delay: Duration,
    /// After a URL of a host could not connect (or get robots.txt) through all its retries, the host's
    /// other URLs wait this long before they are tried again. Each hold in a row counts as one retry
    /// of them; past `max_retries` holds they are recorded as unreachable, without a request, for this long.
    #[serde(with = "humantime_serde")]
    pub host_down_hold: Duration,
    /// How long a robots.txt that was read is obeyed before it is fetched again (at most 24 hours).
    #[serde(with = "humantime_serde")]
    pub robots_ttl: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchSection {
    pub user_agent: String,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub max_body_bytes: NonZeroU64,
    /// Origins whose robots.txt is kept; the least recently used goes first, and is fetched again when needed.
    pub robots_cache_size: NonZeroUsize,
    /// About how many bytes of parsed robots.txt are kept, all origins together.
    pub robots_cache_bytes: NonZeroUsize,
    /// A response whose headers exceed this many bytes is refused, its body unread.
    pub max_header_bytes: NonZeroUsize,
    /// Fetch from loopback, private, link-local and other non-public addresses (off: refused, and
    /// recorded as such).
    pub allow_private_networks: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScopeSection {
    /// Hosts that may be crawled: `host` on ports 80 and 443, `host:port` on that port; either scheme.
    /// With `allowed_domains` also empty: the seeds' sites (host, default ports, own explicit port).
    pub allowed_hosts: Vec<String>,
    /// Domains whose hosts and subdomains may be crawled; ports as for `allowed_hosts`.
    pub allowed_domains: Vec<String>,
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
    pub max_url_length: usize,
    pub max_repeated_segments: usize,
    pub max_links_per_page: usize,
    /// A seed's redirect target (through a chain of redirects) is crawled as a seed of its own site:
    /// its host joins the scope.
    pub seed_redirects_join_scope: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSection {
    pub warc: bool,
    pub warc_max_bytes: NonZeroU64,
    /// Bytes of WARC records waiting for the writer at most; a page waits while more are queued.
    pub max_queued_bytes: NonZeroU64,
    /// How often a progress line is logged and stats.json rewritten.
    #[serde(with = "humantime_serde")]
    pub progress_interval: Duration,
    /// How often recorded pages are made durable (WARC, the frontier's journal, then pages.jsonl, each
    /// fsynced): what a power loss or a kill may cost is the pages of the last interval, fetched again
    /// on resume. Zero: after every page (slow).
    #[serde(with = "humantime_serde")]
    pub sync_interval: Duration,
    /// On Ctrl-C / SIGTERM: how long in-flight fetches may take to finish.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// A snapshot of the frontier (state/frontier.snapshot) is taken once this many URLs were queued
    /// or leased since the last one (and at least as many as that one held), so that a resume reads
    /// the snapshot and what came after it, not the whole crawl's history. 0: never.
    pub snapshot_after: u64,
}

/// The admin HTTP API of a running crawl (status, metrics, pause/resume/stop, seeds).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSection {
    /// The port it listens on; absent: no admin API. 0: a free port, named in the log.
    pub port: Option<u16>,
    /// The address it binds to. Any other than a loopback address requires a token.
    pub address: IpAddr,
    /// The bearer token every request must carry (`Authorization: Bearer TOKEN`). The environment
    /// variable `CRAWLD_ADMIN_TOKEN` sets it when the file does not. Never written to crawl.json.
    #[serde(skip_serializing)]
    pub token: Option<String>,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection { port: None, address: IpAddr::V4(Ipv4Addr::LOCALHOST), token: None }
    }
}

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

fn nz64(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seeds: Vec::new(),
            seeds_file: None,
            out: PathBuf::from("crawl-out"),
            crawl: CrawlSection::default(),
            politeness: PolitenessSection::default(),
            fetch: FetchSection::default(),
            scope: ScopeSection::default(),
            output: OutputSection::default(),
            admin: AdminSection::default(),
            origin: None,
        }
    }
}

impl Default for CrawlSection {
    fn default() -> Self {
        CrawlSection {
            concurrency: nz(32),
            max_depth: None,
            max_pages: None,
            max_redirects: 10,
            max_retries: 2,
            retry_backoff: Duration::from_secs(1),
            max_retry_backoff: Duration::from_secs(60),
            sitemaps: true,
            max_sitemap_urls: 100_000,
        }
    }
}

impl Default for PolitenessSection {
    fn default() -> Self {
        PolitenessSection {
            per_host_concurrency: nz(2),
            delay: Duration::from_millis(250),
            respect_robots: true,
            max_crawl_delay: Duration::from_secs(30),
            host_down_hold: Duration::from_secs(300),
            robots_ttl: crawld_fetch::MAX_ROBOTS_TTL,
        }
    }
}

impl Default for FetchSection {
    fn default() -> Self {
        FetchSection {
            user_agent: concat!("crawld/", env!("CARGO_PKG_VERSION"), " (+https://example.invalid/crawld)").to_owned(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: nz64(10 * 1024 * 1024),
            robots_cache_size: nz(10_000),
            robots_cache_bytes: nz(64 * 1024 * 1024),
            max_header_bytes: nz(64 * 1024),
            allow_private_networks: false,
        }
    }
}

impl Default for ScopeSection {
    fn default() -> Self {
        ScopeSection {
            allowed_hosts: Vec::new(),
            allowed_domains: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            max_url_length: 2048,
            max_repeated_segments: 3,
            max_links_per_page: 100_000,
            seed_redirects_join_scope: true,
        }
    }
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            warc: true,
            warc_max_bytes: nz64(1024 * 1024 * 1024),
            max_queued_bytes: nz64(64 * 1024 * 1024),
            progress_interval: Duration::from_secs(5),
            sync_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
            snapshot_after: 1_000_000,
        }
    }
}

impl Config {
    /// Read and check a config file. Seeds from `seeds_file` are merged into `seeds`.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut config = Config::parse(&text, path)?;
        if let Some(file) = config.seeds_file.take() {
            let file = path.parent().map_or(file.clone(), |dir| dir.join(&file));
            config.seeds.extend(read_seeds_file(&file)?);
        }
        Ok(config)
    }

    /// Parse TOML text; `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &Path) -> anyhow::Result<Config> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| anyhow::anyhow!(describe_toml_error(&e, text, origin)))?;
        let mut keys = HashMap::new();
        if let Ok(document) = toml::de::DeTable::parse(text) {
            key_places(document.get_ref(), "", text, &mut keys);
        }
        config.origin = Some(Origin { path: origin.to_owned(), keys });
        Ok(config)
    }

    /// The rules that span several keys; run after command-line overrides are applied. Errors name the
    /// place in the config file of the key they are about, as parse errors do.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.seeds.is_empty() {
            bail!(
                "{}no seeds: set `seeds` or `seeds_file` in the config file, or pass --seed URL",
                self.place("seeds")
            );
        }
        if self.fetch.user_agent.trim().is_empty() || !self.fetch.user_agent.is_ascii() {
            bail!("{}fetch.user_agent must be non-empty ASCII text", self.place("fetch.user_agent"));
        }
        if self.crawl.retry_backoff > self.crawl.max_retry_backoff {
            let key = ["crawl.retry_backoff", "crawl.max_retry_backoff"]
                .into_iter()
                .find(|key| self.origin.as_ref().is_some_and(|o| o.keys.contains_key(*key)))
                .unwrap_or("crawl.retry_backoff");
            bail!(
                "{}crawl.retry_backoff ({}) is larger than crawl.max_retry_backoff ({})",
                self.place(key),
                humantime::format_duration(self.crawl.retry_backoff),
                humantime::format_duration(self.crawl.max_retry_backoff)
            );
        }
        let ttl = self.politeness.robots_ttl;
        if ttl.is_zero() || ttl > crawld_fetch::MAX_ROBOTS_TTL {
            bail!(
                "{}politeness.robots_ttl ({}) must be more than zero and at most 24h (RFC 9309)",
                self.place("politeness.robots_ttl"),
                humantime::format_duration(ttl)
            );
        }
        for (key, list) in
            [("scope.allowed_hosts", &self.scope.allowed_hosts), ("scope.allowed_domains", &self.scope.allowed_domains)]
        {
            if let Some(entry) = list.iter().find(|entry| has_bad_port(entry)) {
                bail!("{}{key}: `{entry}` has a port that is not 1-65535", self.place(key));
            }
        }
        if let Some(token) = &self.admin.token
            && (token.trim().is_empty() || !token.is_ascii() || token.chars().any(|c| c.is_ascii_control()))
        {
            bail!("{}admin.token must be non-empty printable ASCII text", self.place("admin.token"));
        }
        if self.admin.port.is_some() && !self.admin.address.is_loopback() && self.admin.token.is_none() {
            bail!(
                "{}admin.address: {} is not a loopback address, and the admin API can stop the crawl: set \
                 admin.token (or the CRAWLD_ADMIN_TOKEN environment variable), or bind to 127.0.0.1",
                self.place("admin.address"),
                self.admin.address
            );
        }
        for (key, value) in [
            ("fetch.timeout", self.fetch.timeout),
            ("fetch.connect_timeout", self.fetch.connect_timeout),
            ("output.progress_interval", self.output.progress_interval),
        ] {
            if value.is_zero() {
                bail!("{}{key} must be longer than zero", self.place(key));
            }
        }
        Ok(())
    }

    /// `file:line:column: ` of a key set in the config file, `file: ` of one left at its default, and
    /// nothing for a config that was not read from a file.
    fn place(&self, key: &str) -> String {
        let Some(origin) = &self.origin else { return String::new() };
        match origin.keys.get(key) {
            Some((line, column)) => format!("{}:{line}:{column}: ", origin.path.display()),
            None => format!("{}: ", origin.path.display()),
        }
    }
}

/// A `host:port` scope entry whose port is out of range (a bare IPv6 address such as `::1` has none).
fn has_bad_port(entry: &str) -> bool {
    entry.trim().rsplit_once(':').is_some_and(|(head, port)| {
        let is_port = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        is_port && (head.ends_with(']') || !head.contains(':')) && port.parse::<u16>().ok().is_none_or(|p| p == 0)
    })
}

/// Record `section.key` -> (line, column) for every key of a parsed document.
fn key_places(table: &toml::de::DeTable<'_>, prefix: &str, text: &str, out: &mut HashMap<String, (usize, usize)>) {
    for (key, value) in table {
        let name = format!("{prefix}{}", key.get_ref());
        out.insert(name.clone(), line_column(text, key.span().start));
        if let toml::de::DeValue::Table(inner) = value.get_ref() {
            key_places(inner, &format!("{name}."), text, out);
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, offset)];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn read_seeds_file(path: &Path) -> anyhow::Result<Vec<HttpUrl>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read seeds file {}", path.display()))?;
    let mut seeds = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        // A URL holds no whitespace, so its end is the first whitespace: the rest is a label or comment.
        let Some(field) = line.split_whitespace().next().filter(|f| !f.starts_with('#')) else {
            continue;
        };
        match HttpUrl::parse(field) {
            Ok(seed) => seeds.push(seed),
            Err(e) => bad.push(format!("{}:{}: {e}", path.display(), index + 1)),
        }
    }
    match bad.len() {
        0 => Ok(seeds),
        1 => bail!("{}", bad[0]),
        n => bail!("{n} bad lines in the seeds file:\n{}", bad.join("\n")),
    }
}

/// `file:line:column: key: message`, from the TOML parser's span.
fn describe_toml_error(error: &toml::de::Error, text: &str, origin: &Path) -> String {
    let message = error.message().trim();
    let Some(span) = error.span() else {
        return format!("{}: {message}", origin.display());
    };
    let (line, column) = line_column(text, span.start);
    // An array or inline table left open is reported where the parser gave up, often lines later (at
    // the next table header): point at where it was opened instead.
    if let Some(&opened) = open_at(text, span.start).last() {
        let (open_line, open_column) = line_column(text, opened);
        // Still open at the end of the text: an error inside a well-closed array is not about it.
        if open_line < line && open_at(text, text.len()).contains(&opened) {
            let what = match text.as_bytes()[opened] {
                b'[' => "array",
                b'{' => "inline table",
                _ => "multi-line string",
            };
            let key = key_of_line(text, opened).map(|k| format!("`{k}`: ")).unwrap_or_default();
            return format!(
                "{}:{open_line}:{open_column}: {key}this {what} is not closed (the parser stopped at \
                 {line}:{column}: {message})",
                origin.display()
            );
        }
    }
    match key_of_line(text, span.start) {
        Some(key) if !message.contains(&format!("`{key}`")) => {
            format!("{}:{line}:{column}: `{key}`: {message}", origin.display())
        }
        _ => format!("{}:{line}:{column}: {message}", origin.display()),
    }
}

/// The key of a `key = value` line holding byte `offset`.
fn key_of_line(text: &str, offset: usize) -> Option<&str> {
    let before = &text[..floor_char_boundary(text, offset)];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_text = text[line_start..].lines().next().unwrap_or("");
    line_text.split_once('=').map(|(key, _)| key.trim()).filter(|k| !k.is_empty() && !k.starts_with('['))
}

/// Where the arrays, inline tables and multi-line string still open at byte `end` were opened,
/// innermost last. A light scan that knows TOML's strings, comments and table headers, nothing more.
fn open_at(text: &str, end: usize) -> Vec<usize> {
    let bytes = &text.as_bytes()[..end.min(text.len())];
    let mut open = Vec::new();
    let mut at_line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => at_line_start = true,
            b' ' | b'\t' | b'\r' => {}
            b'#' => i = skip_line(bytes, i),
            // A table header ([a] or [[a]]) opens nothing that outlives its line.
            b'[' if at_line_start && open.is_empty() => i = skip_line(bytes, i),
            b'"' | b'\'' => {
                let start = i;
                i = skip_string(bytes, i);
                if i >= bytes.len() && bytes[start..].starts_with(&[b; 3]) {
                    open.push(start);
                    return open;
                }
            }
            b'[' | b'{' => open.push(i),
            b']' | b'}' => {
                open.pop();
            }
            _ => {}
        }
        if !matches!(b, b'\n' | b' ' | b'\t' | b'\r') {
            at_line_start = false;
        }
        i += 1;
    }
    open
}

/// The index of the last byte before the newline ending the line at `i` (or of the last byte).
fn skip_line(bytes: &[u8], i: usize) -> usize {
    bytes[i..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| i + n) - 1
}

/// The index of the last byte of the string opening at `i` (or of the input, when it never closes).
fn skip_string(bytes: &[u8], i: usize) -> usize {
    let quote = bytes[i];
    let basic = quote == b'"';
    let triple = bytes[i..].starts_with(&[quote; 3]);
    let mut j = i + if triple { 3 } else { 1 };
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if basic => j += 1,
            b'\n' if !triple => return j - 1,
            b if b == quote && (!triple || bytes[j..].starts_with(&[quote; 3])) => {
                return if triple { j + 2 } else { j };
            }
            _ => {}
        }
        j += 1;
    }
    bytes.len()
}

/// An absolute http or https URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub Url);

impl HttpUrl {
    pub fn parse(text: &str) -> Result<HttpUrl, String> {
        let url = Url::parse(text).map_err(|e| format!("`{text}` is not a valid URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("`{text}` is not an http(s) URL with a host"));
        }
        Ok(HttpUrl(url))
    }
}

impl std::str::FromStr for HttpUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HttpUrl::parse(s)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        HttpUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// A regular expression, compiled while the config is read.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // Bounded so that a hostile pattern cannot take unbounded memory at start-up.
        regex::RegexBuilder::new(&text)
            .size_limit(1 << 20)
            .build()
            .map(Pattern)
            .map_err(|e| serde::de::Error::custom(format!("bad regex: {e}")))
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn error_of(text: &str) -> String {
        format!("{:#}", Config::parse(text, Path::new("crawld.toml")).unwrap_err())
    }

    #[test]
    fn the_shipped_reference_config_parses_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/crawld.toml");
        let config = Config::load(&path).unwrap();
        config.validate().unwrap();
        assert_eq!(config.politeness.per_host_concurrency.get(), 2);
        assert_eq!(config.politeness.delay, Duration::from_millis(250));
        // Safe by default, sitemaps on: the reference shows the defaults.
        assert!(!config.fetch.allow_private_networks && !Config::default().fetch.allow_private_networks);
        assert!(config.crawl.sitemaps && Config::default().crawl.sitemaps);
        assert_eq!(config.crawl.max_sitemap_urls, Config::default().crawl.max_sitemap_urls);
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let cases = [
            ("seeds = [\"http://a/\"]\n[crawl]\nconcurency = 4\n", "crawld.toml:3:1: unknown field `concurency`"),
            ("[crawl]\nconcurrency = 0\n", "crawld.toml:2:15: `concurrency`: invalid value"),
            ("[fetch]\nrobots_cache_size = 0\n", "crawld.toml:2:21: `robots_cache_size`: invalid value"),
            ("[fetch]\nrobots_cache_bytes = 0\n", "crawld.toml:2:22: `robots_cache_bytes`: invalid value"),
            ("[fetch]\nmax_header_bytes = -1\n", "crawld.toml:2:20: `max_header_bytes`: invalid value"),
            ("[output]\nmax_queued_bytes = 0\n", "crawld.toml:2:20: `max_queued_bytes`: invalid value"),
            ("[politeness]\ndelay = \"soon\"\n", "crawld.toml:2:9: `delay`:"),
            ("seeds = [\"ftp://a/\"]\n", "crawld.toml:1:9: `seeds`: `ftp://a/` is not an http(s) URL"),
            ("[scope]\nexclude = [\"(\"]\n", "crawld.toml:2:11: `exclude`: bad regex"),
            ("[crawl\n", "crawld.toml:1:7:"),
            // An array left open is reported where it opened, not at the table header that ends it.
            (
                "seeds = [\"http://a/\"\n\n[crawl]\nconcurrency = 4\n",
                "crawld.toml:1:9: `seeds`: this array is not closed (the parser stopped at 3:1:",
            ),
            (
                "# a [comment]\nseeds = [\n  \"http://a/\", # first\n  \"http://b/[x]\"\n\n[crawl]\nconcurrency = 4\n",
                "crawld.toml:2:9: `seeds`: this array is not closed",
            ),
            ("[scope]\ninclude = ['a[', \"b\"\nexclude = []\n", "crawld.toml:2:11: `include`: this array is not"),
            ("seeds = [\"http://a/\"]\nout = \"x\n[crawl]\n", "crawld.toml:2:9: `out`:"),
            ("out = \"\"\"x\n\n[crawl]\n", "crawld.toml:1:7: `out`: this multi-line string is not closed"),
            // An error inside an array that is closed is about the value, not an unclosed array.
            ("seeds = [\n  \"http://a/\",\n  \"ftp://b/\",\n]\n", "crawld.toml:1:9: `seeds`: `ftp://b/` is not"),
            ("out = \"\"\"x\n\\q\"\"\"\n", "crawld.toml:2:2: missing escaped value"),
        ];
        for (text, expected) in cases {
            let message = error_of(text);
            assert!(message.starts_with(expected), "for {text:?}: got {message:?}, expected {expected:?}…");
        }
        // Broken input of any shape gives an error, never a panic.
        for text in ["[", "a = [", "a = \"\\", "a = [\"\\\n", "\u{feff}[x", "a = [{", "é = [\n[b]", "#[\n["] {
            let _ = error_of(text);
        }
    }

    #[test]
    fn seeds_file_lines_are_read_relative_to_the_config_and_bad_lines_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("seeds.txt"), "# comment\nhttp://a.test/\n\nhttp://b.test/x\n").unwrap();
        std::fs::write(dir.path().join("c.toml"), "seeds_file = \"seeds.txt\"\n").unwrap();
        let config = Config::load(&dir.path().join("c.toml")).unwrap();
        let seeds: Vec<String> = config.seeds.iter().map(|s| s.to_string()).collect();
        assert_eq!(seeds, ["http://a.test/", "http://b.test/x"]);

        std::fs::write(dir.path().join("seeds.txt"), "http://a.test/\nnot-a-url\n").unwrap();
        let error = format!("{:#}", Config::load(&dir.path().join("c.toml")).unwrap_err());
        assert!(error.contains("seeds.txt:2: `not-a-url` is not a valid URL"), "{error}");
    }

    /// Regression (issue 10): a `#` comment after a URL and a tab-separated label were taken into the
    /// URL, and only the first bad line was reported.
    #[test]
    fn seeds_file_comments_and_labels_are_left_out_and_every_bad_line_reported() {
        let dir = tempfile::tempdir().unwrap();
        let seeds = "\u{feff}# crawl list\n\
                     http://a.test/  # the home page\n\
                     http://b.test/docs\tDocs site\n\
                     \t  http://c.test/#top\n\
                     \x20  # an indented comment\n\
                     http://d.test/#frag # a fragment is not a comment\n";
        std::fs::write(dir.path().join("seeds.txt"), seeds).unwrap();
        std::fs::write(dir.path().join("c.toml"), "seeds_file = \"seeds.txt\"\n").unwrap();
        let config = Config::load(&dir.path().join("c.toml")).unwrap();
        let seeds: Vec<String> = config.seeds.iter().map(|s| s.to_string()).collect();
        assert_eq!(seeds, ["http://a.test/", "http://b.test/docs", "http://c.test/#top", "http://d.test/#frag"]);

        let seeds = "http://ok.test/\nexample.org\nhttp://ok.test/2\nftp://x.test/ # old\nmailto:a@b.test\n";
        std::fs::write(dir.path().join("seeds.txt"), seeds).unwrap();
        let error = format!("{:#}", Config::load(&dir.path().join("c.toml")).unwrap_err());
        assert!(error.starts_with("3 bad lines in the seeds file:\n"), "{error}");
        for line in ["seeds.txt:2: `example.org`", "seeds.txt:4: `ftp://x.test/`", "seeds.txt:5: `mailto:a@b.test`"] {
            assert!(error.contains(line), "{line} in {error}");
        }
    }

    #[test]
    fn errors_between_keys_name_the_file_and_line_too() {
        let error_of = |text: &str| {
            let config = Config::parse(text, Path::new("x.toml")).unwrap();
            format!("{:#}", config.validate().unwrap_err())
        };
        let seeds = "seeds = [\"http://a/\"]\n";
        assert_eq!(
            error_of(&format!("{seeds}[output]\nprogress_interval = \"0s\"\n")),
            "x.toml:3:1: output.progress_interval must be longer than zero"
        );
        assert_eq!(
            error_of(&format!("{seeds}[crawl]\nmax_retry_backoff = \"1s\"\nretry_backoff = \"2s\"\n")),
            "x.toml:4:1: crawl.retry_backoff (2s) is larger than crawl.max_retry_backoff (1s)"
        );
        assert_eq!(
            error_of(&format!("{seeds}[crawl]\n  max_retry_backoff = \"500ms\"\n")),
            "x.toml:3:3: crawl.retry_backoff (1s) is larger than crawl.max_retry_backoff (500ms)"
        );
        assert_eq!(
            error_of("fetch.user_agent = \"\"\nseeds = []\n"),
            "x.toml:2:1: no seeds: set `seeds` or `seeds_file` in the config file, or pass --seed URL"
        );
        assert_eq!(
            error_of(&format!("{seeds}[scope]\nallowed_hosts = [\"a:80\", \"[::1]:65536\"]\n")),
            "x.toml:3:1: scope.allowed_hosts: `[::1]:65536` has a port that is not 1-65535"
        );
        assert_eq!(
            error_of(&format!("{seeds}[politeness]\nrobots_ttl = \"25h\"\n")),
            "x.toml:3:1: politeness.robots_ttl (1day 1h) must be more than zero and at most 24h (RFC 9309)"
        );
        let error = error_of(&format!("{seeds}fetch.user_agent = \" \"\n"));
        assert!(error.starts_with("x.toml:2:7: fetch.user_agent"), "{error}");
        // Built in code, not read from a file: no place to name.
        let mut config = Config { seeds: vec![HttpUrl::parse("http://a/").unwrap()], ..Config::default() };
        config.fetch.timeout = Duration::ZERO;
        assert_eq!(format!("{:#}", config.validate().unwrap_err()), "fetch.timeout must be longer than zero");
    }

    #[test]
    fn an_admin_api_off_loopback_needs_a_token() {
        let text = "seeds = [\"http://a/\"]\n[admin]\nport = 7676\naddress = \"0.0.0.0\"\n";
        let config = Config::parse(text, Path::new("x.toml")).unwrap();
        let error = format!("{:#}", config.validate().unwrap_err());
        assert!(error.starts_with("x.toml:4:1: admin.address: 0.0.0.0 is not a loopback address"), "{error}");
        let with_token = Config::parse(&format!("{text}token = \"t0k3n\"\n"), Path::new("x.toml")).unwrap();
        with_token.validate().unwrap();
        assert!(!serde_json::to_string(&with_token).unwrap().contains("t0k3n"), "the token never reaches crawl.json");
        let blank = Config::parse(&format!("{text}token = \" \"\n"), Path::new("x.toml")).unwrap();
        assert!(format!("{:#}", blank.validate().unwrap_err()).contains("admin.token must be non-empty"));
        // On loopback, no token is needed; without a port there is no API at all.
        let local = Config::parse("seeds = [\"http://a/\"]\n[admin]\nport = 7676\n", Path::new("x.toml")).unwrap();
        local.validate().unwrap();
    }

    #[test]
    fn a_config_without_seeds_is_refused() {
        let config = Config::parse("", Path::new("x.toml")).unwrap();
        assert!(format!("{:#}", config.validate().unwrap_err()).contains("no seeds"));
    }
}
