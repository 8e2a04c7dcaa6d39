//! The crawl's output directory, written durably by one dedicated thread so disk I/O never stalls the crawler.
//!
//! [`Sink::create`] claims a directory and writes the manifest; from then on the async side only queues
//! messages, and a writer thread does all file I/O. WARC records arrive already compressed
//! ([`WarcPair::encode`], run by the caller, on whichever thread fetched the page):
//!
//! ```text
//!   record(PageRecord) ──┐                        ┌─► warc/crawld-<start>-<seq>.warc.gz  (response + request)
//!   write_stats(Value) ──┼─► bounded channel ─► writer thread ─► pages.jsonl  (one line per page)
//!   sync() / finish() ───┘                        └─► stats.json  (tmp + fsync + rename)
//! ```
//!
//! ```text
//! OUT/
//!   crawl.json     the manifest, written atomically by create
//!   pages.jsonl    one JSON object per finished fetch, in the order recorded
//!   warc/          crawld-<UTC start YYYYmmddHHMMSS>-<seq 00000>.warc.gz, one gzip member per record
//!   stats.json     the latest counters given to write_stats
//! ```
//!
//! Durability: a page's WARC records are written before its line, and every sync (at most once per
//! [`SinkOptions::sync_interval`], and at [`Sink::finish`]) fsyncs the WARC file before appending and
//! fsyncing the lines that point into it. Each line's `warc` object gives the file, offset and length of
//! the gzip member holding the page's response record, so one page can be read back without scanning.
//!
//! A full disk is waited out: the writer saves what it safely can (the space reserve goes, so pending
//! lines are written, and stats.json says `disk_full`), then retries once space is back, while
//! [`Sink::disk_watch`] tells the crawl to stop fetching meanwhile. At any other I/O error the writer
//! stops, after saving what it safely can; that error, naming the path, is then returned by every later call.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use crawld_sink::{HttpExchange, PageRecord, Sink, SinkOptions, WarcPair};
//!
//! let out = tempfile::tempdir()?;
//! let manifest = serde_json::json!({ "seeds": ["http://example.com/"] });
//! let sink = Sink::create(out.path(), &manifest, SinkOptions::default())?;
//!
//! let exchange = HttpExchange {
//!     request_head: b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(),
//!     response_head: b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec(),
//!     body: bytes::Bytes::from_static(b"hello"),
//!     remote_ip: None,
//! };
//! let page = PageRecord::new("http://example.com/", 0);
//! let page = PageRecord {
//!     status: Some(200),
//!     content_type: Some("text/plain".into()),
//!     bytes: 5,
//!     elapsed: std::time::Duration::from_millis(31),
//!     archive: Some(WarcPair::encode(&page.url, page.fetched_at, None, &exchange)?),
//!     ..page
//! };
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let summary = runtime.block_on(async {
//!     sink.record(page).await?;
//!     sink.write_stats(serde_json::json!({ "pages": 1 })).await?;
//!     sink.finish().await
//! })?;
//!
//! assert_eq!((summary.pages, summary.warc_files, summary.warc_records), (1, 1, 3));
//! let line = std::fs::read_to_string(out.path().join("pages.jsonl"))?;
//! assert!(line.starts_with(r#"{"url":"http://example.com/","depth":0,"parent":null,"status":200,"#));
//! # Ok(())
//! # }
//! ```

mod atomic;
pub mod cdxj;
mod gzip;
mod outcome;
mod record;
mod recover;
mod reserve;
mod timestamp;
mod warc;
mod writer;

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{Semaphore, mpsc, oneshot};

pub use outcome::{LineClass, errors};
pub use record::{Dropped, HttpExchange, PageRecord, Truncation};
pub use recover::{RecordedPage, Recovered};
pub use warc::WarcPair;

use atomic::{sync_dir, write_atomic};
use warc::WarcWriter;
use writer::{Disk, Failure, Held, Msg, Writer};

/// The unit of the queue's byte budget: permits are counted in KiB so that any budget fits a u32.
const BUDGET_UNIT: u64 = 1024;

const MANIFEST_FILE: &str = "crawl.json";
const PAGES_FILE: &str = "pages.jsonl";
const STATS_FILE: &str = "stats.json";
const WARC_DIR: &str = "warc";
/// crawld's own bookkeeping (not for people): the disk space reserve, later the frontier's state.
const STATE_DIR: &str = "state";
/// Where the CDXJ index of the WARC files goes, inside an output directory.
pub const INDEX_PATH: &str = "indexes/index.cdxj";
/// Sorted runs of index lines, while the crawl runs (see [`cdxj`]).
const INDEX_RUNS_DIR: &str = "state/index-runs";
/// Bytes of index lines held in memory before they are sorted into a run: about 4,000 records.
const INDEX_RUN_BYTES: usize = 1 << 20;

/// How the sink writes.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Start a new WARC file once the current one reaches this many bytes (compressed). Default 1 GiB.
    pub warc_max_bytes: u64,
    /// Flush and fsync pages.jsonl and the open WARC file at most this often (and always at finish). Default 1 s.
    pub sync_interval: Duration,
    /// Bound of the channel to the writer thread. Default 1024.
    pub queue: usize,
    /// Whether to write WARC files at all. Default true.
    pub warc: bool,
    /// Bytes of WARC records the queue to the writer may hold: [`Sink::record`] and [`Sink::archive`]
    /// wait while more are queued. A record larger than this alone goes through once the queue is
    /// empty. Counted in KiB, at least 1 KiB. Default 64 MiB.
    pub max_queued_bytes: u64,
    /// What must be durable before page lines are written: the frontier's journal of the URLs those
    /// pages led to. Synced after the WARC file and before the lines, at every sync. Default none.
    pub before_lines: Option<Arc<dyn BeforeLines>>,
}

/// What [`Sink::after_lines`] calls, with the length of pages.jsonl.
pub struct AfterLines(Box<dyn FnOnce(u64) + Send>);

impl AfterLines {
    pub fn new(then: impl FnOnce(u64) + Send + 'static) -> AfterLines {
        AfterLines(Box::new(then))
    }
}

impl std::fmt::Debug for AfterLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterLines")
    }
}

