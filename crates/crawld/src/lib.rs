//! crawld: a polite, durable, breadth-first web crawler daemon.
//!
//! This crate wires the parts together; each part is a crate of its own:
//!
//! ```text
//! seeds ─► crawld_frontier ─► crawl (scheduler loop, crawld_fetch::FetchPool) ─► task (fetch + extract)
//!              ▲                                                                      │
//!              └──────────── in-scope links (crawld_extract) ◄────────────────────────┤
//!                                                       crawld_sink (OUT/) ◄──────────┘
//! ```
//! - [`config`]: the TOML config, checked with `file:line` errors.
//! - [`crawl`]: the scheduler loop that owns the fetch pool.
//! - [`task`]: one fetch, run inside the pool.
//! - [`resume`]: picking up an unfinished crawl from its output directory.
//! - [`sitemaps`]: a site's sitemaps, and which of their entries are queued.
//! - [`demo`]: a generated site on loopback, for `crawld demo` and for trying crawld without internet.
//! - [`shutdown`]: Ctrl-C / SIGTERM handling.
//! - [`allocator`]: tunes glibc's malloc for a crawl (large blocks unmapped when freed, fewer heaps).
//! - [`control`]: steering a running crawl (commands, status, the config in force) through channels;
//!   [`admin`] serves it over HTTP, [`metrics`] as Prometheus text.
//! - [`inspect`]: `crawld inspect`, `index` and `export`, over `crawld_inspect`.

pub mod admin;
pub mod allocator;
pub mod client;
pub mod config;
pub mod control;
pub mod crawl;
pub mod demo;
pub mod inspect;
pub mod metrics;
pub mod progress;
pub mod reload;
pub mod resume;
pub mod shutdown;
pub mod sitemaps;
pub mod stats;
pub mod task;

pub use config::Config;
pub use crawl::{CrawlSummary, Ending, run, run_steered};
