//! Link extraction from an HTML document.

use std::collections::HashSet;
use std::sync::LazyLock;

use scraper::{Html, Selector};
use url::Url;

use crate::normalize::fingerprint;
use crate::scan::{RawLinks, Source, scan};

/// The links of one page, as returned by [`extract_links`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractedLinks {
    /// Absolute http(s) URLs without fragment, in document order, unique by `normalize()` key.
    pub links: Vec<Link>,
    /// Unique links past `max_links`: found, counted, and not returned.
    pub over_cap: usize,
}

/// One link of a page, with the fingerprint it was deduplicated by (so nobody computes it twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// As written (resolved, fragment removed).
    pub url: Url,
    /// [`fingerprint`] of `url`.
    pub fingerprint: u128,
}

/// Absolute http(s) links found in an HTML document, in document order, deduplicated by
/// `normalize()` key (first occurrence wins), at most `max_links`; the unique links past the cap are
/// counted in `over_cap`, so that a cut is never silent.
///
/// The first `<base href>` whose value resolves (against `page_url`) to an http(s) URL becomes the
/// base for every relative link, including ones before it in the document; any other base is ignored.
/// Links that point back at the page through a fragment-only href (`#top`) are skipped, but other
/// self-links are kept.
///
/// Reads the document with a tokenizer alone (`scan.rs`, `tokens.rs`); [`extract_links_dom`] is the same
/// contract through a full DOM, kept as the reference the tests hold this to.
pub fn extract_links(page_url: &Url, html: &str, max_links: usize) -> ExtractedLinks {
    collect(page_url, &scan(html), max_links)
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

/// [`extract_links`] through `scraper`'s DOM and CSS selectors: slower, and the reference for what the
/// fast path must find.
pub fn extract_links_dom(page_url: &Url, html: &str, max_links: usize) -> ExtractedLinks {
    let doc = Html::parse_document(html);
    let base = doc.select(&BASE).next().and_then(|el| el.value().attr("href")).map(str::to_owned);
    let values = doc
        .select(&LINKS)
        .filter_map(|el| {
            let el = el.value();
            let found = match el.name() {
                "iframe" | "frame" => (Source::Attribute, el.attr("src")?),
                "meta" => {
                    let refresh = el.attr("http-equiv")?;
                    if !trim_ascii_ws(refresh).eq_ignore_ascii_case("refresh") {
                        return None;
                    }
                    (Source::Refresh, el.attr("content")?)
                }
                _ => (Source::Attribute, el.attr("href")?),
            };
            Some((found.0, found.1.to_owned().into()))
        })
        .collect();
    collect(page_url, &RawLinks { base: base.map(Into::into), values }, max_links)
}

/// Resolve, filter, deduplicate and cap the raw values of a document.
fn collect(page_url: &Url, raw: &RawLinks<'_>, max_links: usize) -> ExtractedLinks {
    let base = raw
        .base
        .as_ref()
        .and_then(|href| page_url.join(trim_ascii_ws(href)).ok())
        .filter(is_http)
        .unwrap_or_else(|| page_url.clone());

    let mut page_key = page_url.clone();
    page_key.set_fragment(None);

    let mut out = ExtractedLinks::default();
    let mut seen = HashSet::new();
    for (source, value) in &raw.values {
        let value = match source {
            Source::Attribute => Some(&**value),
            Source::Refresh => refresh_url(value),
        };
        let Some(url) = value.and_then(|raw| resolve(&base, &page_key, raw)) else {
            continue;
        };
        // The set keeps a 128-bit fingerprint per unique link, past the cap too: counting what the cap
        // drops costs 16 bytes a link however long its URL.
        let fingerprint = fingerprint(&url);
        if !seen.insert(fingerprint) {
            continue;
        }
        if out.links.len() >= max_links {
            out.over_cap += 1;
            continue;
        }
        out.links.push(Link { url, fingerprint });
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
        extract(html, usize::MAX).links.into_iter().map(|l| String::from(l.url)).collect()
    }

    /// Both paths, which must agree.
    fn extract(html: &str, max: usize) -> ExtractedLinks {
        let page = Url::parse(PAGE).unwrap();
        let fast = extract_links(&page, html, max);
        assert_eq!(fast, extract_links_dom(&page, html, max), "the two paths differ on {html:?}");
        fast
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
        assert_eq!(got.links[1].url.as_str(), "http://example.com/2");
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
    fn raw_text_elements_hide_markup() {
        let html = r#"<head><title><a href=/t></title><style>a{} <a href=/s></style>
            <script>document.write('<a href="/js">')</script><noscript><a href=/ns></noscript></head>
            <body><textarea><a href=/ta></textarea><xmp><a href=/x></xmp><noembed><a href=/ne></noembed>
            <iframe src=/frame><a href=/if></iframe><noframes><a href=/nf></noframes>
            <script><!--<script></script><a href=/esc></script>--></script><a href=/after>a</a>
            <plaintext><a href=/pt>"#;
        assert_eq!(links(html), ["http://example.com/frame", "http://example.com/after"]);
    }

    #[test]
    fn foreign_content_is_parsed_as_markup() {
        let html = r#"<svg><style><a href=/svg-style></style><a href=/svg-a>x</a>
            <![CDATA[<a href=/cdata>]]><a xlink:href=/xlink>y</a><foreignObject><style><a href=/fo></style>
            <a href=/fo-a>z</a></foreignObject><title><script>1</script><a href=/t></title></svg>
            <math><mi><style><a href=/mi></style></mi><mtext><svg><a href=/nested></svg></mtext></math>
            <svg><p><script><a href=/p-out></script><a href=/out>o</a></svg>
            <math><iframe src=/m-if><a href=/m-a></iframe><frame src=/m-frame></math>"#;
        assert_eq!(
            links(html),
            [
                "http://example.com/svg-style",
                "http://example.com/svg-a",
                "http://example.com/fo-a",
                "http://example.com/t",
                "http://example.com/nested",
                "http://example.com/out",
                "http://example.com/m-if",
                "http://example.com/m-a",
                "http://example.com/m-frame",
            ]
        );
    }

    #[test]
    fn frames_only_in_a_frameset_document() {
        let frameset = r#"<!DOCTYPE html><html><head><title>T</title><base href="/b/"><link href=/l></head>
            <frameset rows="1,1"><frame src=top><frameset><frame src=bottom></frameset>
            <noframes><a href=/nf>no frames</a></noframes></frameset><a href=/after></html>"#;
        assert_eq!(
            links(frameset),
            ["http://example.com/l", "http://example.com/b/top", "http://example.com/b/bottom"]
        );
        for body in [
            "<body><frameset><frame src=f></frameset><a href=/a>",
            "text<frameset><frame src=f></frameset><a href=/a>",
            "<img><frameset><frame src=f></frameset><a href=/a>",
        ] {
            assert_eq!(links(body), ["http://example.com/a"], "{body}");
        }
        // An empty link does not stop a frameset from replacing the body.
        let html = "<a href=/a></a> <frameset><frame src=f></frameset><a href=/b>";
        assert_eq!(links(html), ["http://example.com/a", "http://example.com/dir/f"]);
    }

    #[test]
    fn template_tables_and_misnested_markup() {
        let html = r#"<template><a href=/tpl>t</a><base href=/ignored/></template>
            <table><a href=/foster>f</a><tr><td><a href=/cell>c</td></tr></table>
            <p><a href=/open><div>still inside</div></p>text<b><a href=/b></b><a href=/c>
            <select><a href=/sel>s</a><option><a href=/opt></select>
            <a href="&amp;amp;x&lt;&#x41;&nbsp&copy">e</a><a HREF = '/case' href=/dup>u</a>"#;
        assert_eq!(
            links(html),
            [
                "http://example.com/tpl",
                "http://example.com/foster",
                "http://example.com/cell",
                "http://example.com/open",
                "http://example.com/b",
                "http://example.com/c",
                "http://example.com/sel",
                "http://example.com/opt",
                // The template's <base> is the first in the document, as a DOM walk finds it.
                "http://example.com/ignored/&amp;x%3CA%C2%A0%C2%A9",
                "http://example.com/case",
            ]
        );
    }

    #[test]
    fn keeps_url_as_written() {
        let html = r#"<a href="/A/%7euser?b=2&a=1">x</a>"#;
        assert_eq!(links(html), ["http://example.com/A/%7euser?b=2&a=1"]);
    }
}
