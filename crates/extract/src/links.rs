//! Link extraction from an HTML document.

use std::collections::HashSet;
use std::sync::LazyLock;

use scraper::{Html, Selector};
use url::Url;

use crate::normalize::normalize;

/// The links of one page, as returned by [`extract_links`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractedLinks {
    /// Absolute http(s) URLs without fragment, in document order, unique by [`normalize`] key.
    pub links: Vec<Url>,
    /// Unique links past `max_links`: found, counted, and not returned.
    pub over_cap: usize,
}

// Both selector strings are constants, so parsing them can only fail on a typo, which the
// unit tests would catch on their first run.
#[allow(clippy::expect_used)]
static BASE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("base[href]").expect("static selector"));
#[allow(clippy::expect_used)]
static LINKS: LazyLock<Selector> = LazyLock::new(|| {
    Selector::parse("a[href], area[href], link[href], iframe[src], frame[src], meta[http-equiv][content]")
        .expect("static selector")
});

/// Absolute http(s) links found in an HTML document, in document order, deduplicated by
/// `normalize()` key (first occurrence wins), at most `max_links`; the unique links past the cap are
/// counted in `over_cap`, so that a cut is never silent.
///
/// The first `<base href>` whose value resolves (against `page_url`) to an http(s) URL becomes the
/// base for every relative link, including ones before it in the document; any other base is ignored.
/// Links that point back at the page through a fragment-only href (`#top`) are skipped, but other
/// self-links are kept.
pub fn extract_links(page_url: &Url, html: &str, max_links: usize) -> ExtractedLinks {
    let doc = Html::parse_document(html);
    let base = doc
        .select(&BASE)
        .next()
        .and_then(|el| el.value().attr("href"))
        .and_then(|href| page_url.join(trim_ascii_ws(href)).ok())
        .filter(is_http)
        .unwrap_or_else(|| page_url.clone());

    let mut page_key = page_url.clone();
    page_key.set_fragment(None);

    let mut out = ExtractedLinks::default();
    let mut seen = HashSet::new();
    let mut over_cap = HashSet::new();
    for el in doc.select(&LINKS) {
        let el = el.value();
        let raw = match el.name() {
            "iframe" | "frame" => el.attr("src"),
            "meta" => el
                .attr("http-equiv")
                .filter(|v| trim_ascii_ws(v).eq_ignore_ascii_case("refresh"))
                .and_then(|_| el.attr("content"))
                .and_then(refresh_url),
            _ => el.attr("href"),
        };
        let Some(url) = raw.and_then(|raw| resolve(&base, &page_key, raw)) else {
            continue;
        };
        let key = normalize(&url);
        if out.links.len() >= max_links {
            // Past the cap only a 128-bit hash of each key is kept: counting the rest costs 16 bytes
            // a link however long its URL, so the cap still bounds memory.
            if !seen.contains(&key) && over_cap.insert(xxhash_rust::xxh3::xxh3_128(key.as_bytes())) {
                out.over_cap += 1;
            }
            continue;
        }
        if !seen.insert(key) {
            continue;
        }
        out.links.push(url);
    }
    out
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// HTML's "strip leading and trailing ASCII whitespace" (space, tab, LF, FF, CR).
fn trim_ascii_ws(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// Resolve one attribute value to a crawlable URL, or `None` when it should be skipped.
fn resolve(base: &Url, page_key: &Url, raw: &str) -> Option<Url> {
    let value = trim_ascii_ws(raw);
    if value.is_empty() || has_ignored_scheme(value) {
        return None;
    }
    let mut url = base.join(value).ok()?;
    if !is_http(&url) {
        return None;
    }
    url.set_fragment(None);
    if value.starts_with('#') && url == *page_key {
        return None;
    }
    Some(url)
}

/// Cheap pre-filter so huge `javascript:`/`data:` values are never handed to the URL parser.
fn has_ignored_scheme(value: &str) -> bool {
    const IGNORED: [&str; 4] = ["javascript:", "mailto:", "tel:", "data:"];
    let head = value.as_bytes();
    IGNORED.iter().any(|scheme| head.get(..scheme.len()).is_some_and(|h| h.eq_ignore_ascii_case(scheme.as_bytes())))
}

/// The URL in a `<meta http-equiv="refresh">` content value, such as `5; url='/next'`.
///
/// Lenient on purpose: the delay, the `;`/`,` separator and the `url=` prefix are all optional,
/// since pages in the wild omit each of them.
fn refresh_url(content: &str) -> Option<&str> {
    let ws = |c: char| c.is_ascii_whitespace();
    let s = content.trim_start_matches(ws);
    let s = s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let s = s.trim_start_matches(ws);
    let s = s.strip_prefix([';', ',']).unwrap_or(s).trim_start_matches(ws);
    let s = match s.get(..3) {
        Some(head) if head.eq_ignore_ascii_case("url") => {
            let rest = s[3..].trim_start_matches(ws);
            rest.strip_prefix('=').map_or(s, |r| r.trim_start_matches(ws))
        }
        _ => s,
    };
    let s = match s.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let inner = &s[1..];
            inner.find(q).map_or(inner, |end| &inner[..end])
        }
        _ => s,
    };
    let s = trim_ascii_ws(s);
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PAGE: &str = "http://example.com/dir/page.html";

    fn links(html: &str) -> Vec<String> {
        extract(html, usize::MAX).links.into_iter().map(String::from).collect()
    }

    fn extract(html: &str, max: usize) -> ExtractedLinks {
        extract_links(&Url::parse(PAGE).unwrap(), html, max)
    }

    #[test]
    fn all_sources_in_document_order() {
        let html = r#"<html><head>
            <link rel="stylesheet" href="/style.css">
            <meta http-equiv="Refresh" content="5; url=/next">
            </head><body>
            <a href="a.html">a</a>
            <map><area href="/area" shape="rect"></map>
            <iframe src="https://other.org/frame"></iframe>
            <frameset><frame src="frame2"></frameset>
            </body></html>"#;
        assert_eq!(
            links(html),
            [
                "http://example.com/style.css",
                "http://example.com/next",
                "http://example.com/dir/a.html",
                "http://example.com/area",
                "https://other.org/frame",
            ]
        );
        // <frame> only survives inside a frameset document.
        let html = r#"<html><frameset><frame src="f1"><frame src=" /f2 "></frameset></html>"#;
        assert_eq!(links(html), ["http://example.com/dir/f1", "http://example.com/f2"]);
    }

    #[test]
    fn base_href_changes_resolution() {
        let html = r#"<a href="early">x</a>
            <base href="https://cdn.example.net/root/">
            <base href="http://ignored.example/">
            <a href="late">y</a><a href="/abs">z</a>"#;
        assert_eq!(
            links(html),
            ["https://cdn.example.net/root/early", "https://cdn.example.net/root/late", "https://cdn.example.net/abs",]
        );
    }

    #[test]
    fn relative_base_and_unusable_base() {
        let html = r#"<base href="../other/"><a href="x">x</a>"#;
        assert_eq!(links(html), ["http://example.com/other/x"]);
        for base in [
            r#"<base href="http://[::1"><a href="x">x</a>"#,
            r#"<base href="javascript:void(0)"><a href="x">x</a>"#,
            r#"<base href="data:text/html,hi"><a href="x">x</a>"#,
        ] {
            assert_eq!(links(base), ["http://example.com/dir/x"], "{base}");
        }
        // A base without href does not count as "the first base".
        let html = r#"<base target="_blank"><base href="/b/"><a href="x">x</a>"#;
        assert_eq!(links(html), ["http://example.com/b/x"]);
    }

    #[test]
    fn ignored_schemes_and_empty_hrefs() {
        let html = r##"
            <a href="javascript:alert(1)">j</a>
            <a href=" JavaScript:void(0)">j</a>
            <a href="mailto:a@example.com">m</a>
            <a href="tel:+123">t</a>
            <a href="data:text/html,hi">d</a>
            <a href="ftp://example.com/file">f</a>
            <a href="file:///etc/passwd">f</a>
            <a href="">empty</a>
            <a href="   ">blank</a>
            <a href="#top">frag</a>
            <a href="  #x ">frag</a>
            <a>no href</a>
            <a href="ok">ok</a>"##;
        assert_eq!(links(html), ["http://example.com/dir/ok"]);
    }

    #[test]
    fn fragments_stripped_and_duplicates_removed() {
        let html = r##"
            <a href="/a#one">1</a>
            <a href="/a#two">2</a>
            <a href="HTTP://EXAMPLE.com:80/a">3</a>
            <a href="/%7Euser">4</a>
            <a href="/~user">5</a>
            <a href="page.html#section">self with fragment</a>
            <link href="/a">"##;
        assert_eq!(
            links(html),
            ["http://example.com/a", "http://example.com/%7Euser", "http://example.com/dir/page.html",]
        );
    }

    #[test]
    fn fragment_href_under_other_base_is_kept() {
        let html = r##"<base href="http://other.example/doc"><a href="#top">x</a>"##;
        assert_eq!(links(html), ["http://other.example/doc"]);
    }

    #[test]
    fn links_past_max_links_are_counted_once_each() {
        let html = r#"<a href="/1"></a><a href="/2"></a><a href="/1"></a><a href="/3"></a><a href="/3#x"></a>
            <a href="/4"></a><a href="/2"></a>"#;
        let got = extract(html, 2);
        assert_eq!(got.links.len(), 2);
        assert_eq!(got.links[1].as_str(), "http://example.com/2");
        // /3 (twice) and /4; repeats of /1 and /2 are not drops.
        assert_eq!(got.over_cap, 2);

        // Exactly max unique links (plus duplicates) is not a cut.
        let html = r#"<a href="/1"></a><a href="/2"></a><a href="/2#x"></a>"#;
        let got = extract(html, 2);
        assert_eq!((got.links.len(), got.over_cap), (2, 0));

        let got = extract(html, 0);
        assert_eq!((got.links.len(), got.over_cap), (0, 2));
        assert_eq!(extract("<p>no links</p>", 0).over_cap, 0);
    }

    #[test]
    fn meta_refresh_variants() {
        let cases = [
            ("5; url=/next", Some("/next")),
            ("0;URL='/q'", Some("/q")),
            ("0; URL = \"/dq\" ", Some("/dq")),
            ("url=/nodelay", Some("/nodelay")),
            ("3,url=/comma", Some("/comma")),
            ("1.5; /noprefix", Some("/noprefix")),
            ("  10  ;  url=  spaced  ", Some("spaced")),
            ("0; url='/unterminated", Some("/unterminated")),
            ("5", None),
            ("5;", None),
            ("0; url=", None),
            ("", None),
            ("é; url=/x", Some("é; url=/x")),
            ("ur", Some("ur")),
        ];
        for (content, want) in cases {
            assert_eq!(refresh_url(content), want, "content {content:?}");
        }
        let html = r#"<meta HTTP-EQUIV=" refresh " content="0; url=/go">
            <meta http-equiv="content-type" content="text/html; url=/not-a-link">
            <meta http-equiv="refresh">"#;
        assert_eq!(links(html), ["http://example.com/go"]);
    }

    #[test]
    fn malformed_html_yields_what_is_valid() {
        let html = r#"<html><body><div><a href="http://[::1">bad</a>
            <a href="/ok1"><p>unclosed <a href='/ok2' <b>
            <a href=/ok3>unquoted<a href="http://exa mple.com/">space in host</a>
            <a href="http://%zz/">bad host</a><table><a href="/ok4"></td></tr"#;
        assert_eq!(
            links(html),
            ["http://example.com/ok1", "http://example.com/ok2", "http://example.com/ok3", "http://example.com/ok4",]
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let huge = "x".repeat(1 << 20);
        let html = format!(r#"<a href="/{huge}">big</a><a title="{huge}" href="/small">s</a>"#);
        let got = links(&html);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], "http://example.com/small");

        let html = format!(r#"<a href="javascript:{huge}">j</a><meta http-equiv=refresh content="{huge}">"#);
        let _ = links(&html);

        for html in [
            "",
            "<",
            "<a href",
            "<a href=",
            "<a href=\"",
            "\0\0<a href=\"\0\">",
            "<base href><a href=x>",
            "<svg><a href='/svg'></a></svg><math><a href=m>",
            "<!-- <a href=/commented> -->",
            "<a href=\"http://\u{fffd}/\">",
        ] {
            let _ = links(html);
        }
        assert!(links("<!-- <a href=/commented> -->").is_empty());
    }

    #[test]
    fn keeps_url_as_written() {
        let html = r#"<a href="/A/%7euser?b=2&a=1">x</a>"#;
        assert_eq!(links(html), ["http://example.com/A/%7euser?b=2&a=1"]);
    }
}
