//! WARC/1.1 output: one gzip member per record, files rotated by compressed size.
//!
//! Every file begins with a `warcinfo` record; each archived exchange is a `response` record followed by
//! its `request` record. The pair is encoded (digests, headers, compression) by [`WarcPair::encode`]
//! wherever the exchange was fetched, so that this work spreads over every core; the writer thread only
//! appends the finished bytes. Records therefore carry no `WARC-Warcinfo-ID` (optional in WARC 1.1):
//! the file they will land in is not known when they are made.
//!
//! A pair is written whole or not at all: when a write fails, the file is cut back to where the pair
//! began, so the file remains a clean sequence of complete members.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha1::{Digest, Sha1};

use crate::atomic::sync_dir;
use crate::cdxj::{self, sorter::Sorter};
use crate::gzip;
use crate::record::{HttpExchange, Truncation, WarcLocation};
use crate::{SinkError, timestamp};

/// Big enough that a typical record reaches the OS in one or two writes.
const BUF_SIZE: usize = 64 * 1024;

/// Every this many bytes appended to a file, the kernel is asked to start writing them to disk
/// ([`OpenWarc::write_back`]).
const WRITE_BACK_EVERY: u64 = 1024 * 1024;

/// What ends every record.
const RECORD_END: &[u8] = b"\r\n\r\n";

/// Bodies from this size on are compressed in place when they can be ([`WarcPair::encode_owned`]): below
/// it, a copy is cheap, and compressing the headers too keeps the record a few hundred bytes smaller.
const SPLIT_FROM: usize = 256 * 1024;

/// The WARC files of one crawl, in `dir`, named `crawld-<stamp>-<seq>.warc.gz`.
#[derive(Debug)]
pub(crate) struct WarcWriter {
    dir: PathBuf,
    stamp: String,
    max_bytes: u64,
    next_seq: u32,
    current: Option<OpenWarc>,
    /// A file was created since the directory was last fsynced.
    dir_dirty: bool,
    /// Set when a failed pair could not be cut back and fsynced: what is on disk is unknown, so nothing
    /// may claim it is durable any more.
    damaged: Option<(PathBuf, io::ErrorKind, String)>,
    /// warc-fields every file's warcinfo adds to software and format ([`crawl_fields`]).
    info: String,
    records: u64,
    files: u32,
    closed_bytes: u64,
    /// The CDXJ index lines of the records written, while every record written so far has one.
    index: Option<Sorter>,
}

#[derive(Debug)]
struct OpenWarc {
    name: String,
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes handed to `out`; the offset of the next member.
    len: u64,
    /// Exchanges archived in this file; a file holding only its warcinfo is never rotated away.
    pairs: u64,
    /// Bytes written since the last fsync.
    dirty: bool,
    /// The range last handed to [`OpenWarc::write_back`].
    written_back: (u64, u64),
}

impl OpenWarc {
    /// Have the kernel start writing the file's new bytes to disk now, and drop from the page cache the
    /// bytes whose writing it started last time (the advice `POSIX_FADV_DONTNEED` does both on Linux).
    /// A WARC file is written once and rarely read soon after: started early, the writes of a crawl are
    /// spread over the crawl, so each fsync ([`WarcWriter::sync`], and the one at the end) waits for
    /// a megabyte or so instead of everything since the last one; and the archive does not push the
    /// pages of other programs (or of the site being crawled, when it is served from this machine) out of
    /// memory. Advice only (given on Linux and Android): failing, it changes nothing, so errors are
    /// ignored.
    fn write_back(&mut self) {
        let (from, to) = self.written_back;
        if self.len - to < WRITE_BACK_EVERY {
            return;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = rustix::fs::fadvise(
            self.out.get_ref(),
            from,
            std::num::NonZeroU64::new(self.len - from),
            rustix::fs::Advice::DontNeed,
        );
        self.written_back = (to, self.len);
    }
}

impl WarcWriter {
    /// Open the first file of the crawl (sequence 00000) in `dir`, which must exist.
    #[cfg(test)]
    pub(crate) fn create(dir: &Path, started: SystemTime, max_bytes: u64) -> Result<Self, SinkError> {
        Self::create_with_info(dir, started, max_bytes, String::new(), None)
    }

