//! Resume: a crawl killed with SIGKILL at any moment, resumed with the same command, records exactly
//! what an uninterrupted crawl records, each page once, at the same depth, with whole WARC records.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flate2::bufread::GzDecoder;
use serde_json::Value;

use crate::support::{Output, Page, Site};

const PAGES: usize = 600;

/// Page i links down a binary tree and across to two pseudo-random pages: shortest depths that a
/// crawl gets wrong if it loses a link or records a page from a deeper path.
fn graph_site_routes() -> Vec<(String, Page)> {
    (0..PAGES)
        .map(|i| {
            let links: Vec<String> = graph_links(i).map(path_of).collect();
            let refs: Vec<&str> = links.iter().map(String::as_str).collect();
            (path_of(i), Page::links(&refs).delay(Duration::from_millis(30)))
        })
        .collect()
}

/// The pages page `i` of the graph site links to.
fn graph_links(i: usize) -> impl Iterator<Item = usize> {
    [2 * i + 1, 2 * i + 2, (i * 7 + 3) % PAGES, (i * 13 + 5) % PAGES].into_iter().filter(|&t| t < PAGES)
}

fn path_of(page: usize) -> String {
    if page == 0 { "/".to_owned() } else { format!("/p{page}") }
}

async fn graph_site() -> Site {
    let site = Site::start("127.0.0.1", []).await;
    for (path, page) in graph_site_routes() {
        site.route(&path, page);
    }
    site
}

fn write_config(path: &Path, site: &Site, out: &Path) {
    write_config_with(path, site, out, "");
}

/// The crawl config, with more `[output]` keys.
fn write_config_with(path: &Path, site: &Site, out: &Path, output: &str) {
    let toml = format!(
        "seeds = [\"{}\"]\nout = \"{}\"\n\n[crawl]\nconcurrency = 8\nsitemaps = false\n\n\
         [fetch]\nallow_private_networks = true\n\n[politeness]\nper_host_concurrency = 4\n\
         delay = \"0s\"\n\n[output]\nprogress_interval = \"100ms\"\nsync_interval = \"150ms\"\n\
         warc_max_bytes = 60000\n{output}",
        site.url("/"),
        out.display()
    );
    std::fs::write(path, toml).unwrap();
}

/// Shortest depths of the graph site's pages, by a BFS of its links.
fn graph_depths(site: &Site) -> HashMap<String, u64> {
    let mut depths = vec![None; PAGES];
    depths[0] = Some(0);
    let mut level = vec![0];
    while !level.is_empty() {
        let mut next = Vec::new();
        for &page in &level {
            for target in graph_links(page) {
                if depths[target].is_none() {
                    depths[target] = depths[page].map(|d: u64| d + 1);
                    next.push(target);
                }
            }
        }
        level = next;
    }
    depths.iter().enumerate().filter_map(|(page, depth)| Some((site.url(&path_of(page)), (*depth)?))).collect()
}

fn crawld() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crawld"));
    command.env("RUST_LOG", "crawld=info").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    command
}

/// URLs of the whole lines of pages.jsonl.
fn recorded(out: &Path) -> HashSet<String> {
    let text = std::fs::read(out.join("pages.jsonl")).unwrap_or_default();
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(&text[..0], |end| &text[..=end]);
    whole
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<Value>(l).unwrap()["url"].as_str().unwrap().to_owned())
        .collect()
}

