//! The output directory: pages.jsonl, WARC read back record by record, crawl.json, stats.json.

use std::collections::HashMap;
use std::io::Read;

use warc::WarcHeader;

use crate::support::{Content, Page, Site, config, crawl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_in_pages_jsonl_and_its_exchange_in_warc() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/robots.txt", Page::typed("text/plain", "User-agent: *\nDisallow: /private\n")),
            ("/", Page::links(&["/a", "/b", "/gone"])),
            ("/a", Page::links(&["/b"])),
            ("/b", Page::typed("text/plain", "plain text body")),
        ],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.output.warc_max_bytes = 1500.try_into().unwrap(); // forces rotation
    let out = crawl(config).await;

    let keys = ["url", "depth", "parent", "status", "content_type", "bytes", "stored_bytes", "fetched_at"];
    for line in &out.lines {
        for key in keys.iter().chain(&["elapsed_ms", "ttfb_ms", "links", "attempts"]) {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
        // Regression (issue 10): whole milliseconds made every fetch on a fast server take 0 ms.
        let (elapsed, ttfb) = (line["elapsed_ms"].as_f64().unwrap(), line["ttfb_ms"].as_f64().unwrap());
        assert!(0.0 < ttfb && ttfb <= elapsed, "{line}");
    }
    let b = out.page(&site.url("/b"));
    assert_eq!((b["bytes"].as_u64(), b["stored_bytes"].as_u64()), (Some(15), Some(15)));
    assert_eq!(out.lines.len(), 4);
    assert_eq!(out.page(&site.url("/gone"))["status"], 404);

    // Read every WARC file back with an independent reader, record by record.
    let mut files: Vec<_> = std::fs::read_dir(out.dir.join("warc")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 2, "rotated by size: {files:?}");
    let mut responses: HashMap<String, Vec<u8>> = HashMap::new();
    let mut requests = 0;
    for file in &files {
        let reader = warc::WarcReader::from_path_gzip(file).unwrap();
        let mut types = Vec::new();
        for record in reader.iter_records() {
            let record = record.unwrap();
            let kind = record.header(WarcHeader::WarcType).unwrap().to_string();
            match kind.as_str() {
                "response" => {
                    let uri = record.header(WarcHeader::TargetURI).unwrap().to_string();
                    responses.insert(uri, record.body().to_vec());
                }
                "request" => requests += 1,
                _ => {}
            }
            types.push(kind);
        }
        assert_eq!(types.first().map(String::as_str), Some("warcinfo"), "{file:?} starts with warcinfo");
    }
    // Four pages plus robots.txt, which is archived but is not a page.
    assert_eq!(responses.len(), 5);
    assert_eq!(requests, 5);
    assert!(responses[&site.url("/robots.txt")].ends_with(b"\r\n\r\nUser-agent: *\nDisallow: /private\n"));
    assert!(!out.has(&site.url("/robots.txt")));
    assert_eq!(out.stats()["robots_txt_archived"], 1);
    let b = &responses[&site.url("/b")];
    assert!(b.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(b.ends_with(b"\r\n\r\nplain text body"));

    // Each line's warc pointer is a gzip member holding that URL's response record.
    for line in &out.lines {
        let warc = &line["warc"];
        let bytes = std::fs::read(out.dir.join("warc").join(warc["file"].as_str().unwrap())).unwrap();
        let offset = warc["offset"].as_u64().unwrap() as usize;
        let length = warc["length"].as_u64().unwrap() as usize;
        let mut record = String::new();
        flate2::read::GzDecoder::new(&bytes[offset..offset + length]).read_to_string(&mut record).unwrap();
        assert!(record.starts_with("WARC/1.1\r\n"));
        assert!(record.contains(&format!("WARC-Target-URI: {}\r\n", line["url"].as_str().unwrap())), "{record}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_and_stats_describe_the_crawl_and_a_finished_one_is_left_alone() {
    let site = Site::start("127.0.0.1", [("/", Page::links(&[]))]).await;
    let (config, _dir) = config(&[site.url("/")]);
    let out_dir = config.out.clone();
    let out = crawl(config.clone()).await;

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("crawl.json")).unwrap()).unwrap();
    assert_eq!(manifest["seeds"][0], site.url("/"));
    assert_eq!(manifest["config"]["politeness"]["per_host_concurrency"], 4);
    assert_eq!(manifest["crawld_version"], env!("CARGO_PKG_VERSION"));
    let stats = out.stats();
    assert_eq!((stats["state"].as_str(), stats["pages"].as_u64()), (Some("complete"), Some(1)));

    // The same crawl again finds it complete and fetches nothing; a crawl of other seeds is refused.
    // Both leave the first one's data alone.
    let before = std::fs::read(out_dir.join("pages.jsonl")).unwrap();
    let hits = site.hits().len();
    let again = crawld::run(config.clone(), tokio_util::sync::CancellationToken::new()).await.unwrap();
    assert!(again.already_finished && again.ending == crawld::Ending::Complete, "{again:?}");
    assert_eq!(again.stats.pages, 1);
    let mut other = config;
    other.seeds = vec![crawld::config::HttpUrl::parse(&site.url("/other")).unwrap()];
    let error = crawld::run(other, tokio_util::sync::CancellationToken::new()).await.unwrap_err();
    assert!(format!("{error:#}").contains("holds a crawl of other seeds"), "{error:#}");
    assert_eq!(std::fs::read(out_dir.join("pages.jsonl")).unwrap(), before);
    assert_eq!(site.hits().len(), hits);
}

/// Regression (issue 10): the progress line's `errors` counted a robots.txt block while 404s went
/// uncounted, and the summary called the same number `no_response`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_counted_once_under_the_name_of_its_outcome() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/robots.txt", Page::typed("text/plain", "User-agent: *\nDisallow: /private\n")),
            ("/", Page::links(&["/missing", "/private/x", "/slow", "/moved"])),
            ("/slow", Page::links(&[]).delay(std::time::Duration::from_secs(3))),
            ("/moved", Page::redirect(301, "/")),
        ],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.fetch.timeout = std::time::Duration::from_millis(500);
    config.crawl.max_retries = 0;
    let stats = crawl(config).await.stats();

    let counts: Vec<(&str, u64)> =
        ["status_2xx", "status_3xx", "status_4xx", "status_5xx", "no_response", "robots_blocked"]
            .into_iter()
            .map(|name| (name, stats[name].as_u64().unwrap()))
            .collect();
    assert_eq!(
        counts,
        [
            ("status_2xx", 1),
            ("status_3xx", 1),
            ("status_4xx", 1),
            ("status_5xx", 0),
            ("no_response", 1),
            ("robots_blocked", 1)
        ]
    );
    assert_eq!(stats["pages"], 5);
    assert!(stats.get("errors").is_none(), "{stats}");
}

