//! URL normalization: the canonical string the crawl deduplicates on.

use url::{Position, Url};

/// The dedup key of a URL: lowercase scheme and host (url crate already does), default port dropped,
/// fragment dropped, dot segments resolved, empty path -> "/", percent-encoded unreserved characters
/// (ALPHA / DIGIT / - . _ ~) decoded, remaining percent-escapes upper-cased hex. Query kept as is (order unchanged).
///
/// The `url` crate has already lower-cased the scheme and (for http/https) the host, dropped the
/// default port and resolved dot segments (including `%2e` forms) while parsing, so only the path's
/// percent-escapes and the fragment need work here.
pub fn normalize(url: &Url) -> String {
    let prefix = &url[..Position::BeforePath];
    let path = url.path();
    let mut out = String::with_capacity(url.as_str().len());
    out.push_str(prefix);
    if path.is_empty() && !url.cannot_be_a_base() {
        out.push('/');
    } else {
        push_normalized_escapes(&mut out, path);
    }
    if let Some(query) = url.query() {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// 128-bit fingerprint (xxh3_128) of normalize(url): what the frontier's seen-set stores.
pub fn fingerprint(url: &Url) -> u128 {
    let path = url.path();
    if !path.contains('%') && (!path.is_empty() || url.cannot_be_a_base()) {
        // Nothing for normalize to change: the URL up to its fragment is the key, with no copy made.
        return xxhash_rust::xxh3::xxh3_128(url[..Position::AfterQuery].as_bytes());
    }
    xxhash_rust::xxh3::xxh3_128(normalize(url).as_bytes())
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Copy `s`, decoding escapes of unreserved bytes and upper-casing the hex of the rest.
/// A `%` not followed by two hex digits is a literal the url crate let through; keep it.
fn push_normalized_escapes(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    // Copy unescaped runs as whole slices; every split point is an ASCII `%`, so
    // slicing stays on char boundaries.
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        let decoded = match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(&h), Some(&l)) => hex_val(h).zip(hex_val(l)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        let Some(v) = decoded else {
            i += 1;
            continue;
        };
        out.push_str(&s[run_start..i]);
        if is_unreserved(v) {
            out.push(char::from(v));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(v >> 4)]));
            out.push(char::from(HEX[usize::from(v & 0xF)]));
        }
        i += 3;
        run_start = i;
    }
    out.push_str(&s[run_start..]);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn normalize_table() {
        let cases = [
            ("HTTP://Example.COM:80/a/./b/../c?x=1#frag", "http://example.com/a/c?x=1"),
            ("http://e.com/%7Euser/%41%2f", "http://e.com/~user/A%2F"),
            ("https://e.com:443", "https://e.com/"),
            ("https://e.com:8443/", "https://e.com:8443/"),
            ("http://e.com:443/", "http://e.com:443/"),
            ("http://e.com", "http://e.com/"),
            // Query untouched: order, case of escapes and fragments-lookalikes stay.
            ("http://e.com/p?b=2&a=%7e#x", "http://e.com/p?b=2&a=%7e"),
            ("http://e.com/?", "http://e.com/?"),
            // Escapes of reserved/non-ASCII bytes stay escaped, hex upper-cased.
            ("http://e.com/%c3%a9/%3a", "http://e.com/%C3%A9/%3A"),
            // A literal '%' that is not an escape is kept.
            ("http://e.com/100%/x%zz", "http://e.com/100%/x%zz"),
            ("http://e.com/%4", "http://e.com/%4"),
            // Encoded dot segments are resolved by the parser.
            ("http://e.com/a/%2e%2E/b", "http://e.com/b"),
            ("http://e.com/a%2Eb", "http://e.com/a.b"),
            ("http://User:Pw@E.com:8080/x", "http://User:Pw@e.com:8080/x"),
            ("http://[::1]:80/", "http://[::1]/"),
            // Non-ASCII path characters are percent-encoded by the parser.
            ("http://e.com/é", "http://e.com/%C3%A9"),
            ("http://xn--bcher-kva.de/", "http://xn--bcher-kva.de/"),
            ("http://Bücher.DE/", "http://xn--bcher-kva.de/"),
        ];
        for (input, want) in cases {
            let url = Url::parse(input).unwrap();
            assert_eq!(normalize(&url), want, "input {input}");
            // The fingerprint's shortcut (no copy when there is nothing to normalize) hashes the same key.
            assert_eq!(fingerprint(&url), xxhash_rust::xxh3::xxh3_128(want.as_bytes()), "input {input}");
        }
        for input in ["mailto:a@b.c", "data:,hi%7e", "foo://Host", "foo:", "file:///tmp/%41", "http://e.com/a?b#c"] {
            let url = Url::parse(input).unwrap();
            assert_eq!(fingerprint(&url), xxhash_rust::xxh3::xxh3_128(normalize(&url).as_bytes()), "input {input}");
        }
    }

    #[test]
    fn normalize_is_idempotent() {
        for input in ["http://e.com/%7Euser/%41%2f?q=%7e", "https://e.com:443", "http://e.com/%c3%a9"] {
            let once = normalize(&Url::parse(input).unwrap());
            let twice = normalize(&Url::parse(&once).unwrap());
            assert_eq!(once, twice);
        }
    }

    #[test]
    fn non_http_urls_do_not_panic() {
        for input in ["mailto:a@b.c", "data:,hi%7e", "foo://Host", "file:///tmp/%41"] {
            let url = Url::parse(input).unwrap();
            let _ = normalize(&url);
        }
        assert_eq!(normalize(&Url::parse("foo://h").unwrap()), "foo://h/");
    }

    #[test]
    fn fingerprint_ignores_fragment_and_equivalent_forms() {
        let fp = |s: &str| fingerprint(&Url::parse(s).unwrap());
        assert_eq!(fp("http://e.com/a#one"), fp("http://e.com/a#two"));
        assert_eq!(fp("http://e.com/a"), fp("http://e.com/a#two"));
        assert_eq!(fp("HTTP://E.com:80/%7e"), fp("http://e.com/~"));
        assert_ne!(fp("http://e.com/a"), fp("http://e.com/b"));
        assert_ne!(fp("http://e.com/a?x=1&y=2"), fp("http://e.com/a?y=2&x=1"));
    }
}
