//! Arbitrary bytes as a sitemap (plain or gzipped): the reader must not panic, must keep to its caps,
//! and must return only absolute http(s) URLs without fragments.
#![no_main]

use crawld_extract::{SitemapLimits, parse_sitemap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small caps, so that the fuzzer reaches them.
    let limits = SitemapLimits { max_bytes: 64 * 1024, max_entries: 16, max_loc_bytes: 512 };
    let sitemap = parse_sitemap(data, &limits);
    assert!(sitemap.urls.len() <= limits.max_entries);
    if sitemap.kind.is_none() {
        assert!(sitemap.urls.is_empty());
    }
    for url in &sitemap.urls {
        assert!(matches!(url.scheme(), "http" | "https"), "{url}");
        assert!(url.fragment().is_none() && url.host_str().is_some(), "{url}");
        assert!(url.as_str().len() <= 4 * limits.max_loc_bytes, "{url}");
    }
});
