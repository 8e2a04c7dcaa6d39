//! Sitemaps (sitemaps.org 0.9): a `<urlset>` of page URLs, or a `<sitemapindex>` of further sitemaps,
//! plain or gzipped, read with caps on size and entries so that a hostile file costs a bounded amount.
//!
//! ```
//! use crawld_extract::{SitemapKind, SitemapLimits, parse_sitemap};
//!
//! let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
//! <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
//!   <url><loc>https://example.org/a?x=1&amp;y=2</loc><lastmod>2024-01-01</lastmod></url>
//!   <url><loc> https://example.org/b </loc></url>
//!   <url><loc>ftp://example.org/c</loc></url>
//! </urlset>"#;
//! let sitemap = parse_sitemap(xml, &SitemapLimits::default());
//! assert_eq!(sitemap.kind, Some(SitemapKind::UrlSet));
//! let urls: Vec<&str> = sitemap.urls.iter().map(|u| u.as_str()).collect();
//! assert_eq!(urls, ["https://example.org/a?x=1&y=2", "https://example.org/b"]);
//! assert_eq!(sitemap.unusable, 1);
//! ```

use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::Event;
use url::Url;

/// Bounds on what one sitemap may cost.
#[derive(Debug, Clone, Copy)]
pub struct SitemapLimits {
    /// Bytes of XML read at most, after gunzipping (sitemaps.org: 50 MB); the rest is ignored.
    pub max_bytes: usize,
    /// Entries taken at most (sitemaps.org: 50,000); the rest are counted in `over_cap`.
    pub max_entries: usize,
    /// Bytes of one `<loc>` at most; a longer one is unusable.
    pub max_loc_bytes: usize,
}

impl Default for SitemapLimits {
    fn default() -> Self {
        SitemapLimits { max_bytes: 50 * 1024 * 1024, max_entries: 50_000, max_loc_bytes: 8 * 1024 }
    }
}

/// What a sitemap is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SitemapKind {
    /// `<urlset>`: its entries are pages.
    UrlSet,
    /// `<sitemapindex>`: its entries are sitemaps.
    Index,
}

/// A sitemap, read.
#[derive(Debug, Clone, Default)]
pub struct Sitemap {
    /// `None`: the document is not a sitemap (another root element, not XML, empty).
    pub kind: Option<SitemapKind>,
    /// Absolute http(s) URLs of its `<loc>` entries, in document order, fragments removed, at most
    /// `max_entries`.
    pub urls: Vec<Url>,
    /// Entries past `max_entries`.
    pub over_cap: usize,
    /// Entries whose `<loc>` is not an absolute http(s) URL, or is too long.
    pub unusable: usize,
    /// The document was cut at `max_bytes`, or ended in an XML error: what came before is kept.
    pub cut: bool,
}

/// Whether a body looks like a sitemap rather than a page: gzip, or XML starting with `<?xml`,
/// `<urlset` or `<sitemapindex` (after a BOM and white space).
pub fn looks_like_sitemap(body: &[u8]) -> bool {
    if body.starts_with(&[0x1f, 0x8b]) {
        return true;
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(body.len());
    let head = &body[start..body.len().min(start + 64)];
    [&b"<?xml"[..], b"<urlset", b"<sitemapindex"].iter().any(|p| head.starts_with(p))
}

/// Reads a sitemap (gzipped or not). Never fails: what cannot be read is counted or ignored.
pub fn parse_sitemap(body: &[u8], limits: &SitemapLimits) -> Sitemap {
    let mut sitemap = Sitemap::default();
    let gunzipped;
    let xml = if body.starts_with(&[0x1f, 0x8b]) {
        let (bytes, cut) = gunzip(body, limits.max_bytes);
        sitemap.cut = cut;
        gunzipped = bytes;
        &gunzipped[..]
    } else if body.len() > limits.max_bytes {
        sitemap.cut = true;
        &body[..limits.max_bytes]
    } else {
        body
    };
    read_entries(xml, limits, &mut sitemap);
    sitemap
}

/// At most `max` bytes of a gzip stream (members one after the other), and whether it was cut or broken.
fn gunzip(body: &[u8], max: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(body).take(max as u64 + 1);
    let broken = decoder.read_to_end(&mut out).is_err();
    let over = out.len() > max;
    out.truncate(max);
    (out, broken || over)
}

/// Where the reader is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the root element.
    Prolog,
    /// Inside the root, outside an entry.
    Root,
    /// Inside `<url>` / `<sitemap>`.
    Entry,
    /// Inside the entry's `<loc>`.
    Loc,
}

