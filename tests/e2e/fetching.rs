//! What a fetch meets: redirects, errors, slow and huge pages, other content types, encodings.

use std::io::Write;
use std::time::Duration;

use crate::support::{Content, Page, Site, config, crawl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_hop_by_hop_recorded_and_loops_end() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/old", "/loop/a", "/chain/0"])),
            ("/old", Page::redirect(301, "/new")),
            ("/new", Page::links(&[])),
            ("/loop/a", Page::redirect(302, "/loop/b")),
            ("/loop/b", Page::redirect(302, "/loop/a")),
        ],
    )
    .await;
    for i in 0..6 {
        let to = format!("/chain/{}", i + 1);
        site.route(&format!("/chain/{i}"), Page::redirect(307, &to));
    }
    let (mut config, _dir) = config(&[site.url("/")]);
    config.crawl.max_redirects = 3;
    let out = crawl(config).await;

    let old = out.page(&site.url("/old"));
    assert_eq!((old["status"].as_u64(), old["redirect"].as_str()), (Some(301), Some(site.url("/new").as_str())));
    let new = out.page(&site.url("/new"));
    assert_eq!(new["depth"].as_u64(), old["depth"].as_u64().map(|d| d + 1), "a redirect is one hop");
    assert_eq!(new["parent"], site.url("/old"));
    // The loop ends: each URL once.
    assert_eq!((site.count("/loop/a"), site.count("/loop/b")), (1, 1));
    out.page(&site.url("/loop/a"));
    out.page(&site.url("/loop/b"));
    // max_redirects = 3: /chain/0 plus three hops.
    assert_eq!(site.paths().iter().filter(|p| p.starts_with("/chain/")).count(), 4);
    assert!(!out.has(&site.url("/chain/4")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_is_recorded_once_and_a_500_is_retried_then_recorded() {
    let site =
        Site::start("127.0.0.1", [("/", Page::links(&["/missing", "/broken"])), ("/broken", Page::status(500))]).await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.crawl.max_retries = 2;
    let out = crawl(config).await;

    assert_eq!(out.page(&site.url("/missing"))["status"], 404);
    assert_eq!(site.count("/missing"), 1, "a 404 is not retried");
    let broken = out.page(&site.url("/broken"));
    assert_eq!((broken["status"].as_u64(), broken["attempts"].as_u64()), (Some(500), Some(3)));
    assert_eq!(site.count("/broken"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_page_times_out_and_the_crawl_goes_on() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/slow", "/fine"])),
            ("/slow", Page::links(&[]).delay(Duration::from_secs(10))),
            ("/fine", Page::links(&[])),
        ],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.fetch.timeout = Duration::from_millis(400);
    config.crawl.max_retries = 0;
    let out = crawl(config).await;

    let slow = out.page(&site.url("/slow"));
    assert_eq!(slow["status"], serde_json::Value::Null);
    assert!(slow["error"].as_str().unwrap().contains("timed out"), "{slow}");
    assert_eq!(out.page(&site.url("/fine"))["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_page_is_capped_while_streaming() {
    let site = Site::start("127.0.0.1", [("/", Page::links(&["/huge"]))]).await;
    site.route("/huge", Page { body: Content::Stream(50 << 20), ..Page::typed("text/html", "") });
    let (mut config, _dir) = config(&[site.url("/")]);
    config.fetch.max_body_bytes = (1u64 << 20).try_into().unwrap();
    let out = crawl(config).await;

    let huge = out.page(&site.url("/huge"));
    assert_eq!(huge["truncated"], "length");
    let bytes = huge["bytes"].as_u64().unwrap();
    assert!((1 << 20..=(1 << 20) + (64 << 10)).contains(&bytes), "read {bytes} bytes of a 50 MB page");
    assert_eq!(huge["stored_bytes"], 1 << 20, "what is kept stops at the cap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_html_page_is_recorded_but_not_parsed() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/data.json", "/notes.txt"])),
            ("/data.json", Page::typed("application/json", r#"{"html": "<a href=\"/hidden1\">x</a>"}"#)),
            ("/notes.txt", Page::typed("text/plain", "<a href=\"/hidden2\">x</a>")),
        ],
    )
    .await;
    let (config, _dir) = config(&[site.url("/")]);
    let out = crawl(config).await;

    let data = out.page(&site.url("/data.json"));
    assert_eq!((data["status"].as_u64(), data["links"].as_u64()), (Some(200), Some(0)));
    assert_eq!(data["content_type"], "application/json");
    assert_eq!(out.page(&site.url("/notes.txt"))["links"], 0);
    assert_eq!(site.count("/hidden1") + site.count("/hidden2"), 0);
}

/// Regression: a body served as application/octet-stream was sniffed and, when it looked like HTML,
/// parsed for links. Only a missing or unknown Content-Type is sniffed (WHATWG MIME Sniffing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_missing_or_unknown_content_type_is_sniffed_for_html() {
    let html = |target: &str| format!("<html><body><a href=\"{target}\">x</a></body></html>");
    let untyped = Page { headers: Vec::new(), ..Page::typed("", html("/from-untyped")) };
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/binary", "/plain", "/untyped", "/unknown"])),
            ("/binary", Page::typed("application/octet-stream", html("/from-binary"))),
            ("/plain", Page::typed("text/plain; charset=utf-8", html("/from-plain"))),
            ("/untyped", untyped),
            ("/unknown", Page::typed("application/unknown", html("/from-unknown"))),
        ],
    )
    .await;
    site.route_prefix("/from-", Page::links(&[]));
    let (config, _dir) = config(&[site.url("/")]);
    let out = crawl(config).await;

    for page in ["/binary", "/plain"] {
        let line = out.page(&site.url(page));
        assert_eq!((line["status"].as_u64(), line["links"].as_u64()), (Some(200), Some(0)), "{line}");
    }
    assert_eq!(site.count("/from-binary") + site.count("/from-plain"), 0, "requests: {:?}", site.paths());
    assert_eq!(out.page(&site.url("/untyped"))["content_type"], serde_json::Value::Null);
    assert_eq!(out.page(&site.url("/from-untyped"))["status"], 200);
    assert_eq!(out.page(&site.url("/from-unknown"))["status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_page_is_decoded_for_links_and_archived_as_sent() {
    let html = "<html><body><a href=\"/from-gzip\">x</a></body></html>";
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(html.as_bytes()).unwrap();
    let gz = encoder.finish().unwrap();
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::typed("text/html", gz.clone()).header("content-encoding", "gzip")),
            ("/from-gzip", Page::links(&[])),
        ],
    )
    .await;
    let (config, _dir) = config(&[site.url("/")]);
    let out = crawl(config).await;

    assert_eq!(out.page(&site.url("/"))["links"], 1);
    assert_eq!(out.page(&site.url("/from-gzip"))["status"], 200);
    assert_eq!(out.page(&site.url("/"))["bytes"], gz.len() as u64, "bytes counts what came over the wire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_windows_1252_page_is_decoded_by_its_declared_charset() {
    // "café" in windows-1252 is 63 61 66 E9; decoded right, the link is /caf%C3%A9 (UTF-8, percent-encoded).
    let mut body = b"<html><head><meta charset=\"windows-1252\"></head><body><a href=\"/caf".to_vec();
    body.extend_from_slice(&[0xE9]);
    body.extend_from_slice(b"\">x</a></body></html>");
    let site =
        Site::start("127.0.0.1", [("/", Page::typed("text/html", body)), ("/caf%C3%A9", Page::links(&[]))]).await;
    let (config, _dir) = config(&[site.url("/")]);
    let out = crawl(config).await;

    assert_eq!(site.count("/caf%C3%A9"), 1, "requests: {:?}", site.paths());
    assert_eq!(out.page(&site.url("/caf%C3%A9"))["status"], 200);
}

