//! Politeness of robots.txt itself (defect 4, issue 6): a refetch after the cached copy went is paced
//! like any other request of the host, and runs alone, as the host's first contact does.

use std::time::Duration;

use crate::support::site::{Hit, gaps};
use crate::support::{Page, Site, config, crawl, crawl_to_the_end};

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

/// Every robots.txt request of `site` ran alone: no other request of the site was in flight meanwhile.
/// Each one after the first started at least `delay` after the request before it ended.
fn assert_robots_txt_alone(site: &Site, delay: Duration) {
    let hits = site.hits();
    let robots: Vec<&Hit> = hits.iter().filter(|h| h.path == "/robots.txt").collect();
    for r in &robots {
        for h in hits.iter().filter(|h| !std::ptr::eq(*h, *r)) {
            assert!(
                h.finished <= r.started || h.started >= r.finished,
                "{} ran beside a robots.txt fetch: {:?}",
                h.path,
                site.paths()
            );
        }
        let before = hits.iter().filter(|h| h.finished <= r.started).map(|h| h.finished).max();
        if let Some(before) = before {
            // A little slack for the clock of the test site against crawld's.
            let gap = r.started.duration_since(before);
            assert!(gap + Duration::from_millis(10) >= delay, "robots.txt {gap:?} after the last request");
        }
    }
}

/// Issue 6: when a host's robots.txt expired, the ordinary lease that noticed fetched it again while the
/// host's other fetches (per_host_concurrency 3) were under way. Now the frontier gates the host when the
/// verdict expires: robots.txt is read again alone, after the host's delay, then the host opens up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robots_txt_refetch_runs_alone_on_its_host() {
    let pages: Vec<String> = (0..40).map(|i| format!("/p{i}")).collect();
    let hrefs: Vec<&str> = pages.iter().map(String::as_str).collect();
    let site = Site::start("127.0.0.1", [("/", Page::links(&hrefs))]).await;
    site.route(
        "/robots.txt",
        Page::typed("text/plain", "User-agent: *\nDisallow: /nothing\n").delay(Duration::from_millis(60)),
    );
    site.route_prefix("/p", Page::links(&[]).delay(Duration::from_millis(40)));
    let (mut config, _dir) = config(&[site.url("/")]);
    let delay = Duration::from_millis(20);
    config.politeness.delay = delay;
    config.politeness.per_host_concurrency = 3.try_into().unwrap();
    config.politeness.robots_ttl = Duration::from_millis(250);
    let out = crawl(config).await;
    assert_eq!(out.lines.len(), 41);
    assert!(site.count("/robots.txt") >= 3, "robots.txt read again as it expired: {:?}", site.paths());
    assert!(site.max_in_flight() > 1, "the host opened up between refetches");
    assert_robots_txt_alone(&site, delay);
}

/// A robots.txt cache smaller than the hosts at work evicts a host's copy while its fetches run: the
/// host is gated and reads robots.txt again, alone. An earlier attempt at that gate livelocked here
/// (each refetch evicted another host's copy before its page came up); the crawl must end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robots_cache_smaller_than_the_hosts_still_ends_with_refetches_alone() {
    let mut sites = Vec::new();
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        let site = Site::start(ip, []).await;
        let pages: Vec<String> = (0..8).map(|i| format!("/p{i}")).collect();
        let hrefs: Vec<&str> = pages.iter().map(String::as_str).collect();
        site.route("/", Page::links(&hrefs));
        site.route("/robots.txt", Page::typed("text/plain", "User-agent: *\nDisallow: /nothing\n"));
        site.route_prefix("/p", Page::links(&[]).delay(Duration::from_millis(20)));
        sites.push(site);
    }
    let seeds: Vec<String> = sites.iter().map(|s| s.url("/")).collect();
    let (mut config, _dir) = config(&seeds);
    config.politeness.per_host_concurrency = 2.try_into().unwrap();
    config.fetch.robots_cache_size = 1.try_into().unwrap();
    let (summary, out) = tokio::time::timeout(Duration::from_secs(30), crawl_to_the_end(config))
        .await
        .expect("no livelock: the crawl ends");
    assert_eq!(summary.ending, crawld::Ending::Complete);
    assert_eq!(out.lines.len(), 4 * 9);
    assert!(sites.iter().map(|s| s.count("/robots.txt")).sum::<usize>() > 4, "copies were evicted and read again");
    for site in &sites {
        assert_robots_txt_alone(site, Duration::ZERO);
    }
}

/// robots.txt that cannot be kept (a 500, or a request refused before it is made) expires at once. An
/// earlier attempt at the gate livelocked on it; such a host is gated for good, and the crawl still ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_that_expires_at_once_does_not_livelock() {
    let site =
        Site::start("127.0.0.6", [("/", Page::links(&["/a", "/b", "/c"])), ("/robots.txt", Page::status(500))]).await;
    site.route_prefix("/", Page::links(&[]));
    let (mut config, _dir) = config(&[site.url("/")]);
    config.politeness.per_host_concurrency = 3.try_into().unwrap();
    config.politeness.host_down_hold = Duration::from_millis(50);
    config.politeness.robots_ttl = Duration::from_millis(100);
    let (summary, out) = tokio::time::timeout(Duration::from_secs(30), crawl_to_the_end(config.clone()))
        .await
        .expect("no livelock on a 500");
    assert_eq!(out.lines.len(), 1, "the seed, recorded as robots.txt unavailable: {:?}", out.urls());
    assert!(summary.ending == crawld::Ending::Failed, "{:?}", summary.ending);
    assert_robots_txt_alone(&site, Duration::ZERO);

    // Loopback refused: robots.txt and the pages are refused unmade, the verdict kept for no time.
    let (mut config, _dir) = crate::support::config(&[site.url("/"), site.url("/a"), site.url("/b")]);
    config.politeness.per_host_concurrency = 3.try_into().unwrap();
    config.fetch.allow_private_networks = false;
    let (_, out) = tokio::time::timeout(Duration::from_secs(30), crawl_to_the_end(config))
        .await
        .expect("no livelock on a refused host");
    assert_eq!(out.lines.len(), 3);
}
