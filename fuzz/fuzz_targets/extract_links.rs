//! Arbitrary bytes as a page, with an arbitrary base URL: the extractor must not panic, must return only
//! http(s) URLs without fragments, unique by fingerprint and within the cap, and the fast path must
//! return no more links than the page can hold.
#![no_main]

use std::collections::HashSet;

use crawld_extract::{decode_html, extract_links, fingerprint};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    // The first line, when it parses, is the page's URL; the rest is the body.
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    let base = std::str::from_utf8(head)
        .ok()
        .and_then(|s| Url::parse(s).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| Url::parse("http://fuzz.example/dir/page.html").expect("a valid URL"));
    let html = decode_html(body, Some("text/html"));
    let cap = 64;
    let found = extract_links(&base, &html, cap);
    assert!(found.links.len() <= cap);
    let mut seen = HashSet::new();
    for link in &found.links {
        assert!(matches!(link.url.scheme(), "http" | "https"), "{}", link.url);
        assert!(link.url.fragment().is_none(), "{}", link.url);
        assert_eq!(link.fingerprint, fingerprint(&link.url));
        assert!(seen.insert(link.fingerprint), "duplicate {}", link.url);
    }
});
