//! Read crawld output directories back: what a crawl got and what went wrong, for a terminal, a script, a
//! browser, and the web-archiving tools (pywb, ReplayWeb.page).
//!
//! Everything starts from [`Lines`], which streams `pages.jsonl` of one or more directories:
//!
//! ```text
//!   Lines ──► Report::build (one pass, memory bounded by hosts and top-N) ──► text::render / JSON / html::render
//!         └─► page::PageDetail (one URL, its parent chain, its WARC record)
//!   OUT/warc/*.warc.gz ──► cdxj::index ──► OUT/indexes/index.cdxj ──► wacz::export ──► FILE.wacz
//! ```
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use crawld_inspect::{Filter, Lines, Report};
//!
//! let out = tempfile::tempdir()?;
//! std::fs::write(
//!     out.path().join("pages.jsonl"),
//!     concat!(
//!         r#"{"url":"http://example.com/","depth":0,"parent":null,"status":200,"content_type":"text/html","#,
//!         r#""bytes":512,"stored_bytes":512,"fetched_at":"2026-11-21T11:34:33.205Z","elapsed_ms":4.2,"links":3,"attempts":1}"#,
//!         "\n"
//!     ),
//! )?;
//! let lines = Lines::new(&[out.path().to_owned()])?;
//! let report = Report::build(&lines, &Filter::default())?;
//! assert_eq!((report.pages, report.outcomes.status_2xx, report.bytes), (1, 1, 512));
//! assert!(crawld_inspect::text::render(&report).contains("pages    1"));
//! # Ok(())
//! # }
//! ```

pub mod cdxj;
pub mod html;
pub mod page;
pub mod read;
pub mod report;
pub mod text;
pub mod wacz;
pub mod warc;

use std::io;
use std::path::{Path, PathBuf};

pub use read::{Flow, Line, Lines};
pub use report::{Filter, Report, StatusFilter};

const PAGES_FILE: &str = "pages.jsonl";
/// Where [`cdxj::write_index`] puts the index, inside an output directory (and where a crawl writes it).
pub use crawld_sink::INDEX_PATH;

/// Why an output directory could not be read, indexed or exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{} does not exist: not a crawld output directory, or the crawl has not started", .0.display())]
    NoPages(PathBuf),
    #[error("{}:{line}: not a pages.jsonl line: {message}", path.display())]
    BadLine { path: PathBuf, line: u64, message: String },
    #[error("cannot {action} {}: {error}", path.display())]
    Io { action: &'static str, path: PathBuf, error: io::Error },
    /// A WARC file that is cut short or not WARC at all.
    #[error("{} at byte {offset}: {message}", path.display())]
    BadWarc { path: PathBuf, offset: u64, message: String },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub(crate) fn io(action: &'static str, path: &Path, error: io::Error) -> Self {
        Error::Io { action, path: path.to_path_buf(), error }
    }
}