/// Something that must reach the disk before page lines do (see [`SinkOptions::before_lines`]).
pub trait BeforeLines: Send + Sync + std::fmt::Debug {
    /// Write out and fsync.
    fn sync(&self) -> io::Result<()>;
    /// The file it writes, for error messages.
    fn path(&self) -> &Path;
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            warc_max_bytes: 1 << 30,
            sync_interval: Duration::from_secs(1),
            queue: 1024,
            warc: true,
            max_queued_bytes: 64 << 20,
            before_lines: None,
        }
    }
}

/// What a finished sink wrote.
#[derive(Debug, Clone, Default)]
pub struct SinkSummary {
    /// Lines in pages.jsonl.
    pub pages: u64,
    /// WARC records, the warcinfo record at the head of each file included.
    pub warc_records: u64,
    pub warc_files: u32,
    /// Compressed size of all WARC files together.
    pub warc_bytes: u64,
    /// Lines of the CDXJ index written to [`INDEX_PATH`] as the sink finished: of every record written.
    /// None when it was not made: no WARC files, a sink [reopened](Sink::reopen) (the files written
    /// before are not in it), a record whose HTTP head the index could not read, or an error writing it
    /// (logged). The WARC files must then be read back for the index.
    pub index_lines: Option<u64>,
}

/// Why the sink could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The directory already holds a crawl's pages.jsonl; nothing in it was touched.
    #[error("{} already holds a crawl (it has a {PAGES_FILE}); refusing to overwrite it", path.display())]
    AlreadyUsed { path: PathBuf },
    /// A file operation failed. The cause is part of the message (and not a `source()`), so it shows
    /// however the error is printed.
    #[error("cannot {action} {}: {error}", path.display())]
    Io { action: &'static str, path: PathBuf, error: io::Error },
    /// The writer thread could not be started.
    #[error("cannot start the crawl output writer thread: {error}")]
    Spawn { error: io::Error },
    /// The writer thread ended without reporting an error, which only a bug (a panic) can cause.
    #[error("the crawl output writer thread stopped unexpectedly")]
    WriterGone,
}

