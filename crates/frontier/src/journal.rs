//! The frontier's journal: every URL queued, in the order it was queued. It is both what makes the
//! queue outlive the process and where queued URLs live: the frontier keeps only each queued URL's
//! fingerprint and the offset of its record here (24 bytes), and reads the record back when it leases
//! the URL. Recent records are still in memory; older ones come from the page cache or the disk.
//!
//! The journal holds what was *queued*; pages.jsonl (the sink's) says what is *done*. On resume, every
//! journaled URL without a line is queued again, at the smallest depth journaled for it, in the order
//! it was first queued: the same per-host FIFO order the crawl had.
//!
//! ```text
//! file:    MAGIC  frame*
//! frame:   len: u32 LE   crc32(payload): u32 LE   payload (len bytes)
//! payload: 1 = Parent  url                      a page whose links follow
//!          2 = Url     fp u128 LE, depth u32 LE, redirects u8, via u8 (0 link, 1 sitemap root,
//!                      2 sitemap), parent: offset of its Parent frame u64 LE (u64::MAX: none), url
//! ```
//! A frontier that is not durable keeps the same frames in memory only.
//! A URL found again more shallowly is journaled again with its new depth. The crawl process writes
//! frames as URLs are queued (into a buffer, written out every [`FLUSH_AT`] bytes) and the sink calls
//! [`JournalSync::sync`] before it writes page lines: so a page's line is never on disk before the links
//! it led to, whether the process is killed (the write order) or the machine loses power (the fsync order).
//!
//! A torn tail (a frame cut short by a crash) is cut off on resume. A bad frame with whole frames after
//! it is damage, not a torn write: resume refuses it rather than drop the URLs after it in silence.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use url::Url;

use crate::{Candidate, Via};

/// The journal's file name inside the state directory.
pub const JOURNAL_FILE: &str = "frontier.journal";
const MAGIC: &[u8] = b"crawld frontier journal 3\n";
const HEADER: usize = 8;
/// No frame is larger: URLs are far shorter (scope.max_url_length).
const MAX_FRAME: usize = 1 << 20;
/// Frames buffered in memory before the crawl writes them out itself.
const FLUSH_AT: usize = 256 * 1024;
const PARENT: u8 = 1;
const URL: u8 = 2;
/// Fixed part of a Url payload: kind, fingerprint, depth, redirects, via, parent offset.
const URL_FIXED: usize = 1 + 16 + 4 + 1 + 1 + 8;
const NO_PARENT: u64 = u64::MAX;

/// Why a journal could not be opened or replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    #[error("cannot {action} {}: {error}", path.display())]
    Io { action: &'static str, path: PathBuf, error: io::Error },
    #[error("{} is not a crawld frontier journal (its first bytes are wrong)", path.display())]
    NotAJournal { path: PathBuf },
    /// A bad frame with whole frames after it: not a torn write.
    #[error(
        "{} is damaged at byte {offset} ({reason}) and whole records follow the damage; \
         refusing to resume rather than lose the URLs queued after it",
        path.display()
    )]
    Damaged { path: PathBuf, offset: u64, reason: String },
    /// The frontier's snapshot cannot be used. It is only a shortcut: resuming without it (a full
    /// replay of the journal) loses nothing.
    #[error("{} is damaged ({reason})", path.display())]
    Snapshot { path: PathBuf, reason: String },
}

impl JournalError {
    pub(crate) fn io(action: &'static str, path: &Path, error: io::Error) -> Self {
        JournalError::Io { action, path: path.to_path_buf(), error }
    }
}

/// A URL as a replay reads it back: its record's fields, the URL not parsed (a resume of millions of
/// URLs needs no more than its host).
#[derive(Debug, Clone, Copy)]
pub struct Journaled<'a> {
    pub fingerprint: u128,
    pub depth: u32,
    pub redirects: u8,
    pub via: Via,
    /// The URL as serialized when queued (by the `url` crate: normalized already).
    pub url: &'a str,
    pub parent: Option<&'a str>,
}

