//! The tokenizer path of `extract_links` must find exactly what the `scraper` DOM path finds: on the
//! committed corpus of real pages and tricky markup (`tests/corpus/`), and on any directories of HTML
//! named in `CRAWLD_CORPUS_DIRS` (colon-separated; for example a Debian documentation package's
//! docroot), read up to `CRAWLD_CORPUS_MAX` files (default 20,000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crawld_extract::{ExtractedLinks, decode_html, extract_links, extract_links_dom};
use url::Url;

fn both(path: &Path, base: &Url) -> ExtractedLinks {
    let bytes = std::fs::read(path).unwrap();
    let html = decode_html(&bytes, Some("text/html"));
    let fast = extract_links(base, &html, usize::MAX);
    let dom = extract_links_dom(base, &html, usize::MAX);
    if fast != dom {
        let only_fast: Vec<_> = fast.links.iter().filter(|u| !dom.links.contains(u)).map(Url::as_str).collect();
        let only_dom: Vec<_> = dom.links.iter().filter(|u| !fast.links.contains(u)).map(Url::as_str).collect();
        panic!(
            "{}: tokenizer and DOM differ\n  only tokenizer: {only_fast:?}\n  only DOM: {only_dom:?}\n  \
             same sets, other order: {}",
            path.display(),
            only_fast.is_empty() && only_dom.is_empty()
        );
    }
    fast
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[test]
fn committed_corpus_agrees() {
    let base = Url::parse("http://docs.example.org/section/page.html").unwrap();
    let mut files = 0;
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html") {
            let found = both(&path, &base);
            assert!(found.links.len() > 10, "{}: only {} links", path.display(), found.links.len());
            files += 1;
        }
    }
    assert_eq!(files, 5);
}

#[test]
fn tricky_page_finds_what_a_browser_would_and_nothing_hidden() {
    let base = Url::parse("http://docs.example.org/section/page.html").unwrap();
    let found = both(&corpus().join("tricky.html"), &base);
    let urls: Vec<&str> = found.links.iter().map(Url::as_str).collect();
    for hidden in ["in-comment", "in-title", "in-script", "double-escaped", "in-style", "in-noscript", "in-textarea"] {
        assert!(!urls.iter().any(|u| u.contains(hidden)), "{hidden} found in {urls:?}");
    }
    for shown in [
        "http://docs.example.org/refreshed?from=head",
        "http://docs.example.org/docs/v2/style.css?v=1&t=2",
        "http://docs.example.org/docs/v2/unquoted.html",
        "http://docs.example.org/docs/up/one.html",
        "http://docs.example.org/docs/v2/UPPER.HTML",
        "http://docs.example.org/docs/v2/dup.html",
        "http://other.example.org/protocol-relative",
        "http://docs.example.org/docs/v2/in-template.html",
        "http://docs.example.org/docs/v2/fostered.html",
        "http://docs.example.org/docs/v2/svg-link.html",
        "http://docs.example.org/docs/v2/fo.html",
        "http://docs.example.org/docs/v2/frame.html",
        "http://docs.example.org/docs/v2/area.html",
        "http://docs.example.org/docs/v2/after-html.html",
    ] {
        assert!(urls.contains(&shown), "{shown} missing from {urls:?}");
    }
    assert!(!urls.iter().any(|u| u.contains("no-frameset")), "a <frame> outside a frameset is no element");
}

#[test]
fn directories_named_in_the_environment_agree() {
    let Ok(dirs) = std::env::var("CRAWLD_CORPUS_DIRS") else {
        eprintln!("CRAWLD_CORPUS_DIRS not set: only the committed corpus was compared");
        return;
    };
    let max: usize = std::env::var("CRAWLD_CORPUS_MAX").ok().and_then(|m| m.parse().ok()).unwrap_or(20_000);
    let mut stack: Vec<PathBuf> = dirs.split(':').filter(|d| !d.is_empty()).map(PathBuf::from).collect();
    let (mut files, mut links) = (0, 0);
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if files < max && path.extension().is_some_and(|e| e == "html" || e == "htm") {
                let base = Url::from_file_path(&path).unwrap();
                let base = Url::parse(&format!("http://corpus.example{}", base.path())).unwrap();
                links += both(&path, &base).links.len();
                files += 1;
            }
        }
    }
    eprintln!("{files} files, {links} links: both paths agree");
    assert!(files > 0, "no HTML files under {dirs}");
}