/// Regression: a body cut by the timeout or a broken connection was archived without WARC-Truncated,
/// and a complete raw body whose decoded size hit the cap was marked `length` (WARC 1.1 §5.13: the
/// reason is about the record's block, the bytes as received). pages.jsonl gives the same reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warc_truncated_gives_the_real_reason_and_pages_jsonl_the_same() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &vec![b' '; 1 << 20]).unwrap();
    let gz = gz.finish().unwrap();
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/stall", "/cut", "/expands", "/huge", "/whole"])),
            ("/stall", Page { body: Content::Stall("<html>first part".into()), ..Page::typed("text/html", "") }),
            ("/cut", Page { body: Content::Cut("<html>first part".into()), ..Page::typed("text/html", "") }),
            ("/expands", Page::typed("text/html", gz).header("content-encoding", "gzip")),
            ("/huge", Page { body: Content::Stream(1 << 20), ..Page::typed("text/html", "") }),
            ("/whole", Page::links(&[])),
        ],
    )
    .await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.fetch.timeout = std::time::Duration::from_millis(800);
    config.fetch.max_body_bytes = (64u64 << 10).try_into().unwrap();
    config.crawl.max_retries = 0;
    let out = crawl(config).await;

    let mut truncated: HashMap<String, Option<String>> = HashMap::new();
    for entry in std::fs::read_dir(out.dir.join("warc")).unwrap() {
        for record in warc::WarcReader::from_path_gzip(entry.unwrap().path()).unwrap().iter_records() {
            let record = record.unwrap();
            if record.header(WarcHeader::WarcType).unwrap() == "response" {
                let uri = record.header(WarcHeader::TargetURI).unwrap().to_string();
                truncated.insert(uri, record.header(WarcHeader::Truncated).map(|t| t.to_string()));
            }
        }
    }
    for (path, want) in [
        ("/stall", Some("time")),
        ("/cut", Some("disconnect")),
        ("/huge", Some("length")),
        ("/expands", None),
        ("/whole", None),
    ] {
        let url = site.url(path);
        assert_eq!(truncated[&url].as_deref(), want, "WARC-Truncated of {path}");
        let line = out.page(&url);
        assert_eq!(line["status"], 200, "{line}");
        assert_eq!(line["truncated"].as_str(), want, "{line}");
    }
    assert_eq!(out.page(&site.url("/expands"))["stored_bytes"], out.page(&site.url("/expands"))["bytes"]);
    assert_eq!(out.stats()["truncated"], 3);
}