impl SinkError {
    fn io(action: &'static str, path: &Path, error: io::Error) -> Self {
        SinkError::Io { action, path: path.to_path_buf(), error }
    }

    /// Whether the disk (or the quota) is full: worth waiting out rather than stopping.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, SinkError::Io { error, .. }
            if matches!(error.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded)
                || matches!(error.raw_os_error(), Some(28 | 122)))
    }

    /// A copy for the next caller: the writer's error is reported to everyone who calls after it stopped.
    fn duplicate(&self) -> Self {
        let copy = |e: &io::Error| io::Error::new(e.kind(), e.to_string());
        match self {
            SinkError::AlreadyUsed { path } => SinkError::AlreadyUsed { path: path.clone() },
            SinkError::Io { action, path, error } => SinkError::Io { action, path: path.clone(), error: copy(error) },
            SinkError::Spawn { error } => SinkError::Spawn { error: copy(error) },
            SinkError::WriterGone => SinkError::WriterGone,
        }
    }
}

/// A crawl's output directory, open for writing. See the [crate docs](crate).
///
/// Dropping a sink without [`finish`](Sink::finish) still flushes what was recorded, in the background;
/// call `finish` to wait for that and to learn of errors.
#[derive(Debug)]
pub struct Sink {
    dir: PathBuf,
    tx: mpsc::Sender<Msg>,
    failure: Arc<Failure>,
    /// The queue's byte budget in [`BUDGET_UNIT`]s: each queued record holds its size in permits.
    budget: Arc<Semaphore>,
    budget_units: u32,
    disk: Arc<Disk>,
}

/// Whether the output's disk is full, for the crawl to stop fetching meanwhile. While it is, the writer
/// waits for space and goes on by itself once there is some; [`DiskWatch::give_up`] makes it stop
/// waiting instead (the crawl is stopping), failing with the disk-full error.
#[derive(Debug, Clone)]
pub struct DiskWatch(Arc<Disk>);

