//! The writer thread: the only code that touches the output files once the sink is created.
//!
//! Messages arrive in order over a bounded channel. Page lines are kept in memory until the next sync,
//! which fsyncs the WARC file first and only then appends the lines to pages.jsonl, so the index on disk
//! never points at WARC bytes that could still be lost. On the first I/O error the thread saves what it
//! safely can, publishes the error for the async side and stops.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::atomic::write_atomic;
use crate::record::{self, PageRecord};
use crate::reserve::Reserve;
use crate::warc::{WarcPair, WarcWriter};
use crate::{BeforeLines, SinkError, SinkSummary};

/// Sync early once this many line bytes wait in memory, whatever the interval, to bound memory use.
pub(crate) const PENDING_LIMIT: usize = 1 << 20;

/// Capacity of the line buffer kept from one sync to the next.
const KEEP_PENDING: usize = 128 * 1024;

#[derive(Debug)]
pub(crate) enum Msg {
    /// The permit holds the record's share of the queue's byte budget until it is written.
    Page(Box<PageRecord>, Held),
    /// WARC records only, no line.
    Archive(Box<WarcPair>, Held),
    Stats(serde_json::Value),
    /// Sync now and report the outcome.
    Sync(oneshot::Sender<Result<(), SinkError>>),
    /// Nothing to write; a chance to sync when the crawl has gone quiet.
    Tick,
    /// Sync, then call this with the length of pages.jsonl (see [`crate::Sink::after_lines`]).
    AfterLines(crate::AfterLines),
    Finish(oneshot::Sender<Result<SinkSummary, SinkError>>),
    /// Tests: hold the writer until the sender is dropped or sends, as a slow disk would.
    #[cfg(test)]
    Pause(std::sync::mpsc::Receiver<()>),
}

/// Whether the disk is full, shared by the writer thread and the crawl (see [`crate::DiskWatch`]).
#[derive(Debug, Default)]
pub(crate) struct Disk {
    /// The writer waits for space.
    pub(crate) full: AtomicBool,
    /// The crawl is stopping: while the disk is full, stop waiting and fail.
    pub(crate) give_up: AtomicBool,
}

/// How often a writer waiting for disk space checks for it.
const SPACE_POLL: Duration = Duration::from_millis(500);

/// A share of the queue's byte budget, given back when dropped (None for a record of no bytes).
pub(crate) type Held = Option<tokio::sync::OwnedSemaphorePermit>;

/// The writer's first fatal error, kept for every later caller.
#[derive(Debug, Default)]
pub(crate) struct Failure(Mutex<Option<SinkError>>);

impl Failure {
    fn set(&self, e: SinkError) {
        // Poisoning cannot leave an Option<SinkError> half-updated, so the inner value is safe to use.
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(e);
    }

    pub(crate) fn get(&self) -> Option<SinkError> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(SinkError::duplicate)
    }
}

#[derive(Debug)]
pub(crate) struct Writer {
    pages_path: PathBuf,
    /// Opened for append: a write always lands at the end, even after a failed write was cut back.
    pages: File,
    /// Length of pages.jsonl made of whole lines; a failed append is cut back to it.
    pages_len: u64,
    /// Lines whose WARC records are written but not yet fsynced.
    pending: Vec<u8>,
    pending_lines: u64,
    pages_written: u64,
    pages_dirty: bool,
    warc: Option<WarcWriter>,
    before_lines: Option<Arc<dyn BeforeLines>>,
    stats_path: PathBuf,
    index_path: PathBuf,
    /// The last stats written, to say in stats.json that the disk is full.
    last_stats: Option<serde_json::Value>,
    sync_interval: Duration,
    last_sync: Instant,
    reserve: Reserve,
}

/// The files a writer starts with.
#[derive(Debug)]
pub(crate) struct Files {
    pub(crate) pages_path: PathBuf,
    /// Opened for append.
    pub(crate) pages: File,
    /// Its length, all whole lines.
    pub(crate) pages_len: u64,
    pub(crate) warc: Option<WarcWriter>,
    pub(crate) stats_path: PathBuf,
    /// Where the CDXJ index goes at finish.
    pub(crate) index_path: PathBuf,
}

impl Writer {
    pub(crate) fn new(
        files: Files,
        sync_interval: Duration,
        reserve: Reserve,
        before_lines: Option<Arc<dyn BeforeLines>>,
    ) -> Self {
        let Files { pages_path, pages, pages_len, warc, stats_path, index_path } = files;
        Writer {
            pages_path,
            pages,
            pages_len,
            pending: Vec::new(),
            pending_lines: 0,
            pages_written: 0,
            pages_dirty: false,
            warc,
            before_lines,
            stats_path,
            index_path,
            last_stats: None,
            sync_interval,
            last_sync: Instant::now(),
            reserve,
        }
    }