/// What a replay found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Url frames read (a URL whose depth was lowered counts once per frame).
    pub frames: u64,
    /// A torn tail that was cut off: (its offset, its length in bytes).
    pub cut: Option<(u64, u64)>,
}

#[derive(Debug)]
struct Shared {
    /// None: a journal in memory only (a frontier that is not durable).
    file: Option<File>,
    /// Bytes in the file: the offset of `buf`'s first byte.
    written: u64,
    buf: Vec<u8>,
    /// The first write error: every later sync reports it.
    failed: Option<(io::ErrorKind, String)>,
}

impl Shared {
    fn write_out(&mut self) -> io::Result<()> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        let Some(file) = &mut self.file else { return Ok(()) };
        if self.buf.is_empty() {
            return Ok(());
        }
        match file.write_all(&self.buf) {
            Ok(()) => {
                self.written += self.buf.len() as u64;
                self.buf.clear();
                Ok(())
            }
            Err(e) => {
                // What reached the file is unknown now: stop reading and writing it.
                self.failed = Some((e.kind(), e.to_string()));
                Err(e)
            }
        }
    }

    /// The payload of the frame at `offset` (its header checked), into `out`.
    fn read(&self, offset: u64, out: &mut Vec<u8>) -> io::Result<()> {
        if offset >= self.written {
            let at = (offset - self.written) as usize;
            let frame = self.buf.get(at..).ok_or_else(|| bad("an offset past the end"))?;
            let (len, crc) =
                split_header(frame.get(..HEADER).and_then(|h| h.try_into().ok()).ok_or_else(|| bad("a cut header"))?);
            let payload = frame.get(HEADER..HEADER + len).ok_or_else(|| bad("a cut record"))?;
            out.clear();
            out.extend_from_slice(payload);
            return check(out, crc);
        }
        let file = self.file.as_ref().ok_or_else(|| bad("no file"))?;
        out.resize(512, 0);
        let got = read_at_most(file, out, offset)?;
        let header: &[u8; HEADER] =
            out.get(..HEADER).and_then(|h| h.try_into().ok()).ok_or_else(|| bad("a cut header"))?;
        let (len, crc) = split_header(header);
        if len > MAX_FRAME {
            return Err(bad("a record too long"));
        }
        if HEADER + len > got {
            out.resize(HEADER + len, 0);
            file.read_exact_at(&mut out[got..], offset + got as u64)?;
        }
        out.truncate(HEADER + len);
        out.drain(..HEADER);
        check(out, crc)
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("journal record unreadable: {what}"))
}

fn check(payload: &[u8], crc: u32) -> io::Result<()> {
    if crc32fast::hash(payload) == crc { Ok(()) } else { Err(bad("a record failing its checksum")) }
}

fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A handle that makes everything journaled so far durable: for the sink, which calls it before it
/// writes page lines.
#[derive(Debug, Clone)]
pub struct JournalSync {
    shared: Arc<Mutex<Shared>>,
    /// The same file, to fsync without holding the lock (the crawl keeps journaling meanwhile).
    file: Arc<File>,
    path: PathBuf,
}

impl JournalSync {
    /// Write out what is buffered, then fsync the file.
    pub fn sync(&self) -> io::Result<()> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner).write_out()?;
        self.file.sync_data()
    }

    /// The journal file, for error messages.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The frontier's end: appends records and reads them back.
#[derive(Debug)]
pub(crate) struct Journal {
    shared: Arc<Mutex<Shared>>,
    /// None for a journal in memory.
    sync: Option<JournalSync>,
    /// The parent of the last Url frame and the offset of its Parent frame: a Parent frame is written
    /// only when the parent changes.
    last_parent: Option<(Arc<str>, u64)>,
    frame: Vec<u8>,
    read: Vec<u8>,
}