impl DiskWatch {
    pub fn is_full(&self) -> bool {
        self.0.full.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn give_up(&self) {
        self.0.give_up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Sink {
    /// Create OUT (and OUT/warc), write crawl.json. Refuses (SinkError::AlreadyUsed { path }) a directory that
    /// already holds a pages.jsonl, so a second crawl never overwrites a first one's data.
    ///
    /// OUT/warc and the first WARC file are made only when `opts.warc` is set. Needs no async runtime.
    pub fn create(dir: &Path, manifest: &serde_json::Value, opts: SinkOptions) -> Result<Sink, SinkError> {
        fs::create_dir_all(dir).map_err(|e| SinkError::io("create directory", dir, e))?;
        let pages_path = dir.join(PAGES_FILE);
        // create_new makes the check and the claim one step: two crawlds started on one directory
        // cannot both pass it.
        let pages = match OpenOptions::new().append(true).create_new(true).open(&pages_path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(SinkError::AlreadyUsed { path: dir.to_path_buf() });
            }
            Err(e) => return Err(SinkError::io("create", &pages_path, e)),
        };
        match Self::start(dir, Some(manifest), opts, pages_path.clone(), pages, 0) {
            Ok(sink) => Ok(sink),
            Err(e) => {
                // The pages.jsonl just claimed is empty; leaving it would refuse the retry after, say,
                // freeing disk space.
                let _ = fs::remove_file(&pages_path);
                Err(e)
            }
        }
    }

    /// Make the output directory of a crawl that did not finish consistent again, before
    /// [`Sink::reopen`]: cut pages.jsonl back to its last whole line and the WARC files back to the last
    /// record a line points at, handing every line to `visit` on the way. A line that does not parse
    /// before the last one is damage: refused with its line number, and nothing is cut.
    pub fn recover(dir: &Path, visit: impl FnMut(&RecordedPage)) -> Result<Recovered, SinkError> {
        Sink::recover_from(dir, 0, visit)
    }

    /// [`Sink::recover`], with the lines before byte `start` of pages.jsonl taken as read (a snapshot
    /// counted them, and they were durable then): only the lines from `start` on are handed to `visit`
    /// and counted in [`Recovered::lines`]. `start` must be the end of a line.
    pub fn recover_from(dir: &Path, start: u64, visit: impl FnMut(&RecordedPage)) -> Result<Recovered, SinkError> {
        let mut recovered = Recovered::default();
        let mut last_warc = None;
        recover::read_pages(&dir.join(PAGES_FILE), start, &mut recovered, visit, &mut last_warc)?;
        recover::cut_warc(&dir.join(WARC_DIR), last_warc.as_ref(), &mut recovered)?;
        Ok(recovered)
    }

    /// Go on recording in a directory made consistent by [`Sink::recover`]: at the end of pages.jsonl,
    /// in a new WARC file. crawl.json is left as it is.
    pub fn reopen(dir: &Path, opts: SinkOptions) -> Result<Sink, SinkError> {
        let pages_path = dir.join(PAGES_FILE);
        let pages =
            OpenOptions::new().append(true).open(&pages_path).map_err(|e| SinkError::io("open", &pages_path, e))?;
        let pages_len = pages.metadata().map_err(|e| SinkError::io("read", &pages_path, e))?.len();
        Self::start(dir, None, opts, pages_path, pages, pages_len)
    }

    fn start(
        dir: &Path,
        manifest: Option<&serde_json::Value>,
        opts: SinkOptions,
        pages_path: PathBuf,
        pages: fs::File,
        pages_len: u64,
    ) -> Result<Sink, SinkError> {
        if let Some(manifest) = manifest {
            let manifest_path = dir.join(MANIFEST_FILE);
            let mut bytes = serde_json::to_vec_pretty(manifest)
                .map_err(|e| SinkError::io("serialize", &manifest_path, e.into()))?;
            bytes.push(b'\n');
            write_atomic(&manifest_path, &bytes)?;
        }

        let warc = if opts.warc {
            let warc_dir = dir.join(WARC_DIR);
            fs::create_dir_all(&warc_dir).map_err(|e| SinkError::io("create directory", &warc_dir, e))?;
            let info = match manifest {
                Some(manifest) => warc::crawl_fields(manifest),
                // Reopened: the crawl's manifest is the one on disk.
                None => fs::read(dir.join(MANIFEST_FILE))
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .map(|manifest| warc::crawl_fields(&manifest))
                    .unwrap_or_default(),
            };
            // Only a new crawl's sink writes every record of its WARC files.
            let index = manifest.map(|_| cdxj::sorter::Sorter::new(dir.join(INDEX_RUNS_DIR), INDEX_RUN_BYTES));
            let w = WarcWriter::create_with_info(&warc_dir, SystemTime::now(), opts.warc_max_bytes, info, index)?;
            Some(w)
        } else {
            None
        };
        // pages.jsonl and warc/ must survive a crash from the start, or a recovered directory looks unused.
        sync_dir(dir)?;

        let reserve = reserve::Reserve::create(&dir.join(STATE_DIR))?;
        let files = writer::Files {
            pages_path,
            pages,
            pages_len,
            warc,
            stats_path: dir.join(STATS_FILE),
            index_path: dir.join(INDEX_PATH),
        };
        let writer = Writer::new(files, opts.sync_interval, reserve, opts.before_lines.clone());
        // tokio panics on a zero bound; one slot is the closest meaning.
        let (tx, rx) = mpsc::channel(opts.queue.max(1));
        let failure = Arc::new(Failure::default());
        let thread_failure = Arc::clone(&failure);
        let disk = Arc::new(Disk::default());
        let thread_disk = Arc::clone(&disk);
        std::thread::Builder::new()
            .name("crawld-sink".into())
            .spawn(move || writer::run(writer, rx, thread_failure, thread_disk))
            .map_err(|error| SinkError::Spawn { error })?;
        // With a zero interval every message syncs, so there is nothing for a ticker to do.
        if !opts.sync_interval.is_zero() {
            let weak = tx.downgrade();
            let period = (opts.sync_interval / 2).max(Duration::from_millis(1));
            std::thread::Builder::new()
                .name("crawld-sink-tick".into())
                .spawn(move || writer::tick(weak, period))
                .map_err(|error| SinkError::Spawn { error })?;
        }
        let budget_units = u32::try_from(opts.max_queued_bytes.div_ceil(BUDGET_UNIT)).unwrap_or(u32::MAX).max(1);
        let budget = Arc::new(Semaphore::new(budget_units as usize));
        Ok(Sink { dir: dir.to_path_buf(), tx, failure, budget, budget_units, disk })
    }

    /// Whether the disk is full (the writer waits for space), and a way to stop it waiting.
    pub fn disk_watch(&self) -> DiskWatch {
        DiskWatch(Arc::clone(&self.disk))
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queue one finished fetch. Fails only when the writer has stopped (its I/O error is returned, with the path).
    ///
    /// Waits only while the queue is full, in pages or in bytes ([`SinkOptions::max_queued_bytes`]);
    /// the page is on disk after the next sync.
    pub async fn record(&self, page: PageRecord) -> Result<(), SinkError> {
        let held = self.hold(page.archive.as_ref().map_or(0, WarcPair::bytes)).await?;
        self.send(Msg::Page(Box::new(page), held)).await
    }

    /// Archive an exchange in WARC without a pages.jsonl line: for what the crawl fetched that is not
    /// a page of it, such as robots.txt. Waits as [`record`](Sink::record) does.
    pub async fn archive(&self, pair: WarcPair) -> Result<(), SinkError> {
        let held = self.hold(pair.bytes()).await?;
        self.send(Msg::Archive(Box::new(pair), held)).await
    }

    /// Take `bytes` out of the queue's budget, waiting until they fit. A record larger than the whole
    /// budget takes all of it, so it waits for an empty queue and then goes through alone.
    async fn hold(&self, bytes: u64) -> Result<Held, SinkError> {
        if let Some(e) = self.failure.get() {
            return Err(e);
        }
        let units = u32::try_from(bytes.div_ceil(BUDGET_UNIT)).unwrap_or(u32::MAX).min(self.budget_units);
        if units == 0 {
            return Ok(None);
        }
        // The semaphore is never closed; an error could only mean the sink is going away.
        Arc::clone(&self.budget).acquire_many_owned(units).await.map(Some).map_err(|_| self.stopped())
    }

    /// Replace stats.json atomically with this value.
    ///
    /// Queued in order with the pages; returns once queued ([`sync`](Sink::sync) waits for it to be written).
    pub async fn write_stats(&self, stats: serde_json::Value) -> Result<(), SinkError> {
        self.send(Msg::Stats(stats)).await
    }

    /// Once every line queued before this call is durable, call `then` with the length of
    /// pages.jsonl (the end of those lines), on the writer thread. For what must know that a set of
    /// lines is on disk, such as the frontier's snapshot. Returns once queued.
    pub async fn after_lines(&self, then: AfterLines) -> Result<(), SinkError> {
        self.send(Msg::AfterLines(then)).await
    }

    /// Write and fsync everything queued so far, now, and wait for it.
    pub async fn sync(&self) -> Result<(), SinkError> {
        let (reply, done) = oneshot::channel();
        self.send(Msg::Sync(reply)).await?;
        done.await.unwrap_or_else(|_| Err(self.stopped()))
    }

    /// Flush everything, fsync files and the directories, stop the thread. Returns what was written.
    pub async fn finish(self) -> Result<SinkSummary, SinkError> {
        let (reply, done) = oneshot::channel();
        self.send(Msg::Finish(reply)).await?;
        done.await.unwrap_or_else(|_| Err(self.stopped()))
    }

    async fn send(&self, msg: Msg) -> Result<(), SinkError> {
        if let Some(e) = self.failure.get() {
            return Err(e);
        }
        self.tx.send(msg).await.map_err(|_| self.stopped())
    }

    /// Tests: hold the writer thread, as a slow disk would, until the returned sender sends or drops.
    #[cfg(test)]
    async fn pause(&self) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel();
        self.send(Msg::Pause(held)).await.unwrap_or_else(|e| panic!("{e}"));
        release
    }

    /// Why the writer is gone: its recorded error, or else it must have panicked.
    fn stopped(&self) -> SinkError {
        self.failure.get().unwrap_or(SinkError::WriterGone)
    }
}

#[cfg(test)]
mod tests;
