//! Politeness: robots.txt first and obeyed, per-host concurrency, delays, and Retry-After.

use std::time::Duration;

use crate::support::site::gaps;
use crate::support::{Output, Page, Site, config, crawl};

const ROBOTS: &str = "\
User-agent: *
Disallow: /

User-agent: crawld
Disallow: /private
Allow: /private/open$
Disallow: /*.pdf$
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_is_fetched_first_and_obeyed_with_our_group_and_longest_match() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/robots.txt", Page::typed("text/plain", ROBOTS)),
            (
                "/",
                Page::links(&[
                    "/public",
                    "/private/secret",
                    "/private/open",
                    "/private/open/deeper",
                    "/doc.pdf",
                    "/doc.pdf?x=1",
                ]),
            ),
            ("/public", Page::links(&[])),
            ("/private/open", Page::links(&[])),
        ],
    )
    .await;
    let (config, _dir) = config(&[site.url("/")]);
    let out = crawl(config).await;

    let paths = site.paths();
    assert_eq!(paths.first().map(String::as_str), Some("/robots.txt"), "requests: {paths:?}");
    assert_eq!(site.count("/robots.txt"), 1);
    for allowed in ["/", "/public", "/private/open", "/doc.pdf?x=1"] {
        assert_eq!(site.count(allowed), 1, "{allowed} is allowed by the crawld group; requests: {paths:?}");
    }
    for blocked in ["/private/secret", "/private/open/deeper", "/doc.pdf"] {
        assert_eq!(site.count(blocked), 0, "{blocked} must not be requested");
        let page = out.page(&site.url(blocked));
        assert_eq!(page["status"], serde_json::Value::Null);
        assert_eq!(page["error"], "disallowed by robots.txt");
    }
    assert!(site.hits().iter().all(|h| h.user_agent.starts_with("crawld/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_concurrency_is_never_exceeded_and_is_used() {
    let slow = Duration::from_millis(80);
    let pages: Vec<String> = (0..24).map(|i| format!("/p{i}")).collect();
    let hrefs: Vec<&str> = pages.iter().map(String::as_str).collect();
    let a = Site::start("127.0.0.2", [("/", Page::links(&hrefs))]).await;
    let b = Site::start("127.0.0.3", [("/", Page::links(&hrefs))]).await;
    for site in [&a, &b] {
        for p in &pages {
            site.route(p, Page::links(&[]).delay(slow));
        }
    }
    let (mut config, _dir) = config(&[a.url("/"), b.url("/")]);
    config.politeness.per_host_concurrency = 3.try_into().unwrap();
    config.crawl.concurrency = 16.try_into().unwrap();
    let out = crawl(config).await;

    assert_eq!(out.lines.len(), 2 * 25);
    for site in [&a, &b] {
        assert_eq!(site.max_in_flight(), 3, "at most 3 at once per host, and 3 reached");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delay_separates_the_end_of_one_request_from_the_start_of_the_next() {
    let delay = Duration::from_millis(150);
    let site = Site::start("127.0.0.1", [("/", Page::links(&["/a", "/b", "/c", "/d"]))]).await;
    for p in ["/a", "/b", "/c", "/d"] {
        site.route(p, Page::links(&[]));
    }
    let (mut config, _dir) = config(&[site.url("/")]);
    config.politeness.delay = delay;
    config.politeness.per_host_concurrency = 1.try_into().unwrap();
    crawl(config).await;

    let hits = site.hits();
    assert_eq!(hits.len(), 6, "robots.txt and five pages");
    for (gap, path) in gaps(&hits) {
        assert!(gap >= delay, "{path} started {gap:?} after the request before it ended");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_delay_raises_the_delay_up_to_the_configured_ceiling() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/robots.txt", Page::typed("text/plain", "User-agent: *\nCrawl-delay: 60\n")),
            ("/", Page::links(&["/a", "/b"])),
            ("/a", Page::links(&[])),
            ("/b", Page::links(&[])),
        ],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.politeness.max_crawl_delay = Duration::from_millis(300);
    crawl(config).await;

    let hits = site.hits();
    assert_eq!(hits.len(), 4);
    for (gap, path) in gaps(&hits) {
        assert!(gap >= Duration::from_millis(300), "Crawl-delay (capped at 300 ms) kept: {gap:?} before {path}");
        assert!(gap < Duration::from_secs(5), "Crawl-delay capped by max_crawl_delay: {gap:?} before {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_pauses_the_whole_host_then_retries() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/busy", "/other1", "/other2"])),
            ("/busy", Page::status(429).header("retry-after", "1")),
            ("/other1", Page::links(&[])),
            ("/other2", Page::links(&[])),
        ],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.politeness.per_host_concurrency = 1.try_into().unwrap();
    config.crawl.max_retries = 1;
    let out = crawl(config).await;

    let hits = site.hits();
    let first_429 = hits.iter().position(|h| h.path == "/busy").unwrap();
    // Nothing of the host is requested for the Retry-After second after the 429.
    let next = &hits[first_429 + 1];
    let gap = next.started.duration_since(hits[first_429].finished);
    assert!(gap >= Duration::from_millis(950), "host paused after 429: next request after {gap:?}");
    assert_eq!(site.count("/busy"), 2, "one retry");
    let busy = out.page(&site.url("/busy"));
    assert_eq!((busy["status"].as_u64(), busy["attempts"].as_u64()), (Some(429), Some(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_with_retry_after_pauses_the_host_even_when_no_retry_is_left() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/down", "/next"])),
            ("/down", Page::status(503).header("retry-after", "1")),
            ("/next", Page::links(&[])),
        ],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.politeness.per_host_concurrency = 1.try_into().unwrap();
    config.crawl.max_retries = 0;
    let out = crawl(config).await;

    assert_eq!(out.page(&site.url("/down"))["status"], 503);
    let hits = site.hits();
    let down = hits.iter().position(|h| h.path == "/down").unwrap();
    let next = hits.iter().position(|h| h.path == "/next").unwrap();
    assert!(next > down, "requests: {:?}", site.paths());
    let gap = hits[next].started.duration_since(hits[down].finished);
    assert!(gap >= Duration::from_millis(950), "host paused for Retry-After: next request after {gap:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_robots_txt_holds_the_host_and_is_asked_again() {
    // robots.txt answers 503 twice, then recovers: the seed is retried and crawled, nothing is
    // requested before robots.txt is known.
    let site = Site::start("127.0.0.1", [("/", Page::links(&["/a"])), ("/a", Page::links(&[]))]).await;
    site.route_sequence("/robots.txt", vec![Page::status(503), Page::status(503), Page::typed("text/plain", "")]);
    let (mut config, _dir) = config(&[site.url("/")]);
    config.crawl.max_retries = 2;
    let out = crawl(config).await;
    assert_eq!(site.paths(), ["/robots.txt", "/robots.txt", "/robots.txt", "/", "/a"]);
    assert_eq!(out.page(&site.url("/"))["attempts"], 3);

    // A robots.txt that stays down: the URL is recorded with the reason, and never requested; with
    // no seed fetched, the crawl failed.
    let down = Site::start("127.0.0.2", [("/", Page::links(&[])), ("/robots.txt", Page::status(500))]).await;
    let (mut config, _dir) = crate::support::config(&[down.url("/")]);
    config.crawl.max_retries = 1;
    let (summary, out) = crate::support::crawl_to_the_end(config).await;
    assert_eq!(summary.ending, crawld::Ending::Failed);
    let page = out.page(&down.url("/"));
    assert_eq!((page["status"].as_u64(), page["error"].as_str()), (None, Some("robots.txt unavailable: 500")));
    assert_eq!(down.paths(), ["/robots.txt", "/robots.txt"]);
}

/// Regression: when a host's first URL was disallowed, its Crawl-delay was forgotten for the rest of
/// the crawl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_delay_holds_when_the_first_url_of_a_host_is_disallowed() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/robots.txt", Page::typed("text/plain", "User-agent: *\nCrawl-delay: 1\nDisallow: /private\n")),
            ("/", Page::links(&["/a", "/b"])),
            ("/a", Page::links(&[])),
            ("/b", Page::links(&[])),
        ],
    )
    .await;
    let (config, _dir) = config(&[site.url("/private/x"), site.url("/")]);
    let out = crawl(config).await;

    assert_eq!(out.page(&site.url("/private/x"))["error"], "disallowed by robots.txt");
    let hits: Vec<_> = site.hits().into_iter().filter(|h| h.path != "/robots.txt").collect();
    assert_eq!(hits.len(), 3);
    for (gap, path) in gaps(&hits) {
        assert!(gap >= Duration::from_secs(1), "Crawl-delay: 1 kept: {gap:?} before {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_stays_unreachable_is_held_and_its_other_urls_recorded_without_requests() {
    let down = Site::start("127.0.0.3", [("/robots.txt", Page::status(503))]).await;
    let links: Vec<String> = (0..20).map(|i| down.url(&format!("/p{i}"))).collect();
    let links: Vec<&str> = links.iter().map(String::as_str).collect();
    let home = Site::start("127.0.0.2", [("/", Page::links(&links))]).await;
    let (mut config, _dir) = config(&[home.url("/")]);
    config.scope.allowed_hosts = vec![home.addr.to_string(), down.addr.to_string()];
    config.crawl.max_retries = 1;
    config.politeness.host_down_hold = Duration::from_millis(300);
    let out = crawl(config).await;

    // One URL spent its two attempts on robots.txt and the host was held; its other URLs waited for
    // the end of the hold (their one retry), then a second URL spent its attempts too. The host stayed
    // down through the retries, so the other 18 were recorded without a request.
    assert_eq!(down.paths(), ["/robots.txt"; 4]);
    let errors: Vec<&str> = links.iter().map(|l| out.page(l)["error"].as_str().unwrap()).collect();
    assert_eq!(errors.iter().filter(|e| **e == "robots.txt unavailable: 503").count(), 2);
    let held = "host unreachable, not requested (robots.txt unavailable: 503)";
    assert_eq!(errors.iter().filter(|e| **e == held).count(), 18, "{errors:#?}");
    assert_eq!(out.stats()["host_down_skipped"], 18);
}

/// Regression: the URLs of a held host were recorded as unreachable, unrequested, even when the host
/// came back before the hold ended; now they wait for the end of the hold and are fetched then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_urls_of_a_held_host_are_fetched_when_it_comes_back() {
    // An address where nothing listens yet: connections are refused.
    let addr = std::net::TcpListener::bind("127.0.0.4:0").unwrap().local_addr().unwrap();
    let links: Vec<String> = (0..5).map(|i| format!("http://{addr}/p{i}")).collect();
    let links: Vec<&str> = links.iter().map(String::as_str).collect();
    let home = Site::start("127.0.0.2", [("/", Page::links(&links))]).await;
    let (mut config, _dir) = config(&[home.url("/")]);
    config.scope.allowed_hosts = vec![home.addr.to_string(), addr.to_string()];
    config.crawl.max_retries = 2;
    config.politeness.host_down_hold = Duration::from_secs(2);
    let out_dir = config.out.clone();
    let crawl = tokio::spawn(crawl(config));

    // The seed and the first URL of the dead host, which spent its attempts on refused connections.
    while Output::lines_in(&out_dir) < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let site = crate::support::Site::start_at(addr, [("/robots.txt", Page::status(404))]).await;
    site.route_prefix("/p", Page::links(&[]));
    let out = crawl.await.unwrap();

    let statuses: Vec<_> = links.iter().map(|l| out.page(l)["status"].as_u64()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == Some(200)).count(), 4, "{:#?}", out.lines);
    let first = links.iter().find(|l| out.page(l)["status"].is_null()).unwrap();
    assert!(out.page(first)["error"].as_str().unwrap().contains("connect failed"), "{}", out.page(first));
    assert_eq!(out.stats()["host_down_skipped"], 0);
}

/// Issue 10: a host stayed at one request at a time until its whole first page had finished, not
/// just until its robots.txt was known, so a slow first page held back the rest of the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosts_second_request_starts_while_its_slow_first_page_is_still_loading() {
    let site = Site::start(
        "127.0.0.1",
        [("/slow", Page::links(&[]).delay(Duration::from_millis(1500))), ("/next", Page::links(&[]))],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/slow"), site.url("/next")]);
    config.politeness.per_host_concurrency = 2.try_into().unwrap();
    let out = crawl(config).await;

    let hits = site.hits();
    assert_eq!(hits[0].path, "/robots.txt");
    let slow = hits.iter().find(|h| h.path == "/slow").unwrap();
    let next = hits.iter().find(|h| h.path == "/next").unwrap();
    assert!(next.started < slow.finished, "/next waited for /slow: {hits:#?}");
    assert!(next.started >= hits[0].finished, "nothing before robots.txt was known");
    assert_eq!(out.lines.len(), 2);
}

/// Run a crawl, and cancel it (as Ctrl-C does) once `ready` says so. Bounded, so that a crawl that
/// waits out its grace period (an hour here) fails the test instead of hanging it.
async fn crawl_until(config: crawld::Config, ready: impl Fn() -> bool) -> (crawld::CrawlSummary, Output) {
    let out = config.out.clone();
    let cancel = tokio_util::sync::CancellationToken::new();
    let crawl = tokio::spawn(crawld::run(config, cancel.clone()));
    let bound = tokio::time::Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(tokio::time::Instant::now() < bound, "the crawl got to the point of the test");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let summary = tokio::time::timeout_at(bound, crawl).await.expect("stopped without the grace period");
    (summary.unwrap().unwrap(), Output::read(&out))
}

/// Issue 10: a URL only waiting out its politeness delay is not in flight, and Ctrl-C does not wait
/// the grace period for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_for_urls_that_are_only_waiting_out_a_delay() {
    let site = Site::start("127.0.0.1", [("/", Page::links(&[]))]).await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.politeness.delay = Duration::from_secs(3600);
    config.output.shutdown_grace = Duration::from_secs(3600);
    let (summary, out) = crawl_until(config, || site.count("/robots.txt") == 1).await;

    assert_eq!(summary.ending, crawld::Ending::Stopped);
    assert_eq!(site.count("/"), 0, "the seed was still waiting out the delay after robots.txt");
    assert!(out.lines.is_empty());
    let stats = out.stats();
    assert_eq!((stats["state"].as_str(), stats["queued"].as_u64()), (Some("stopped"), Some(1)), "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_cut_short_by_the_grace_period_stays_queued_for_a_resume() {
    let site = Site::start(
        "127.0.0.1",
        [("/", Page::links(&["/slow"])), ("/slow", Page::links(&[]).delay(Duration::from_secs(30)))],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.output.shutdown_grace = Duration::from_millis(200);
    let (summary, out) = crawl_until(config.clone(), || site.started("/slow")).await;

    assert_eq!(summary.ending, crawld::Ending::Stopped);
    assert!(!out.has(&site.url("/slow")), "an abandoned fetch has no line");
    let stats = out.stats();
    assert_eq!((stats["abandoned"].as_u64(), stats["pages"].as_u64()), (Some(1), Some(1)), "{stats}");

    // Resumed, the crawl fetches it again, and records it once, at its depth.
    site.route("/slow", Page::links(&[]));
    let out = crawl(config).await;
    assert_eq!(out.page(&site.url("/slow"))["depth"], 1);
    assert_eq!(out.lines.len(), 2);
    assert_eq!(site.count("/"), 1, "the seed was done before the stop");
}

/// Regression: one rule the robots.txt parser rejects (here a pattern too large to compile) voided the
/// whole file, and the host was crawled as if it allowed everything. RFC 9309 §2.2: only that line goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_robots_txt_rule_does_not_void_the_others() {
    let robots = format!("User-agent: *\nDisallow: /{}$\nDisallow: /private\n", "ab".repeat(20_000));
    let site = Site::start(
        "127.0.0.1",
        [
            ("/robots.txt", Page::typed("text/plain", robots)),
            ("/", Page::links(&["/private/x", "/public"])),
            ("/private/x", Page::links(&[])),
            ("/public", Page::links(&[])),
        ],
    )
    .await;
    let (config, _dir) = config(&[site.url("/")]);
    let out = crawl(config).await;

    assert_eq!(site.count("/private/x"), 0, "requests: {:?}", site.paths());
    assert_eq!(out.page(&site.url("/private/x"))["error"], "disallowed by robots.txt");
    assert_eq!(out.page(&site.url("/public"))["status"], 200);
}

/// Regression (issue 6, defect 5): a URL waiting for its retry held its whole host until the backoff
/// ended; now the host's other URLs go on meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_waiting_for_its_retry_does_not_hold_its_host() {
    let site = Site::start(
        "127.0.0.1",
        [("/", Page::links(&["/flaky", "/a", "/b"])), ("/a", Page::links(&[])), ("/b", Page::links(&[]))],
    )
    .await;
    site.route_sequence("/flaky", vec![Page::status(500), Page::status(500), Page::links(&[])]);
    let (mut config, _dir) = config(&[site.url("/")]);
    config.politeness.per_host_concurrency = std::num::NonZeroUsize::MIN;
    config.crawl.max_retries = 2;
    config.crawl.retry_backoff = Duration::from_millis(1500);
    config.crawl.max_retry_backoff = Duration::from_secs(3);
    let out = crawl(config).await;

    assert_eq!(out.page(&site.url("/flaky"))["status"], 200);
    assert_eq!(out.page(&site.url("/flaky"))["attempts"], 3);
    let paths = site.paths();
    let first_retry = paths.iter().enumerate().filter(|(_, p)| *p == "/flaky").nth(1).map(|(i, _)| i).unwrap();
    for other in ["/a", "/b"] {
        let at = paths.iter().position(|p| p == other).unwrap();
        assert!(at < first_retry, "{other} waited for /flaky's retry: {paths:?}");
    }
}
