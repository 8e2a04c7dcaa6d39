//! Politeness of robots.txt itself (defect 4): a refetch after the cached copy went is paced like any
//! other request of the host.

use std::time::Duration;

use crate::support::site::gaps;
use crate::support::{Page, Site, config, crawl};

/// Regression: when a host's robots.txt had left the cache (expired, or evicted as here by a cache of
/// one origin), the ordinary lease that fetched it again went on to its page at once, back-to-back
/// with robots.txt. Now the page waits for the host's delay after robots.txt, as after any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robots_txt_refetch_is_followed_by_the_hosts_delay() {
    let b = Site::start("127.0.0.2", []).await;
    let b_pages: Vec<String> = (1..=4).map(|i| b.url(&format!("/b{i}"))).collect();
    let mut links: Vec<&str> = vec!["/a1", "/a2", "/a3", "/a4"];
    links.extend(b_pages.iter().map(String::as_str));
    let a = Site::start("127.0.0.1", [("/", Page::links(&links))]).await;
    for site in [&a, &b] {
        site.route("/robots.txt", Page::typed("text/plain", "User-agent: *\nDisallow: /nothing\n"));
        site.route_prefix("/", Page::links(&[]));
    }
    let (mut config, _dir) = config(&[a.url("/")]);
    config.scope.allowed_hosts = vec![a.addr.to_string(), b.addr.to_string()];
    let delay = Duration::from_millis(150);
    config.politeness.delay = delay;
    config.politeness.per_host_concurrency = 1.try_into().unwrap();
    // One origin in the cache: once B's robots.txt is read, A's has to be fetched again.
    config.fetch.robots_cache_size = 1.try_into().unwrap();
    let out = crawl(config).await;
    assert_eq!(out.lines.len(), 9);
    assert!(a.count("/robots.txt") >= 2, "A's robots.txt fetched again: {:?}", a.paths());
    for site in [&a, &b] {
        let hits = site.hits();
        for (gap, path) in gaps(&hits) {
            // A little slack for the clock of the test site against crawld's.
            assert!(gap + Duration::from_millis(10) >= delay, "{gap:?} before {path}: {:?}", site.paths());
        }
    }
}
