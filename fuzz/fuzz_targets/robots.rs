//! Arbitrary bytes as a robots.txt, with an arbitrary path asked about: crawld's reading of it (the
//! lines the parser would reject left out, then the rules) must not panic, must give a verdict, a
//! Crawl-delay within its cap, and only http(s) Sitemap URLs, a bounded number of them.
#![no_main]

use std::time::Duration;

use crawld_fetch::RobotsVerdict;
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    // The first line is the path asked about; the rest is the file.
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b"/"[..], data),
    };
    let path = String::from_utf8_lossy(head);
    let url = Url::parse("http://fuzz.example/")
        .and_then(|base| base.join(&path))
        .unwrap_or_else(|_| Url::parse("http://fuzz.example/x").expect("a valid URL"));
    let (verdict, sitemaps) = crawld_fetch::fuzzing::robots("crawld", body, &url);
    match verdict {
        RobotsVerdict::Allowed { crawl_delay } | RobotsVerdict::Disallowed { crawl_delay } => {
            assert!(crawl_delay.is_none_or(|d| d > Duration::ZERO && d <= Duration::from_secs(30)));
        }
        RobotsVerdict::Unavailable { .. } => panic!("a parsed file is never unavailable"),
    }
    assert!(sitemaps.len() <= 50);
    assert!(sitemaps.iter().all(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none()));
});