impl Journal {
    /// A journal kept in memory only, for a frontier that is not durable.
    pub(crate) fn memory() -> Journal {
        let shared = Shared { file: None, written: 0, buf: Vec::new(), failed: None };
        Journal::with(shared, None)
    }

    /// Start a new, empty journal in `dir` (replacing any file there), durable before it returns.
    pub(crate) fn create(dir: &Path) -> Result<Journal, JournalError> {
        let path = dir.join(JOURNAL_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| JournalError::io("create", &path, e))?;
        file.write_all(MAGIC).and_then(|()| file.sync_data()).map_err(|e| JournalError::io("write", &path, e))?;
        sync_dir(dir).map_err(|e| JournalError::io("fsync", dir, e))?;
        Journal::on(file, path, MAGIC.len() as u64)
    }

    /// Replay the journal in `dir`, handing each queued URL and the offset of its record to `visit` in
    /// order, then open it to go on appending. A torn tail is cut off first.
    /// Frames before `start` (the end of a frame: what a snapshot covers) are skipped unread.
    pub(crate) fn resume(
        dir: &Path,
        start: u64,
        visit: impl FnMut(&Journaled<'_>, u64),
    ) -> Result<(Journal, Replayed), JournalError> {
        let path = dir.join(JOURNAL_FILE);
        let replayed = replay(&path, start, visit)?;
        let file =
            OpenOptions::new().read(true).append(true).open(&path).map_err(|e| JournalError::io("open", &path, e))?;
        let len = file.metadata().map_err(|e| JournalError::io("read", &path, e))?.len();
        Ok((Journal::on(file, path, len)?, replayed))
    }

    fn on(file: File, path: PathBuf, written: u64) -> Result<Journal, JournalError> {
        let clone = file.try_clone().map_err(|e| JournalError::io("open", &path, e))?;
        let shared = Shared { file: Some(file), written, buf: Vec::new(), failed: None };
        Ok(Journal::with(shared, Some((clone, path))))
    }

    fn with(shared: Shared, file: Option<(File, PathBuf)>) -> Journal {
        let shared = Arc::new(Mutex::new(shared));
        let sync = file.map(|(file, path)| JournalSync { shared: Arc::clone(&shared), file: Arc::new(file), path });
        Journal { shared, sync, last_parent: None, frame: Vec::with_capacity(256), read: Vec::with_capacity(512) }
    }

    pub(crate) fn sync_handle(&self) -> Option<JournalSync> {
        self.sync.clone()
    }

    /// The journal's length, what is still buffered included: where the next frame goes.
    pub(crate) fn len(&self) -> u64 {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.written + shared.buf.len() as u64
    }

    /// The next URL frame gets a Parent frame of its own, even under the same parent as the last: so
    /// that a replay starting here (after a snapshot) never needs a Parent frame from before.
    pub(crate) fn start_afresh(&mut self) {
        self.last_parent = None;
    }

    /// Journal a URL just queued (or queued again more shallowly); returns the offset of its record.
    pub(crate) fn append(&mut self, c: &Candidate) -> u64 {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        // Where this call's frames begin in the journal.
        let base = shared.written + shared.buf.len() as u64;
        self.frame.clear();
        let parent_offset = match &c.parent {
            None => NO_PARENT,
            Some(parent) => match &self.last_parent {
                Some((last, offset)) if Arc::ptr_eq(last, parent) || last == parent => *offset,
                _ => {
                    frame(&mut self.frame, &[&[PARENT], parent.as_bytes()]);
                    self.last_parent = Some((Arc::clone(parent), base));
                    base
                }
            },
        };
        let offset = base + self.frame.len() as u64;
        frame(
            &mut self.frame,
            &[
                &[URL],
                &c.fingerprint.to_le_bytes(),
                &c.depth.to_le_bytes(),
                &[c.redirects, via_byte(c.via)],
                &parent_offset.to_le_bytes(),
                c.url.as_str().as_bytes(),
            ],
        );
        shared.buf.extend_from_slice(&self.frame);
        if shared.file.is_some() && shared.buf.len() >= FLUSH_AT {
            // An error is kept and reported by the next sync, which stops the crawl's writes.
            let _ = shared.write_out();
        }
        offset
    }

    /// The URL whose record is at `offset`, with its parent, as it was queued.
    pub(crate) fn read(&mut self, offset: u64) -> io::Result<Candidate> {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.read(offset, &mut self.read)?;
        let (mut candidate, parent_offset) = decode_url(&self.read).map_err(|e| bad(&e))?;
        if parent_offset != NO_PARENT {
            shared.read(parent_offset, &mut self.read)?;
            match self.read.split_first() {
                Some((&PARENT, url)) => candidate.parent = Some(Arc::from(text(url).map_err(|e| bad(&e))?)),
                _ => return Err(bad("a parent offset that is not a parent record")),
            }
        }
        Ok(candidate)
    }
}

fn frame(out: &mut Vec<u8>, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut crc = crc32fast::Hasher::new();
    parts.iter().for_each(|p| crc.update(p));
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    parts.iter().for_each(|p| out.extend_from_slice(p));
}

/// Read every frame of the journal at `path`; cut a torn tail off the file.
fn replay(path: &Path, start: u64, mut visit: impl FnMut(&Journaled<'_>, u64)) -> Result<Replayed, JournalError> {
    let file = File::open(path).map_err(|e| JournalError::io("open", path, e))?;
    let len = file.metadata().map_err(|e| JournalError::io("read", path, e))?.len();
    if start > len {
        let reason =
            format!("it ends at byte {len}, before byte {start} where the frontier's snapshot says it goes on");
        return Err(JournalError::Damaged { path: path.to_path_buf(), offset: len, reason });
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut magic = vec![0; MAGIC.len()];
    let got = read_full(&mut reader, &mut magic).map_err(|e| JournalError::io("read", path, e))?;
    let mut replayed = Replayed::default();
    if got < MAGIC.len() && MAGIC.starts_with(&magic[..got]) {
        // Killed while the journal was being created: nothing was journaled yet.
        rewrite_magic(path)?;
        replayed.cut = (got > 0).then_some((0, got as u64));
        return Ok(replayed);
    }
    if magic != MAGIC {
        return Err(JournalError::NotAJournal { path: path.to_path_buf() });
    }
    let mut offset = MAGIC.len() as u64;
    if start > offset {
        reader.seek(io::SeekFrom::Start(start)).map_err(|e| JournalError::io("read", path, e))?;
        offset = start;
    }
    // The last Parent record: its URL and offset.
    let mut parent: Option<(String, u64)> = None;
    let mut payload = Vec::new();
    loop {
        let bad = match next_frame(&mut reader, &mut payload).map_err(|e| JournalError::io("read", path, e))? {
            Frame::End => break,
            Frame::Bad(reason) => Some(reason),
            Frame::Whole => match payload.first() {
                Some(&PARENT) => match text(&payload[1..]) {
                    Ok(url) => {
                        let last = parent.get_or_insert_with(|| (String::new(), 0));
                        last.0.clear();
                        last.0.push_str(url);
                        last.1 = offset;
                        None
                    }
                    Err(reason) => Some(reason),
                },
                _ => match decode_fields(&payload) {
                    Ok((mut journaled, parent_offset)) => match (&parent, parent_offset) {
                        (_, NO_PARENT) => {
                            replayed.frames += 1;
                            visit(&journaled, offset);
                            None
                        }
                        (Some((url, at)), wanted) if *at == wanted => {
                            journaled.parent = Some(url);
                            replayed.frames += 1;
                            visit(&journaled, offset);
                            None
                        }
                        _ => Some("a URL whose parent record is missing".to_owned()),
                    },
                    Err(reason) => Some(reason),
                },
            },
        };
        if let Some(reason) = bad {
            replayed.cut = Some(cut_torn_tail(path, offset, &reason)?);
            break;
        }
        offset += (HEADER + payload.len()) as u64;
    }
    Ok(replayed)
}

enum Frame {
    End,
    Whole,
    /// Cut short, too large or failing its checksum.
    Bad(String),
}

fn next_frame(reader: &mut impl Read, payload: &mut Vec<u8>) -> io::Result<Frame> {
    let mut header = [0; HEADER];
    match read_full(reader, &mut header)? {
        0 => return Ok(Frame::End),
        HEADER => {}
        _ => return Ok(Frame::Bad("a record header cut short".into())),
    }
    let (len, crc) = split_header(&header);
    if len > MAX_FRAME {
        return Ok(Frame::Bad(format!("a record length of {len} bytes")));
    }
    payload.resize(len, 0);
    if read_full(reader, payload)? < len {
        return Ok(Frame::Bad("a record cut short".into()));
    }
    if crc32fast::hash(payload) != crc {
        return Ok(Frame::Bad("a record failing its checksum".into()));
    }
    Ok(Frame::Whole)
}

fn split_header(header: &[u8; HEADER]) -> (usize, u32) {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    (len, crc)
}

fn text(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|_| "a URL that is not UTF-8".to_owned())
}

/// A Url payload's fields (without its parent) and the offset of its parent's record.
fn decode_fields(payload: &[u8]) -> Result<(Journaled<'_>, u64), String> {
    if payload.first() != Some(&URL) || payload.len() < URL_FIXED {
        return Err("a record of an unknown kind".into());
    }
    let fingerprint = u128::from_le_bytes(payload[1..17].try_into().unwrap_or_default());
    let depth = u32::from_le_bytes(payload[17..21].try_into().unwrap_or_default());
    let redirects = payload[21];
    let via = match payload[22] {
        0 => Via::Link,
        1 => Via::SitemapRoot,
        2 => Via::Sitemap,
        other => return Err(format!("a URL found in an unknown way ({other})")),
    };
    let parent = u64::from_le_bytes(payload[23..31].try_into().unwrap_or_default());
    let url = text(&payload[URL_FIXED..])?;
    Ok((Journaled { fingerprint, depth, redirects, via, url, parent: None }, parent))
}

fn via_byte(via: Via) -> u8 {
    match via {
        Via::Link => 0,
        Via::SitemapRoot => 1,
        Via::Sitemap => 2,
    }
}

/// A Url payload: the URL as queued (without its parent) and the offset of its parent's record.
fn decode_url(payload: &[u8]) -> Result<(Candidate, u64), String> {
    let (j, parent) = decode_fields(payload)?;
    let url = Url::parse(j.url).map_err(|e| format!("an unparsable URL ({e})"))?;
    let candidate =
        Candidate { url, fingerprint: j.fingerprint, depth: j.depth, parent: None, redirects: j.redirects, via: j.via };
    Ok((candidate, parent))
}

/// A bad frame at `offset`: cut the file there if nothing whole follows (a torn write), else refuse.
fn cut_torn_tail(path: &Path, offset: u64, reason: &str) -> Result<(u64, u64), JournalError> {
    let bytes = std::fs::read(path).map_err(|e| JournalError::io("read", path, e))?;
    let rest = bytes.get(offset as usize..).unwrap_or_default();
    if let Some(at) = (1..rest.len()).find(|&at| whole_frame_at(&rest[at..])) {
        return Err(JournalError::Damaged {
            path: path.to_path_buf(),
            offset,
            reason: format!("{reason}; a whole record starts at byte {}", offset + at as u64),
        });
    }
    let file = OpenOptions::new().write(true).open(path).map_err(|e| JournalError::io("open", path, e))?;
    file.set_len(offset).and_then(|()| file.sync_data()).map_err(|e| JournalError::io("cut", path, e))?;
    Ok((offset, rest.len() as u64))
}

fn whole_frame_at(bytes: &[u8]) -> bool {
    let Some(header) = bytes.get(..HEADER) else { return false };
    let (len, crc) = split_header(header.try_into().unwrap_or(&[0; HEADER]));
    // A zero-length frame is never written; zeroed bytes (a common torn tail) must not count as one.
    len > 0
        && len <= MAX_FRAME
        && bytes.get(HEADER..HEADER + len).is_some_and(|p| matches!(p[0], PARENT | URL) && crc32fast::hash(p) == crc)
}

fn rewrite_magic(path: &Path) -> Result<(), JournalError> {
    let mut file =
        OpenOptions::new().write(true).truncate(true).open(path).map_err(|e| JournalError::io("open", path, e))?;
    file.write_all(MAGIC).and_then(|()| file.sync_data()).map_err(|e| JournalError::io("write", path, e))
}

/// Read until `buf` is full or the input ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn candidate(url: &str, fp: u128, depth: u32, parent: Option<&Arc<str>>) -> Candidate {
        let url = Url::parse(url).unwrap();
        Candidate { url, fingerprint: fp, depth, parent: parent.cloned(), redirects: 0, via: Via::Link }
    }

