//! Reading WARC files back: gzip member by member, with each member's offset and length, as the CDXJ
//! index and `inspect --url` need them.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crawld_sink::cdxj::HttpHead;
use flate2::bufread::GzDecoder;

use crate::Error;

/// One WARC record, and the gzip member it was read from.
#[derive(Debug, Clone)]
pub struct Record {
    pub offset: u64,
    /// Compressed length of the member.
    pub length: u64,
    /// WARC header fields, in order.
    pub headers: Vec<(String, String)>,
    pub block: Vec<u8>,
}

impl Record {
    /// A WARC header's value; names compare case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The HTTP message in the block of a `response` or `request` record: its head and its payload.
    pub fn http(&self) -> Option<Http<'_>> {
        let fields = HttpHead::parse(&self.block)?;
        let end = fields.end;
        Some(Http { fields, head: &self.block[..end], payload: &self.block[end..] })
    }
}

/// An HTTP message inside a record's block.
#[derive(Debug)]
pub struct Http<'a> {
    /// Start line (`HTTP/1.1 200 OK`, or the request line) and headers, read as the CDXJ index reads them.
    pub fields: HttpHead<'a>,
    /// The head as archived, with the blank line that ends it.
    pub head: &'a [u8],
    /// The body as received on the wire (still content-encoded).
    pub payload: &'a [u8],
}

impl<'a> Http<'a> {
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.fields.header(name)
    }

    /// The status code of a response, as its status line gives it.
    pub fn status(&self) -> Option<&'a str> {
        self.fields.status()
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Counts the bytes read from the file, so a member's offset is known behind the buffer.
#[derive(Debug)]
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Decompressed bytes enough for the WARC and HTTP heads of a record, at most (see
/// [`Records::heads_only`]).
const HEADS_AT_MOST: usize = 256 * 1024;

/// The records of one `.warc.gz` file, in order.
#[derive(Debug)]
pub struct Records<R = File> {
    path: PathBuf,
    reader: BufReader<Counting<R>>,
    failed: bool,
    /// Compressed lengths of members known beforehand, by offset: only their heads are decompressed.
    heads_only: HashMap<u64, u64>,
}

impl Records {
    pub fn open(path: &Path) -> Result<Records, Error> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        Ok(Records {
            path: path.to_owned(),
            reader: BufReader::with_capacity(1 << 16, Counting { inner: file, count: 0 }),
            failed: false,
            heads_only: HashMap::new(),
        })
    }

    /// Of the members whose compressed length is given here (by offset: pages.jsonl's `warc`
    /// pointers), decompress only the start, enough for the WARC header and the HTTP head; their
    /// `block` holds just that start. For the CDXJ index, which needs nothing of the bodies: on
    /// documentation sites, inflating them whole was most of the time it took. A length that is wrong
    /// shows as an error at the next member, never as a silently wrong record.
    pub fn heads_only(mut self, lengths: HashMap<u64, u64>) -> Records {
        self.heads_only = lengths;
        self
    }
}

impl<R: Read> Records<R> {
    fn consumed(&self) -> u64 {
        self.reader.get_ref().count - self.reader.buffer().len() as u64
    }

    fn next_record(&mut self) -> Result<Option<Record>, Error> {
        let offset = self.consumed();
        let more = self.reader.fill_buf().map_err(|e| Error::io("read", &self.path, e))?;
        if more.is_empty() {
            return Ok(None);
        }
        if let Some(&length) = self.heads_only.get(&offset) {
            return self.record_head(offset, length).map(Some);
        }
        let mut data = Vec::new();
        GzDecoder::new(&mut self.reader).read_to_end(&mut data).map_err(|e| {
            let message = if e.kind() == io::ErrorKind::UnexpectedEof {
                "the file ends inside a record (cut short, or still being written)".to_owned()
            } else {
                format!("not a gzip member of a .warc.gz file: {e}")
            };
            Error::BadWarc { path: self.path.clone(), offset, message }
        })?;
        let length = self.consumed() - offset;
        parse(&data)
            .map(|(headers, block)| Some(Record { offset, length, headers, block }))
            .map_err(|message| Error::BadWarc { path: self.path.clone(), offset, message })
    }
}