/// Regression: a redirect to a URL that was waiting for a retry lowered it, a BFS level count leaked,
/// and the crawl ended "complete" without the pages behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_a_url_waiting_for_a_retry_does_not_end_the_crawl_early() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/p", "/q"])),
            ("/p", Page::redirect(301, "/x").delay(Duration::from_millis(300))),
            ("/q", Page::links(&["/x"])),
            ("/z", Page::links(&[])),
        ],
    )
    .await;
    site.route_sequence("/x", vec![Page::status(503), Page::links(&["/z"])]);
    let (mut config, _dir) = config(&[site.url("/")]);
    config.crawl.retry_backoff = Duration::from_secs(1);
    let out = crawl(config).await;

    assert!(out.has(&site.url("/z")), "requests: {:?}", site.paths());
    assert_eq!(out.page(&site.url("/x"))["depth"], 2);
    assert_eq!(out.stats()["queued"], 0);
}

/// Regression: a connection dropped before the response head was taken for a host that cannot be
/// reached, so one such URL held its whole host and the host's other pages were recorded unrequested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_whose_connection_drops_before_the_head_does_not_take_its_host_down() {
    let pages: Vec<String> = (0..8).map(|i| format!("/p{i}")).collect();
    let mut links = vec!["/drop"];
    links.extend(pages.iter().map(String::as_str));
    let site = Site::start("127.0.0.1", [("/", Page::links(&links)), ("/drop", Page::drop_connection())]).await;
    for page in &pages {
        site.route(page, Page::links(&[]).delay(Duration::from_millis(50)));
    }
    let (mut config, _dir) = config(&[site.url("/")]);
    config.politeness.per_host_concurrency = 1.try_into().unwrap();
    config.crawl.max_retries = 1;
    let out = crawl(config).await;

    for page in &pages {
        assert_eq!(out.page(&site.url(page))["status"], 200, "{page}: {}", out.page(&site.url(page)));
    }
    let dropped = out.page(&site.url("/drop"));
    assert_eq!((dropped["status"].as_u64(), dropped["attempts"].as_u64()), (None, Some(2)), "{dropped}");
    assert_eq!(site.count("/drop"), 0, "never answered");
    assert!(site.started("/drop"));
}
