//! The shared HTTP client and the one-GET path every fetch (pages and robots.txt alike) goes through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Version};
use tokio::time::timeout_at;
use tracing::{debug, instrument, warn};
use url::{Position, Url};

use crate::address;
use crate::body;
use crate::response::{Exchange, FetchFailure, Response, Truncation, parse_retry_after};
use crate::robots::{MAX_ROBOTS_TTL, RobotsCache, RobotsLoad, RobotsLookup, RobotsVerdict};
use crate::tls;

/// The Accept header sent with every request.
pub const ACCEPT: &str = "text/html,application/xhtml+xml,*/*;q=0.8";
/// The Accept-Encoding header sent with every request; body.rs undoes each of these.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br";

/// Longest error text kept in a [`FetchFailure`]; error chains of hostile peers can be long.
const MAX_ERROR_TEXT: usize = 300;

#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Full User-Agent header, e.g. `crawld/0.1 (+https://example.com/crawler)`. Its first product token
    /// ("crawld") is the name matched against robots.txt groups.
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Whole request, headers and body.
    pub timeout: Duration,
    /// Cap on body bytes read from the wire (streamed; the rest is not read and the response is marked truncated).
    /// The decoded body is capped at the same size.
    pub max_body_bytes: u64,
    pub respect_robots: bool,
    /// Upper bound applied to a robots.txt Crawl-delay.
    pub max_crawl_delay: Duration,
    /// Origins whose robots.txt the cache holds at most; past it the least recently used goes, and is
    /// fetched again when next needed. At least 1.
    pub robots_cache_size: usize,
    /// About how many bytes of parsed robots.txt the cache holds at most (estimated per origin: what the
    /// parser keeps of the rules that apply to us); past it the least recently used origins go.
    pub robots_cache_bytes: usize,
    /// How long a robots.txt that was read is used: at most 24 hours (RFC 9309 §2.4), more than zero.
    pub robots_ttl: Duration,
    /// A response whose header names and values (with `: ` and CRLF each) exceed this many bytes is
    /// refused with [`FetchFailure::HeadTooLarge`], its body unread. At least 1. hyper's own read buffer
    /// (about 400 KB for HTTP/1) is a ceiling above this.
    pub max_header_bytes: usize,
    /// Fetch from loopback, private, link-local, multicast and other non-public addresses. Off by
    /// default: such a fetch is refused with [`FetchFailure::Refused`], checked on the addresses DNS gave
    /// (the ones then connected to) and on IP-literal hosts, for every request including redirect hops
    /// and robots.txt.
    pub allow_private_networks: bool,
    /// Pause before following each redirect of a robots.txt: the host's politeness delay, as between
    /// any two requests to it.
    pub robots_redirect_delay: Duration,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            user_agent: concat!("crawld/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
            respect_robots: true,
            max_crawl_delay: Duration::from_secs(30),
            robots_cache_size: 10_000,
            robots_cache_bytes: 64 * 1024 * 1024,
            robots_ttl: MAX_ROBOTS_TTL,
            max_header_bytes: 64 * 1024,
            allow_private_networks: false,
            robots_redirect_delay: Duration::from_millis(250),
        }
    }
}

/// Why a [`Fetcher`] could not be built. Fetches themselves never fail this way: see [`Response::failure`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("invalid fetch configuration: {0}")]
    Config(String),
}

/// The crawler's HTTP side: one connection-pooling client plus the robots.txt cache. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: FetchConfig,
    client: reqwest::Client,
    user_agent: HeaderValue,
    agent_token: String,
    robots: RobotsCache,
    /// `cfg.timeout` and `cfg.max_crawl_delay` as they are now, in nanoseconds: a running crawl retunes
    /// them without rebuilding the client (each request takes its deadline when it starts).
    timeout: AtomicU64,
    max_crawl_delay: AtomicU64,
}