    /// As `create`, each file's warcinfo also holding `info` (warc-fields lines, each ending in CRLF),
    /// and the index lines of the records going to `index` when given.
    pub(crate) fn create_with_info(
        dir: &Path,
        started: SystemTime,
        max_bytes: u64,
        info: String,
        index: Option<Sorter>,
    ) -> Result<Self, SinkError> {
        let mut w = WarcWriter {
            dir: dir.to_path_buf(),
            stamp: timestamp::compact(started),
            max_bytes,
            next_seq: 0,
            current: None,
            dir_dirty: false,
            damaged: None,
            info,
            records: 0,
            files: 0,
            closed_bytes: 0,
            index,
        };
        w.open_next()?;
        Ok(w)
    }

    /// Append an encoded response + request pair; returns where the response record landed.
    pub(crate) fn write_pair(&mut self, pair: &WarcPair) -> Result<WarcLocation, SinkError> {
        if let Some(cur) = &self.current
            && cur.pairs > 0
            && cur.len >= self.max_bytes
        {
            self.close_current()?;
        }
        if self.current.is_none() {
            self.open_next()?;
        }
        let Some(cur) = self.current.as_mut() else {
            // open_next either sets `current` or returns an error.
            return Err(SinkError::io("open", &self.dir, io::Error::other("no WARC file open")));
        };

        let start = cur.len;
        // Flushed per pair, so the buffer never holds an earlier pair that a failure of this one would take
        // down with it.
        let written = cur
            .out
            .write_all(&pair.response)
            .and_then(|()| cur.out.write_all(&pair.request))
            .and_then(|()| cur.out.flush());
        match written {
            Ok(()) => {
                cur.len += pair.bytes();
                cur.pairs += 1;
                cur.dirty = true;
                cur.write_back();
                self.records += 2;
                let length = pair.response.len() as u64;
                if let Some(sorter) = &mut self.index {
                    let pushed = match &pair.index {
                        Some(head) => sorter.push(&head.line(length, start, &cur.name)),
                        None => Err(io::Error::other(format!(
                            "the HTTP head of {} is not readable as the index reads it",
                            cur.name
                        ))),
                    };
                    if let Err(e) = pushed {
                        tracing::warn!(error = %e, "the CDXJ index is left to be made from the WARC files when the crawl ends");
                        if let Some(mut sorter) = self.index.take() {
                            sorter.discard();
                        }
                    }
                }
                Ok(WarcLocation { file: cur.name.clone(), offset: start, length })
            }
            Err(e) => {
                let path = cur.path.clone();
                self.abandon_current(start);
                Err(SinkError::io("write", &path, e))
            }
        }
    }

