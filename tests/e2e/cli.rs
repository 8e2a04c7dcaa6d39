//! The `crawld` binary: its command line, exit codes and signals.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Output, Page, Site};

fn crawld() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crawld"));
    command.env("RUST_LOG", "crawld=info").stdin(Stdio::null());
    command
}

#[test]
fn help_documents_every_command() {
    let output = crawld().arg("--help").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for command in ["run", "demo", "status", "pause", "unpause", "stop", "seed"] {
        assert!(text.contains(command), "--help mentions {command}: {text}");
    }
    let run = String::from_utf8(crawld().args(["run", "--help"]).output().unwrap().stdout).unwrap();
    for flag in
        ["--config", "--seed", "--out", "--max-depth", "--max-pages", "--concurrency", "--allow-private-networks"]
    {
        assert!(run.contains(flag), "run --help documents {flag}");
    }
    assert!(run.contains("per_host_concurrency"), "run --help says what limits a crawl of one host: {run}");
}

#[test]
fn a_bad_config_stops_start_up_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "seeds = [\"http://127.0.0.1:9/\"]\n\n[politeness]\ndelay = \"fast\"\n").unwrap();
    let output = crawld().args(["run", "--config"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("bad.toml:4:9: `delay`"), "{stderr}");
    assert!(!dir.path().join("crawl-out").exists());

    // Keys that disagree with each other are placed in the file too.
    std::fs::write(&path, "seeds = [\"http://127.0.0.1:9/\"]\n\n[crawl]\nretry_backoff = \"2m\"\n").unwrap();
    let output = crawld().args(["run", "--config"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("bad.toml:4:1: crawl.retry_backoff (2m) is larger than crawl.max_retry_backoff"),
        "{stderr}"
    );
    assert!(!dir.path().join("crawl-out").exists());
}

#[test]
fn a_crawl_that_cannot_claim_its_output_directory_never_says_it_started() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pages.jsonl"), "").unwrap();
    let output = crawld()
        .args(["run", "--allow-private-networks", "--seed", "http://127.0.0.1:9/", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("not a crawld output directory"), "{stderr}");
    assert!(!stderr.contains("crawl starting"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_crawls_with_command_line_overrides() {
    let site =
        Site::start("127.0.0.1", [("/", Page::links(&["/a"])), ("/a", Page::links(&["/b"])), ("/b", Page::links(&[]))])
            .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "seeds = [\"http://127.0.0.1:9/ignored\"]\ncrawl.sitemaps = false\n[politeness]\ndelay = \"0s\"\n",
    )
    .unwrap();
    let mut child = crawld();
    child
        .args(["run", "--allow-private-networks", "--config"])
        .arg(&config)
        .args(["--seed", &site.url("/"), "--max-depth", "1", "--out"])
        .arg(&out);
    let output = tokio::task::spawn_blocking(move || child.output().unwrap()).await.unwrap();
    assert!(output.status.success());
    // The run ends with how it went and where the output is, on stdout.
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("crawl complete: nothing left to fetch\n  2 pages in "), "{stdout}");
    assert!(stdout.contains(": status_2xx 2\n"), "{stdout}");
    assert!(stdout.contains(&format!("The output is in {}:", out.display())), "{stdout}");
    let out = Output::read(&out);
    assert_eq!(out.urls(), [site.url("/"), site.url("/a")], "--seed replaced the config's seeds, --max-depth 1 held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_keeping_everything_recorded() {
    // A slow site with many pages: the crawl is mid-way when the signal comes.
    let pages: Vec<String> = (0..200).map(|i| format!("/p{i}")).collect();
    let hrefs: Vec<&str> = pages.iter().map(String::as_str).collect();
    let site = Site::start("127.0.0.1", [("/", Page::links(&hrefs))]).await;
    for p in &pages {
        site.route(p, Page::links(&[]).delay(Duration::from_millis(100)));
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = crawld()
        .args(["run", "--allow-private-networks", "--seed", &site.url("/"), "--out"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while Output::lines_in(&out) < 5 {
        assert!(started.elapsed() < Duration::from_secs(20), "the crawl got going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert_eq!(status.code(), Some(0));

    let output = Output::read(&out);
    assert!(output.lines.len() < 201, "stopped early");
    let stats = output.stats();
    assert_eq!(stats["state"], "stopped");
    assert_eq!(stats["pages"].as_u64().unwrap() as usize, output.lines.len());
    // Every page the server answered before the stop is recorded (in-flight fetches were drained).
    let served = site.hits().iter().filter(|h| h.path.starts_with("/p")).count();
    let recorded = output.urls().iter().filter(|u| u.contains("/p")).count();
    assert_eq!(recorded, served);
}

#[test]
fn demo_crawls_its_own_site_with_no_internet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let output = crawld().args(["demo", "--pages", "60", "--out"]).arg(&out).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let out = Output::read(&out);
    let statuses: Vec<u64> = out.lines.iter().filter_map(|l| l["status"].as_u64()).collect();
    assert!(statuses.contains(&404) && statuses.contains(&301), "statuses: {statuses:?}");
    assert!(out.lines.iter().any(|l| l["error"] == "disallowed by robots.txt"));
    assert_eq!(out.lines.iter().filter(|l| l["status"] == 200).count(), 60 + 2, "60 pages, the home page, a CSV");
    // Logs written to a pipe or a file carry no terminal colour codes.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("crawl starting") && !stderr.contains('\x1b'), "{stderr}");
}

/// Regression (issue 10): two demos started in the same second chose the same output directory, and
/// the second one failed.
#[test]
fn two_demos_started_at_once_each_get_their_own_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let start = || crawld().args(["demo", "--pages", "5"]).current_dir(dir.path()).output();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(start);
        let b = s.spawn(start);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let outputs: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    for out in outputs {
        assert_eq!(Output::read(&out).stats()["state"], "complete");
        let stdout = [&a.stdout, &b.stdout].map(|o| String::from_utf8_lossy(o).into_owned());
        assert!(stdout.iter().any(|s| s.contains(&out.display().to_string())), "each says where its output is");
    }
}

/// Unmounts a tmpfs mounted for a test, even when the test fails.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Bytes free on the filesystem of `path`.
fn free_bytes(path: &std::path::Path) -> u64 {
    let out = Command::new("df").args(["--output=avail", "-B1"]).arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

/// A crawld process whose stderr is collected line by line as it runs.
struct Running {
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Running { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn wait_for_log(&self, text: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(text) {
            assert!(Instant::now() < deadline, "no '{text}' in the log within {within:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait(mut self, within: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100)); // the reader thread drains the pipe
                return (status, self.log());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running after {within:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Every page response archived in WARC has its pages.jsonl line (robots.txt is archived too, but is
/// not a page). Returns how many there are.
fn archived_pages_are_indexed(out: &std::path::Path) -> usize {
    let lines = Output::read(out).lines;
    let indexed = lines.iter().filter(|l| l.get("warc").is_some()).count();
    let mut archived = 0;
    for file in std::fs::read_dir(out.join("warc")).unwrap() {
        for record in warc::WarcReader::from_path_gzip(file.unwrap().path()).unwrap().iter_records() {
            let record = record.unwrap();
            let page = record.header(warc::WarcHeader::TargetURI).is_some_and(|u| !u.ends_with("/robots.txt"));
            archived += usize::from(page && record.header(warc::WarcHeader::WarcType).unwrap() == "response");
        }
    }
    assert_eq!(indexed, archived);
    archived
}

#[test]
fn a_full_disk_pauses_the_crawl_which_goes_on_when_space_is_freed_or_stops_on_sigterm() {
    // Needs root to mount a small filesystem; CI runs as root.
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = root
        && Command::new("mount").args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"]).arg(&mnt).status().unwrap().success();
    if !mounted {
        eprintln!("SKIPPED: mounting a 4 MB tmpfs needs root");
        return;
    }
    let _mount = Mount(mnt.clone());
    // Leave room for the space reserve (about 1.1 MB) and a few pages only.
    let filler = mnt.join("filler");
    let fill = |keep: u64| std::fs::write(&filler, vec![1u8; (free_bytes(&mnt) - keep) as usize]).unwrap();
    fill(1_114_112 + 120_000);

    let out = mnt.join("out");
    let mut command = crawld();
    command.args(["demo", "--pages", "120", "--out"]).arg(&out);
    let crawl = Running::start(command);
    crawl.wait_for_log("the crawl pauses", Duration::from_secs(60));
    let stats = Output::read(&out).stats();
    assert_eq!(stats["state"], "disk_full", "{stats}");
    let lines_while_full = Output::lines_in(&out);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(Output::lines_in(&out), lines_while_full, "nothing is fetched while the disk is full");

    // Space comes back: the crawl goes on by itself, to the end.
    std::fs::remove_file(&filler).unwrap();
    let (status, log) = crawl.wait(Duration::from_secs(60));
    assert!(status.success(), "{log}");
    assert!(log.contains("disk space is back"), "{log}");
    assert_eq!(Output::read(&out).stats()["state"], "complete");
    let archived = archived_pages_are_indexed(&out);
    assert!(archived > lines_while_full, "the crawl went on after the pause: {archived} vs {lines_while_full}");

    // Full again, and SIGTERM: the crawl stops at once, says how to go on, and keeps what it recorded.
    fill(1_114_112 + 60_000);
    let stopped = mnt.join("stopped");
    let mut command = crawld();
    command.args(["demo", "--pages", "120", "--out"]).arg(&stopped);
    let crawl = Running::start(command);
    crawl.wait_for_log("the crawl pauses", Duration::from_secs(60));
    let pid = crawl.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let (status, log) = crawl.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("No space left on device") && log.contains("run the same command again to resume"), "{log}");
    archived_pages_are_indexed(&stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_warns_once_per_host_however_many_pages_it_cuts() {
    let site = Site::start(
        "127.0.0.1",
        [
            ("/", Page::links(&["/a", "/b", "/c"])),
            ("/a", Page::links(&["/a1", "/a2"])),
            ("/a1", Page::links(&["/x", "/y"])),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "crawl.sitemaps = false\n[politeness]\ndelay = \"0s\"\n[scope]\nmax_links_per_page = 1\n")
        .unwrap();
    let mut child = crawld();
    child
        .args(["run", "--allow-private-networks", "--config"])
        .arg(&config)
        .args(["--seed", &site.url("/"), "--out"])
        .arg(&out);
    let output = tokio::task::spawn_blocking(move || child.output().unwrap()).await.unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();

    let out = Output::read(&out);
    let cut = out.lines.iter().filter(|l| l["dropped"]["links_over_cap"].as_u64().is_some()).count();
    assert_eq!(cut, 3, "/, /a and /a1 each lost links to the cap");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("WARN") && l.contains("links_over_cap")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("scope.max_links_per_page"), "{stderr}");
}

/// Issue 10: how a crawl ended is in stats.json's `state`, the summary, and the exit status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exit_status_and_state_say_how_the_crawl_ended() {
    let site = Site::start(
        "127.0.0.1",
        [("/", Page::links(&["/a", "/b"])), ("/a", Page::links(&[])), ("/b", Page::status(404))],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[politeness]\ndelay = \"0s\"\n[crawl]\nmax_retries = 0\nsitemaps = false\n").unwrap();
    let run = |seed: String, out: &str, extra: &[&str]| {
        let mut child = crawld();
        child
            .args(["run", "--allow-private-networks", "--config"])
            .arg(&config)
            .args(["--seed", &seed, "--out"])
            .arg(dir.path().join(out));
        child.args(extra);
        tokio::task::spawn_blocking(move || child.output().unwrap())
    };
    let state = |out: &str| Output::read(&dir.path().join(out)).stats()["state"].as_str().unwrap().to_owned();

    // Nothing left: complete, 0.
    let complete = run(site.url("/"), "complete", &[]).await.unwrap();
    assert_eq!(complete.status.code(), Some(0));
    assert_eq!(state("complete"), "complete");
    assert!(String::from_utf8_lossy(&complete.stderr).contains("crawl complete"));

    // Cut by max_pages: limit, 0, and the summary says how much was left.
    let limit = run(site.url("/"), "limit", &["--max-pages", "1"]).await.unwrap();
    assert_eq!(limit.status.code(), Some(0));
    assert_eq!(state("limit"), "limit");
    let stderr = String::from_utf8_lossy(&limit.stderr);
    assert!(stderr.contains("crawl stopped at crawl.max_pages, 2 URLs left queued"), "{stderr}");

    // No seed could be fetched at all: failed, 1, and why.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let failed = run(format!("http://{closed}/"), "failed", &[]).await.unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(state("failed"), "failed");
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains(&format!("no seed could be fetched: http://{closed}/: robots.txt unavailable")),
        "{stderr}"
    );

    // A seed that answers, but never with a page: 0, with a loud warning.
    let missing = run(site.url("/nothing-here"), "missing", &[]).await.unwrap();
    assert_eq!(missing.status.code(), Some(0));
    assert_eq!(state("missing"), "complete");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.lines().any(|l| l.contains("WARN") && l.contains("no page was fetched successfully")), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeds_file_takes_comments_and_labels_merges_duplicates_and_reports_every_bad_line() {
    let site = Site::start("127.0.0.1", [("/", Page::links(&[])), ("/a", Page::links(&[]))]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "seeds_file = \"seeds.txt\"\ncrawl.sitemaps = false\n[politeness]\ndelay = \"0s\"\n")
        .unwrap();
    let seeds = format!(
        "# seeds\n{home}  # the home page\n{a}\tpage a\n{home_again}\n\n{a}\n",
        home = site.url("/"),
        a = site.url("/a"),
        home_again = site.url("/").replace("http://", "HTTP://"),
    );
    std::fs::write(dir.path().join("seeds.txt"), seeds).unwrap();
    let run = |out: &str| {
        let mut child = crawld();
        child.args(["run", "--allow-private-networks", "--config"]).arg(&config).arg("--out").arg(dir.path().join(out));
        tokio::task::spawn_blocking(move || child.output().unwrap())
    };
    let output = run("good").await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("2 duplicate seeds merged"), "{stderr}");
    assert_eq!(Output::read(&dir.path().join("good")).urls().len(), 2);

    std::fs::write(dir.path().join("seeds.txt"), "www.example.org\nhttp://ok.test/\nftp://old.test/\n").unwrap();
    let output = run("bad").await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("2 bad lines in the seeds file"), "{stderr}");
    assert!(stderr.contains("seeds.txt:1: `www.example.org`") && stderr.contains("seeds.txt:3: `ftp://old.test/`"));
    assert!(!dir.path().join("bad").exists(), "nothing written before the config is good");
}

/// Issue 10: on a one-host crawl `--concurrency 64` changes nothing; crawld says why, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_concurrency_the_per_host_limits_cannot_reach_gets_a_hint() {
    let pages: Vec<String> = (0..30).map(|i| format!("/p{i}")).collect();
    let hrefs: Vec<&str> = pages.iter().map(String::as_str).collect();
    let site = Site::start("127.0.0.1", [("/", Page::links(&hrefs))]).await;
    site.route_prefix("/p", Page::links(&[]).delay(Duration::from_millis(100)));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "crawl.sitemaps = false\n[politeness]\ndelay = \"0s\"\n[output]\nprogress_interval = \"100ms\"\n",
    )
    .unwrap();
    let mut child = crawld();
    child.args(["run", "--allow-private-networks", "--concurrency", "64", "--config"]).arg(&config);
    child.args(["--seed", &site.url("/"), "--out"]).arg(dir.path().join("out"));
    let output = tokio::task::spawn_blocking(move || child.output().unwrap()).await.unwrap();
    assert!(output.status.success());

    let stderr = String::from_utf8(output.stderr).unwrap();
    let hints: Vec<&str> = stderr.lines().filter(|l| l.contains("crawl.concurrency cannot be reached")).collect();
    assert_eq!(hints.len(), 1, "{stderr}");
    assert!(hints[0].contains("1 host(s) with work, at most 2 fetches each"), "{stderr}");
    assert_eq!(site.max_in_flight(), 2, "the per-host limit held");
}