    fn replay_all(dir: &Path) -> Result<(Vec<Candidate>, Replayed), JournalError> {
        let mut seen = Vec::new();
        let (_journal, replayed) = Journal::resume(dir, 0, |j, _| {
            let parent = j.parent.map(Arc::from);
            let url = Url::parse(j.url).unwrap();
            seen.push(Candidate {
                url,
                fingerprint: j.fingerprint,
                depth: j.depth,
                parent,
                redirects: j.redirects,
                via: j.via,
            });
        })?;
        Ok((seen, replayed))
    }

    fn write(dir: &Path, candidates: &[Candidate]) -> PathBuf {
        let mut journal = Journal::create(dir).unwrap();
        for c in candidates {
            journal.append(c);
        }
        journal.sync_handle().unwrap().sync().unwrap();
        dir.join(JOURNAL_FILE)
    }

    #[test]
    fn what_is_journaled_comes_back_in_order_with_its_parents() {
        let dir = tempfile::tempdir().unwrap();
        let root: Arc<str> = Arc::from("http://a.test/");
        let other: Arc<str> = Arc::from("http://a.test/x");
        let written = [
            candidate("http://a.test/", 1, 0, None),
            candidate("http://a.test/x", 2, 1, Some(&root)),
            candidate("http://a.test/y", 3, 1, Some(&root)),
            Candidate { via: Via::Sitemap, ..candidate("http://b.test/z", 4, 2, Some(&other)) },
            Candidate { via: Via::SitemapRoot, redirects: 2, ..candidate("http://a.test/y", 3, 0, None) },
        ];
        write(dir.path(), &written);
        let (read, replayed) = replay_all(dir.path()).unwrap();
        assert_eq!(replayed, Replayed { frames: 5, cut: None });
        let summary =
            |c: &Candidate| (c.url.to_string(), c.fingerprint, c.depth, c.parent.as_deref().map(str::to_owned));
        assert_eq!(read.iter().map(summary).collect::<Vec<_>>(), written.iter().map(summary).collect::<Vec<_>>());
    }