    /// Make everything written so far durable: the open file's data, then new directory entries.
    pub(crate) fn sync(&mut self) -> Result<(), SinkError> {
        if let Some((path, kind, msg)) = &self.damaged {
            return Err(SinkError::io("recover", path, io::Error::new(*kind, msg.clone())));
        }
        if let Some(cur) = self.current.as_mut()
            && cur.dirty
        {
            cur.out.flush().map_err(|e| SinkError::io("write", &cur.path, e))?;
            cur.out.get_ref().sync_data().map_err(|e| SinkError::io("fsync", &cur.path, e))?;
            cur.dirty = false;
        }
        if self.dir_dirty {
            sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Write the CDXJ index of every record written to `path`, sorted; returns how many lines it has,
    /// or None when some record had no index line (the WARC files must then be read back for it).
    pub(crate) fn finish_index(&mut self, path: &Path) -> Option<io::Result<u64>> {
        self.index.take().map(|sorter| sorter.finish(path))
    }

    /// Whether [`sync`](Self::sync) has anything to do.
    pub(crate) fn dirty(&self) -> bool {
        self.dir_dirty || self.current.as_ref().is_some_and(|c| c.dirty)
    }

    /// Records written (warcinfo included), files opened, compressed bytes on disk.
    pub(crate) fn totals(&self) -> (u64, u32, u64) {
        let open = self.current.as_ref().map_or(0, |c| c.len);
        (self.records, self.files, self.closed_bytes + open)
    }

    fn close_current(&mut self) -> Result<(), SinkError> {
        if let Some(mut cur) = self.current.take() {
            cur.out.flush().map_err(|e| SinkError::io("write", &cur.path, e))?;
            // A closed file is never revisited, so it must be durable before any page line points into it.
            cur.out.get_ref().sync_data().map_err(|e| SinkError::io("fsync", &cur.path, e))?;
            self.closed_bytes += cur.len;
        }
        Ok(())
    }

    fn open_next(&mut self) -> Result<(), SinkError> {
        let (name, path, file) = loop {
            let name = format!("crawld-{}-{:05}.warc.gz", self.stamp, self.next_seq);
            let path = self.dir.join(&name);
            // create_new: a name clash means an earlier run's file (a crawl resumed within the second it
            // started), which must not be overwritten: take the next number.
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (name, path, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && self.next_seq < 99_999 => self.next_seq += 1,
                Err(e) => return Err(SinkError::io("create", &path, e)),
            }
        };
        self.next_seq += 1;
        self.files += 1;
        self.dir_dirty = true;

        let mut out = BufWriter::with_capacity(BUF_SIZE, file);
        let written = match write_warcinfo(&mut out, &name, &self.info).and_then(|r| out.flush().map(|()| r)) {
            Ok(r) => r,
            Err(e) => {
                // A file without a complete warcinfo is useless; don't leave it for tools to choke on.
                let (file, _unwritten) = out.into_parts();
                drop(file);
                let _ = std::fs::remove_file(&path);
                self.files -= 1;
                return Err(SinkError::io("write", &path, e));
            }
        };
        self.records += 1;
        self.current = Some(OpenWarc { name, path, out, len: written, pairs: 0, dirty: true, written_back: (0, 0) });
        Ok(())
    }

    /// After a failed pair: drop the buffered bytes, cut the file back to `start`, and stop using it.
    fn abandon_current(&mut self, start: u64) {
        let Some(cur) = self.current.take() else { return };
        // into_parts, not drop: dropping a BufWriter would flush the half-written pair after the cut.
        let (file, _unwritten) = cur.out.into_parts();
        let cut = file.set_len(start).and_then(|()| file.sync_data());
        match cut {
            Ok(()) => self.closed_bytes += start,
            Err(e) => self.damaged = Some((cur.path, e.kind(), e.to_string())),
        }
    }
}

/// A response record and its request record, each a complete gzip member, ready to append to a WARC file.
#[derive(Debug, Clone)]
pub struct WarcPair {
    pub(crate) response: Vec<u8>,
    pub(crate) request: Vec<u8>,
    /// The response record's CDXJ line but for where it lands; None when its HTTP head is unreadable.
    pub(crate) index: Option<cdxj::Head>,
}

impl WarcPair {
    /// Encode `ex`, fetched from `url` at `fetched_at`: digests, WARC headers, compression.
    /// `truncated` says why `ex.body` is shorter than what the server sent, when it is.
    pub fn encode(
        url: &str,
        fetched_at: SystemTime,
        truncated: Option<Truncation>,
        ex: &HttpExchange,
    ) -> io::Result<WarcPair> {
        Self::encode_body(url, fetched_at, truncated, ex, ex.body.clone())
    }

    /// As [`encode`](Self::encode), taking the exchange. When nothing else holds its body, a large one
    /// is compressed in its own buffer (grown by the record's 4-byte end) instead of being copied next to
    /// its headers first: a record then costs its body once, not twice.
    pub fn encode_owned(
        url: &str,
        fetched_at: SystemTime,
        truncated: Option<Truncation>,
        mut ex: HttpExchange,
    ) -> io::Result<WarcPair> {
        let body = std::mem::take(&mut ex.body);
        Self::encode_body(url, fetched_at, truncated, &ex, body)
    }

    /// `ex` with `body` as its body (`ex.body` is not read).
    fn encode_body(
        url: &str,
        fetched_at: SystemTime,
        truncated: Option<Truncation>,
        ex: &HttpExchange,
        body: bytes::Bytes,
    ) -> io::Result<WarcPair> {
        let date = timestamp::warc_date(fetched_at);
        let uri = header_safe(url);
        let ip = ex.remote_ip.map(|ip| ip.to_string());

        let response_id = record_id();
        let mut head = Head::new("response", &response_id, &date);
        head.field("WARC-Target-URI", &uri);
        if let Some(ip) = &ip {
            head.field("WARC-IP-Address", ip);
        }
        if let Some(reason) = truncated {
            head.field("WARC-Truncated", reason.as_str());
        }
        let response_block: [&[u8]; 2] = [&ex.response_head, &body];
        let payload_digest = sha1_digest(&[&body]);
        let index = cdxj::Head::of_response(&uri, &date, &ex.response_head, &payload_digest);
        head.field("WARC-Block-Digest", &sha1_digest(&response_block));
        head.field("WARC-Payload-Digest", &payload_digest);
        let head = head.finish("application/http;msgtype=response", &response_block);
        let response = if body.len() >= SPLIT_FROM {
            match body.try_into_mut() {
                Ok(block) => {
                    // Exactly 4 more bytes: a BytesMut would double its capacity.
                    let mut block_end = Vec::from(block);
                    block_end.reserve_exact(RECORD_END.len());
                    block_end.extend_from_slice(RECORD_END);
                    gzip::member_split(&[&head[..], &ex.response_head].concat(), &block_end)?
                }
                Err(body) => member(head, &[&ex.response_head, &body])?,
            }
        } else {
            member(head, &response_block)?
        };

        let mut head = Head::new("request", &record_id(), &date);
        head.field("WARC-Target-URI", &uri);
        if let Some(ip) = &ip {
            head.field("WARC-IP-Address", ip);
        }
        head.field("WARC-Concurrent-To", &response_id);
        let request_block: [&[u8]; 1] = [&ex.request_head];
        head.field("WARC-Block-Digest", &sha1_digest(&request_block));
        let request = member(head.finish("application/http;msgtype=request", &request_block), &request_block)?;

        Ok(WarcPair { response, request, index })
    }

    /// Compressed bytes of both records.
    pub(crate) fn bytes(&self) -> u64 {
        (self.response.len() + self.request.len()) as u64
    }
}

/// The warcinfo fields that tie a WARC file to its crawl: a digest of the crawl's effective config (the
/// manifest's `config`, as crawl.json holds it), so files of one crawl can be told from another's.
pub(crate) fn crawl_fields(manifest: &serde_json::Value) -> String {
    let config = manifest.get("config").unwrap_or(manifest);
    // Serializing a Value cannot fail; an empty digest input would still name the field.
    let bytes = serde_json::to_vec(config).unwrap_or_default();
    format!("crawld-config-digest: {}\r\n", sha1_digest(&[&bytes]))
}

/// Write the warcinfo record, with `extra` warc-fields after the standard ones; returns its compressed length.
fn write_warcinfo<W: Write>(out: &mut W, file_name: &str, extra: &str) -> io::Result<u64> {
    let id = record_id();
    let fields = format!(
        "software: crawld/{}\r\nformat: WARC File Format 1.1\r\n\
         conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n{extra}",
        env!("CARGO_PKG_VERSION")
    );
    let block: [&[u8]; 1] = [fields.as_bytes()];
    let mut head = Head::new("warcinfo", &id, &timestamp::warc_date(SystemTime::now()));
    head.field("WARC-Filename", file_name);
    head.field("WARC-Block-Digest", &sha1_digest(&block));
    let record = member(head.finish("application/warc-fields", &block), &block)?;
    out.write_all(&record)?;
    Ok(record.len() as u64)
}

/// One record as its own gzip member: the head, the block (given in parts, so a large body is not first
/// copied next to its head), and the two CRLFs that end a record.
fn member(head: Vec<u8>, block: &[&[u8]]) -> io::Result<Vec<u8>> {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(block.len() + 2);
    parts.push(&head);
    parts.extend_from_slice(block);
    parts.push(RECORD_END);
    gzip::member(&parts)
}

/// A WARC record header under construction.
struct Head(String);

impl Head {
    fn new(kind: &str, id: &str, date: &str) -> Self {
        Head(format!("WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: {id}\r\nWARC-Date: {date}\r\n"))
    }

    fn field(&mut self, name: &str, value: &str) {
        self.0.push_str(name);
        self.0.push_str(": ");
        self.0.push_str(value);
        self.0.push_str("\r\n");
    }

    fn finish(mut self, content_type: &str, block: &[&[u8]]) -> Vec<u8> {
        let len: usize = block.iter().map(|p| p.len()).sum();
        self.field("Content-Type", content_type);
        self.field("Content-Length", &len.to_string());
        self.0.push_str("\r\n");
        self.0.into_bytes()
    }
}

fn record_id() -> String {
    format!("<{}>", uuid::Uuid::new_v4().urn())
}

/// `sha1:` + base32 of the SHA-1 of the concatenated parts, the customary WARC digest form.
fn sha1_digest(parts: &[&[u8]]) -> String {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    format!("sha1:{}", data_encoding::BASE32.encode(&h.finalize()))
}

/// A header value must stay on one line; percent-encode what would break the record framing.
///
/// URLs from the crawler are already normalized and pass through unchanged; this guards the archive
/// against one odd URL corrupting every record after it.
fn header_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return value.into();
    }
    let mut s = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c.is_ascii() && (c as u8 <= b' ' || c as u8 == 0x7f) {
            s.push_str(&format!("%{:02X}", c as u8));
        } else {
            s.push(c);
        }
    }
    s.into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use flate2::read::{GzDecoder, MultiGzDecoder};
    use std::io::Read;
    use std::time::UNIX_EPOCH;

