//! Safe by default: a crawl refuses loopback and other non-public addresses unless told otherwise.

use crate::support::{Page, Site, config, crawl_to_the_end};

/// Item 10: with the default `fetch.allow_private_networks = false`, a crawl of a loopback site sends
/// it nothing (not even robots.txt) and records each refused URL with an error that says why and how
/// to allow it; the crawl fails, since no seed could be fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_config_refuses_a_loopback_site_and_records_why() {
    let site = Site::start("127.0.0.1", [("/", Page::links(&["/a"])), ("/a", Page::links(&[]))]).await;
    let by_name = format!("http://localhost:{}/", site.addr.port());
    let (mut config, _dir) = config(&[site.url("/"), by_name.clone()]);
    // The defaults, as a user gets them.
    config.fetch.allow_private_networks = crawld::Config::default().fetch.allow_private_networks;
    assert!(!config.fetch.allow_private_networks);
    let (summary, out) = crawl_to_the_end(config).await;

    assert!(site.hits().is_empty(), "the site saw no request: {:?}", site.paths());
    assert_eq!(summary.ending, crawld::Ending::Failed);
    let failure = summary.failure.unwrap();
    assert!(failure.contains("refused: 127.0.0.1 is a loopback address"), "{failure}");

    let line = out.page(&site.url("/"));
    assert_eq!(line["status"], serde_json::Value::Null);
    assert_eq!(line["attempts"], 1, "a refusal is not retried");
    let error = line["error"].as_str().unwrap();
    assert_eq!(
        error,
        "refused: 127.0.0.1 is a loopback address; non-public addresses are fetched only with \
         fetch.allow_private_networks = true"
    );
    // A name is checked on what it resolves to, and the address checked is the one connected to.
    let error = out.page(&by_name)["error"].as_str().unwrap();
    assert!(
        error.starts_with("refused: localhost resolves only to non-public addresses, such as a loopback"),
        "{error}"
    );
    assert_eq!(out.lines.len(), 2);
    let stats = out.stats();
    assert_eq!(stats["refused_private"], 2);
    assert_eq!(stats["no_response"], 0);
    assert_eq!(stats["robots_txt_archived"], 0);
}

/// The same site with loopback allowed explicitly, as every other test does, is crawled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowing_private_networks_explicitly_crawls_the_loopback_site() {
    let site = Site::start("127.0.0.1", [("/", Page::links(&["/a"])), ("/a", Page::links(&[]))]).await;
    let (config, _dir) = config(&[site.url("/")]);
    assert!(config.fetch.allow_private_networks);
    let (summary, out) = crawl_to_the_end(config).await;
    assert_eq!(summary.ending, crawld::Ending::Complete);
    assert_eq!(out.urls().len(), 2);
    assert_eq!(out.stats()["refused_private"], 0);
}