/// Run the crawl of `config` and SIGKILL it once `out` has `lines` whole lines.
async fn kill_after_lines(config: &Path, out: &Path, lines: usize) {
    let mut child = crawld().args(["run", "--config"]).arg(config).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while recorded(out).len() < lines {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "the crawl never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A tiny deterministic generator for kill times; the seed is printed so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_and_resumed_the_crawl_records_each_page_once_at_its_depth() {
    let site = graph_site().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("crawl.toml");
    // Snapshots of the frontier every few dozen URLs: kills land before, during and after them.
    write_config_with(&config, &site, &out, "snapshot_after = 40\n");

    let seed = std::env::var("CRAWLD_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("kill times from CRAWLD_KILL_SEED={seed}");
    let mut rng = Lcg(seed);
    // (hits served before the kill, URLs with a whole line right after it)
    let mut kills: Vec<(usize, HashSet<String>)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while kills.len() < 6 {
        assert!(Instant::now() < deadline, "the crawl ended before it could be killed 6 times");
        let before = recorded(&out).len();
        let mut child = crawld().args(["run", "--config"]).arg(&config).spawn().unwrap();
        // Some kills come early (start-up, robots.txt), most in the thick of the writing.
        let wait = Duration::from_millis(100 + rng.below(700));
        tokio::time::sleep(wait).await;
        if child.try_wait().unwrap().is_some() {
            break; // finished before the kill: the crawl is complete
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let hits = site.hits().len();
        let lines = recorded(&out);
        assert!(lines.len() >= before, "lines already recorded were lost: {} -> {}", before, lines.len());
        eprintln!("killed after {wait:?}: {} lines", lines.len());
        kills.push((hits, lines));
    }
    assert!(kills.len() >= 5, "only {} kills happened before the crawl completed", kills.len());

    // The last run goes to the end, with the same command.
    let done = crawld().args(["run", "--config"]).arg(&config).output().unwrap();
    let log = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{log}");
    assert!(log.contains("resuming the crawl"), "{log}");

    // The reference: the same site crawled without interruption.
    let reference_dir = dir.path().join("reference");
    let reference_config = dir.path().join("reference.toml");
    write_config(&reference_config, &site, &reference_dir);
    let hits_before_reference = site.hits().len();
    let uninterrupted = crawld().args(["run", "--config"]).arg(&reference_config).output().unwrap();
    assert!(uninterrupted.status.success());
    let hits = site.hits();

    let resumed = Output::read(&out);
    let reference = Output::read(&reference_dir);
    assert_eq!(resumed.lines.len(), PAGES, "every page once, none twice");
    assert_eq!(resumed.urls().into_iter().collect::<HashSet<_>>().len(), PAGES);
    assert_eq!(resumed.depths(), reference.depths(), "the same pages at the same depths");
    assert_eq!(resumed.stats()["state"], "complete");
    assert_eq!(resumed.stats()["pages"], PAGES);

    // No page that had its line when the process was killed was fetched again.
    for (k, (served, lines)) in kills.iter().enumerate() {
        for hit in &hits[*served..hits_before_reference] {
            let url = site.url(&hit.path);
            assert!(!lines.contains(&url), "{url} was recorded before kill {k} and fetched again after it");
        }
    }
    check_warc(&out, &resumed);
}

/// Every WARC file is a clean run of whole records, and every page's line points at its own response
/// record, which no other line points at; no page response is left without a line.
fn check_warc(out: &Path, pages: &Output) {
    let mut pointed: HashMap<(String, u64), String> = HashMap::new();
    for line in &pages.lines {
        let warc = &line["warc"];
        let key = (warc["file"].as_str().unwrap().to_owned(), warc["offset"].as_u64().unwrap());
        let url = line["url"].as_str().unwrap().to_owned();
        assert!(pointed.insert(key.clone(), url).is_none(), "two lines point at {key:?}");
    }
    let mut responses = 0;
    for entry in std::fs::read_dir(out.join("warc")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        let mut at = 0;
        let mut first = true;
        while at < bytes.len() {
            let mut decoder = GzDecoder::new(&bytes[at..]);
            let mut record = Vec::new();
            decoder.read_to_end(&mut record).unwrap_or_else(|e| panic!("{name} at {at}: a torn record ({e})"));
            let next = bytes.len() - decoder.into_inner().len();
            let head = String::from_utf8_lossy(&record[..record.len().min(2000)]).into_owned();
            assert!(head.starts_with("WARC/1.1\r\n"), "{name} at {at}: {head}");
            if first {
                assert!(head.contains("WARC-Type: warcinfo"), "{name} begins with its warcinfo");
                first = false;
            }
            if head.contains("WARC-Type: response") && !head.contains("/robots.txt\r\n") {
                responses += 1;
                let url = pointed.get(&(name.clone(), at as u64));
                let target = head.lines().find_map(|l| l.strip_prefix("WARC-Target-URI: ")).unwrap();
                assert_eq!(url.map(String::as_str), Some(target), "{name} at {at}: a page response without its line");
            }
            at = next;
        }
    }
    assert_eq!(responses, pointed.len(), "every line points at a response record that exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_goes_on_with_the_saved_config_refuses_other_seeds_and_leaves_a_finished_crawl_alone() {
    let site = graph_site().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("crawl.toml");
    write_config(&config, &site, &out);
    kill_after_lines(&config, &out, 20).await;
    let before = std::fs::read(out.join("pages.jsonl")).unwrap();

    // Other seeds into the same directory: refused, nothing touched.
    let other = crawld().args(["run", "--seed", &site.url("/p7"), "--out"]).arg(&out).output().unwrap();
    let log = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(1), "{log}");
    assert!(log.contains("holds a crawl of other seeds"), "{log}");
    assert_eq!(std::fs::read(out.join("pages.jsonl")).unwrap(), before);

    // `crawld resume OUT` needs nothing but the directory; a tunable may change.
    let resumed = crawld().args(["resume", "--concurrency", "2"]).arg(&out).output().unwrap();
    let log = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{log}");
    assert!(log.contains("resuming the crawl"), "{log}");
    let pages = Output::read(&out);
    assert_eq!(pages.lines.len(), PAGES);
    assert!(std::fs::read(out.join("pages.jsonl")).unwrap().starts_with(&before));

    // Finished: run again, it says so and fetches nothing.
    let hits = site.hits().len();
    let again = crawld().args(["run", "--config"]).arg(&config).output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds a finished crawl"));
    assert_eq!(site.hits().len(), hits);
    assert_eq!(Output::lines_in(&out), PAGES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_journal_or_another_scope_is_refused_with_a_clear_error_and_nothing_touched() {
    let site = graph_site().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("crawl.toml");
    write_config(&config, &site, &out);
    kill_after_lines(&config, &out, 20).await;
    let pages = std::fs::read(out.join("pages.jsonl")).unwrap();

    // Another scope: refused, saying which key.
    let narrower = dir.path().join("narrower.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&narrower, format!("{text}\n[scope]\ninclude = [\"/p1\"]\n")).unwrap();
    let refused = crawld().args(["run", "--config"]).arg(&narrower).output().unwrap();
    let log = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{log}");
    assert!(log.contains("scope.include") && log.contains("refused"), "{log}");

    // A journal damaged in the middle (not a torn tail): refused with the file and the byte.
    let journal = out.join("state/frontier.journal");
    let mut bytes = std::fs::read(&journal).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&journal, &bytes).unwrap();
    let refused = crawld().args(["run", "--config"]).arg(&config).output().unwrap();
    let log = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{log}");
    assert!(log.contains("frontier.journal is damaged at byte") && log.contains("refusing to resume"), "{log}");
    assert_eq!(std::fs::read(out.join("pages.jsonl")).unwrap(), pages, "nothing touched");
    assert_eq!(std::fs::read(&journal).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_starts_from_the_frontier_snapshot_and_a_damaged_snapshot_costs_only_a_full_replay() {
    let site = graph_site().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("crawl.toml");
    write_config_with(&config, &site, &out, "snapshot_after = 50\n");
    let snapshot = out.join("state/frontier.snapshot");

    // Killed once a snapshot is in place and lines came after it.
    let mut child = crawld().args(["run", "--config"]).arg(&config).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !snapshot.exists() || recorded(&out).len() < 150 {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "no snapshot was taken");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = recorded(&out).len();

    // A resume that is killed in turn: it read the snapshot and only the lines after it.
    let mut child = crawld().args(["run", "--config"]).arg(&config).spawn().unwrap();
    let mut log = String::new();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    while !log.contains("resuming the crawl") {
        assert_ne!(std::io::BufRead::read_line(&mut stderr, &mut log).unwrap(), 0, "{log}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(log.contains("read from the frontier's snapshot"), "{log}");
    let read: usize = log.split("lines_read=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(read < lines, "only the lines after the snapshot are read: {read} of {lines}\n{log}");

    // A damaged snapshot is set aside: the journal is replayed whole, and nothing is lost.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&snapshot, &bytes).unwrap();
    let done = crawld().args(["run", "--config"]).arg(&config).output().unwrap();
    let log = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{log}");
    assert!(log.contains("snapshot cannot be used") && log.contains("read from the whole journal"), "{log}");

    let resumed = Output::read(&out);
    assert_eq!(resumed.lines.len(), PAGES, "every page once, none twice");
    assert_eq!(resumed.depths(), graph_depths(&site), "each page at its shortest depth");
    assert_eq!(resumed.stats()["pages"], PAGES);
    assert_eq!(resumed.stats()["status_2xx"], PAGES, "the counts of the lines before the snapshot are kept");
    check_warc(&out, &resumed);
}