    fn gunzip_one(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    /// Regression: only a cut at the cap was marked, and always as `length`.
    #[test]
    fn warc_truncated_names_the_reason_and_is_absent_for_a_whole_body() {
        let ex = HttpExchange {
            request_head: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            response_head: b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
            body: bytes::Bytes::from_static(b"part"),
            remote_ip: None,
        };
        let cases = [
            (None, None),
            (Some(Truncation::Length), Some("length")),
            (Some(Truncation::Time), Some("time")),
            (Some(Truncation::Disconnect), Some("disconnect")),
        ];
        for (truncated, want) in cases {
            let pair = WarcPair::encode("http://h/", UNIX_EPOCH, truncated, &ex).unwrap();
            let response = String::from_utf8(gunzip_one(&pair.response)).unwrap();
            let head = &response[..response.find("\r\n\r\n").unwrap() + 2];
            let found = head.lines().find_map(|l| l.strip_prefix("WARC-Truncated: "));
            assert_eq!(found, want, "{head}");
            let request = String::from_utf8(gunzip_one(&pair.request)).unwrap();
            assert!(!request.contains("WARC-Truncated"), "the request record is whole: {request}");
        }
    }

    /// A large body compressed where it lies makes the same record as one copied next to its head.
    #[test]
    fn an_owned_large_body_makes_the_same_record() {
        let body: Vec<u8> = (0..(SPLIT_FROM as u32 + 1000)).map(|i| (i * 13 % 253) as u8).collect();
        let ex = HttpExchange {
            request_head: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            response_head: b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
            body: bytes::Bytes::from(body),
            remote_ip: None,
        };
        let copied = WarcPair::encode("http://a/", UNIX_EPOCH, None, &ex).unwrap();
        let owned = WarcPair::encode_owned("http://a/", UNIX_EPOCH, None, ex).unwrap();
        let without_ids = |member: &[u8]| {
            let text = gunzip_one(member);
            let text = String::from_utf8_lossy(&text).into_owned();
            text.lines().filter(|l| !l.starts_with("WARC-Record-ID")).collect::<Vec<_>>().join("\n")
        };
        assert_eq!(without_ids(&owned.response), without_ids(&copied.response));
        assert!(gunzip_one(&owned.response).ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn member_is_head_block_and_trailer() {
        let out = member(b"HEAD\r\n\r\n".to_vec(), &[b"ab", b"", b"cd"]).unwrap();
        assert_eq!(gunzip_one(&out), b"HEAD\r\n\r\nabcd\r\n\r\n");
    }

    #[test]
    fn members_concatenate_and_lengths_add_up() {
        let (a, b) = (member(b"A".to_vec(), &[b"1"]).unwrap(), member(b"B".to_vec(), &[b"2"]).unwrap());
        let out = [a.as_slice(), &b].concat();
        let (a, b) = (a.len() as u64, b.len() as u64);
        assert_eq!(a + b, out.len() as u64);
        assert_eq!(gunzip_one(&out[..a as usize]), b"A1\r\n\r\n");
        assert_eq!(gunzip_one(&out[a as usize..]), b"B2\r\n\r\n");
        let mut all = Vec::new();
        MultiGzDecoder::new(&out[..]).read_to_end(&mut all).unwrap();
        assert_eq!(all, b"A1\r\n\r\nB2\r\n\r\n");
    }

    #[test]
    fn head_has_content_length_of_all_parts() {
        let mut h = Head::new("response", "<urn:uuid:x>", "2026-01-01T00:00:00Z");
        h.field("WARC-Target-URI", "http://a/");
        let text = String::from_utf8(h.finish("application/http;msgtype=response", &[b"abc", b"de"])).unwrap();
        assert_eq!(
            text,
            "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:x>\r\nWARC-Date: 2026-01-01T00:00:00Z\r\n\
             WARC-Target-URI: http://a/\r\nContent-Type: application/http;msgtype=response\r\nContent-Length: 5\r\n\r\n"
        );
    }

    #[test]
    fn digest_is_base32_sha1_of_the_concatenation() {
        // SHA-1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
        let expected = format!(
            "sha1:{}",
            data_encoding::BASE32.encode(&[
                0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c,
                0xd0, 0xd8, 0x9d
            ])
        );
        assert_eq!(sha1_digest(&[b"a", b"bc"]), expected);
        assert_eq!(expected, "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5");
    }

    #[test]
    fn header_values_cannot_break_lines() {
        assert_eq!(header_safe("http://a/b?c=d"), "http://a/b?c=d");
        assert_eq!(header_safe("http://a/b c\r\nX: y"), "http://a/b%20c%0D%0AX:%20y");
        assert_eq!(header_safe("http://a/é\t"), "http://a/é%09");
    }

    #[test]
    fn warcinfo_names_software_and_format() {
        let mut out = Vec::new();
        let manifest = serde_json::json!({ "seeds": [], "config": { "crawl": { "max_depth": 3 } } });
        let n = write_warcinfo(&mut out, "f.warc.gz", &crawl_fields(&manifest)).unwrap();
        assert_eq!(n, out.len() as u64);
        let text = String::from_utf8(gunzip_one(&out)).unwrap();
        assert!(text.starts_with("WARC/1.1\r\nWARC-Type: warcinfo\r\nWARC-Record-ID: <urn:uuid:"), "{text}");
        assert!(text.contains("WARC-Filename: f.warc.gz\r\n"));
        assert!(text.contains(&format!("software: crawld/{}\r\n", env!("CARGO_PKG_VERSION"))));
        assert!(text.contains("format: WARC File Format 1.1\r\n"));
        let digest = sha1_digest(&[br#"{"crawl":{"max_depth":3}}"#]);
        assert!(text.contains(&format!("crawld-config-digest: {digest}\r\n")), "{text}");
        assert!(text.ends_with("\r\n\r\n\r\n"));
    }

    #[test]
    fn rotation_opens_numbered_files_each_with_warcinfo() {
        let dir = tempfile::tempdir().unwrap();
        let started = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let mut w = WarcWriter::create(dir.path(), started, 1).unwrap();
        let pair = WarcPair::encode("http://a/", started, None, &HttpExchange::default()).unwrap();
        let a = w.write_pair(&pair).unwrap();
        let b = w.write_pair(&pair).unwrap();
        // The first pair goes into the first file: a file holding only warcinfo is not rotated away.
        assert_eq!(a.file, "crawld-20231114221320-00000.warc.gz");
        assert_eq!(b.file, "crawld-20231114221320-00001.warc.gz");
        w.sync().unwrap();
        let (records, files, bytes) = w.totals();
        assert_eq!((records, files), (6, 2));
        let on_disk: u64 = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
        assert_eq!(bytes, on_disk);
        assert!(!w.dirty());
    }

    fn sample() -> WarcPair {
        let ex = HttpExchange {
            request_head: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            response_head: b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
            body: bytes::Bytes::from(vec![b'x'; 3 * BUF_SIZE]),
            remote_ip: None,
        };
        WarcPair::encode("http://a/", UNIX_EPOCH, None, &ex).unwrap()
    }

    #[test]
    fn a_failed_pair_is_cut_off_leaving_whole_members() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WarcWriter::create(dir.path(), UNIX_EPOCH, 1 << 30).unwrap();
        w.write_pair(&sample()).unwrap();
        let cur = w.current.as_mut().unwrap();
        let (start, path) = (cur.len, cur.path.clone());
        // Each pair is handed to the OS whole: nothing of it waits in the buffer for a later failure to drop.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), start);
        // Half a member reaches the file, more waits in the buffer, as when a disk fills mid-record.
        cur.out.write_all(&[0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
        cur.out.flush().unwrap();
        cur.out.write_all(b"still buffered").unwrap();
        w.abandon_current(start);

        assert!(w.current.is_none());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), start);
        let mut text = Vec::new();
        MultiGzDecoder::new(&std::fs::read(&path).unwrap()[..]).read_to_end(&mut text).unwrap();
        let text = String::from_utf8_lossy(&text);
        assert_eq!(text.matches("WARC/1.1\r\n").count(), 3);
        assert!(text.ends_with("\r\n\r\n"));
        assert_eq!(w.totals(), (3, 1, start));
        w.sync().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WarcWriter::create(dir.path(), UNIX_EPOCH, 1 << 30).unwrap();
        let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
        let cur = w.current.as_mut().unwrap();
        cur.out = BufWriter::with_capacity(BUF_SIZE, full);
        cur.path = PathBuf::from("/dev/full");
        let err = w.write_pair(&sample()).unwrap_err();
        match &err {
            SinkError::Io { action, path, error } => {
                assert_eq!((*action, path.as_path()), ("write", Path::new("/dev/full")));
                assert_eq!(error.raw_os_error(), Some(28));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().starts_with("cannot write /dev/full: "), "{err}");
        // The failed file is given up: nothing more is written after a pair that may be torn.
        assert!(w.current.is_none());
    }

    #[test]
    fn an_existing_file_name_is_never_overwritten_but_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let started = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let clash = dir.path().join("crawld-20231114221320-00000.warc.gz");
        std::fs::write(&clash, b"an earlier run's").unwrap();
        let w = WarcWriter::create(dir.path(), started, 1 << 30).unwrap();
        assert_eq!(w.current.as_ref().unwrap().name, "crawld-20231114221320-00001.warc.gz");
        assert_eq!(std::fs::read(&clash).unwrap(), b"an earlier run's");
    }
}
