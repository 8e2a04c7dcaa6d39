//! The `crawld` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use crawld::admin::AdminServer;
use crawld::config::HttpUrl;
use crawld::progress::Progress;
use crawld::reload::{Overrides, Reloader};
use crawld::{Config, Ending, client, control, demo};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

/// crawld: a polite, durable, breadth-first web crawler.
///
/// Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=crawld=debug) for more or less detail.
#[derive(Debug, Parser)]
#[command(name = "crawld", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Crawl in the foreground until the frontier is empty, a limit is hit, or Ctrl-C / SIGTERM.
    Run {
        /// The TOML config file (config/crawld.toml documents every key). Without it, built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// A start URL; repeat for several. Replaces the config's seeds.
        #[arg(long = "seed", value_name = "URL")]
        seeds: Vec<HttpUrl>,
        /// The output directory. One that holds an unfinished crawl of the same seeds and scope is
        /// resumed; one that holds a finished crawl is reported, untouched.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Deepest depth followed (seeds are depth 0; each link or redirect is one hop).
        #[arg(long, value_name = "N")]
        max_depth: Option<u32>,
        /// Stop after fetching this many URLs.
        #[arg(long, value_name = "N")]
        max_pages: Option<std::num::NonZeroU64>,
        /// Fetches in flight across all hosts (crawl.concurrency). Each host also has its own limit,
        /// politeness.per_host_concurrency (default 2), which alone sets the speed of a crawl of one
        /// host: there, raising --concurrency changes nothing.
        #[arg(long, value_name = "N")]
        concurrency: Option<std::num::NonZeroUsize>,
        /// Also fetch from loopback, private, link-local and other non-public addresses
        /// (fetch.allow_private_networks; refused by default).
        #[arg(long)]
        allow_private_networks: bool,
    },
    /// Print a running crawl's status (through its admin API: [admin] port in the config).
    Status {
        #[command(flatten)]
        api: Api,
        /// Print the JSON the API answers instead of a table.
        #[arg(long)]
        json: bool,
        /// Refresh every 2 seconds until Ctrl-C.
        #[arg(long)]
        watch: bool,
    },
    /// Pause a running crawl: nothing new is fetched; fetches under way finish.
    Pause {
        #[command(flatten)]
        api: Api,
    },
    /// Resume a paused crawl (`crawld resume DIR` is for a crawl that is not running).
    Unpause {
        #[command(flatten)]
        api: Api,
    },
    /// Stop a running crawl gracefully, as SIGTERM does.
    Stop {
        #[command(flatten)]
        api: Api,
    },
    /// Add seed URLs (depth 0) to a running crawl; each is checked against the crawl's scope.
    Seed {
        #[arg(required = true, value_name = "URL")]
        urls: Vec<HttpUrl>,
        #[command(flatten)]
        api: Api,
    },
    /// Resume the unfinished crawl in DIR with the configuration saved in DIR/crawl.json. Tunables
    /// (concurrency, delays, limits, timeouts) may be changed with --config or flags; seeds and scope may not.
    Resume {
        /// The output directory of the crawl.
        #[arg(value_name = "DIR")]
        out: PathBuf,
        /// A TOML config to use instead of the saved one (its seeds and scope must be the crawl's).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Deepest depth followed.
        #[arg(long, value_name = "N")]
        max_depth: Option<u32>,
        /// Stop once this many URLs have been fetched, those of earlier runs included.
        #[arg(long, value_name = "N")]
        max_pages: Option<std::num::NonZeroU64>,
        /// Fetches in flight across all hosts (crawl.concurrency).
        #[arg(long, value_name = "N")]
        concurrency: Option<std::num::NonZeroUsize>,
    },
    /// Serve a generated demo site on 127.0.0.1 and crawl it: works with no internet.
    Demo {
        /// The output directory (default: crawld-demo-<time> in the current directory).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Pages on the demo site.
        #[arg(long, value_name = "N", default_value_t = 300)]
        pages: usize,
    },
    /// Read output directories: a summary, filtered lists, JSON, an HTML report, or one page.
    Inspect(crawld::inspect::InspectArgs),
    /// Write OUT/indexes/index.cdxj, the CDXJ index of OUT's WARC files (done at the end of each crawl).
    Index {
        #[arg(value_name = "OUT")]
        out: PathBuf,
    },
    /// Package a crawl as a WACZ file, for ReplayWeb.page and pywb.
    Export {
        #[arg(value_name = "OUT")]
        out: PathBuf,
        /// The WACZ file to write.
        #[arg(long, value_name = "FILE", required = true)]
        wacz: PathBuf,
    },
}

