//! Scope rules and trap guards.

use crate::support::{Page, Site, config, crawl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_hosts_are_followed_only_when_in_scope() {
    let other = Site::start("127.0.0.3", [("/", Page::links(&[])), ("/x", Page::links(&[]))]).await;
    let links = [other.url("/"), "/local".to_owned(), "/skip/me".to_owned(), "/keep/me".to_owned()];
    let links: Vec<&str> = links.iter().map(String::as_str).collect();
    let home = Site::start("127.0.0.2", [("/", Page::links(&links)), ("/local", Page::links(&[]))]).await;

    // Default scope: the seeds' hosts only.
    let (config_default, _d1) = config(&[home.url("/")]);
    let out = crawl(config_default).await;
    assert!(out.has(&home.url("/local")));
    assert!(!out.has(&other.url("/")));
    assert_eq!(other.hits().len(), 0, "nothing requested from an out-of-scope host");

    // Allowing the other host, and excluding a path pattern.
    let skipped_before = home.count("/skip/me");
    let (mut config, _d2) = config(&[home.url("/")]);
    config.scope.allowed_hosts = vec![home.addr.to_string(), other.addr.to_string()];
    config.scope.exclude = vec![crawld::config::Pattern(regex::Regex::new("/skip/").unwrap())];
    let out = crawl(config).await;
    assert_eq!(out.page(&other.url("/"))["status"], 200);
    assert!(out.has(&home.url("/keep/me")));
    assert!(!out.has(&home.url("/skip/me")));
    assert_eq!(home.count("/skip/me"), skipped_before, "an excluded URL is never requested");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn include_patterns_limit_what_is_followed() {
    let site =
        Site::start("127.0.0.1", [("/", Page::links(&["/docs/a", "/blog/b"])), ("/docs/a", Page::links(&[]))]).await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.scope.include = vec![crawld::config::Pattern(regex::Regex::new("/docs/").unwrap())];
    let out = crawl(config).await;
    assert!(out.has(&site.url("/docs/a")));
    assert!(!out.has(&site.url("/blog/b")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traps_are_stopped_by_the_default_guards_and_limits() {
    // Every /cal/ page links one step deeper, /x/ pages link to ever-repeating paths, /long to a huge URL.
    let site = Site::start("127.0.0.1", [("/", Page::links(&["/cal/1", "/x/", "/long"]))]).await;
    for i in 1..200 {
        site.route(&format!("/cal/{i}"), Page::links(&[&format!("/cal/{}", i + 1)]));
    }
    let mut path = "/x/".to_owned();
    for _ in 0..10 {
        let next = format!("{path}x/");
        site.route(&path.clone(), Page::links(&[&next]));
        path = next;
    }
    let long = format!("/long?q={}", "a".repeat(3000));
    site.route("/long", Page::links(&[&long]));

    let (mut config, _dir) = config(&[site.url("/")]);
    config.crawl.max_depth = Some(6);
    let out = crawl(config).await;

    // max_depth: /cal/1 is depth 1, so /cal/6 is the deepest.
    assert!(out.has(&site.url("/cal/6")));
    assert!(!out.has(&site.url("/cal/7")));
    // max_repeated_segments = 3: /x/x/x/ is followed, /x/x/x/x/ is not.
    assert!(out.has(&site.url("/x/x/x/")));
    assert!(!out.has(&site.url("/x/x/x/x/")));
    // max_url_length = 2048: the 3000-byte URL is never requested.
    assert!(site.paths().iter().all(|p| p.len() < 2048));

    // max_pages stops the crawl however much is left, and says so.
    let (mut limited, _dir2) = crate::support::config(&[site.url("/")]);
    limited.crawl.max_pages = Some(5.try_into().unwrap());
    let (summary, out) = crate::support::crawl_to_the_end(limited).await;
    assert_eq!(out.lines.len(), 5);
    assert_eq!(summary.ending, crawld::Ending::Limit);
    let stats = out.stats();
    assert_eq!(stats["state"], "limit");
    assert!(stats["queued"].as_u64().unwrap() > 0, "{stats}");
}

/// Issue 10: a seed answering 302 to another host (example.org -> www.example.org) ended the crawl
/// after one page, with exit 0 and nothing said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_that_redirects_to_another_host_brings_that_host_into_scope() {
    let other = Site::start("127.0.0.4", [("/", Page::links(&[])), ("/x", Page::links(&[]))]).await;
    let www =
        Site::start("127.0.0.3", [("/a", Page::links(&[])), ("/hop", Page::redirect(302, &other.url("/x")))]).await;
    www.route("/", Page::links(&["/a", "/hop", &other.url("/")]));
    let apex = Site::start("127.0.0.2", [("/", Page::redirect(302, &www.url("/")))]).await;

    let (config_default, _d1) = config(&[apex.url("/")]);
    let out = crawl(config_default).await;
    let home = out.page(&www.url("/"));
    assert_eq!((home["status"].as_u64(), home["depth"].as_u64()), (Some(200), Some(1)));
    assert_eq!(out.page(&www.url("/a"))["status"], 200);
    // Only a seed's redirects widen the scope: a link, or a redirect of a linked page, does not.
    assert_eq!(out.page(&www.url("/hop"))["redirect"], other.url("/x"));
    assert_eq!(other.hits().len(), 0);
    let stats = out.stats();
    assert_eq!(stats["out_of_scope"]["host"], 2, "{stats}");

    // Turned off, the target is out of scope, counted as such, and nothing of www is fetched.
    let fetched_before = www.hits().len();
    let (mut config, _d2) = config(&[apex.url("/")]);
    config.scope.seed_redirects_join_scope = false;
    let out = crawl(config).await;
    assert_eq!(out.urls(), [apex.url("/")]);
    assert_eq!(www.hits().len(), fetched_before);
    let stats = out.stats();
    assert_eq!((stats["out_of_scope"]["host"].as_u64(), stats["status_2xx"].as_u64()), (Some(1), Some(0)));
}

/// Regression: the scope ignored ports, so a seed's host on any other port (another server, another
/// site) was crawled; now the default scope is the seed's site: its own port, and the default ports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_port_of_a_seed_host_is_another_site() {
    let second = Site::start("127.0.0.5", [("/", Page::links(&[])), ("/x", Page::links(&[]))]).await;
    let links = [second.url("/x"), "/local".to_owned()];
    let links: Vec<&str> = links.iter().map(String::as_str).collect();
    let first = Site::start("127.0.0.5", [("/", Page::links(&links)), ("/local", Page::links(&[]))]).await;

    let (config_default, _d1) = config(&[first.url("/")]);
    let out = crawl(config_default).await;
    assert_eq!(out.page(&first.url("/local"))["status"], 200, "the seed's own port stays in scope");
    assert!(!out.has(&second.url("/x")));
    assert_eq!(second.hits().len(), 0, "nothing requested from the seed host's other port");
    assert_eq!(out.stats()["out_of_scope"]["host"], 1);

    // Listed with their ports, both are in scope.
    let (mut config, _d2) = config(&[first.url("/")]);
    config.scope.allowed_hosts = vec![second.addr.to_string(), first.addr.to_string()];
    let out = crawl(config).await;
    assert_eq!(out.page(&second.url("/x"))["status"], 200);
    assert_eq!(second.paths(), ["/robots.txt", "/x"]);
}