    fn page(&mut self, page: &PageRecord) -> Result<(), SinkError> {
        // WARC first: the line must be able to say where the response record landed.
        let location = match (&mut self.warc, &page.archive) {
            (Some(warc), Some(pair)) => Some(warc.write_pair(pair)?),
            _ => None,
        };
        record::write_line(&mut self.pending, page, location.as_ref())
            .map_err(|e| SinkError::io("serialize a line for", &self.pages_path, e.into()))?;
        self.pending_lines += 1;
        Ok(())
    }

    fn archive(&mut self, pair: &WarcPair) -> Result<(), SinkError> {
        if let Some(warc) = &mut self.warc {
            warc.write_pair(pair)?;
        }
        Ok(())
    }

    fn stats(&mut self, stats: &serde_json::Value) -> Result<(), SinkError> {
        self.last_stats = Some(stats.clone());
        self.write_stats(stats)
    }

    fn write_stats(&self, stats: &serde_json::Value) -> Result<(), SinkError> {
        let mut bytes =
            serde_json::to_vec_pretty(stats).map_err(|e| SinkError::io("serialize", &self.stats_path, e.into()))?;
        bytes.push(b'\n');
        write_atomic(&self.stats_path, &bytes)
    }

    /// The length of pages.jsonl, lines written so far included.
    fn files_pages_len(&self) -> u64 {
        self.pages_len
    }

    fn dirty(&self) -> bool {
        !self.pending.is_empty() || self.pages_dirty || self.warc.as_ref().is_some_and(WarcWriter::dirty)
    }

    fn maybe_sync(&mut self) -> Result<(), SinkError> {
        let due = self.dirty() && self.last_sync.elapsed() >= self.sync_interval;
        if due || self.pending.len() >= PENDING_LIMIT { self.sync() } else { Ok(()) }
    }

