//! Snapshots of a durable frontier: what a resume reads instead of the whole history.
//!
//! Without one, a resume replays every frame of the journal and its caller reads every line of
//! pages.jsonl, so resume time grows with everything the crawl ever met. A snapshot holds the frontier
//! as it was at one instant in compact binary form: each host, each URL queued or in flight (its
//! fingerprint, depth and journal offset: the record itself stays in the journal), and each URL done
//! (its fingerprint and depth). A resume loads it, then replays only the journal frames after it and
//! the page lines after it, so its cost is what is queued plus the seen-set's fingerprints plus what
//! happened since the snapshot.
//!
//! ```text
//! file:    MAGIC  journal_len u64  extra_len u32  extra  hosts  seen  queued  pages_bytes u64  crc32 u32
//! hosts:   count u32, then per host: len u32, its key (host:port)
//! seen:    key (the fingerprint's low 96 bits, 12 bytes), depth and state packed u32 ... until u32::MAX
//! queued:  host u32, depth u32, fingerprint u128, journal offset u64               ... until host = u32::MAX
//! ```
//! The seen-set is written in its table's own order and read back in that order, so that a resume
//! fills the new table nearly in memory order: at millions of URLs, inserting in random order costs a
//! cache miss each and was most of a resume's time.
//! All integers little-endian; the CRC covers every byte before it.
//!
//! **Why it is exact.** The frontier writes the snapshot between two events of the crawl loop into
//! `frontier.snapshot.tmp`, and the caller [commits](PendingSnapshot::commit) it only once every page
//! line written before that instant is durable, passing the length of pages.jsonl then. The commit
//! syncs the journal (so the frames before `journal_len` are on disk), appends that length and the
//! CRC, fsyncs, and renames the file into place. So a snapshot in place never says "done" of a URL
//! whose line could still be lost, and every frame and line it does not cover lies after the offsets
//! it names. A snapshot is only a shortcut: the journal and pages.jsonl are never cut for it, so a
//! missing or damaged one costs a full replay, never a URL.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::JournalSync;
use crate::journal::{JournalError, sync_dir};

/// The snapshot's file name inside the state directory.
pub const SNAPSHOT_FILE: &str = "frontier.snapshot";
const TMP_FILE: &str = "frontier.snapshot.tmp";
const MAGIC: &[u8] = b"crawld frontier snapshot 2\n";
/// Bytes gathered before they are checksummed and written.
const CHUNK: usize = 1 << 20;
const END: u32 = u32::MAX;
/// A host key longer than this is damage (keys are `host:port`).
const MAX_KEY: usize = 1 << 16;

/// When the next snapshot is due: once the work a resume would replay since the last one (journal
/// frames and leases) reaches both `after` and the size of the last snapshot, so that writing
/// snapshots costs a bounded share of the crawl, and a resume replays at most about as much as the
/// snapshot it starts from.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// None: never (a frontier that is not durable, or snapshots turned off).
    pub(crate) after: Option<u64>,
    pub(crate) since: u64,
    pub(crate) last_entries: u64,
}

impl Schedule {
    pub(crate) fn due(&self) -> bool {
        self.after.is_some_and(|after| self.since >= after.max(self.last_entries))
    }
}

/// One item of a snapshot, in the order the file holds them.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Item<'a> {
    Host(&'a str),
    /// A seen-set entry: [`crate::SeenSet::each_mark`].
    Seen {
        key: u128,
        packed: u32,
    },
    Queued {
        host: u32,
        depth: u32,
        fingerprint: u128,
        offset: u64,
    },
}

/// A snapshot on disk whose checksum holds: the frontier at one instant, for a resume to start from
/// ([`crate::Frontier::resume`]).
#[derive(Debug)]
pub struct Snapshot {
    path: PathBuf,
    /// Journal frames before this offset are covered.
    pub(crate) journal_len: u64,
    pages_bytes: u64,
    extra: Vec<u8>,
    /// Bytes in the file: about 16 per URL.
    pub(crate) size: u64,
}

