//! Reopening an output directory whose crawl did not finish: cut torn tails back to the last consistent
//! point, and hand every recorded line to the caller.
//!
//! What is consistent follows from the order the writer keeps (WARC synced, then lines appended):
//! - **pages.jsonl** holds whole lines up to its last newline; bytes after it are a torn write and are
//!   cut. A line that does not parse *before* the last newline is damage, and is refused, never skipped.
//! - **WARC**: the records a line points at are whole. Records after the last one a line points at
//!   (plus its request record) belong to pages whose lines never reached the disk, or to robots.txt
//!   fetches; they are cut (and files holding nothing a line points at are removed), since those pages
//!   will be fetched again.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Deserialize;

use crate::SinkError;
use crate::record::{Dropped, Truncation, WarcLocation};

/// A pages.jsonl line read back: what a resumed crawl needs to know about a page already recorded.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordedPage {
    pub url: String,
    pub depth: u32,
    pub status: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub redirect: Option<String>,
    pub bytes: u64,
    #[serde(default)]
    pub truncated: Option<Truncation>,
    #[serde(default)]
    pub dropped: Dropped,
    #[serde(default)]
    pub(crate) warc: Option<WarcLocation>,
}

/// What reopening a directory found and cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Whole lines in pages.jsonl.
    pub lines: u64,
    /// Bytes of a torn last line cut off pages.jsonl.
    pub pages_cut: u64,
    /// WARC files cut back, with the bytes cut from each.
    pub warc_cut: Vec<(String, u64)>,
    /// WARC files removed: nothing a line points at was in them.
    pub warc_removed: Vec<String>,
}

impl Recovered {
    /// One phrase for the resume log line: what was cut, or "nothing".
    pub fn cuts(&self) -> String {
        let mut parts = Vec::new();
        if self.pages_cut > 0 {
            parts.push(format!("{} bytes of a torn line off pages.jsonl", self.pages_cut));
        }
        for (file, bytes) in &self.warc_cut {
            parts.push(format!("{bytes} bytes off {file}"));
        }
        for file in &self.warc_removed {
            parts.push(format!("{file} (no recorded page in it)"));
        }
        if parts.is_empty() { "nothing".to_owned() } else { parts.join(", ") }
    }
}

/// Cut pages.jsonl back to its last whole line, handing each line from byte `start` on to `visit`.
pub(crate) fn read_pages(
    path: &Path,
    start: u64,
    recovered: &mut Recovered,
    mut visit: impl FnMut(&RecordedPage),
    last_warc: &mut Option<WarcLocation>,
) -> Result<(), SinkError> {
    let mut file = File::open(path).map_err(|e| SinkError::io("open", path, e))?;
    if start > 0 {
        *last_warc = last_warc_before(&file, path, start)?;
        file.seek(SeekFrom::Start(start)).map_err(|e| SinkError::io("read", path, e))?;
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut whole: u64 = start;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| SinkError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            // A torn write: the line never finished.
            recovered.pages_cut = n as u64;
            break;
        }
        let page: RecordedPage = serde_json::from_slice(&line).map_err(|e| {
            let error = std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("line {} (byte {whole}) is damaged: {e}", recovered.lines + 1),
            );
            SinkError::io("resume from", path, error)
        })?;
        if page.warc.is_some() {
            last_warc.clone_from(&page.warc);
        }
        visit(&page);
        recovered.lines += 1;
        whole += n as u64;
    }
    if recovered.pages_cut > 0 {
        let file = OpenOptions::new().write(true).open(path).map_err(|e| SinkError::io("open", path, e))?;
        file.set_len(whole).and_then(|()| file.sync_data()).map_err(|e| SinkError::io("cut", path, e))?;
    }
    Ok(())
}

