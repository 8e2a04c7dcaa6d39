//! Guards against traps and hostile pages: real sites pass the defaults, and whatever a guard drops is
//! recorded on the page's line and counted in stats.json.

use std::collections::HashSet;

use serde_json::json;

use crate::support::{Content, Page, Site, config, crawl};

/// Regression (issue 5): index pages of real documentation sites hold thousands of links, and a
/// default cap of 1000 cut most of the site without a word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_page_of_20000_links_is_crawled_whole_with_the_default_guards() {
    let n = 20_000;
    let hrefs: Vec<String> = (0..n).map(|i| format!("/doc/{i}.html")).collect();
    let hrefs: Vec<&str> = hrefs.iter().map(String::as_str).collect();
    let site = Site::start("127.0.0.1", [("/", Page::links(&hrefs))]).await;
    site.route_prefix("/doc/", Page::html("<!doctype html><p>one documented item</p>"));
    let (mut config, _dir) = config(&[site.url("/")]);
    // Discovery is the point here; WARC has tests of its own.
    config.output.warc = false;
    let out = crawl(config).await;

    let index = out.page(&site.url("/"));
    assert_eq!(index["links"], n);
    assert!(index.get("dropped").is_none(), "{index}");
    let recorded: HashSet<String> = out.urls().into_iter().collect();
    assert_eq!(out.lines.len(), n + 1);
    for href in hrefs {
        assert!(recorded.contains(&site.url(href)), "{href} was crawled");
    }
    assert_eq!(out.stats()["dropped"]["links_over_cap"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_guard_drops_is_recorded_on_the_page_and_counted_in_stats() {
    let long = format!("/long?q={}", "a".repeat(3000));
    let site = Site::start("127.0.0.1", []).await;
    let elsewhere = "http://127.0.0.9:9/elsewhere";
    // The cap takes the first five unique links; /b and /c are past it.
    let links = [long.as_str(), "/x/y/x/y/x/y/x", "/r0", "/big", elsewhere, "/b", "/c", "/b"];
    site.route("/", Page::links(&links));
    site.route("/r0", Page::redirect(302, "/r1"));
    site.route("/r1", Page::redirect(302, "/r2"));
    site.route("/big", Page { body: Content::Stream(2 << 20), ..Page::typed("text/html", "") });
    let (mut config, _dir) = config(&[site.url("/")]);
    config.scope.max_links_per_page = 5;
    config.crawl.max_redirects = 1;
    config.fetch.max_body_bytes = (1u64 << 20).try_into().unwrap();
    let out = crawl(config).await;

    let root = out.page(&site.url("/"));
    assert_eq!(root["links"], 5);
    assert_eq!(root["dropped"], json!({"links_over_cap": 2, "url_too_long": 1, "repeated_segments": 1}));
    assert_eq!(out.page(&site.url("/r0"))["redirect"], site.url("/r1"));
    assert!(out.page(&site.url("/r0")).get("dropped").is_none());
    let r1 = out.page(&site.url("/r1"));
    assert_eq!(r1["dropped"], json!({"redirect_over_limit": 1}), "{r1}");
    assert!(!out.has(&site.url("/r2")) && site.count("/r2") == 0);
    assert_eq!(out.page(&site.url("/big"))["truncated"], "length");
    assert_eq!(site.count("/b") + site.count("/c") + site.count("/x/y/x/y/x/y/x"), 0);

    let stats = out.stats();
    assert_eq!(
        stats["dropped"],
        json!({"links_over_cap": 2, "url_too_long": 1, "repeated_segments": 1, "redirect_over_limit": 1})
    );
    assert_eq!(stats["truncated"], 1);
    assert_eq!(stats["out_of_scope"]["host"], 1);
}

/// Regression: response heads had no size bound of crawld's own (hyper's ~400 KB read buffer was the
/// only one, and its error was retried as if transient), and a `Location` of any length was resolved.
/// A head past `fetch.max_header_bytes` is now refused with an error on the page, once (so is a
/// 100 KB Location, by the same bound); a shorter Location past `scope.max_url_length` is not followed
/// and counted as `dropped.url_too_long`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_response_headers_are_refused_and_a_huge_location_is_dropped() {
    let site =
        Site::start("127.0.0.1", [("/", Page::links(&["/big-head", "/huge-head", "/far", "/long", "/ok"]))]).await;
    site.route("/big-head", Page::links(&[]).header("x-junk", &"a".repeat(200_000)));
    site.route("/huge-head", Page::links(&[]).header("x-junk", &"a".repeat(1 << 20)));
    site.route("/far", Page::redirect(302, &format!("/l?{}", "b".repeat(100_000))));
    site.route("/long", Page::redirect(302, &format!("/l?{}", "b".repeat(10_000))));
    site.route("/ok", Page::links(&[]));
    let (config, _dir) = config(&[site.url("/")]);
    let out = crawl(config).await;

    for path in ["/big-head", "/huge-head", "/far"] {
        let page = out.page(&site.url(path));
        assert_eq!(page["status"], serde_json::Value::Null, "{page}");
        let error = page["error"].as_str().unwrap();
        assert!(error.starts_with("response head too large"), "{error}");
        assert_eq!(page["attempts"], 1, "a head too large is not retried: {page}");
        assert_eq!(site.count(path), 1);
    }
    let long = out.page(&site.url("/long"));
    assert_eq!(long["status"], 302);
    assert!(long.get("redirect").is_none(), "{long}");
    assert_eq!(long["dropped"], json!({"url_too_long": 1}));
    assert!(site.paths().iter().all(|p| !p.starts_with("/l?")));
    assert_eq!(out.page(&site.url("/ok"))["status"], 200);
    assert_eq!(out.stats()["dropped"]["url_too_long"], 1);
}
