//! Sitemaps: robots.txt's `Sitemap:` lines and /sitemap.xml, urlsets and indexes, gzip, caps; only
//! in-scope, robots-allowed entries are queued, each recorded with `"via":"sitemap"`.

use std::io::Write;

use crate::support::{Page, Site, config, crawl};

fn urlset(urls: &[String]) -> String {
    let items: String = urls.iter().map(|u| format!("<url><loc>{u}</loc><priority>0.5</priority></url>\n")).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{items}</urlset>\n"
    )
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sitemaps_from_robots_txt_and_sitemap_xml_are_read_and_their_allowed_entries_queued() {
    let site = Site::start("127.0.0.1", [("/", Page::links(&["/linked"])), ("/linked", Page::links(&[]))]).await;
    let other = Site::start("127.0.0.2", [("/x", Page::links(&[]))]).await;
    let u = |p: &str| site.url(p);
    site.route(
        "/robots.txt",
        Page::typed("text/plain", format!("User-agent: *\nDisallow: /private\nSitemap: {}\n", u("/maps/index.xml"))),
    );
    site.route(
        "/maps/index.xml",
        Page::typed(
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                 <sitemap><loc>{}</loc></sitemap><sitemap><loc>{}</loc></sitemap></sitemapindex>",
                u("/maps/a.xml.gz"),
                u("/maps/b.xml")
            ),
        ),
    );
    let a = urlset(&[u("/only-in-sitemap"), u("/private/x"), other.url("/x"), u("/linked"), "not a url".to_owned()]);
    site.route("/maps/a.xml.gz", Page::typed("application/x-gzip", gzip(&a)));
    site.route("/maps/b.xml", Page::typed("text/xml", urlset(&[u("/b-page?x=1&amp;y=2")])));
    site.route("/sitemap.xml", Page::typed("application/xml", urlset(&[u("/conventional")])));
    for path in ["/only-in-sitemap", "/b-page?x=1&y=2", "/conventional", "/private/x"] {
        site.route(path, Page::links(&[]));
    }

    let (mut config, _dir) = config(&[u("/")]);
    config.crawl.sitemaps = true;
    let out = crawl(config).await;

    // The sitemaps: one hop from the seed, found with robots.txt; each fetched once.
    for path in ["/maps/index.xml", "/sitemap.xml"] {
        let line = out.page(&u(path));
        assert_eq!((line["depth"].as_u64(), line["via"].as_str()), (Some(1), Some("sitemap")), "{path}");
        assert_eq!(line["parent"], u("/robots.txt"));
        assert_eq!(site.count(path), 1);
    }
    assert_eq!(out.page(&u("/maps/index.xml"))["links"], 2, "an index lists two sitemaps");
    for path in ["/maps/a.xml.gz", "/maps/b.xml"] {
        let line = out.page(&u(path));
        assert_eq!((line["depth"].as_u64(), line["via"].as_str()), (Some(2), Some("sitemap")), "{path}");
        assert_eq!(line["parent"], u("/maps/index.xml"));
    }
    // Entries: one hop below the sitemap that lists them.
    for (path, parent, depth) in [
        ("/only-in-sitemap", "/maps/a.xml.gz", 3),
        ("/b-page?x=1&y=2", "/maps/b.xml", 3),
        ("/conventional", "/sitemap.xml", 2),
    ] {
        let line = out.page(&u(path));
        assert_eq!(line["status"], 200, "{path}");
        assert_eq!((line["depth"].as_u64(), line["via"].as_str()), (Some(depth), Some("sitemap")), "{path}");
        assert_eq!(line["parent"], u(parent));
    }
    // A page linked from the seed keeps its link depth, and no `via`.
    let linked = out.page(&u("/linked"));
    assert_eq!(linked["depth"], 1);
    assert!(linked.get("via").is_none(), "{linked}");
    // Disallowed by robots.txt, or on another origin: never queued, never requested.
    assert!(!out.has(&u("/private/x")) && !site.started("/private/x"));
    assert!(!out.has(&other.url("/x")) && other.hits().is_empty());
    let stats = out.stats();
    assert_eq!(stats["sitemap_disallowed"], 1);
    assert_eq!(stats["sitemap_urls"], 7, "two roots, two sitemaps of the index, three pages: {stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_gets_at_most_max_sitemap_urls_and_none_without_sitemaps() {
    let site = Site::start("127.0.0.1", [("/", Page::links(&[]))]).await;
    let entries: Vec<String> = (0..50).map(|i| site.url(&format!("/s/{i}"))).collect();
    site.route("/sitemap.xml", Page::typed("application/xml", urlset(&entries)));
    site.route_prefix("/s/", Page::links(&[]));

    let (mut config, _dir) = config(&[site.url("/")]);
    config.crawl.sitemaps = true;
    config.crawl.max_sitemap_urls = 5;
    let out = crawl(config).await;
    // /sitemap.xml itself is one of the five.
    let mut from_sitemap: Vec<String> = out.urls().into_iter().filter(|u| u.contains("/s/")).collect();
    from_sitemap.sort();
    assert_eq!(from_sitemap, entries[..4], "the first entries, in document order");
    assert_eq!(out.stats()["sitemap_over_cap"], 46);

    // Off: no lookup at all.
    let (config, _dir) = crate::support::config(&[site.url("/")]);
    assert!(!config.crawl.sitemaps);
    let before = site.count("/sitemap.xml");
    let out = crawl(config).await;
    assert_eq!(site.count("/sitemap.xml"), before);
    assert_eq!(out.urls(), [site.url("/")]);
}
