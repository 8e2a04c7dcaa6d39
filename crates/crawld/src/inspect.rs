//! `crawld inspect`, `crawld index` and `crawld export`: the command-line face of `crawld_inspect`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use crawld_inspect::page::{self, PageDetail};
use crawld_inspect::{Filter, Flow, Lines, Report, StatusFilter, cdxj, html, text, wacz};
use tracing::{info, warn};

use crate::config::Config;

/// Read one or more output directories: a summary, a list of URLs, JSON, an HTML report, or one page.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Output directories; with several, totals are across them and a URL in more than one counts once.
    #[arg(value_name = "OUT", required = true)]
    pub dirs: Vec<PathBuf>,
    /// Only pages of this host (with or without its port).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only pages with this status code (404) or class (4xx).
    #[arg(long, value_name = "CODE|Nxx")]
    pub status: Option<String>,
    /// Only pages at this depth.
    #[arg(long, value_name = "N")]
    pub depth: Option<u32>,
    /// Only pages of this media type (text/html), or family (image/).
    #[arg(long = "type", value_name = "MIME")]
    pub content_type: Option<String>,
    /// Only failed pages: an error, no response, or a status of 400 or more.
    #[arg(long)]
    pub error: bool,
    /// Print the matching URLs, one per line, instead of the summary.
    #[arg(long, conflicts_with_all = ["json", "url"])]
    pub list: bool,
    /// Print the report (or, with --url, the page) as one JSON document.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as a self-contained HTML file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Show one page: its pages.jsonl record(s), how the crawl reached it, its WARC response headers.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// With --url: write the page's archived body to stdout (decoded from gzip, deflate or br).
    #[arg(long, requires = "url")]
    pub body: bool,
}

impl InspectArgs {
    fn filter(&self) -> anyhow::Result<Filter> {
        let status = self.status.as_deref().map(str::parse::<StatusFilter>).transpose()?;
        Ok(Filter {
            host: self.host.clone(),
            status,
            depth: self.depth,
            content_type: self.content_type.clone(),
            failed: self.error,
        })
    }
}

pub fn inspect(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let lines = Lines::new(&args.dirs)?;
    let mut stdout = std::io::stdout().lock();
    if let Some(url) = &args.url {
        if args.body {
            let (body, note) = page::body(&lines, url)?;
            if let Some(note) = note {
                eprintln!("crawld: {note}");
            }
            stdout.write_all(&body).context("cannot write to stdout")?;
            return Ok(ExitCode::SUCCESS);
        }
        let detail = PageDetail::find(&lines, url)?;
        if args.json {
            serde_json::to_writer_pretty(&mut stdout, &detail).context("cannot write to stdout")?;
            writeln!(stdout).context("cannot write to stdout")?;
        } else {
            write!(stdout, "{}", detail.render()).context("cannot write to stdout")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let filter = args.filter()?;
    if args.list {
        let mut failed = None;
        let summary = lines.for_each(|line, _| {
            if filter.matches(line)
                && let Err(e) = writeln!(stdout, "{}", line.url)
            {
                // A closed pipe (`| head`) ends the list; that is not an error.
                failed = Some(e);
                return Flow::Stop;
            }
            Flow::Continue
        })?;
        if let Some(e) = failed
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            return Err(e).context("cannot write to stdout");
        }
        for torn in &summary.torn {
            eprintln!("crawld: {} ends in half a line (being written): skipped", torn.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = Report::build(&lines, &filter)?;
    if let Some(path) = &args.html {
        std::fs::write(path, html::render(&report)).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("crawld: HTML report written to {}", path.display());
    }
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report).context("cannot write to stdout")?;
        writeln!(stdout).context("cannot write to stdout")?;
    } else {
        write!(stdout, "{}", text::render(&report)).context("cannot write to stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `crawld index OUT`: (re)write OUT/indexes/index.cdxj.
pub fn index(dir: &Path) -> anyhow::Result<ExitCode> {
    let (path, lines) = cdxj::write_index(dir)?;
    println!("{lines} records indexed in {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `crawld export OUT --wacz FILE`.
pub fn export(dir: &Path, to: &Path) -> anyhow::Result<ExitCode> {
    let done = wacz::export(dir, to)?;
    println!(
        "{}: {} WARC files, {} index lines, {} pages listed, {} bytes",
        done.path.display(),
        done.warc_files,
        done.index_lines,
        done.pages,
        done.bytes
    );
    Ok(ExitCode::SUCCESS)
}

/// At the end of a crawl: index its WARC files, unless the sink wrote the index of every record as it
/// went (`written`, its lines). A failure is logged, not fatal: the crawl itself is whole, and `crawld
/// index` can build the index again.
pub async fn index_after_crawl(config: &Config, written: Option<u64>) {
    if !config.output.warc {
        return;
    }
    let out = config.out.clone();
    if let Some(lines) = written {
        info!(path = %out.join(crawld_inspect::INDEX_PATH).display(), records = lines, "CDXJ index written");
        return;
    }
    match tokio::task::spawn_blocking(move || cdxj::write_index(&out)).await {
        Err(e) => warn!(error = %e, "the CDXJ index task failed; `crawld index` can build it later"),
        Ok(Ok((path, lines))) => info!(path = %path.display(), records = lines, "CDXJ index written"),
        Ok(Err(e)) => warn!(error = %e, "cannot write the CDXJ index; `crawld index` can build it later"),
    }
}
