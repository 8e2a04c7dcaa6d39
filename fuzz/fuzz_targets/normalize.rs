//! URL normalization on arbitrary input: no panic, and normalizing is idempotent (the normalized form
//! parses back to a URL with the same normalized form and fingerprint).
#![no_main]

use crawld_extract::{fingerprint, normalize};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(url) = Url::parse(text) else { return };
    if !matches!(url.scheme(), "http" | "https") {
        return;
    }
    let once = normalize(&url);
    let again = Url::parse(&once).expect("a normalized URL parses");
    assert_eq!(normalize(&again), once, "{text:?}");
    assert_eq!(fingerprint(&again), fingerprint(&url), "{text:?}");
});