    #[test]
    fn a_record_reads_back_by_its_offset_from_memory_from_the_file_and_after_a_resume() {
        let dir = tempfile::tempdir().unwrap();
        let root: Arc<str> = Arc::from("http://a.test/");
        let written = [
            candidate("http://a.test/", 1, 0, None),
            candidate("http://a.test/x", 2, 1, Some(&root)),
            candidate("http://a.test/y", 3, 1, Some(&root)),
        ];
        let summary =
            |c: &Candidate| (c.url.to_string(), c.fingerprint, c.depth, c.parent.as_deref().map(str::to_owned));
        for mut journal in [Journal::memory(), Journal::create(dir.path()).unwrap()] {
            let offsets: Vec<u64> = written.iter().map(|c| journal.append(c)).collect();
            for (c, &at) in written.iter().zip(&offsets) {
                assert_eq!(summary(&journal.read(at).unwrap()), summary(c), "buffered");
            }
            if let Some(sync) = journal.sync_handle() {
                sync.sync().unwrap();
                for (c, &at) in written.iter().zip(&offsets) {
                    assert_eq!(summary(&journal.read(at).unwrap()), summary(c), "from the file");
                }
                let mut replayed = Vec::new();
                let (mut again, _) = Journal::resume(dir.path(), 0, |_, at| replayed.push(at)).unwrap();
                assert_eq!(replayed, offsets);
                for (c, &at) in written.iter().zip(&offsets) {
                    assert_eq!(summary(&again.read(at).unwrap()), summary(c), "after a resume");
                }
                // Appending goes on after what was replayed.
                let next = again.append(&candidate("http://a.test/z", 4, 2, Some(&root)));
                assert!(next > offsets[2]);
                assert_eq!(again.read(next).unwrap().parent.as_deref(), Some("http://a.test/"));
            }
        }
    }

