//! Operating a running crawl (issue 7): the admin API, /metrics, live retuning from the config file and
//! SIGHUP, and the progress display on a terminal.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crawld::admin::AdminServer;
use crawld::client::call;
use crawld::config::AdminSection;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::site::Hit;
use crate::support::{Output, Page, Site, config, pytools};

/// A site of `n` pages under `/p`, each answered after `delay`, all linked from `/`.
async fn slow_site(n: usize, delay: Duration) -> Site {
    let pages: Vec<String> = (0..n).map(|i| format!("/p{i}")).collect();
    let hrefs: Vec<&str> = pages.iter().map(String::as_str).collect();
    let site = Site::start("127.0.0.1", [("/", Page::links(&hrefs))]).await;
    site.route_prefix("/p", Page::links(&[]).delay(delay));
    site
}

async fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "waited {within:?} for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Most requests in flight at once among those that started after `from`.
fn max_overlap(hits: &[Hit], from: Instant) -> usize {
    let hits: Vec<&Hit> = hits.iter().filter(|h| h.started >= from).collect();
    hits.iter()
        .map(|a| hits.iter().filter(|b| b.started <= a.started && b.finished > a.started).count())
        .max()
        .unwrap_or(0)
}

/// Shortest gap from the end of one request to the start of the next, among requests after `from`.
fn min_gap(hits: &[Hit], from: Instant) -> Duration {
    let mut hits: Vec<&Hit> = hits.iter().filter(|h| h.started >= from && h.path != "/robots.txt").collect();
    hits.sort_by_key(|h| h.started);
    hits.windows(2).map(|w| w[1].started.saturating_duration_since(w[0].finished)).min().unwrap_or(Duration::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_reports_pauses_resumes_adds_seeds_and_stops() {
    // The /metrics parser, installed (on a first run) before the crawl starts, not while it runs.
    tokio::task::spawn_blocking(pytools).await.unwrap();
    let site = slow_site(60, Duration::from_millis(50)).await;
    let (mut config, _dir) = config(&[site.url("/")]);
    config.crawl.concurrency = 2.try_into().unwrap();
    config.admin = AdminSection { port: Some(0), token: Some("s3cret".into()), ..AdminSection::default() };
    config.validate().unwrap();
    let out = config.out.clone();
    let cancel = CancellationToken::new();
    let (control, hooks, _config_in_force) = crawld::control::channel(&config, cancel.clone());
    let admin = AdminServer::start(&config.admin, control).await.unwrap().unwrap();
    let crawl = tokio::spawn(crawld::run_steered(config, cancel, hooks));
    let addr = admin.addr.to_string();
    let token = Some("s3cret");

    // The token: missing or wrong is 401, with a JSON error.
    for wrong in [None, Some("guess")] {
        let error = call(&addr, wrong, "GET", "/status", None).await.unwrap_err().to_string();
        assert!(error.contains("answered 401") && error.contains("token"), "{error}");
    }
    wait_for("pages", Duration::from_secs(10), || site.count("/p0") + site.count("/p1") > 0).await;
    let status: Value = serde_json::from_str(&call(&addr, token, "GET", "/status", None).await.unwrap()).unwrap();
    assert_eq!(status["state"], "running");
    assert!(status["pages"].as_u64().unwrap() >= 1, "{status}");
    assert_eq!(status["concurrency"], 2);
    assert_eq!(status["config"]["crawl.concurrency"], 2);
    assert_eq!(status["config"]["politeness.delay"], "0s");
    assert_eq!(status["top_hosts_by_pages"][0]["host"], format!("127.0.0.1:{}", site.addr.port()));
    assert!(status["top_hosts_by_queue"][0]["count"].as_u64().unwrap() > 0, "{status}");
    assert!(status["pages_per_depth"][0].as_u64() == Some(1), "{status}");
    assert!(status["stats"]["status_2xx"].as_u64().is_some(), "{status}");

    // Pause: fetches under way finish, then nothing new reaches the site.
    let paused: Value = serde_json::from_str(&call(&addr, token, "POST", "/pause", None).await.unwrap()).unwrap();
    assert_eq!(paused["state"], "paused");
    let started = Instant::now();
    loop {
        let status: Value = serde_json::from_str(&call(&addr, token, "GET", "/status", None).await.unwrap()).unwrap();
        assert_eq!(status["state"], "paused");
        if status["in_flight"] == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the fetches under way finish: {status}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let served = site.hits().len();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(site.hits().len(), served, "no request while paused");

    // Seeds: in scope added, out of scope refused with the reason; a bad request is a 400 that says why.
    site.route("/extra", Page::links(&[]));
    let body = json!({ "urls": [site.url("/extra"), "http://elsewhere.test/", site.url("/")] });
    let answer: Value =
        serde_json::from_str(&call(&addr, token, "POST", "/seeds", Some(&body)).await.unwrap()).unwrap();
    let seeds = answer["seeds"].as_array().unwrap();
    assert_eq!(seeds[0]["added"], true);
    assert_eq!(seeds[1]["added"], false);
    assert!(seeds[1]["reason"].as_str().unwrap().starts_with("out of scope"), "{answer}");
    assert_eq!(seeds[2]["reason"], "already known to this crawl");
    let bad = call(&addr, token, "POST", "/seeds", Some(&json!({ "urls": ["ftp://x/"] }))).await.unwrap_err();
    assert!(bad.to_string().contains("answered 400"), "{bad}");
    let bad = call(&addr, token, "POST", "/seeds", Some(&json!(["http://x/"]))).await.unwrap_err();
    assert!(bad.to_string().contains("answered 400") && bad.to_string().contains("urls"), "{bad}");
    let missing = call(&addr, token, "GET", "/nothing", None).await.unwrap_err();
    assert!(missing.to_string().contains("answered 404"), "{missing}");
    let wrong_method = call(&addr, token, "GET", "/pause", None).await.unwrap_err();
    assert!(wrong_method.to_string().contains("answered 405"), "{wrong_method}");

    // Resume: the crawl goes on, the new seed included.
    let resumed: Value = serde_json::from_str(&call(&addr, token, "POST", "/resume", None).await.unwrap()).unwrap();
    assert_eq!(resumed["state"], "running");
    wait_for("requests after the resume", Duration::from_secs(5), || site.hits().len() > served + 2).await;
    wait_for("the added seed", Duration::from_secs(10), || site.count("/extra") == 1).await;

    // Metrics, read by an independent parser.
    let text = call(&addr, token, "GET", "/metrics", None).await.unwrap();
    let families = parse_metrics(&text);
    assert_eq!(families["crawld_pages"]["type"], "counter", "{text}");
    assert!(sample(&families, "crawld_pages", "crawld_pages_total", &[("class", "2xx")]) >= 2.0, "{text}");
    assert_eq!(families["crawld_fetch_duration_seconds"]["type"], "histogram");
    assert!(sample(&families, "crawld_fetch_duration_seconds", "crawld_fetch_duration_seconds_count", &[]) >= 2.0);
    assert_eq!(families["crawld_page_size_bytes"]["type"], "histogram");
    assert_eq!(families["crawld_received_bytes"]["type"], "counter");
    for gauge in ["crawld_queued_urls", "crawld_in_flight_fetches", "crawld_hosts", "crawld_concurrency"] {
        assert_eq!(families[gauge]["type"], "gauge", "{gauge} in {text}");
    }
    assert_eq!(sample(&families, "crawld_concurrency", "crawld_concurrency", &[]), 2.0);
    for counter in ["crawld_retries", "crawld_robots_blocked", "crawld_errors"] {
        assert_eq!(families[counter]["type"], "counter", "{counter} in {text}");
    }

    // Stop: the graceful stop of SIGTERM.
    let stopping: Value = serde_json::from_str(&call(&addr, token, "POST", "/stop", None).await.unwrap()).unwrap();
    assert_eq!(stopping["state"], "stopping");
    let status: Value = serde_json::from_str(&call(&addr, token, "GET", "/status", None).await.unwrap()).unwrap();
    assert_eq!(status, json!({ "state": "stopping" }));
    let late = call(&addr, token, "POST", "/pause", None).await.unwrap_err().to_string();
    assert!(late.contains("answered 503") && late.contains("stopping"), "{late}");
    let summary = tokio::time::timeout(Duration::from_secs(20), crawl).await.unwrap().unwrap().unwrap();
    assert_eq!(summary.ending, crawld::Ending::Stopped);
    admin.shut_down().await;
    let output = Output::read(&out);
    assert!(output.has(&site.url("/extra")));
    assert!(output.lines.len() < 62, "stopped before the end");
}

/// The metric families of an exposition as Python's prometheus_client reads them:
/// name -> {"type", "samples": [[name, labels, value]]}.
fn parse_metrics(text: &str) -> Value {
    // Python's prometheus_client, in the venv of the tests' independent tools (scripts/pytools.sh).
    let python = pytools().join("python");
    let script = "import sys, json\n\
                  from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
                  out = {}\n\
                  for f in text_string_to_metric_families(sys.stdin.read()):\n\
                  \x20   out[f.name] = {'type': f.type, 'samples': [[s.name, s.labels, s.value] for s in f.samples]}\n\
                  print(json.dumps(out))\n";
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn sample(families: &Value, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let samples = families[family]["samples"].as_array().unwrap_or_else(|| panic!("no family {family}"));
    samples
        .iter()
        .find(|s| s[0] == name && labels.iter().all(|(k, v)| s[1][*k] == *v))
        .and_then(|s| s[2].as_f64())
        .unwrap_or_else(|| panic!("no sample {name} {labels:?} in {family}"))
}

fn crawld() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crawld"));
    command.env("RUST_LOG", "crawld=info").env_remove("CRAWLD_ADMIN_TOKEN").stdin(Stdio::null());
    command
}

/// `crawld run --config FILE` with stderr to a file the test can read as the crawl runs.
fn spawn_run(config: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    crawld().args(["run", "--config"]).arg(config).stdout(Stdio::null()).stderr(log).spawn().unwrap()
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Write a file the way editors save: a new file renamed over the old one.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn kill(child: &Child, signal: &str) {
    assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
}

fn retune_config(site: &Site, out: &Path, concurrency: usize, delay: &str) -> String {
    format!(
        "seeds = [\"{}\"]\nout = \"{}\"\n\n[crawl]\nconcurrency = {concurrency}\nretry_backoff = \"20ms\"\n\
         sitemaps = false\n\n[politeness]\nper_host_concurrency = 8\ndelay = \"{delay}\"\nrespect_robots = false\n\n\
         [fetch]\nallow_private_networks = true\n\n[output]\nprogress_interval = \"1s\"\n",
        site.url("/"),
        out.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_concurrency_and_delay_in_the_config_file_retunes_a_running_crawl() {
    let site = slow_site(400, Duration::from_millis(60)).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, out, log) = (dir.path().join("c.toml"), dir.path().join("out"), dir.path().join("log"));
    std::fs::write(&path, retune_config(&site, &out, 1, "300ms")).unwrap();
    let mut child = spawn_run(&path, &log);
    wait_for("three pages", Duration::from_secs(20), || site.hits().len() >= 4).await;
    let before = site.hits();
    assert_eq!(max_overlap(&before, before[0].started), 1, "one at a time");
    assert!(min_gap(&before, before[0].started) >= Duration::from_millis(280), "the delay held");

    // An edit saved the way editors do: the new values are in force within a second or two.
    save(&path, &retune_config(&site, &out, 4, "0s"));
    wait_for("the change in the log", Duration::from_secs(5), || read(&log).contains("config changed")).await;
    let changed = Instant::now();
    wait_for("requests at the new pace", Duration::from_secs(10), || {
        site.hits().iter().filter(|h| h.started >= changed).count() >= 16
    })
    .await;
    let after = site.hits();
    assert_eq!(max_overlap(&after, changed), 4, "four at a time now");
    assert!(min_gap(&after, changed) < Duration::from_millis(100), "no delay now");
    let text = read(&log);
    assert!(text.contains("config changed: crawl.concurrency: 1 → 4"), "{text}");
    assert!(text.contains("config changed: politeness.delay: 300ms → 0s"), "{text}");

    // A bad edit: refused with file:line:column, and the crawl goes on as it was.
    save(&path, &retune_config(&site, &out, 0, "0s"));
    let expected = format!("{}:5:15: `concurrency`", path.display());
    wait_for("the refusal in the log", Duration::from_secs(5), || read(&log).contains(&expected)).await;
    assert!(read(&log).contains("config not reloaded, the crawl goes on with the last good one"));
    let refused = Instant::now();
    wait_for("requests after the bad edit", Duration::from_secs(10), || {
        site.hits().iter().filter(|h| h.started >= refused).count() >= 12
    })
    .await;
    assert_eq!(max_overlap(&site.hits(), refused), 4, "still four at a time");
    // A key that cannot change while the crawl runs is reported, not applied.
    let other = retune_config(&site, &out, 4, "0s").replace("[fetch]\n", "[fetch]\nuser_agent = \"other/1\"\n");
    save(&path, &other);
    let ignored = "fetch.user_agent changed in the config file: ignored until crawld is restarted";
    wait_for("the ignored key", Duration::from_secs(5), || read(&log).contains(ignored)).await;

    kill(&child, "-TERM");
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert_eq!(status.code(), Some(0));
    let stats = Output::read(&out).stats();
    assert_eq!(stats["tunables"]["crawl.concurrency"], 4, "the values in force are in stats.json");
    assert_eq!(stats["tunables"]["politeness.delay"], "0s");
    assert!(!read(&log).contains('\x1b'), "no escape codes in a log that is not a terminal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_file() {
    let site = slow_site(200, Duration::from_millis(50)).await;
    let dir = tempfile::tempdir().unwrap();
    // The config is a link to a file elsewhere (as configuration managers do): editing the target makes
    // no event where crawld watches, and SIGHUP is the way to say it changed.
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let (target, link) = (real.join("c.toml"), dir.path().join("c.toml"));
    let (out, log) = (dir.path().join("out"), dir.path().join("log"));
    std::fs::write(&target, retune_config(&site, &out, 1, "200ms")).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let mut child = spawn_run(&link, &log);
    wait_for("the crawl under way", Duration::from_secs(20), || site.hits().len() >= 2).await;
    std::fs::write(&target, retune_config(&site, &out, 3, "0s")).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!read(&log).contains("config changed"), "no event, no reload: {}", read(&log));
    kill(&child, "-HUP");
    wait_for("the reload", Duration::from_secs(5), || read(&log).contains("config changed: crawl.concurrency: 1 → 3"))
        .await;
    let reloaded = Instant::now();
    wait_for("requests at the new pace", Duration::from_secs(10), || {
        site.hits().iter().filter(|h| h.started >= reloaded).count() >= 10
    })
    .await;
    assert_eq!(max_overlap(&site.hits(), reloaded), 3);
    assert!(read(&log).contains("SIGHUP"), "{}", read(&log));
    kill(&child, "-TERM");
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert_eq!(status.code(), Some(0), "SIGHUP did not end the crawl; SIGTERM did, gracefully");
}

#[test]
fn an_admin_api_off_loopback_without_a_token_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let out = dir.path().join("out");
    let text = format!(
        "seeds = [\"http://127.0.0.1:9/\"]\nout = \"{}\"\n[admin]\nport = 0\naddress = \"0.0.0.0\"\n",
        out.display()
    );
    std::fs::write(&path, text).unwrap();
    let output = crawld().args(["run", "--config"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("c.toml:5:1: admin.address: 0.0.0.0 is not a loopback address"), "{stderr}");
    assert!(!out.exists(), "nothing was written");
    // (That a token, from the file or the environment, lets it start is a unit test of the config: the
    // tests bind nothing but loopback.)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawld_status_pause_unpause_seed_and_stop_call_the_admin_api() {
    let site = slow_site(200, Duration::from_millis(50)).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, out, log) = (dir.path().join("c.toml"), dir.path().join("out"), dir.path().join("log"));
    let mut text = retune_config(&site, &out, 2, "0s");
    text.push_str("\n[admin]\nport = 0\n");
    std::fs::write(&path, text).unwrap();
    let mut child = spawn_run(&path, &log);
    let listening = "admin API listening addr=";
    wait_for("the admin API", Duration::from_secs(20), || read(&log).contains(listening)).await;
    let text = read(&log);
    let addr = text.split(listening).nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let cli = |args: &[&str]| {
        let output = crawld().args(args).args(["--addr", &addr]).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let table = cli(&["status"]);
    for row in ["state      running", "pages ", "queued ", "in flight ", "top hosts by pages:", "crawl.concurrency = 2"]
    {
        assert!(table.contains(row), "{row} in {table}");
    }
    let json: Value = serde_json::from_str(&cli(&["status", "--json"])).unwrap();
    assert_eq!(json["state"], "running");
    assert!(cli(&["pause"]).contains("\"paused\""));
    assert!(cli(&["status"]).contains("state      paused"));
    assert!(cli(&["unpause"]).contains("\"running\""));
    site.route("/more", Page::links(&[]));
    assert!(cli(&["seed", &site.url("/more")]).contains("\"added\":true"));
    let refused = crawld().args(["seed", "not a url", "--addr", &addr]).output().unwrap();
    assert!(!refused.status.success());
    assert!(cli(&["stop"]).contains("\"stopping\""));
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(Output::read(&out).stats()["state"], "stopped");
    // Nothing listens any more: a clear error.
    let gone = crawld().args(["status", "--addr", &addr]).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("cannot reach the admin API"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawld_run_on_a_terminal_shows_the_progress_display() {
    let site = slow_site(30, Duration::from_millis(40)).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let command = format!(
        "{} run --seed {} --out {} --concurrency 2 --allow-private-networks",
        env!("CARGO_BIN_EXE_crawld"),
        site.url("/"),
        out.display()
    );
    // script(1) runs the command on a pseudo-terminal and copies what it prints.
    let mut script = Command::new("script");
    script.args(["-qfec", &command, "/dev/null"]).env("TERM", "xterm").env("RUST_LOG", "crawld=info");
    let output = tokio::task::spawn_blocking(move || script.stdin(Stdio::null()).output().unwrap()).await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("queued") && text.contains("in flight") && text.contains("/s ·"), "the display: {text}");
    assert!(text.contains('\x1b'), "drawn with terminal escapes: {text}");
    assert!(text.contains("crawl starting") && text.contains("crawl complete"), "log lines too: {text}");
}