fn read_entries(xml: &[u8], limits: &SitemapLimits, sitemap: &mut Sitemap) {
    let mut reader = Reader::from_reader(xml);
    let mut at = At::Prolog;
    // Element depth inside the root, so that a nested element of the same name is not an entry.
    let mut depth = 0usize;
    let mut loc = String::new();
    let mut loc_too_long = false;
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(_) => {
                sitemap.cut = true;
                return;
            }
        };
        match event {
            Event::Start(start) => {
                let name = start.local_name();
                let name = name.as_ref();
                match at {
                    At::Prolog => {
                        sitemap.kind = match name {
                            b"urlset" => Some(SitemapKind::UrlSet),
                            b"sitemapindex" => Some(SitemapKind::Index),
                            _ => return,
                        };
                        at = At::Root;
                        depth = 0;
                    }
                    At::Root => {
                        depth += 1;
                        let entry = match sitemap.kind {
                            Some(SitemapKind::UrlSet) => &b"url"[..],
                            _ => b"sitemap",
                        };
                        if depth == 1 && name == entry {
                            at = At::Entry;
                        }
                    }
                    At::Entry => {
                        depth += 1;
                        if depth == 2 && name == b"loc" {
                            at = At::Loc;
                            loc.clear();
                            loc_too_long = false;
                        }
                    }
                    At::Loc => depth += 1,
                }
            }
            Event::Empty(start) if at == At::Prolog => {
                let name = start.local_name();
                sitemap.kind = match name.as_ref() {
                    b"urlset" => Some(SitemapKind::UrlSet),
                    b"sitemapindex" => Some(SitemapKind::Index),
                    _ => None,
                };
                return;
            }
            Event::End(_) => match at {
                At::Prolog => return,
                At::Root if depth == 0 => return,
                At::Root => depth -= 1,
                At::Entry => {
                    depth -= 1;
                    if depth == 0 {
                        at = At::Root;
                    }
                }
                At::Loc => {
                    depth -= 1;
                    if depth == 1 {
                        at = At::Entry;
                        take(&loc, loc_too_long, limits, sitemap);
                    }
                }
            },
            Event::Text(text) if at == At::Loc => {
                push_text(&mut loc, &mut loc_too_long, &String::from_utf8_lossy(&text), limits);
            }
            Event::CData(text) if at == At::Loc => {
                push_text(&mut loc, &mut loc_too_long, &String::from_utf8_lossy(&text), limits);
            }
            Event::GeneralRef(reference) if at == At::Loc => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match reference.as_ref() {
                        b"amp" => Some('&'),
                        b"lt" => Some('<'),
                        b"gt" => Some('>'),
                        b"quot" => Some('"'),
                        b"apos" => Some('\''),
                        // An entity of the document's own DTD is never expanded.
                        _ => None,
                    },
                    Err(_) => None,
                };
                match resolved {
                    Some(c) => push_text(&mut loc, &mut loc_too_long, c.encode_utf8(&mut [0; 4]), limits),
                    None => loc_too_long = true,
                }
            }
            Event::Eof => {
                if at != At::Prolog {
                    // The root was never closed.
                    sitemap.cut = true;
                }
                return;
            }
            _ => {}
        }
    }
}

fn push_text(loc: &mut String, too_long: &mut bool, text: &str, limits: &SitemapLimits) {
    if loc.len() + text.len() > limits.max_loc_bytes {
        *too_long = true;
    } else {
        loc.push_str(text);
    }
}

