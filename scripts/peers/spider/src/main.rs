//! spider-rs as a peer crawler for scripts/bench.sh: the `spider` library, not its CLI (whose output
//! channel drops pages on large sites). Crawls one site at concurrency 16, no delay, robots.txt off,
//! unlimited depth, same host, and prints the number of links it visited.
//!
//! Usage: spider-peer URL

use spider::website::Website;

#[tokio::main]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: spider-peer URL");
        std::process::exit(2);
    };
    let mut website = Website::new(&url);
    website
        .with_concurrency_limit(Some(16))
        .with_respect_robots_txt(false)
        .with_delay(0)
        .with_depth(0);
    website.crawl().await;
    println!("{}", website.get_links().len());
}