impl Fetcher {
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, FetchError> {
        let user_agent = HeaderValue::from_str(&cfg.user_agent)
            .map_err(|_| FetchError::Config("user_agent is not a valid header value".to_owned()))?;
        if cfg.max_header_bytes == 0 {
            return Err(FetchError::Config("max_header_bytes must be at least 1".to_owned()));
        }
        if cfg.robots_cache_size == 0 {
            return Err(FetchError::Config("robots_cache_size must be at least 1".to_owned()));
        }
        if cfg.robots_ttl.is_zero() || cfg.robots_ttl > MAX_ROBOTS_TTL {
            return Err(FetchError::Config("robots_ttl must be more than zero and at most 24 hours".to_owned()));
        }
        if cfg.timeout.is_zero() {
            return Err(FetchError::Config("timeout must be greater than zero".to_owned()));
        }
        let tls = tls::client_config().map_err(|e| FetchError::Client(format!("TLS set-up: {e}")))?;
        let mut builder = reqwest::Client::builder().tls_backend_preconfigured(tls);
        if !cfg.allow_private_networks {
            builder = builder.dns_resolver(address::PublicOnly);
        }
        let client = builder
            // The crawler follows redirects hop by hop through its frontier (scope, robots, politeness).
            .redirect(reqwest::redirect::Policy::none())
            // The raw, still-encoded bytes go to the WARC; we decode ourselves. These also hold if another
            // crate in the build turns on reqwest's decompression features.
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd()
            // A crawl's egress should not depend on whatever *_PROXY the daemon happens to inherit.
            .no_proxy()
            .referer(false)
            .connect_timeout(cfg.connect_timeout)
            .tcp_nodelay(true)
            // HTTP/2 peers learn the limit up front (SETTINGS_MAX_HEADER_LIST_SIZE, which counts 32
            // bytes more per header than we do); HTTP/1 heads are measured once parsed.
            .http2_max_header_list_size(u32::try_from(cfg.max_header_bytes).unwrap_or(u32::MAX))
            // No idle cap per host: politeness already bounds a host's connections to its
            // per_host_concurrency, and a lower cap would close and reopen connections on every request.
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| FetchError::Client(error_text(&e)))?;
        let agent_token = product_token(&cfg.user_agent);
        let robots = RobotsCache::new(cfg.robots_cache_size, cfg.robots_cache_bytes, cfg.robots_ttl);
        let timeout = AtomicU64::new(nanos(cfg.timeout));
        let max_crawl_delay = AtomicU64::new(nanos(cfg.max_crawl_delay));
        Ok(Fetcher {
            inner: Arc::new(Inner { cfg, client, user_agent, agent_token, robots, timeout, max_crawl_delay }),
        })
    }

    /// The configuration the fetcher was built with; [`Fetcher::timeout`] and [`Fetcher::max_crawl_delay`]
    /// give the values in force now.
    pub fn config(&self) -> &FetchConfig {
        &self.inner.cfg
    }

    /// The whole-request timeout in force: requests started from now on get it.
    pub fn timeout(&self) -> Duration {
        Duration::from_nanos(self.inner.timeout.load(Ordering::Relaxed))
    }

    /// Change the whole-request timeout while fetches run; those under way keep their deadline. A zero
    /// timeout is refused (the old one stays).
    pub fn set_timeout(&self, timeout: Duration) -> Result<(), FetchError> {
        if timeout.is_zero() {
            return Err(FetchError::Config("timeout must be greater than zero".to_owned()));
        }
        self.inner.timeout.store(nanos(timeout), Ordering::Relaxed);
        Ok(())
    }

    /// The cap on robots.txt Crawl-delay in force.
    pub fn max_crawl_delay(&self) -> Duration {
        Duration::from_nanos(self.inner.max_crawl_delay.load(Ordering::Relaxed))
    }

    /// Change the cap on Crawl-delay; it applies to robots.txt files read from now on.
    pub fn set_max_crawl_delay(&self, max: Duration) {
        self.inner.max_crawl_delay.store(nanos(max), Ordering::Relaxed);
    }

    /// The name matched against robots.txt User-agent lines (the User-Agent's first product token).
    pub fn agent_token(&self) -> &str {
        &self.inner.agent_token
    }

    /// robots.txt verdict for this URL. The first call for an origin (scheme+host+port) fetches
    /// /robots.txt once; concurrent callers for the same origin wait for that one fetch, later ones hit
    /// the cache. With `respect_robots = false` always `Allowed { crawl_delay: None }`.
    pub async fn robots(&self, url: &Url) -> RobotsVerdict {
        if !self.inner.cfg.respect_robots {
            return RobotsVerdict::Allowed { crawl_delay: None };
        }
        self.inner.robots.verdict(self, url).await
    }

    /// Like [`Fetcher::robots`], with a say on whether robots.txt may be fetched ([`RobotsLoad`]), how
    /// long the copy stays fresh, and, when this call loaded it, the responses (each redirect hop, for
    /// the archive: a load shared by several callers goes to one of them) and the `Sitemap:` lines.
    /// `None` when nothing fresh is cached and `load` is [`RobotsLoad::Never`]. With `respect_robots =
    /// false`, always allowed and fresh for the configured `robots_ttl`.
    pub async fn robots_lookup(&self, url: &Url, load: RobotsLoad) -> Option<RobotsLookup> {
        if !self.inner.cfg.respect_robots {
            let verdict = RobotsVerdict::Allowed { crawl_delay: None };
            let fresh_for = self.inner.cfg.robots_ttl;
            return Some(RobotsLookup { verdict, fresh_for, responses: Vec::new(), sitemaps: Vec::new() });
        }
        self.inner.robots.lookup(self, url, load).await
    }

    /// How many robots.txt requests were made (each redirect hop counts).
    pub fn robots_fetched(&self) -> u64 {
        self.inner.robots.requests()
    }

    /// How many origins the robots.txt cache currently holds.
    pub fn robots_cached(&self) -> usize {
        self.inner.robots.len()
    }

    /// The estimated size of what the robots.txt cache currently holds, in bytes.
    pub fn robots_cached_bytes(&self) -> usize {
        self.inner.robots.bytes()
    }

    /// One GET, no redirects followed (the crawler follows them hop by hop through its frontier).
    /// Never fails: whatever went wrong is in [`Response::failure`].
    #[instrument(level = "debug", skip(self, url), fields(url = %url))]
    pub async fn fetch(&self, url: &Url) -> Response {
        let resp = self.get(url, self.inner.cfg.max_body_bytes).await;
        debug!(
            status = resp.status,
            wire_bytes = resp.wire_bytes,
            body_bytes = resp.body.len(),
            truncated = resp.truncated.map(tracing::field::debug),
            body_capped = resp.body_capped,
            elapsed_ms = resp.elapsed.as_secs_f64() * 1000.0,
            failure = resp.failure.as_ref().map(tracing::field::display),
            "fetched"
        );
        resp
    }

    /// The GET behind both [`Fetcher::fetch`] and robots.txt loading, with its own body cap.
    pub(crate) async fn get(&self, url: &Url, cap: u64) -> Response {
        let started = std::time::Instant::now();
        let mut out = Response::empty(url.clone(), SystemTime::now());
        let deadline = tokio::time::Instant::now() + self.timeout();
        self.get_into(&mut out, cap, started, deadline).await;
        out.elapsed = started.elapsed();
        out
    }

    async fn get_into(
        &self,
        out: &mut Response,
        cap: u64,
        started: std::time::Instant,
        deadline: tokio::time::Instant,
    ) {
        let url = out.url.clone();
        if !matches!(url.scheme(), "http" | "https") {
            out.failure = Some(FetchFailure::Other(format!("unsupported scheme {:?}", url.scheme())));
            return;
        }
        if !self.inner.cfg.allow_private_networks
            && let Err(refused) = address::check_url(&url)
        {
            out.failure = Some(FetchFailure::Refused(refused.to_string()));
            return;
        }
        let request = self
            .inner
            .client
            .get(url.clone())
            .header(header::USER_AGENT, self.inner.user_agent.clone())
            .header(header::ACCEPT, HeaderValue::from_static(ACCEPT))
            .header(header::ACCEPT_ENCODING, HeaderValue::from_static(ACCEPT_ENCODING));
        let mut resp = match timeout_at(deadline, request.send()).await {
            Err(_elapsed) => {
                out.failure = Some(FetchFailure::Timeout);
                return;
            }
            Ok(Err(e)) => {
                let limit = self.inner.cfg.max_header_bytes;
                out.failure = Some(if is_head_too_large(&e) {
                    FetchFailure::HeadTooLarge { limit }
                } else {
                    classify_send_error(&e)
                });
                return;
            }
            Ok(Ok(resp)) => resp,
        };
        // reqwest hands the response over as soon as its head is parsed.
        out.ttfb = Some(started.elapsed());
        let limit = self.inner.cfg.max_header_bytes;
        if header_bytes(resp.headers()) > limit {
            // Dropping the response unread closes the connection: the body is never read.
            out.failure = Some(FetchFailure::HeadTooLarge { limit });
            return;
        }

        let status = resp.status();
        let version = resp.version();
        let headers = resp.headers();
        out.status = Some(status.as_u16());
        out.content_type =
            headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if status.is_redirection() {
            out.location = headers.get(header::LOCATION).and_then(|v| resolve_location(&url, v));
        }
        out.retry_after =
            headers.get(header::RETRY_AFTER).and_then(|v| parse_retry_after(v.as_bytes(), SystemTime::now()));
        let request_head = request_head(&url, version, &self.inner.user_agent);
        let response_head = response_head(version, status, headers);
        let codings = body::content_codings(headers);
        let remote_ip = resp.remote_addr().map(|addr| addr.ip());

        let raw = body::read_capped(&mut resp, cap, deadline).await;
        // Dropping an unfinished body closes the connection rather than draining the rest of it.
        drop(resp);
        out.wire_bytes = raw.wire_bytes;
        out.truncated = match &raw.failure {
            _ if raw.truncated => Some(Truncation::Length),
            Some(FetchFailure::Timeout) => Some(Truncation::Time),
            Some(_) => Some(Truncation::Disconnect),
            None => None,
        };
        out.body_capped = raw.truncated;
        out.failure = raw.failure;
        let input_cut = raw.truncated || out.failure.is_some();

        out.body = match codings {
            Some(codings) if !codings.is_empty() => {
                let encoded = raw.bytes.clone();
                let decoded =
                    tokio::task::spawn_blocking(move || body::decode(&encoded, &codings, cap, input_cut)).await;
                match decoded {
                    Ok(Ok(decoded)) => {
                        out.body_capped |= decoded.truncated;
                        decoded.body
                    }
                    Ok(Err(why)) => {
                        // A timeout or broken body already explains a bad tail; keep that as the cause.
                        out.failure.get_or_insert(FetchFailure::Decode(why));
                        Bytes::new()
                    }
                    Err(join_err) => {
                        warn!(url = %url, error = %join_err, "body decoder crashed");
                        out.failure.get_or_insert(FetchFailure::Decode("decoder crashed".to_owned()));
                        Bytes::new()
                    }
                }
            }
            // No coding, or one we do not know: the body is passed on as it came.
            _ => raw.bytes.clone(),
        };
        out.exchange = Some(Exchange { request_head, response_head, raw_body: raw.bytes, remote_ip });
    }
}