/// Count one entry, and keep its URL when it is usable and under the cap.
fn take(loc: &str, too_long: bool, limits: &SitemapLimits, sitemap: &mut Sitemap) {
    let url = Url::parse(loc.trim()).ok().filter(|u| !too_long && matches!(u.scheme(), "http" | "https"));
    let Some(mut url) = url.filter(|u| u.host_str().is_some()) else {
        sitemap.unusable += 1;
        return;
    };
    if sitemap.urls.len() >= limits.max_entries {
        sitemap.over_cap += 1;
        return;
    }
    url.set_fragment(None);
    sitemap.urls.push(url);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use super::*;

    fn urls(s: &Sitemap) -> Vec<&str> {
        s.urls.iter().map(Url::as_str).collect()
    }

    #[test]
    fn a_sitemap_index_lists_sitemaps() {
        let xml = br#"<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sitemap><loc>http://h/s1.xml.gz</loc><lastmod>2024</lastmod></sitemap>
            <sitemap><loc><![CDATA[http://h/s2.xml]]></loc></sitemap>
          </sitemapindex>"#;
        let s = parse_sitemap(xml, &SitemapLimits::default());
        assert_eq!(s.kind, Some(SitemapKind::Index));
        assert_eq!(urls(&s), ["http://h/s1.xml.gz", "http://h/s2.xml"]);
        assert!(!s.cut);
    }

    #[test]
    fn gzip_and_prefixes_and_references() {
        let xml = "\u{feff}<?xml version='1.0'?>\n<!-- c --><sm:urlset xmlns:sm=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                   <sm:url><sm:loc>http://h/caf&#xE9;?a=1&amp;b=&#50;#frag</sm:loc></sm:url>\
                   <sm:url><sm:loc>http://h/&custom;</sm:loc></sm:url></sm:urlset>";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(xml.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        assert!(looks_like_sitemap(&gz) && looks_like_sitemap(xml.as_bytes()));
        for body in [&gz[..], xml.as_bytes()] {
            let s = parse_sitemap(body, &SitemapLimits::default());
            assert_eq!(s.kind, Some(SitemapKind::UrlSet));
            assert_eq!(urls(&s), ["http://h/caf%C3%A9?a=1&b=2"]);
            assert_eq!(s.unusable, 1, "an undeclared entity is not guessed at");
        }
    }

    #[test]
    fn caps_hold() {
        let mut xml = String::from("<urlset>");
        for i in 0..10 {
            xml.push_str(&format!("<url><loc>http://h/{i}</loc></url>"));
        }
        xml.push_str(&format!("<url><loc>http://h/{}</loc></url></urlset>", "x".repeat(100)));
        let limits = SitemapLimits { max_entries: 4, max_loc_bytes: 50, ..SitemapLimits::default() };
        let s = parse_sitemap(xml.as_bytes(), &limits);
        assert_eq!(urls(&s), ["http://h/0", "http://h/1", "http://h/2", "http://h/3"]);
        assert_eq!((s.over_cap, s.unusable), (6, 1));

        // Cut at max_bytes: the entries before the cut are kept.
        let limits = SitemapLimits { max_bytes: 80, ..SitemapLimits::default() };
        let s = parse_sitemap(xml.as_bytes(), &limits);
        assert_eq!(urls(&s), ["http://h/0", "http://h/1"]);
        assert!(s.cut);

        // A gzip bomb stops at max_bytes after gunzipping.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(b"<urlset><url><loc>http://h/a</loc></url>").unwrap();
        gz.write_all(&vec![b' '; 20 << 20]).unwrap();
        let gz = gz.finish().unwrap();
        assert!(gz.len() < 100_000);
        let s = parse_sitemap(&gz, &SitemapLimits { max_bytes: 1 << 20, ..SitemapLimits::default() });
        assert_eq!(urls(&s), ["http://h/a"]);
        assert!(s.cut);
    }

    #[test]
    fn what_is_not_a_sitemap_gives_nothing() {
        for body in [
            &b""[..],
            b"<html><body><a href=/x>x</a></body></html>",
            b"<?xml version='1.0'?><rss><channel><link>http://h/</link></channel></rss>",
            b"\x1f\x8b\x08garbage",
            b"<urlset><url><loc>http://h/a</loc></url><url><loc>http://h/b",
            b"<urlset/>",
            b"<urlset><url><loc>relative/path</loc></url><url><loc>javascript:alert(1)</loc></url></urlset>",
            b"<urlset><url><x><loc>http://h/nested</loc></x></url><loc>http://h/loose</loc></urlset>",
        ] {
            let s = parse_sitemap(body, &SitemapLimits::default());
            assert!(s.urls.len() <= 1, "{:?}: {:?}", String::from_utf8_lossy(body), s);
            assert!(!s.urls.iter().any(|u| u.path().contains("nested") || u.path().contains("loose")));
        }
        assert!(!looks_like_sitemap(b"<!doctype html><html>"));
    }
}
