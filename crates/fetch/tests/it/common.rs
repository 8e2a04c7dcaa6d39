use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use crawld_fetch::{FetchConfig, Fetcher};
use url::Url;

pub const UA: &str = "crawld/0.1 (+https://example.com/crawler)";

/// Serves `router` on a fresh loopback port for the rest of the test.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

pub fn config() -> FetchConfig {
    FetchConfig {
        user_agent: UA.to_owned(),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        max_body_bytes: 1024 * 1024,
        respect_robots: true,
        max_crawl_delay: Duration::from_secs(10),
        robots_cache_size: 10_000,
        robots_cache_bytes: 64 * 1024 * 1024,
        robots_ttl: crawld_fetch::MAX_ROBOTS_TTL,
        max_header_bytes: 64 * 1024,
        // The test servers are on loopback.
        allow_private_networks: true,
        robots_redirect_delay: Duration::ZERO,
    }
}

pub fn fetcher() -> Fetcher {
    Fetcher::new(config()).unwrap()
}

pub fn url(addr: SocketAddr, path: &str) -> Url {
    Url::parse(&format!("http://{addr}{path}")).unwrap()
}

/// A port that was just free: nothing listens on it.
pub async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}