    /// WARC data to disk, then what must precede the lines (the frontier's journal), then the lines
    /// that point into the WARC, then those lines to disk.
    fn sync(&mut self) -> Result<(), SinkError> {
        if let Some(warc) = &mut self.warc {
            warc.sync()?;
        }
        if !self.pending.is_empty() {
            if let Some(before) = &self.before_lines {
                before.sync().map_err(|e| SinkError::io("write and fsync", before.path(), e))?;
            }
            if let Err(e) = self.pages.write_all(&self.pending) {
                // Cut a partly written line off so the file stays whole lines; best effort, as the
                // write error is the one worth reporting.
                let _ = self.pages.set_len(self.pages_len);
                return Err(SinkError::io("write", &self.pages_path, e));
            }
            self.pages_len += self.pending.len() as u64;
            self.pages_written += self.pending_lines;
            self.pending.clear();
            if self.pending.capacity() > KEEP_PENDING {
                // Up to PENDING_LIMIT between syncs in a fast crawl: not worth holding while it is quiet.
                self.pending = Vec::new();
            }
            self.pending_lines = 0;
            self.pages_dirty = true;
        }
        if self.pages_dirty {
            self.pages.sync_data().map_err(|e| SinkError::io("fsync", &self.pages_path, e))?;
            self.pages_dirty = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Run `op` until it succeeds or fails for another reason than a full disk: while the disk is
    /// full, wait for space (unless the crawl gives up, `disk.give_up`).
    fn patiently<T>(
        &mut self,
        disk: &Disk,
        mut op: impl FnMut(&mut Writer) -> Result<T, SinkError>,
    ) -> Result<T, SinkError> {
        loop {
            match op(self) {
                Err(e) if e.is_disk_full() => self.wait_for_space(disk, e)?,
                result => {
                    if result.is_ok() && disk.full.swap(false, Ordering::SeqCst) {
                        tracing::warn!("disk space is back: the crawl goes on");
                    }
                    return result;
                }
            }
        }
    }

    /// The disk is full: save what can be saved, say so, and wait until the reserve fits again.
    fn wait_for_space(&mut self, disk: &Disk, e: SinkError) -> Result<(), SinkError> {
        if !disk.full.swap(true, Ordering::SeqCst) {
            tracing::error!(
                "{e}: the crawl pauses (no new fetches) and goes on by itself once space is freed; \
                 SIGTERM stops it, and a later run resumes it"
            );
            // The reserve goes, so that the lines of pages already archived, and stats.json saying
            // what happened, can still be written.
            self.reserve.release();
            let _ = self.sync();
            // The last counters (if any were written) with the state that says why nothing moves.
            let mut stats = self.last_stats.clone().unwrap_or_else(|| serde_json::json!({}));
            if let Some(map) = stats.as_object_mut() {
                map.insert("state".into(), "disk_full".into());
            }
            let _ = self.write_stats(&stats);
        }
        loop {
            if disk.give_up.load(Ordering::SeqCst) {
                return Err(e);
            }
            std::thread::sleep(SPACE_POLL);
            // Space for the reserve again: worth another try.
            if self.reserve.restore().is_ok() {
                return Ok(());
            }
        }
    }

    fn finish(&mut self) -> Result<SinkSummary, SinkError> {
        self.sync()?;
        self.reserve.release();
        let (warc_records, warc_files, warc_bytes) = self.warc.as_ref().map_or((0, 0, 0), WarcWriter::totals);
        // The index is made from the files, and can be made again from them: failing to write it loses
        // nothing, so it is no error of the sink's.
        let index_lines = match self.warc.as_mut().and_then(|w| w.finish_index(&self.index_path)) {
            Some(Ok(lines)) => Some(lines),
            Some(Err(e)) => {
                tracing::warn!(path = %self.index_path.display(), error = %e, "cannot write the CDXJ index");
                None
            }
            None => None,
        };
        Ok(SinkSummary { pages: self.pages_written, warc_records, warc_files, warc_bytes, index_lines })
    }
}

/// The thread body. Returns when finished, when every sender is gone, or after the first I/O error
/// other than a full disk (which it waits out, see [`Writer::patiently`]).
pub(crate) fn run(mut writer: Writer, mut rx: mpsc::Receiver<Msg>, failure: Arc<Failure>, disk: Arc<Disk>) {
    loop {
        let Some(msg) = rx.blocking_recv() else {
            // The Sink was dropped without finish(): still keep everything it recorded.
            if let Err(e) = writer.finish() {
                tracing::error!("crawl output: {e}");
                failure.set(e);
            }
            return;
        };
        let step = match msg {
            // `_held` lives to the end of the arm: the bytes leave the budget once written.
            Msg::Page(page, _held) => {
                writer.patiently(&disk, |w| w.page(&page)).and_then(|()| writer.patiently(&disk, Writer::maybe_sync))
            }
            Msg::Archive(pair, _held) => {
                writer.patiently(&disk, |w| w.archive(&pair)).and_then(|()| writer.patiently(&disk, Writer::maybe_sync))
            }
            // A full disk keeps the last stats.json: nothing is lost by skipping this one.
            Msg::Stats(stats) => match writer.stats(&stats) {
                Err(e) if e.is_disk_full() => Ok(()),
                written => written,
            }
            .and_then(|()| writer.patiently(&disk, Writer::maybe_sync)),
            Msg::Tick => writer.patiently(&disk, Writer::maybe_sync),
            Msg::AfterLines(then) => writer.patiently(&disk, Writer::sync).map(|()| (then.0)(writer.files_pages_len())),
            #[cfg(test)]
            Msg::Pause(release) => {
                let _ = release.recv();
                Ok(())
            }
            Msg::Sync(reply) => match writer.patiently(&disk, Writer::sync) {
                Ok(()) => {
                    // The caller may have stopped waiting; the sync happened all the same.
                    let _ = reply.send(Ok(()));
                    Ok(())
                }
                Err(e) => {
                    let _ = reply.send(Err(e.duplicate()));
                    Err(e)
                }
            },
            Msg::Finish(reply) => {
                let result = writer.patiently(&disk, Writer::finish);
                if let Err(e) = &result {
                    failure.set(e.duplicate());
                }
                // Close every file before answering, so the caller may read the output at once.
                drop(writer);
                let _ = reply.send(result);
                return;
            }
        };
        if let Err(e) = step {
            tracing::error!("crawl output: {e}; stopping the writer");
            // Lines already queued refer to WARC records written before the failure: keep them, in
            // the space held back for this (the failure may well be a full disk). A second error here
            // says nothing new.
            writer.reserve.release();
            let _ = writer.sync();
            failure.set(e);
            return;
        }
    }
}

/// Wakes the writer now and then so a quiet crawl's last lines still reach the disk within the interval.
///
/// Holds only a weak sender, so it never keeps the writer alive; it ends once the writer has.
pub(crate) fn tick(weak: mpsc::WeakSender<Msg>, period: Duration) {
    loop {
        std::thread::sleep(period);
        let Some(tx) = weak.upgrade() else { return };
        if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(Msg::Tick) {
            return;
        }
        // A full queue needs no tick: the writer checks the interval after every message.
    }
}
