//! HTTP fetching for crawld: one shared client, a per-origin robots.txt cache, capped streaming bodies with
//! content decoding, and the bounded task pool the scheduler fills.
//!
//! # Main types and how data moves
//!
//! - [`Fetcher`] (built from a [`FetchConfig`], cheap to clone) owns the single `reqwest` client and the
//!   robots.txt cache. The scheduler asks [`Fetcher::robots`] for a [`RobotsVerdict`] before queueing a URL's
//!   fetch; the first question about an origin fetches its `/robots.txt` once, everyone else waits for or
//!   reuses that answer. [`Fetcher::robots_lookup`] lets a caller forbid the fetch ([`RobotsLoad::Never`]):
//!   a request running beside others of its host must not read robots.txt again.
//! - [`Fetcher::fetch`] sends one GET (no redirects followed), streams the body up to `max_body_bytes`,
//!   decodes gzip/deflate/br, and returns a [`Response`]. It never returns an error: connect failures,
//!   timeouts and broken bodies are a [`FetchFailure`] inside the response, next to whatever did arrive.
//!   [`Response::retry`] says whether another attempt is worthwhile, and [`Response::exchange`] carries the
//!   request/response heads and the still-encoded body for the WARC writer.
//! - [`FetchPool`] runs fetch tasks concurrently up to a capacity the scheduler can retune live; it hands
//!   back results in completion order and drains with a grace period on shutdown.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use crawld_fetch::{FetchConfig, FetchPool, Fetcher, Retry, RobotsVerdict};
//!
//! # async fn crawl() -> Result<(), crawld_fetch::FetchError> {
//! let fetcher = Fetcher::new(FetchConfig {
//!     user_agent: "crawld/0.1 (+https://example.com/crawler)".into(),
//!     ..FetchConfig::default()
//! })?;
//! let mut pool = FetchPool::new(16);
//! let url = url::Url::parse("https://example.com/").expect("valid URL");
//! if let RobotsVerdict::Allowed { crawl_delay } = fetcher.robots(&url).await {
//!     let _ = crawl_delay; // the scheduler's per-host politeness uses this
//!     let f = fetcher.clone();
//!     pool.spawn(async move { f.fetch(&url).await });
//! }
//! while let Some(Ok(resp)) = pool.join_next().await {
//!     match (resp.failure.as_ref(), resp.retry()) {
//!         (None, _) => println!("{} {:?} {} bytes", resp.url, resp.status, resp.body.len()),
//!         (Some(why), Retry::After(wait)) => println!("{}: {why}; retry after {wait:?}", resp.url),
//!         (Some(why), Retry::No) => println!("{}: {why}; giving up", resp.url),
//!     }
//! }
//! let _leftovers = pool.drain(Duration::from_secs(5)).await;
//! # Ok(())
//! # }
//! ```

mod address;
mod body;
mod client;
mod pool;
mod response;
mod robots;
mod tls;

pub use client::{ACCEPT, ACCEPT_ENCODING, FetchConfig, FetchError, Fetcher};
pub use pool::FetchPool;
pub use response::{Exchange, FetchFailure, MAX_RETRY_AFTER, Response, Retry, Truncation};
pub use robots::{MAX_ROBOTS_TTL, RobotsLoad, RobotsLookup, RobotsVerdict};

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// robots.txt as crawld reads it, without the network: the verdict for `url` (Crawl-delay capped at
    /// 30 s) and the Sitemap URLs (relative ones resolved against `http://robots.invalid/`).
    pub fn robots(agent: &str, body: &[u8], url: &url::Url) -> (crate::RobotsVerdict, Vec<url::Url>) {
        crate::robots::read_offline(agent, body, url)
    }
}