    #[test]
    fn a_torn_tail_is_cut_and_appending_goes_on_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path =
            write(dir.path(), &[candidate("http://a.test/", 1, 0, None), candidate("http://a.test/b", 2, 0, None)]);
        let whole = std::fs::metadata(&path).unwrap().len();
        for torn in [1, 5, 9, 20] {
            let file = OpenOptions::new().write(true).open(&path).unwrap();
            file.set_len(whole - torn).unwrap();
            let (read, replayed) = replay_all(dir.path()).unwrap();
            assert_eq!(read.len(), 1, "cut {torn} bytes");
            let kept = std::fs::metadata(&path).unwrap().len();
            assert_eq!(replayed.cut, Some((kept, whole - torn - kept)));
            // Put the second URL back for the next round.
            let (mut journal, _) = Journal::resume(dir.path(), 0, |_, _| {}).unwrap();
            journal.append(&candidate("http://a.test/b", 2, 0, None));
            journal.sync_handle().unwrap().sync().unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
        }
        // Zeros after the last frame, as a power loss can leave them, are a torn tail too.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[0; 4096]).unwrap();
        let (read, replayed) = replay_all(dir.path()).unwrap();
        assert_eq!((read.len(), replayed.cut), (2, Some((whole, 4096))));
    }

    #[test]
    fn damage_with_whole_records_after_it_is_refused_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            &[
                candidate("http://a.test/", 1, 0, None),
                candidate("http://a.test/b", 2, 0, None),
                candidate("http://a.test/c", 3, 0, None),
            ],
        );
        let mut bytes = std::fs::read(&path).unwrap();
        let second = MAGIC.len() + HEADER + URL_FIXED + "http://a.test/".len();
        assert_eq!(Journal::resume(dir.path(), 0, |_, _| {}).unwrap().1.frames, 3);
        bytes[second + HEADER + 3] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let error = replay_all(dir.path()).unwrap_err().to_string();
        assert!(error.contains(&format!("damaged at byte {second}")) && error.contains("checksum"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing was cut");
    }

    #[test]
    fn a_journal_killed_while_being_created_is_empty_and_another_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), &MAGIC[..7]).unwrap();
        let (read, replayed) = replay_all(dir.path()).unwrap();
        assert_eq!((read.len(), replayed.cut), (0, Some((0, 7))));
        std::fs::write(dir.path().join(JOURNAL_FILE), b"{\"not\": \"a journal\"}").unwrap();
        assert!(matches!(replay_all(dir.path()), Err(JournalError::NotAJournal { .. })));
    }
}