impl Snapshot {
    /// The snapshot in `state_dir`, checked whole; `None` when there is none. A damaged one is an
    /// error: the caller decides (resuming without it loses nothing).
    pub fn open(state_dir: &Path) -> Result<Option<Snapshot>, JournalError> {
        let path = state_dir.join(SNAPSHOT_FILE);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(JournalError::io("open", &path, e)),
        };
        let damaged = |reason: &str| JournalError::Snapshot { path: path.clone(), reason: reason.to_owned() };
        let size = file.metadata().map_err(|e| JournalError::io("read", &path, e))?.len();
        // Header, three empty sections and the trailer: nothing shorter is whole.
        if size < (MAGIC.len() + 12 + 4 + 16 + 4 + 12) as u64 {
            return Err(damaged("cut short"));
        }
        let mut trailer = [0u8; 12];
        file.read_exact_at(&mut trailer, size - 12).map_err(|e| JournalError::io("read", &path, e))?;
        let pages_bytes = u64::from_le_bytes(trailer[..8].try_into().unwrap_or_default());
        let expected = u32::from_le_bytes(trailer[8..].try_into().unwrap_or_default());
        // Check the whole file before anything of it is used.
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut header = vec![0; MAGIC.len() + 12];
        reader.read_exact(&mut header).map_err(|e| JournalError::io("read", &path, e))?;
        if !header.starts_with(MAGIC) {
            return Err(damaged("its first bytes are wrong"));
        }
        let mut at = &header[MAGIC.len()..];
        let journal_len = take_u64(&mut at).unwrap_or_default();
        let extra_len = u64::from(take_u32(&mut at).unwrap_or_default());
        let mut left = (size - 4).checked_sub(header.len() as u64 + extra_len).ok_or_else(|| damaged("cut short"))?;
        let mut extra = vec![0; extra_len as usize];
        reader.read_exact(&mut extra).map_err(|e| JournalError::io("read", &path, e))?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header);
        crc.update(&extra);
        let mut buf = vec![0; 1 << 16];
        while left > 0 {
            let n = buf.len().min(left as usize);
            reader.read_exact(&mut buf[..n]).map_err(|e| JournalError::io("read", &path, e))?;
            crc.update(&buf[..n]);
            left -= n as u64;
        }
        if crc.finalize() != expected {
            return Err(damaged("it fails its checksum"));
        }
        Ok(Some(Snapshot { path, journal_len, pages_bytes, extra, size }))
    }

    /// The length of pages.jsonl when the snapshot was committed: every line before it was counted.
    pub fn pages_bytes(&self) -> u64 {
        self.pages_bytes
    }

    /// What the caller saved with the snapshot ([`crate::Frontier::write_snapshot`]).
    pub fn extra(&self) -> &[u8] {
        &self.extra
    }

    /// Hand every host, queued URL and done URL to `visit`, in the file's order.
    pub(crate) fn read(&self, mut visit: impl FnMut(Item<'_>)) -> Result<(), JournalError> {
        let damaged = |reason: &str| JournalError::Snapshot { path: self.path.clone(), reason: reason.to_owned() };
        let cut = |_| damaged("cut short");
        let file = File::open(&self.path).map_err(|e| JournalError::io("open", &self.path, e))?;
        let mut r = BufReader::with_capacity(1 << 20, file);
        let mut skip = vec![0; MAGIC.len() + 12 + self.extra.len()];
        r.read_exact(&mut skip).map_err(cut)?;
        let hosts = read_u32(&mut r).map_err(cut)?;
        let mut key = Vec::new();
        for _ in 0..hosts {
            let len = read_u32(&mut r).map_err(cut)? as usize;
            if len > MAX_KEY {
                return Err(damaged("a host name too long"));
            }
            key.resize(len, 0);
            r.read_exact(&mut key).map_err(cut)?;
            visit(Item::Host(std::str::from_utf8(&key).map_err(|_| damaged("a host name that is not UTF-8"))?));
        }
        loop {
            let mut entry = [0u8; 16];
            r.read_exact(&mut entry).map_err(cut)?;
            let mut at = &entry[..];
            let low = take_u64(&mut at).unwrap_or_default();
            let high = take_u32(&mut at).unwrap_or_default();
            let packed = take_u32(&mut at).unwrap_or_default();
            if packed == END {
                break;
            }
            visit(Item::Seen { key: u128::from(low) | (u128::from(high) << 64), packed });
        }
        loop {
            let mut entry = [0u8; 32];
            r.read_exact(&mut entry[..4]).map_err(cut)?;
            let host = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            if host == END {
                return Ok(());
            }
            if host >= hosts {
                return Err(damaged("a URL of an unknown host"));
            }
            r.read_exact(&mut entry[4..]).map_err(cut)?;
            let mut at = &entry[4..];
            let depth = take_u32(&mut at).unwrap_or_default();
            let fingerprint = take_u128(&mut at).unwrap_or_default();
            let offset = take_u64(&mut at).unwrap_or_default();
            visit(Item::Queued { host, depth, fingerprint, offset });
        }
    }
}

/// A snapshot written but not in force yet: [`PendingSnapshot::commit`] it once every page line
/// written before it is durable. Dropped uncommitted, it is never used.
#[derive(Debug)]
pub struct PendingSnapshot {
    file: File,
    /// Bytes not yet checksummed and written.
    buf: Vec<u8>,
    crc: crc32fast::Hasher,
    dir: PathBuf,
    journal: Option<JournalSync>,
    /// Entries written: the size the next snapshot is measured against.
    pub(crate) entries: u64,
}