/// Bytes of a header map as sent on HTTP/1: each name and value, `: ` and CRLF.
fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

/// Whether hyper gave up on a response head too large for its buffer (or the HTTP/2 header list limit).
fn is_head_too_large(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_parse_too_large) {
            return true;
        }
        source = cause.source();
    }
    false
}

fn classify_send_error(e: &reqwest::Error) -> FetchFailure {
    if let Some(refused) = address::refusal_in(e) {
        FetchFailure::Refused(refused.to_string())
    } else if is_connect_failure(e) {
        FetchFailure::Connect(error_text(e))
    } else if e.is_timeout() {
        FetchFailure::Timeout
    } else if e.is_builder() {
        FetchFailure::Other(error_text(e))
    } else {
        // Connected, then the connection broke or the peer spoke something other than HTTP before a head
        // arrived: that URL failed, the host is there.
        FetchFailure::Request(error_text(e))
    }
}

/// A duration in nanoseconds, saturated (about 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Whether no connection could be made at all (DNS, refused, connect timeout, TLS handshake): the one
/// kind of failure that says the host is unreachable. reqwest marks errors of its connector `is_connect`;
/// an io error of a connect kind anywhere in the chain counts too, whatever layer reported it.
fn is_connect_failure(e: &reqwest::Error) -> bool {
    use std::io::ErrorKind;
    if e.is_connect() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionRefused | ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable
            )
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The causes under reqwest's generic "error sending request for url (..)", joined: short and URL-free.
pub(crate) fn error_text(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    let mut text = if parts.is_empty() { e.to_string() } else { parts.join(": ") };
    if text.len() > MAX_ERROR_TEXT {
        let mut end = MAX_ERROR_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn resolve_location(base: &Url, value: &HeaderValue) -> Option<Url> {
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    base.join(text).ok()
}

/// The first product token of a User-Agent ("crawld/0.1 (+..)" gives "crawld"): the robots.txt group name.
fn product_token(user_agent: &str) -> String {
    user_agent.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

fn version_text(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

/// The request as sent. hyper speaks HTTP/1.1 on h1 connections whatever the server answers with, and
/// adds Host only with a non-default port, as here.
fn request_head(url: &Url, response_version: Version, user_agent: &HeaderValue) -> Vec<u8> {
    let version = if response_version == Version::HTTP_2 || response_version == Version::HTTP_3 {
        version_text(response_version)
    } else {
        "HTTP/1.1"
    };
    let target = &url[Position::BeforePath..Position::AfterQuery];
    let host = url.host_str().unwrap_or_default();
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(format!("GET {target} {version}\r\nHost: {host}\r\nUser-Agent: ").as_bytes());
    head.extend_from_slice(user_agent.as_bytes());
    head.extend_from_slice(format!("\r\nAccept: {ACCEPT}\r\nAccept-Encoding: {ACCEPT_ENCODING}\r\n\r\n").as_bytes());
    head
}

/// The response head rebuilt from what hyper parsed: hyper keeps neither the reason phrase (unless
/// non-canonical, and reqwest hides that) nor header-name case, so both are the conventional ones.
fn response_head(version: Version, status: StatusCode, headers: &HeaderMap) -> Vec<u8> {
    let mut head = Vec::with_capacity(512);
    let reason = status.canonical_reason().unwrap_or("");
    head.extend_from_slice(format!("{} {} {reason}\r\n", version_text(version), status.as_u16()).as_bytes());
    for (name, value) in headers {
        // The archived body is de-chunked, so a chunked framing header would make replay tools
        // misread it. Everything else is kept as sent.
        if name == reqwest::header::TRANSFER_ENCODING {
            continue;
        }
        head.extend_from_slice(title_case(name.as_str()).as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn product_tokens() {
        assert_eq!(product_token("crawld/0.1 (+https://example.com/crawler)"), "crawld");
        assert_eq!(product_token("  My_Bot-2 extra"), "My_Bot-2");
        assert_eq!(product_token("(weird)"), "");
    }

    #[test]
    fn heads() {
        let url = Url::parse("http://example.com:8080/a/b?q=1#frag").unwrap();
        let ua = HeaderValue::from_static("crawld/0.1");
        let head = String::from_utf8(request_head(&url, Version::HTTP_10, &ua)).unwrap();
        assert_eq!(
            head,
            "GET /a/b?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: crawld/0.1\r\n\
             Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n"
        );
        let url = Url::parse("https://example.com/").unwrap();
        let head = String::from_utf8(request_head(&url, Version::HTTP_2, &ua)).unwrap();
        assert!(head.starts_with("GET / HTTP/2\r\nHost: example.com\r\n"), "{head}");

        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.insert("x-custom-thing", HeaderValue::from_static("1"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        let head = String::from_utf8(response_head(Version::HTTP_11, StatusCode::NOT_FOUND, &headers)).unwrap();
        assert_eq!(head, "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nX-Custom-Thing: 1\r\n\r\n");
    }

    #[test]
    fn bad_config_is_rejected() {
        let cfg = FetchConfig { user_agent: "bad\nagent".into(), ..FetchConfig::default() };
        assert!(matches!(Fetcher::new(cfg), Err(FetchError::Config(_))));
        let cfg = FetchConfig { max_header_bytes: 0, ..FetchConfig::default() };
        assert!(matches!(Fetcher::new(cfg), Err(FetchError::Config(_))));
        let cfg = FetchConfig { robots_cache_size: 0, ..FetchConfig::default() };
        assert!(matches!(Fetcher::new(cfg), Err(FetchError::Config(_))));
        let cfg = FetchConfig { timeout: Duration::ZERO, ..FetchConfig::default() };
        assert!(matches!(Fetcher::new(cfg), Err(FetchError::Config(_))));
    }
}
