//! Shared helpers of the end-to-end tests: a test site, a crawl run in-process, and its output read back.

pub mod site;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crawld::Config;
use crawld::config::HttpUrl;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use site::{Content, Page, Site};

/// A config for tests: the given seeds, no politeness delay, short timeouts, loopback allowed, output in a
/// fresh temp dir.
pub fn config(seeds: &[String]) -> (Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        seeds: seeds.iter().map(|s| HttpUrl::parse(s).unwrap()).collect(),
        out: dir.path().join("out"),
        ..Config::default()
    };
    config.politeness.delay = Duration::ZERO;
    config.politeness.per_host_concurrency = 4.try_into().unwrap();
    config.crawl.concurrency = 8.try_into().unwrap();
    config.crawl.retry_backoff = Duration::from_millis(20);
    config.fetch.timeout = Duration::from_secs(5);
    config.fetch.connect_timeout = Duration::from_secs(2);
    config.output.progress_interval = Duration::from_secs(60);
    // The test sites are on loopback, which a crawl refuses by default.
    config.fetch.allow_private_networks = true;
    // No /sitemap.xml lookups, which would add a line to every test's output; tests/e2e/sitemaps.rs
    // turns them on.
    config.crawl.sitemaps = false;
    (config, dir)
}

/// Run a crawl that is expected to complete (nothing left), and read its output.
pub async fn crawl(config: Config) -> Output {
    let (summary, out) = crawl_to_the_end(config).await;
    assert_eq!(summary.ending, crawld::Ending::Complete, "{:?}", summary.failure);
    out
}

/// Run a crawl to its end, however it ends (bounded by a minute, so a hang fails the test instead of
/// the suite).
pub async fn crawl_to_the_end(config: Config) -> (crawld::CrawlSummary, Output) {
    let out = config.out.clone();
    config.validate().unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(60), crawld::run(config, CancellationToken::new()))
        .await
        .expect("the crawl finished within a minute")
        .unwrap();
    (summary, Output::read(&out))
}

/// A crawl's output directory, read back.
#[derive(Debug)]
pub struct Output {
    pub dir: PathBuf,
    /// pages.jsonl lines, in order.
    pub lines: Vec<Value>,
}

impl Output {
    pub fn read(dir: &Path) -> Output {
        let text = std::fs::read_to_string(dir.join("pages.jsonl")).unwrap();
        let lines = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        Output { dir: dir.to_owned(), lines }
    }

    /// The pages.jsonl line of a URL; panics when there is none or several.
    /// How many lines pages.jsonl has right now (0 when it does not exist yet).
    pub fn lines_in(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("pages.jsonl")).map_or(0, |t| t.lines().count())
    }

    pub fn page(&self, url: &str) -> &Value {
        let found: Vec<&Value> = self.lines.iter().filter(|l| l["url"] == url).collect();
        assert_eq!(found.len(), 1, "{url} should be recorded exactly once; pages: {:#?}", self.urls());
        found[0]
    }

    pub fn has(&self, url: &str) -> bool {
        self.lines.iter().any(|l| l["url"] == url)
    }

    pub fn urls(&self) -> Vec<String> {
        self.lines.iter().map(|l| l["url"].as_str().unwrap().to_owned()).collect()
    }

    pub fn depths(&self) -> HashMap<String, u64> {
        self.lines.iter().map(|l| (l["url"].as_str().unwrap().to_owned(), l["depth"].as_u64().unwrap())).collect()
    }

    pub fn stats(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("stats.json")).unwrap()).unwrap()
    }
}

/// The bin/ of the venv holding cdxj-indexer, wacz and prometheus_client; installed by
/// scripts/pytools.sh when missing. Fails the
/// test, loudly, when they cannot be had: a check that cannot run must not pass.
pub fn pytools() -> PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let venv = std::env::var_os("CRAWLD_PYTOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("pyvenv"));
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let ready = || {
        venv.join("bin/cdxj-indexer").is_file()
            && venv.join("bin/wacz").is_file()
            && std::process::Command::new(venv.join("bin/python"))
                .args(["-c", "import prometheus_client"])
                .status()
                .is_ok_and(|s| s.success())
    };
    if !ready() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pytools.sh");
        let status = std::process::Command::new("bash").arg(&script).arg(&venv).status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()) && ready(),
            "cannot install cdxj-indexer, wacz and prometheus_client in {} (scripts/pytools.sh: {status:?}); this test needs them",
            venv.display()
        );
    }
    venv.join("bin")
}
