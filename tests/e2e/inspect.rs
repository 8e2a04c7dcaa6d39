//! `crawld inspect`, `index` and `export` on the output of a real crawl of a loopback site: the report's
//! figures against counts made here from pages.jsonl, filters and lists, one page with its parent chain,
//! a directory being written, several directories, the HTML report, and the CDXJ index and WACZ
//! checked by independent tools (PyPI cdxj-indexer and wacz, see scripts/pytools.sh).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{Output, Page, Site, config, crawl, pytools};

fn crawld(args: &[&str], dirs: &[&Path]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crawld"));
    command.args(args).args(dirs).env("RUST_LOG", "crawld=info").stdin(Stdio::null());
    command.output().unwrap()
}

fn stdout_of(args: &[&str], dirs: &[&Path]) -> String {
    let out = crawld(args, dirs);
    assert!(out.status.success(), "crawld {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

const GZ_BODY: &str = "<!doctype html><p>compressed on the wire</p>";

/// A site with a bit of everything: links, a redirect, a 404, a 500, robots.txt, text, a gzipped page.
async fn known_crawl() -> (Site, Output, tempfile::TempDir) {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/robots.txt", Page::typed("text/plain", "User-agent: *\nDisallow: /private\n")),
            ("/", Page::links(&["/a", "/b", "/missing", "/r", "/err", "/private/x", "/big", "/gz"])),
            ("/a", Page::links(&["/b", "/c?q=1&p=2"])),
            ("/b", Page::typed("text/plain", "plain text body")),
            ("/r", Page::redirect(301, "/c")),
            ("/c", Page::links(&["/"])),
            ("/err", Page::status(500)),
            ("/big", Page::html("x".repeat(5000))),
            ("/gz", Page::typed("text/html", gzip(GZ_BODY.as_bytes())).header("content-encoding", "gzip")),
        ],
    )
    .await;
    let (mut config, dir) = config(&[site.url("/")]);
    config.crawl.max_retries = 1;
    config.output.warc_max_bytes = 2000.try_into().unwrap(); // several WARC files
    let out = crawl(config).await;
    (site, out, dir)
}

fn mime(line: &Value) -> String {
    line["content_type"]
        .as_str()
        .map_or("(none)".to_owned(), |c| c.split(';').next().unwrap().trim().to_ascii_lowercase())
}

fn failed(line: &Value) -> bool {
    line.get("error").is_some() || line["status"].as_u64().is_none_or(|s| s >= 400)
}