impl<R: Read> Records<R> {
    /// The member of `length` compressed bytes at `offset`, decompressed only as far as its heads.
    fn record_head(&mut self, offset: u64, length: u64) -> Result<Record, Error> {
        let bad = |message: String| Error::BadWarc { path: self.path.clone(), offset, message };
        let mut raw = Vec::new();
        (&mut self.reader).take(length).read_to_end(&mut raw).map_err(|e| Error::io("read", &self.path, e))?;
        if (raw.len() as u64) < length {
            return Err(bad("the file ends inside a record (cut short, or still being written)".to_owned()));
        }
        let mut decoder = GzDecoder::new(&raw[..]);
        let mut data = Vec::new();
        // Heads are a few hundred bytes: small steps, so that little of the body is inflated.
        let mut chunk = vec![0; 4 * 1024];
        while !heads_complete(&data) && data.len() < HEADS_AT_MOST {
            let n = decoder.read(&mut chunk).map_err(|e| bad(format!("not a gzip member of a .warc.gz file: {e}")))?;
            if n == 0 {
                break;
            }
            data.extend_from_slice(&chunk[..n]);
        }
        parse_head(&data).map(|(headers, block)| Record { offset, length, headers, block }).map_err(bad)
    }
}

/// Whether `data` (a record's start) holds the WARC header and, after it, the end of an HTTP head.
fn heads_complete(data: &[u8]) -> bool {
    find(data, b"\r\n\r\n").is_some_and(|end| find(&data[end + 4..], b"\r\n\r\n").is_some())
}

impl<R: Read> Iterator for Records<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.next_record();
        self.failed = next.is_err();
        next.transpose()
    }
}

/// The record in the member at `offset..offset + length` of `path` (a pages.jsonl `warc` pointer).
pub fn read_member(path: &Path, offset: u64, length: u64) -> Result<Record, Error> {
    let mut file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    file.seek(SeekFrom::Start(offset)).map_err(|e| Error::io("seek in", path, e))?;
    let mut records = Records {
        path: path.to_owned(),
        reader: BufReader::new(Counting { inner: file.take(length), count: 0 }),
        failed: false,
        heads_only: HashMap::new(),
    }
    .map(|r| {
        r.map(|mut r| {
            r.offset += offset;
            r
        })
    });
    match records.next() {
        Some(record) => record,
        None => Err(Error::BadWarc { path: path.to_owned(), offset, message: "no record there".into() }),
    }
}

type Headers = Vec<(String, String)>;

/// The header fields of a record's start, and as much of its block as it holds.
fn parse_head(data: &[u8]) -> Result<(Headers, Vec<u8>), String> {
    let (headers, end, len) = parse_header(data)?;
    let stop = (end + 4).saturating_add(len).min(data.len());
    Ok((headers, data.get(end + 4..stop).unwrap_or_default().to_vec()))
}

/// Split one decompressed record into its header fields and its block.
fn parse(data: &[u8]) -> Result<(Headers, Vec<u8>), String> {
    let (headers, end, len) = parse_header(data)?;
    let block = (end + 4)
        .checked_add(len)
        .and_then(|stop| data.get(end + 4..stop))
        .ok_or("a WARC record shorter than its Content-Length")?;
    Ok((headers, block.to_vec()))
}

/// A record's header fields, where its header ends, and its Content-Length.
fn parse_header(data: &[u8]) -> Result<(Headers, usize, usize), String> {
    let end = find(data, b"\r\n\r\n").ok_or("no end of the WARC header")?;
    let head = std::str::from_utf8(&data[..end]).map_err(|_| "a WARC header that is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let version = lines.next().unwrap_or_default();
    if !version.starts_with("WARC/") {
        return Err(format!("not a WARC record (it starts with {version:?})"));
    }
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))).collect();
    let len: usize = header(&headers, "Content-Length")
        .and_then(|v| v.parse().ok())
        .ok_or("a WARC record without a valid Content-Length")?;
    Ok((headers, end, len))
}

/// The `.warc.gz` files of an output directory, by name (so in the order they were written).
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let warc = dir.join("warc");
    let entries = match std::fs::read_dir(&warc) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", &warc, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("list", &warc, e))?.path();
        if path.extension().is_some_and(|e| e == "gz") && path.to_string_lossy().ends_with(".warc.gz") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_record_that_lies_about_its_length_is_an_error_not_a_panic() {
        let huge = format!("WARC/1.1\r\nWARC-Type: response\r\nContent-Length: {}\r\n\r\nabc", usize::MAX);
        assert!(parse(huge.as_bytes()).unwrap_err().contains("shorter than its Content-Length"));
        assert!(parse(b"HTTP/1.1 200 OK\r\n\r\n").unwrap_err().contains("not a WARC record"));
        let (headers, block) = parse(b"WARC/1.1\r\nContent-Length: 2\r\n\r\nabcd").unwrap();
        assert_eq!((header(&headers, "content-length"), block.as_slice()), (Some("2"), &b"ab"[..]));
    }
}