/// Where a running crawl's admin API is.
#[derive(Debug, clap::Args)]
struct Api {
    /// The admin API's address (host:port).
    #[arg(long, env = "CRAWLD_ADMIN_ADDR", default_value = client::DEFAULT_ADDR)]
    addr: String,
    /// The admin API's bearer token.
    #[arg(long, env = "CRAWLD_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Run { .. } | Command::Resume { .. } | Command::Demo { .. }) {
        // Before any thread: may start this program again, with glibc's malloc tuned for a crawl.
        crawld::allocator::tune_malloc();
    }
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = Progress::new();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("crawld=info,warn")))
        // Colour only on a terminal: in a pipe or a log file the escape codes are noise.
        .with_ansi(on_terminal);
    if on_terminal {
        // Log lines go above the progress display instead of through it.
        subscriber.with_writer(progress.log_writer()).init();
    } else {
        subscriber.with_writer(std::io::stderr).init();
    }
    let progress = on_terminal.then_some(progress);
    // Reading commands need neither the runtime nor the signal handler: Ctrl-C just ends them.
    let offline = match &cli.command {
        Command::Inspect(args) => Some(crawld::inspect::inspect(args)),
        Command::Index { out } => Some(crawld::inspect::index(out)),
        Command::Export { out, wacz } => Some(crawld::inspect::export(out, wacz)),
        _ => None,
    };
    if let Some(result) = offline {
        return result.unwrap_or_else(|e| {
            eprintln!("crawld: error: {e:#}");
            ExitCode::FAILURE
        });
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("crawld: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Spawned, not run by block_on: on a worker thread, the crawl's loop is woken by the fetch tasks
    // it waits for without the main thread being woken (a futex call and a switch) for every page.
    let result = runtime.block_on(async {
        tokio::spawn(run(cli.command, progress))
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("the crawl task failed: {e}")))
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("crawld: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, progress: Option<Progress>) -> anyhow::Result<ExitCode> {
    let cancel = CancellationToken::new();
    crawld::shutdown::install(cancel.clone());
    match command {
        Command::Run { config: path, seeds, out, max_depth, max_pages, concurrency, allow_private_networks } => {
            let overrides = Overrides { seeds, out, max_depth, max_pages, concurrency, allow_private_networks };
            let file = match &path {
                Some(path) => Config::load(path)?,
                None => Config::default(),
            };
            let mut config = file.clone();
            overrides.apply(&mut config);
            config.validate()?;
            let reload = path.map(|path| (path, file, overrides));
            crawl(config, cancel, reload, progress).await
        }
        Command::Resume { out, config: path, max_depth, max_pages, concurrency } => {
            let file = match &path {
                Some(path) => Config::load(path)?,
                None => crawld::resume::saved_config(&out)?,
            };
            let overrides = Overrides { out: Some(out), max_depth, max_pages, concurrency, ..Overrides::default() };
            let mut config = file.clone();
            overrides.apply(&mut config);
            config.validate()?;
            if !config.out.join("pages.jsonl").exists() {
                anyhow::bail!("{} holds no crawl to resume (no pages.jsonl)", config.out.display());
            }
            // The saved config is not a file to watch: only --config retunes live.
            let reload = path.map(|path| (path, file, overrides));
            crawl(config, cancel, reload, progress).await
        }
        Command::Demo { out, pages } => {
            let site = demo::DemoSite::start(pages).await.context("cannot start the demo site")?;
            // The process id keeps two demos started in the same second apart.
            let default_out = || PathBuf::from(format!("crawld-demo-{}-{}", demo::timestamp(), std::process::id()));
            let out = out.unwrap_or_else(default_out);
            info!(url = %site.url(), pages, "demo site serving on loopback");
            let code = crawl(demo::config(&site, out), cancel, None, progress).await;
            site.stop().await;
            code
        }
        Command::Status { api, json, watch } => loop {
            let body = client::call(&api.addr, api.token.as_deref(), "GET", "/status", None).await?;
            if json {
                println!("{}", body.trim_end());
            } else {
                let status: serde_json::Value =
                    serde_json::from_str(&body).context("the admin API answered something other than JSON")?;
                if watch && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                    // Clear the screen: the table is redrawn in place.
                    print!("\x1b[2J\x1b[H");
                }
                println!("{}", client::status_table(&status));
            }
            if !watch {
                return Ok(ExitCode::SUCCESS);
            }
            tokio::select! {
                _ = cancel.cancelled() => return Ok(ExitCode::SUCCESS),
                _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            }
        },
        Command::Pause { api } => post(&api, "/pause", None).await,
        Command::Unpause { api } => post(&api, "/resume", None).await,
        Command::Stop { api } => post(&api, "/stop", None).await,
        Command::Seed { urls, api } => {
            let urls: Vec<String> = urls.iter().map(|u| u.0.to_string()).collect();
            post(&api, "/seeds", Some(&serde_json::json!({ "urls": urls }))).await
        }
        // main runs these without the runtime.
        Command::Inspect(_) | Command::Index { .. } | Command::Export { .. } => Ok(ExitCode::SUCCESS),
    }
}

/// A POST to the admin API; its JSON answer goes to stdout.
async fn post(api: &Api, path: &str, body: Option<&serde_json::Value>) -> anyhow::Result<ExitCode> {
    let answer = client::call(&api.addr, api.token.as_deref(), "POST", path, body).await?;
    println!("{}", answer.trim_end());
    Ok(ExitCode::SUCCESS)
}

/// Run the crawl and log how it ended. Exit status: 0 when it completed, stopped at a limit, or was
/// stopped by a signal or the admin API; 1 when it failed (no seed could be fetched).
/// `reload`: the config file, as read, and the flags over it, for live retuning.
async fn crawl(
    config: Config,
    cancel: CancellationToken,
    reload: Option<(PathBuf, Config, Overrides)>,
    progress: Option<Progress>,
) -> anyhow::Result<ExitCode> {
    let out = config.out.clone();
    let (control, hooks, config_in_force) = control::channel(&config, cancel.clone());
    let admin = AdminServer::start(&config.admin, control.clone()).await?;
    // The helpers around the crawl stop when it ends.
    let helpers = CancellationToken::new();
    let mut tasks = Vec::new();
    tasks.push(match reload {
        Some((path, file, overrides)) => {
            tokio::spawn(Reloader::new(path, file, overrides, config_in_force).run(helpers.clone()))
        }
        None => tokio::spawn(crawld::reload::ignore_hangups(helpers.clone())),
    });
    if let Some(progress) = progress {
        tasks.push(tokio::spawn(progress.run(control, helpers.clone())));
    }
    let summary = crawld::run_steered(config, cancel, hooks).await;
    helpers.cancel();
    for task in tasks {
        let _ = task.await;
    }
    if let Some(admin) = admin {
        admin.shut_down().await;
    }
    let summary = summary?;
    let s = &summary.stats;
    if summary.already_finished {
        let state = summary.ending.state();
        info!(out = %out.display(), state, pages = s.pages, "the output directory holds a finished crawl: nothing to do");
        println!("{} holds a crawl that ended {state} ({} pages): nothing to do.", out.display(), s.pages);
        return Ok(if summary.ending == Ending::Failed { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let secs = summary.elapsed.as_secs_f64().max(1e-3);
    let how = match summary.ending {
        Ending::Complete => "crawl complete: nothing left to fetch".to_owned(),
        Ending::Limit => format!("crawl stopped at crawl.max_pages, {} URLs left queued", s.queued),
        Ending::Stopped => format!("crawl stopped (a signal or the admin API), {} URLs left queued", s.queued),
        Ending::Failed => "crawl failed".to_owned(),
    };
    info!(
        state = summary.ending.state(),
        pages = s.pages,
        pages_per_sec = format_args!("{:.1}", s.pages as f64 / secs),
        seconds = format_args!("{secs:.1}"),
        queued = s.queued,
        status_2xx = s.status_2xx,
        status_3xx = s.status_3xx,
        status_4xx = s.status_4xx,
        status_5xx = s.status_5xx,
        status_other = s.status_other,
        no_response = s.no_response,
        refused_private = s.refused_private,
        robots_blocked = s.robots_blocked,
        robots_unavailable = s.robots_unavailable,
        host_down_skipped = s.host_down_skipped,
        internal_errors = s.internal_errors,
        abandoned = s.abandoned,
        retries = s.retries,
        truncated = s.truncated,
        out_of_scope = s.out_of_scope.total(),
        dropped = s.dropped.total(),
        "{how}"
    );
    print_summary(&how, &summary, &out);
    if let Some(failure) = &summary.failure {
        error!(out = %out.display(), "{failure}");
        eprintln!("crawld: error: the crawl failed: {failure}");
        return Ok(ExitCode::FAILURE);
    }
    if s.status_2xx == 0 {
        warn!(
            pages = s.pages,
            out_of_scope = s.out_of_scope.total(),
            "no page was fetched successfully (no 2xx response): check the seeds, the scope and the log above"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The end of a run on stdout (the log is on stderr): how it ended, the counts that are not zero,
/// and where the output is.
fn print_summary(how: &str, summary: &crawld::CrawlSummary, out: &Path) {
    let s = &summary.stats;
    let counts: Vec<String> = s
        .outcomes()
        .into_iter()
        .chain([
            ("abandoned", s.abandoned),
            ("retries", s.retries),
            ("truncated", s.truncated),
            ("out_of_scope", s.out_of_scope.total()),
            ("dropped", s.dropped.total()),
        ])
        .filter(|&(_, n)| n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    let out = std::path::absolute(out).unwrap_or_else(|_| out.to_owned());
    println!("\n{how}");
    println!("  {} pages in {:.1} s: {}", s.pages, summary.elapsed.as_secs_f64(), counts.join(", "));
    println!("The output is in {}:", out.display());
    println!("  pages.jsonl   one line per URL (depth, status, links, ...)");
    println!("  warc/         the raw HTTP exchanges, as WARC (indexes/index.cdxj: their CDXJ index)");
    println!("  stats.json    every counter, and how the crawl ended ({})", summary.ending.state());
    println!("Summarise it with `crawld inspect {}` (--html FILE for a report in the browser).", out.display());
}