/// The WARC location of the last line before byte `end` that has one, reading back from `end`,
/// which must be the end of a line.
fn last_warc_before(file: &File, path: &Path, end: u64) -> Result<Option<WarcLocation>, SinkError> {
    use std::os::unix::fs::FileExt;
    const CHUNK: u64 = 1 << 16;
    let len = file.metadata().map_err(|e| SinkError::io("read", path, e))?.len();
    let mut last = [0u8];
    if len < end || file.read_exact_at(&mut last, end - 1).is_err() || last[0] != b'\n' {
        let error =
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("byte {end} is not the end of a line"));
        return Err(SinkError::io("resume from", path, error));
    }
    // Bytes from `from` to `end`: whole lines but maybe for a partial first one.
    let mut buf: Vec<u8> = Vec::new();
    let mut from = end;
    while from > 0 {
        let step = CHUNK.min(from);
        from -= step;
        let mut chunk = vec![0; step as usize];
        file.read_exact_at(&mut chunk, from).map_err(|e| SinkError::io("read", path, e))?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        // Lines known whole: those after the first newline (or all, at the start of the file).
        let whole_from = if from == 0 { 0 } else { buf.iter().position(|&b| b == b'\n').map_or(buf.len(), |i| i + 1) };
        for line in buf[whole_from..].split(|&b| b == b'\n').rev().filter(|l| !l.is_empty()) {
            if let Ok(page) = serde_json::from_slice::<RecordedPage>(line)
                && page.warc.is_some()
            {
                return Ok(page.warc);
            }
        }
        buf.truncate(whole_from);
    }
    Ok(None)
}

/// Cut the WARC files in `dir` back to the end of the last pair a line points at (`last`).
pub(crate) fn cut_warc(dir: &Path, last: Option<&WarcLocation>, recovered: &mut Recovered) -> Result<(), SinkError> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.starts_with("crawld-") && name.ends_with(".warc.gz"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(SinkError::io("read directory", dir, e)),
    };
    // Names sort in the order the files were made: start time, then sequence number.
    names.sort();
    let keep_through = last.and_then(|l| names.iter().position(|n| *n == l.file));
    if let (Some(last), None) = (last, keep_through) {
        let error = std::io::Error::new(std::io::ErrorKind::NotFound, "a recorded page points into it");
        return Err(SinkError::io("find", &dir.join(&last.file), error));
    }
    for (i, name) in names.iter().enumerate() {
        let path = dir.join(name);
        match keep_through {
            Some(k) if i < k => {}
            Some(k) if i == k => {
                let Some(last) = last else { continue };
                let end = pair_end(&path, last)?;
                let len = fs::metadata(&path).map_err(|e| SinkError::io("read", &path, e))?.len();
                if len > end {
                    let file =
                        OpenOptions::new().write(true).open(&path).map_err(|e| SinkError::io("open", &path, e))?;
                    file.set_len(end).and_then(|()| file.sync_data()).map_err(|e| SinkError::io("cut", &path, e))?;
                    recovered.warc_cut.push((name.clone(), len - end));
                }
            }
            _ => {
                fs::remove_file(&path).map_err(|e| SinkError::io("remove", &path, e))?;
                recovered.warc_removed.push(name.clone());
            }
        }
    }
    crate::atomic::sync_dir(dir)
}

/// Where the pair whose response record is at `at` ends: after its request record, when that follows whole.
fn pair_end(path: &Path, at: &WarcLocation) -> Result<u64, SinkError> {
    let response_end = at.offset + at.length;
    let mut file = File::open(path).map_err(|e| SinkError::io("open", path, e))?;
    file.seek(SeekFrom::Start(response_end)).map_err(|e| SinkError::io("read", path, e))?;
    // A request record is a request head: far below this.
    let mut tail = Vec::new();
    file.take(1 << 20).read_to_end(&mut tail).map_err(|e| SinkError::io("read", path, e))?;
    let mut decoder = flate2::bufread::GzDecoder::new(&tail[..]);
    let mut record = Vec::new();
    if decoder.read_to_end(&mut record).is_err() || !is_request(&record) {
        return Ok(response_end);
    }
    let rest = decoder.into_inner().len();
    Ok(response_end + (tail.len() - rest) as u64)
}

fn is_request(record: &[u8]) -> bool {
    let head_end = record.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(record.len());
    record[..head_end].split(|&b| b == b'\n').any(|line| line.trim_ascii() == b"WARC-Type: request")
}