impl PendingSnapshot {
    /// Seal the snapshot with the length of pages.jsonl (every line the snapshot counts is before
    /// it, and durable) and put it in place of the last one.
    /// A snapshot that cannot be committed is removed (it may be large, and the disk may be full);
    /// the last one stays in force.
    pub fn commit(mut self, pages_bytes: u64) -> io::Result<()> {
        let sealed = (|| {
            if let Some(journal) = &self.journal {
                journal.sync()?;
            }
            self.put(&pages_bytes.to_le_bytes())?;
            self.write_out()?;
            self.file.write_all(&self.crc.clone().finalize().to_le_bytes())?;
            self.file.sync_all()?;
            std::fs::rename(self.dir.join(TMP_FILE), self.dir.join(SNAPSHOT_FILE))
        })();
        if sealed.is_err() {
            let _ = std::fs::remove_file(self.tmp_path());
        }
        sealed?;
        sync_dir(&self.dir)
    }

    /// Give up on this snapshot: its file is removed.
    pub(crate) fn discard(self) {
        let _ = std::fs::remove_file(self.tmp_path());
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK { self.write_out() } else { Ok(()) }
    }

    fn write_out(&mut self) -> io::Result<()> {
        self.crc.update(&self.buf);
        self.file.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    pub(crate) fn hosts<'a>(&mut self, keys: impl ExactSizeIterator<Item = &'a str>) -> io::Result<()> {
        self.put(&(keys.len() as u32).to_le_bytes())?;
        for key in keys {
            self.put(&(key.len() as u32).to_le_bytes())?;
            self.put(key.as_bytes())?;
        }
        Ok(())
    }

    pub(crate) fn seen(&mut self, key: u128, packed: u32) -> io::Result<()> {
        self.entries += 1;
        let mut entry = [0u8; 16];
        entry[..8].copy_from_slice(&(key as u64).to_le_bytes());
        entry[8..12].copy_from_slice(&((key >> 64) as u32).to_le_bytes());
        entry[12..].copy_from_slice(&packed.to_le_bytes());
        self.put(&entry)
    }

    pub(crate) fn end_seen(&mut self) -> io::Result<()> {
        self.put(&[0; 12])?;
        self.put(&END.to_le_bytes())
    }

    pub(crate) fn queued(&mut self, host: u32, depth: u32, fingerprint: u128, offset: u64) -> io::Result<()> {
        self.entries += 1;
        let mut entry = [0u8; 32];
        entry[..4].copy_from_slice(&host.to_le_bytes());
        entry[4..8].copy_from_slice(&depth.to_le_bytes());
        entry[8..24].copy_from_slice(&fingerprint.to_le_bytes());
        entry[24..].copy_from_slice(&offset.to_le_bytes());
        self.put(&entry)
    }

    pub(crate) fn end_queued(&mut self) -> io::Result<()> {
        self.put(&END.to_le_bytes())
    }

    /// The temporary file, for error messages.
    pub(crate) fn tmp_path(&self) -> PathBuf {
        self.dir.join(TMP_FILE)
    }
}

/// Start a snapshot in `dir`: the header, then what the frontier adds.
pub(crate) fn create(
    dir: &Path,
    journal: Option<JournalSync>,
    journal_len: u64,
    extra: &[u8],
) -> Result<PendingSnapshot, JournalError> {
    let path = dir.join(TMP_FILE);
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| JournalError::io("create", &path, e))?;
    let extra_len = u32::try_from(extra.len())
        .map_err(|_| JournalError::io("write", &path, io::Error::other("too much extra data")))?;
    let buf = Vec::with_capacity(CHUNK + 64);
    let mut pending =
        PendingSnapshot { file, buf, crc: crc32fast::Hasher::new(), dir: dir.to_path_buf(), journal, entries: 0 };
    let header = [MAGIC, &journal_len.to_le_bytes(), &extra_len.to_le_bytes(), extra];
    header.iter().try_for_each(|part| pending.put(part)).map_err(|e| JournalError::io("write", &path, e))?;
    Ok(pending)
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn take_u32(at: &mut &[u8]) -> Option<u32> {
    let (head, rest) = at.split_first_chunk::<4>()?;
    *at = rest;
    Some(u32::from_le_bytes(*head))
}

fn take_u64(at: &mut &[u8]) -> Option<u64> {
    let (head, rest) = at.split_first_chunk::<8>()?;
    *at = rest;
    Some(u64::from_le_bytes(*head))
}

fn take_u128(at: &mut &[u8]) -> Option<u128> {
    let (head, rest) = at.split_first_chunk::<16>()?;
    *at = rest;
    Some(u128::from_le_bytes(*head))
}
