//! One hostile site, crawled end to end: what existing tests do not already cover of issue 6's list
//! (legacy charsets with non-ASCII links, `<base href>` tricks, many spellings of one URL, a lying
//! Content-Encoding, malformed HTML, an endless body, a page that fails twice then succeeds, a body
//! shorter than its Content-Length, robots.txt wildcards, `$`, Allow over Disallow and a Sitemap line),
//! with assertions on the output and on what the server saw.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Content, Page, Site, config, crawl};

/// A server that answers every request with a head promising 1000 bytes, sends 17, and closes; it
/// counts the requests for `/`.
async fn short_body_server() -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let answer: &[u8] = if request.starts_with("GET /robots.txt") {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                } else {
                    if request.starts_with("GET / ") {
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n<a href=/x>x</a>\n"
                };
                let _ = socket.write_all(answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (addr, requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_site_is_crawled_without_harm_and_everything_is_recorded() {
    let site = Site::start("127.0.0.1", []).await;
    let u = |p: &str| site.url(p);
    let port = site.addr.port();
    let home = "<!doctype html><title>hostile</title>\n\
         <a href=/sjis>sjis</a> <a href=/based/page>base</a> <a href=/variants>variants</a>\n\
         <a href=/lying-gzip>lying</a> <a href=/malformed>malformed</a> <a href=/endless>endless</a>\n\
         <a href=/flaky>flaky</a> <a href=/doc.pdf>pdf</a> <a href=/doc.pdf?download=1>pdf?</a>\n\
         <a href=/private/open>open</a> <a href=/private/closed>closed</a>";
    site.route("/", Page::html(home));
    site.route(
        "/robots.txt",
        Page::typed(
            "text/plain",
            format!(
                "User-agent: *\nDisallow: /*.pdf$\nDisallow: /private\nAllow: /private/open$\n\
                 Disallow: /{}$\nSitemap: {}\n",
                "ab".repeat(20_000),
                u("/sitemap-from-robots.xml")
            ),
        ),
    );
    // A Shift_JIS page whose link is 日本 in Shift_JIS bytes: URLs are UTF-8, percent-encoded.
    let mut sjis = b"<html><head><meta charset=\"shift_jis\"></head><body><a href=\"/".to_vec();
    sjis.extend_from_slice(&[0x93, 0xFA, 0x96, 0x7B]);
    sjis.extend_from_slice(b"\">nihon</a></body></html>");
    site.route("/sjis", Page::typed("text/html", sjis));
    // <base href>: the first one counts, a relative one resolves against the page, and one pointing at
    // another host takes the links with it (out of scope, never requested).
    site.route(
        "/based/page",
        Page::html("<base href=\"/b/\"><base href=\"/ignored/\"><a href=\"rel\">rel</a><a href=\"../up\">up</a>"),
    );
    site.route(
        "/variants",
        Page::html(format!(
            "<a href=\"/v/./a\">1</a><a href=\"/v/x/../a\">2</a><a href=\"HTTP://127.0.0.1:{port}/v/a\">3</a>\
             <a href=\"/v/%61\">4</a><a href=\"/v/a#frag\">5</a><a href=\"http://127.0.0.1:{port}/v/a\">6</a>\
             <a href=\"/%76/a\">7</a>"
        )),
    );
    // Says gzip, is not: recorded with the decoding error, nothing followed.
    site.route("/lying-gzip", Page::html("<a href=/never-linked>x</a>").header("content-encoding", "gzip"));
    site.route(
        "/malformed",
        Page::html("<p<a href=/m1>one</a><div><a href='/m2'<b>two</a><a href=/m3 >three<a/><table><a href=\"/m4"),
    );
    site.route("/endless", Page { body: Content::Stream(usize::MAX / 2), ..Page::typed("text/html", "") });
    site.route_sequence("/flaky", vec![Page::status(500), Page::status(503), Page::links(&["/after-flaky"])]);
    site.route(
        "/sitemap-from-robots.xml",
        Page::typed(
            "application/xml",
            format!(
                "<urlset><url><loc>{}</loc></url><url><loc>{}</loc></url></urlset>",
                u("/from-sitemap"),
                u("/x.pdf")
            ),
        ),
    );
    for path in [
        "/%E6%97%A5%E6%9C%AC",
        "/b/rel",
        "/up",
        "/v/a",
        "/m2",
        "/m3",
        "/after-flaky",
        "/private/open",
        "/from-sitemap",
        "/doc.pdf?download=1",
    ] {
        site.route(path, Page::links(&[]));
    }
    let (short, short_requests) = short_body_server().await;

    let (mut config, _dir) = config(&[u("/"), format!("http://{short}/")]);
    config.crawl.sitemaps = true;
    config.crawl.max_retries = 2;
    config.fetch.max_body_bytes = (256 * 1024).try_into().unwrap();
    let out = crawl(config).await;
    let paths = site.paths();
    let served = |path: &str| paths.iter().filter(|p| *p == path).count();

    // Legacy charset: the link is decoded by the page's charset and requested as UTF-8.
    assert_eq!(out.page(&u("/%E6%97%A5%E6%9C%AC"))["status"], 200);
    // <base href>: the first one, relative to the page.
    assert_eq!(out.page(&u("/b/rel"))["parent"], u("/based/page"));
    assert_eq!(out.page(&u("/up"))["status"], 200);
    assert!(!paths.iter().any(|p| p.starts_with("/ignored") || p.starts_with("/based/rel")), "{paths:?}");
    // Seven spellings of one URL: requested once.
    assert_eq!(served("/v/a"), 1, "{paths:?}");
    assert_eq!(out.lines.iter().filter(|l| l["url"].as_str().unwrap().contains("/v/")).count(), 1);
    // A lying Content-Encoding: recorded with the reason, not parsed, not retried.
    let lying = out.page(&u("/lying-gzip"));
    assert!(lying["error"].as_str().unwrap().starts_with("undecodable body: gzip"), "{lying}");
    assert_eq!((lying["status"].as_u64(), lying["attempts"].as_u64()), (Some(200), Some(1)));
    assert_eq!(served("/never-linked"), 0);
    // Malformed HTML gives the links a browser would find, and only those: `<p<a href=/m1>` is one
    // tag named `p<a`, and a tag cut off by the end of the file is no tag.
    for path in ["/m2", "/m3"] {
        assert_eq!(out.page(&u(path))["status"], 200, "{path}");
    }
    assert!(!out.has(&u("/m1")) && !out.has(&u("/m4")), "{:?}", out.urls());
    // An endless body is cut at the cap, once.
    let endless = out.page(&u("/endless"));
    assert_eq!(endless["truncated"], "length");
    assert_eq!(endless["stored_bytes"], 256 * 1024);
    assert_eq!(served("/endless"), 1);
    // Fails twice, then succeeds: three requests, one line, its links followed.
    let flaky = out.page(&u("/flaky"));
    assert_eq!((flaky["status"].as_u64(), flaky["attempts"].as_u64()), (Some(200), Some(3)));
    assert_eq!(served("/flaky"), 3);
    assert_eq!(out.page(&u("/after-flaky"))["depth"], 2);
    // robots.txt: `$` and wildcards, Allow over Disallow, one oversized rule ignored alone.
    assert_eq!(out.page(&u("/doc.pdf"))["error"], "disallowed by robots.txt");
    assert_eq!(out.page(&u("/doc.pdf?download=1"))["status"], 200, "`$` anchors the end");
    assert_eq!(out.page(&u("/private/closed"))["error"], "disallowed by robots.txt");
    assert_eq!(out.page(&u("/private/open"))["status"], 200);
    assert!(!paths.iter().any(|p| p.ends_with(".pdf") || p == "/private/closed"), "{paths:?}");
    // The Sitemap line: its allowed entry is crawled, its disallowed one is not even queued.
    assert_eq!(out.page(&u("/from-sitemap"))["via"], "sitemap");
    assert!(!out.has(&u("/x.pdf")));
    assert_eq!(served("/robots.txt"), 1);
    // A body shorter than its Content-Length: a broken connection, retried, then recorded as such.
    let short_line = out.page(&format!("http://{short}/"));
    assert_eq!(short_line["truncated"], "disconnect", "{short_line}");
    assert!(short_line["error"].as_str().unwrap().starts_with("body read failed"), "{short_line}");
    assert_eq!(short_requests.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(short_line["attempts"], 3);
}

/// A calendar without end: each month links to the next and the one before, for ever, with short
/// URLs no guard catches. `crawl.max_depth` is what bounds such a trap: the crawl ends, each month is
/// fetched once, at its distance from the seed, and the months past the limit are counted, not fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_calendar_is_bounded_by_max_depth_and_each_month_is_fetched_once() {
    let site = Site::start("127.0.0.1", []).await;
    site.route_generated("/cal?", |path| {
        let month: i64 = path.rsplit('=').next().and_then(|m| m.parse().ok()).unwrap_or(0);
        Page::links(&[&format!("/cal?m={}", month + 1), &format!("/cal?m={}", month - 1), "/cal?m=0"])
    });
    let (mut config, _dir) = config(&[site.url("/cal?m=0")]);
    config.crawl.max_depth = Some(6);
    let out = crawl(config).await;

    assert_eq!(out.stats()["state"], "complete");
    // Months -6 to 6: each at its distance from month 0.
    assert_eq!(out.lines.len(), 13, "{:?}", out.urls());
    for month in -6i64..=6 {
        assert_eq!(out.page(&site.url(&format!("/cal?m={month}")))["depth"], month.unsigned_abs());
        assert_eq!(site.count(&format!("/cal?m={month}")), 1, "month {month} fetched once");
    }
    assert_eq!(out.stats()["links_too_deep"], 6, "the three links of months 6 and -6, each one level too deep");
}
