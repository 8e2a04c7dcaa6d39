//! Breadth-first honesty: every page is recorded at its true shortest link depth.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::support::{Page, Site, config, crawl};

/// Shortest link distance of every path from "/", computed from the site's own link table.
fn bfs_depths(graph: &[(&str, &[&str])]) -> HashMap<String, u64> {
    let links: HashMap<&str, &[&str]> = graph.iter().copied().collect();
    let mut depth = HashMap::from([("/".to_owned(), 0)]);
    let mut queue = VecDeque::from(["/"]);
    while let Some(path) = queue.pop_front() {
        for &next in links.get(path).copied().unwrap_or(&[]) {
            if !depth.contains_key(next) {
                depth.insert(next.to_owned(), depth[path] + 1);
                queue.push_back(next);
            }
        }
    }
    depth
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_linked_at_depth_2_and_again_at_depth_5_is_recorded_at_depth_2() {
    // "/target" is two links from the seed through a slow page, and three and five links away through
    // fast ones; a crawler that records pages in arrival order would see the deep copies first.
    let graph: &[(&str, &[&str])] = &[
        ("/", &["/short", "/l1"]),
        ("/short", &["/target"]),
        ("/l1", &["/l2"]),
        ("/l2", &["/l3", "/target"]),
        ("/l3", &["/l4"]),
        ("/l4", &["/target"]),
        ("/target", &["/after"]),
        ("/after", &[]),
    ];
    let site = Site::start("127.0.0.1", graph.iter().map(|&(path, links)| (path, Page::links(links)))).await;
    // Slow enough that /l1 and /l2 are fetched meanwhile, even on a loaded machine.
    site.route("/short", Page::links(&["/target"]).delay(Duration::from_millis(1500)));
    let (config, _dir) = config(&[site.url("/")]);
    let out = crawl(config).await;

    let target = out.page(&site.url("/target"));
    assert_eq!(target["depth"], 2);
    assert_eq!(target["parent"], site.url("/short"));
    let recorded = out.depths();
    for (path, depth) in bfs_depths(graph) {
        assert_eq!(recorded[&site.url(&path)], depth, "depth of {path}");
    }
    // /l2 was fetched before /short finished and found /target at depth 3 first: the frontier lowered it.
    assert!(out.stats()["links_lowered"].as_u64().unwrap() >= 1, "stats: {}", out.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depths_match_a_bfs_of_a_generated_site_across_hosts() {
    // 120 pages on two hosts, each linking to a few pseudo-random others, some slow.
    let a = Site::start("127.0.0.2", []).await;
    let b = Site::start("127.0.0.3", []).await;
    let n = 120usize;
    let url_of = |i: usize| if i.is_multiple_of(2) { a.url(&format!("/p{i}")) } else { b.url(&format!("/p{i}")) };
    let mut links: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let out: Vec<usize> = [(i * 7 + 1) % n, (i * 13 + 5) % n, (i * i + 3) % n].into_iter().collect();
        links.push(out);
    }
    for (i, outs) in links.iter().enumerate() {
        let hrefs: Vec<String> = outs.iter().map(|&j| url_of(j)).collect();
        let hrefs: Vec<&str> = hrefs.iter().map(String::as_str).collect();
        let mut page = Page::links(&hrefs);
        if i % 5 == 0 {
            page = page.delay(Duration::from_millis(60));
        }
        let site = if i % 2 == 0 { &a } else { &b };
        site.route(&format!("/p{i}"), page);
    }
    let (mut config, _dir) = config(&[url_of(0)]);
    config.scope.allowed_hosts = vec![a.addr.to_string(), b.addr.to_string()];
    let out = crawl(config).await;

    let mut expected: HashMap<usize, u64> = HashMap::from([(0, 0)]);
    let mut queue = VecDeque::from([0usize]);
    while let Some(i) = queue.pop_front() {
        let depth = expected[&i] + 1;
        for &j in &links[i] {
            if let std::collections::hash_map::Entry::Vacant(e) = expected.entry(j) {
                e.insert(depth);
                queue.push_back(j);
            }
        }
    }
    assert_eq!(out.lines.len(), expected.len(), "every reachable page once (robots.txt is not a page)");
    let recorded = out.depths();
    for (i, depth) in expected {
        assert_eq!(recorded[&url_of(i)], depth, "depth of page {i}");
    }
}
