//! The `crawld` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use crawld::config::HttpUrl;
use crawld::{Config, Ending, demo};
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
        /// The output directory (must not hold a previous crawl).
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
    /// Serve a generated demo site on 127.0.0.1 and crawl it: works with no internet.
    Demo {
        /// The output directory (default: crawld-demo-<time> in the current directory).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Pages on the demo site.
        #[arg(long, value_name = "N", default_value_t = 300)]
        pages: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("crawld=info,warn")))
        .with_writer(std::io::stderr)
        // Colour only on a terminal: in a pipe or a log file the escape codes are noise.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("crawld: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("crawld: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let cancel = CancellationToken::new();
    crawld::shutdown::install(cancel.clone());
    match command {
        Command::Run { config, seeds, out, max_depth, max_pages, concurrency, allow_private_networks } => {
            let mut config = match &config {
                Some(path) => Config::load(path)?,
                None => Config::default(),
            };
            if !seeds.is_empty() {
                config.seeds = seeds;
            }
            if let Some(out) = out {
                config.out = out;
            }
            config.crawl.max_depth = max_depth.or(config.crawl.max_depth);
            config.crawl.max_pages = max_pages.or(config.crawl.max_pages);
            config.crawl.concurrency = concurrency.unwrap_or(config.crawl.concurrency);
            config.fetch.allow_private_networks |= allow_private_networks;
            config.validate()?;
            crawl(config, cancel).await
        }
        Command::Demo { out, pages } => {
            let site = demo::DemoSite::start(pages).await.context("cannot start the demo site")?;
            // The process id keeps two demos started in the same second apart.
            let default_out = || PathBuf::from(format!("crawld-demo-{}-{}", demo::timestamp(), std::process::id()));
            let out = out.unwrap_or_else(default_out);
            info!(url = %site.url(), pages, "demo site serving on loopback");
            let code = crawl(demo::config(&site, out), cancel).await;
            site.stop().await;
            code
        }
    }
}

/// Run the crawl and log how it ended. Exit status: 0 when it completed, stopped at a limit, or was
/// stopped by a signal; 1 when it failed (no seed could be fetched).
async fn crawl(config: Config, cancel: CancellationToken) -> anyhow::Result<ExitCode> {
    let out = config.out.clone();
    let summary = crawld::run(config, cancel).await?;
    let s = &summary.stats;
    let secs = summary.elapsed.as_secs_f64().max(1e-3);
    let how = match summary.ending {
        Ending::Complete => "crawl complete: nothing left to fetch".to_owned(),
        Ending::Limit => format!("crawl stopped at crawl.max_pages, {} URLs left queued", s.queued),
        Ending::Stopped => format!("crawl stopped by a signal, {} URLs left queued", s.queued),
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
    println!("  warc/         the raw HTTP exchanges, as WARC");
    println!("  stats.json    every counter, and how the crawl ended ({})", summary.ending.state());
}