#[test]
fn help_documents_inspect_index_and_export() {
    let help = stdout_of(&["--help"], &[]);
    for command in ["inspect", "index", "export"] {
        assert!(help.contains(command), "--help mentions {command}: {help}");
    }
    let inspect = stdout_of(&["inspect", "--help"], &[]);
    for flag in ["--host", "--status", "--depth", "--type", "--error", "--list", "--json", "--html", "--url", "--body"]
    {
        assert!(inspect.contains(flag), "inspect --help documents {flag}");
    }
    assert!(stdout_of(&["export", "--help"], &[]).contains("--wacz"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_reports_a_crawl_as_json_text_and_lists() {
    let (site, out, _dir) = known_crawl().await;
    let dir = out.dir.as_path();
    let report: Value = serde_json::from_str(&stdout_of(&["inspect", "--json"], &[dir])).unwrap();

    // Every figure against a count made here, from pages.jsonl.
    let lines = &out.lines;
    assert_eq!(report["pages"], lines.len());
    let sum = |key: &str| lines.iter().map(|l| l[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(report["bytes"], sum("bytes"));
    assert_eq!(report["stored_bytes"], sum("stored_bytes"));
    assert_eq!(report["retries"], sum("attempts") - lines.len() as u64);
    assert!(report["retries"].as_u64().unwrap() > 0, "the 500 was retried");
    let count = |f: &dyn Fn(&Value) -> bool| lines.iter().filter(|l| f(l)).count() as u64;
    for (class, range) in
        [("status_2xx", 200..300), ("status_3xx", 300..400), ("status_4xx", 400..500), ("status_5xx", 500..600)]
    {
        let n = count(&|l| l["status"].as_u64().is_some_and(|s| range.contains(&s)));
        assert_eq!(report["outcomes"][class], n, "{class}");
        assert!(n > 0, "the site has a {class} page");
    }
    let blocked = count(&|l| l["error"].as_str().is_some_and(|e| e.starts_with("disallowed by robots.txt")));
    assert_eq!((report["outcomes"]["robots_blocked"].as_u64(), blocked), (Some(1), 1));
    assert_eq!(report["redirects"], count(&|l| l.get("redirect").is_some()));
    assert_eq!(report["failed_total"], count(&failed));

    let mut codes: BTreeMap<u64, u64> = BTreeMap::new();
    let mut depths: BTreeMap<u64, u64> = BTreeMap::new();
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    for l in lines {
        if let Some(s) = l["status"].as_u64() {
            *codes.entry(s).or_default() += 1;
        }
        *depths.entry(l["depth"].as_u64().unwrap()).or_default() += 1;
        *types.entry(mime(l)).or_default() += 1;
    }
    let pairs = |v: &Value, key: &str| -> BTreeMap<String, u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| (r[key].to_string().trim_matches('"').to_owned(), r["pages"].as_u64().unwrap()))
            .collect()
    };
    let stringify = |m: &BTreeMap<u64, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>();
    assert_eq!(pairs(&report["status_codes"], "key"), stringify(&codes));
    assert_eq!(pairs(&report["depths"], "key"), stringify(&depths));
    assert_eq!(pairs(&report["content_types"], "content_type"), types);
    assert_eq!(report["hosts_total"], 1);
    assert_eq!(report["hosts"][0]["host"], site.addr.to_string());
    assert_eq!(report["hosts"][0]["pages"], lines.len());
    assert_eq!(report["crawls"][0]["state"], "complete");
    let histogram: u64 =
        report["latency"]["histogram"].as_array().unwrap().iter().map(|b| b["pages"].as_u64().unwrap()).sum();
    let throughput: u64 = report["throughput"]["pages"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap()).sum();
    assert_eq!((histogram, throughput), (lines.len() as u64, lines.len() as u64));
    assert_eq!(report["largest"][0]["url"], site.url("/big"));

    // The text summary.
    let text = stdout_of(&["inspect"], &[dir]);
    for want in [
        format!("crawl    {}  [complete]", dir.display()),
        format!("seeds    {}", site.url("/")),
        format!("pages    {}", lines.len()),
        "status_4xx".to_owned(),
        "disallowed by robots.txt".to_owned(),
        format!("{}  status 404", site.url("/missing")),
    ] {
        assert!(text.contains(&want), "the summary has {want:?}:\n{text}");
    }

    // Filters narrow the report; --list prints the URLs, one per line.
    let list = |args: &[&str]| -> Vec<String> {
        let mut urls: Vec<String> =
            stdout_of(&[&["inspect", "--list"], args].concat(), &[dir]).lines().map(str::to_owned).collect();
        urls.sort();
        urls
    };
    let expect = |f: &dyn Fn(&Value) -> bool| -> Vec<String> {
        let mut urls: Vec<String> =
            lines.iter().filter(|l| f(l)).map(|l| l["url"].as_str().unwrap().to_owned()).collect();
        urls.sort();
        urls
    };
    let client_errors = list(&["--status", "4xx"]);
    assert_eq!(client_errors, expect(&|l| l["status"].as_u64().is_some_and(|s| (400..500).contains(&s))));
    assert!(client_errors.contains(&site.url("/missing")), "{client_errors:?}");
    assert_eq!(list(&["--status", "500"]), [site.url("/err")]);
    assert_eq!(list(&["--depth", "2"]), expect(&|l| l["depth"] == 2));
    assert_eq!(list(&["--type", "text/plain"]), expect(&|l| mime(l) == "text/plain"));
    assert_eq!(list(&["--error"]), expect(&failed));
    assert_eq!(list(&["--host", "127.0.0.1"]).len(), lines.len());
    assert!(list(&["--host", "example.org"]).is_empty());
    let filtered: Value =
        serde_json::from_str(&stdout_of(&["inspect", "--json", "--type", "text/html", "--depth", "1"], &[dir]))
            .unwrap();
    assert_eq!(filtered["pages"], count(&|l| mime(l) == "text/html" && l["depth"] == 1));
    assert_eq!(filtered["filter"], "--depth 1 --type text/html");

    let bad = crawld(&["inspect", "--status", "4x"], &[dir]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--status 4x: expected a code (404) or a class (4xx)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_url_shows_the_record_its_parent_chain_warc_headers_and_body() {
    let (site, out, _dir) = known_crawl().await;
    let dir = out.dir.as_path();
    // /c was reached by the redirect from /r, which was linked from the seed.
    let text = stdout_of(&["inspect", "--url", &site.url("/c")], &[dir]);
    assert!(text.contains(&format!("\"url\": \"{}\"", site.url("/c"))), "{text}");
    let chain =
        format!("  <- redirect depth 1   301  {}\n  <- link     depth 0   200  {}\n", site.url("/r"), site.url("/"));
    assert!(text.contains(&chain), "the parent chain, back to the seed:\n{text}");
    assert!(text.contains("  WARC-Type: response\n"), "{text}");
    assert!(text.contains(&format!("  WARC-Target-URI: {}\n", site.url("/c"))), "{text}");
    assert!(text.contains("  HTTP/1.1 200 OK\n"), "{text}");

    let detail: Value =
        serde_json::from_str(&stdout_of(&["inspect", "--json", "--url", &site.url("/c")], &[dir])).unwrap();
    let chain: Vec<&str> = detail["chain"].as_array().unwrap().iter().map(|s| s["url"].as_str().unwrap()).collect();
    assert_eq!(chain, [site.url("/r"), site.url("/")]);

    // --body: the payload, decoded from its Content-Encoding.
    assert_eq!(crawld(&["inspect", "--body", "--url", &site.url("/b")], &[dir]).stdout, b"plain text body");
    assert_eq!(crawld(&["inspect", "--body", "--url", &site.url("/gz")], &[dir]).stdout, GZ_BODY.as_bytes());

    let missing = crawld(&["inspect", "--url", &site.url("/never")], &[dir]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not in pages.jsonl"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_reads_a_directory_being_written_and_several_directories() {
    let (_site, out, dir) = known_crawl().await;
    let n = out.lines.len();
    let text = std::fs::read_to_string(out.dir.join("pages.jsonl")).unwrap();

    // Being written: half a line at the end is skipped, not an error.
    let writing = dir.path().join("writing");
    copy_dir(&out.dir, &writing);
    let mut half = text.lines().next().unwrap().to_owned();
    half.truncate(half.len() / 2);
    std::fs::write(writing.join("pages.jsonl"), format!("{text}{half}")).unwrap();
    let report: Value = serde_json::from_str(&stdout_of(&["inspect", "--json"], &[&writing])).unwrap();
    assert_eq!(report["pages"], n);
    assert_eq!(report["crawls"][0]["partial_last_line"], true);
    assert!(stdout_of(&["inspect"], &[&writing]).contains("ends in half a line"));

    // Two directories that share URLs: totals across them, each URL once, the duplicates reported.
    let second = dir.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    let shared: Vec<&str> = text.lines().take(3).collect();
    let extra = shared[0].replace(&out.lines[0]["url"].as_str().unwrap().to_string(), "http://127.0.0.2:1/only-here");
    std::fs::write(second.join("pages.jsonl"), format!("{}\n{extra}\n", shared.join("\n"))).unwrap();
    let both: Value = serde_json::from_str(&stdout_of(&["inspect", "--json"], &[&out.dir, &second])).unwrap();
    assert_eq!(both["pages"], n + 1);
    assert_eq!(both["duplicates"]["count"], 3);
    assert_eq!(both["hosts_total"], 2);
    assert_eq!(both["crawls"].as_array().unwrap().len(), 2);
    assert!(stdout_of(&["inspect"], &[&out.dir, &second]).contains("3 URLs were in more than one directory"));

    // A bad line in the middle, and a directory that is not there, are clear errors.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("pages.jsonl"), format!("{}\n{{not json\n{}\n", shared[0], shared[1])).unwrap();
    let bad = crawld(&["inspect"], &[&broken]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("pages.jsonl:2: not a pages.jsonl line"), "{err}");
    let gone = crawld(&["inspect"], &[&dir.path().join("nowhere")]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("nowhere is not a directory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_draws_the_json_figures_and_needs_nothing_else() {
    let (_site, out, dir) = known_crawl().await;
    let html_path = dir.path().join("report.html");
    let json = stdout_of(&["inspect", "--json", "--html", html_path.to_str().unwrap()], &[&out.dir]);
    let report: Value = serde_json::from_str(&json).unwrap();
    let html = std::fs::read_to_string(&html_path).unwrap();
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "the HTML parses cleanly: {:?}", doc.errors);

    let chart = |name: &str| -> Vec<(String, f64)> {
        let selector = scraper::Selector::parse(&format!("svg[data-chart=\"{name}\"] rect.bar")).unwrap();
        doc.select(&selector)
            .map(|r| (r.attr("data-label").unwrap().to_owned(), r.attr("data-value").unwrap().parse().unwrap()))
            .collect()
    };
    let rows = |key: &str, label: &dyn Fn(&Value) -> String, value: &str| -> Vec<(String, f64)> {
        report[key].as_array().unwrap().iter().map(|r| (label(r), r[value].as_f64().unwrap())).collect()
    };
    assert_eq!(chart("depths"), rows("depths", &|r| format!("depth {}", r["key"]), "pages"));
    assert_eq!(chart("hosts"), rows("hosts", &|r| r["host"].as_str().unwrap().to_owned(), "pages"));
    assert_eq!(
        chart("content_types"),
        rows("content_types", &|r| r["content_type"].as_str().unwrap().to_owned(), "pages")
    );
    let mut outcomes: Vec<(String, f64)> = report["outcomes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| (k.clone(), n.as_f64().unwrap()))
        .collect();
    let mut drawn = chart("outcomes");
    drawn.sort_by(|a, b| a.0.cmp(&b.0));
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(drawn, outcomes);
    let latency: Vec<f64> =
        report["latency"]["histogram"].as_array().unwrap().iter().map(|b| b["pages"].as_f64().unwrap()).collect();
    assert_eq!(chart("latency").into_iter().map(|(_, v)| v).collect::<Vec<_>>(), latency);
    let secs = report["throughput"]["bucket_secs"].as_f64().unwrap();
    let per_sec: Vec<f64> =
        report["throughput"]["pages"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap() / secs).collect();
    let drawn: Vec<f64> = chart("throughput").into_iter().map(|(_, v)| v).collect();
    assert_eq!(drawn.len(), per_sec.len());
    assert!(drawn.iter().zip(&per_sec).all(|(a, b)| (a - b).abs() < 1e-3), "{drawn:?} {per_sec:?}");
    assert!(html.contains(&format!("<td>pages</td><td>{}</td>", report["pages"])), "the summary table");

    // Self-contained: nothing loaded from anywhere, no script at all.
    let all = scraper::Selector::parse("*").unwrap();
    for element in doc.select(&all) {
        let name = element.value().name();
        assert!(
            !["script", "link", "img", "iframe", "object", "embed", "image", "use"].contains(&name),
            "<{name}> in the report"
        );
        for (attr, value) in element.value().attrs() {
            assert!(!["src", "href", "xlink:href", "srcset"].contains(&attr), "{name} {attr}={value}");
            assert!(!value.contains("://"), "{name} {attr}={value} points outside the file");
        }
    }
    let style = doc.select(&scraper::Selector::parse("style").unwrap()).map(|s| s.inner_html()).collect::<String>();
    assert!(!style.contains("url(") && !style.contains("@import"), "{style}");
    assert!(html.contains("@media print"), "a print layout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cdxj_index_matches_cdxj_indexer_and_the_wacz_validates() {
    let (_site, out, dir) = known_crawl().await;
    let bin = pytools();
    let mut warcs: Vec<PathBuf> = std::fs::read_dir(out.dir.join("warc")).unwrap().map(|e| e.unwrap().path()).collect();
    warcs.sort();
    assert!(warcs.len() >= 2, "several WARC files: {warcs:?}");

    // Written at the end of the crawl, as cdxj-indexer writes it.
    let ours = std::fs::read_to_string(out.dir.join("indexes/index.cdxj")).unwrap();
    let theirs = Command::new(bin.join("cdxj-indexer")).arg("--sort").args(&warcs).output().unwrap();
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    assert_eq!(ours, String::from_utf8(theirs.stdout).unwrap());
    // Every page with a response plus robots.txt, one line each.
    assert_eq!(ours.lines().count(), out.lines.iter().filter(|l| l.get("warc").is_some()).count() + 1);
    assert!(ours.contains(")/c?p=2&q=1 "), "SURT sorts query arguments: {ours}");

    // `crawld index` builds it again, the same.
    std::fs::remove_file(out.dir.join("indexes/index.cdxj")).unwrap();
    assert!(stdout_of(&["index"], &[&out.dir]).contains("records indexed"));
    assert_eq!(std::fs::read_to_string(out.dir.join("indexes/index.cdxj")).unwrap(), ours);

    let wacz = dir.path().join("crawl.wacz");
    stdout_of(&["export", "--wacz", wacz.to_str().unwrap()], &[&out.dir]);
    let check = Command::new(bin.join("wacz")).args(["validate", "-f"]).arg(&wacz).output().unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && said.contains("Validation succeeded"), "wacz validate: {said}");

    // A WARC file cut short is a clear error, not a panic.
    let bytes = std::fs::read(&warcs[0]).unwrap();
    std::fs::write(&warcs[0], &bytes[..bytes.len() - 10]).unwrap();
    let cut = crawld(&["index"], &[&out.dir]);
    assert_eq!(cut.status.code(), Some(1));
    let err = String::from_utf8_lossy(&cut.stderr);
    assert!(err.contains("the file ends inside a record"), "{err}");
}
