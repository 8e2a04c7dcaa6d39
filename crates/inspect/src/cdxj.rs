//! The CDXJ index of a crawl's WARC files, line for line as `cdxj-indexer --sort` (and pywb) write it:
//!
//! ```text
//! 1,0,0,127:41959)/page/2 20261121113433 {"url": "http://127.0.0.1:41959/page/2", "mime": "text/html", "status": "200", "digest": "sha1:...", "length": "557", "offset": "1416", "filename": "crawld-20261121113433-00000.warc.gz"}
//! ```
//!
//! A SURT key, the record's WARC-Date as 14 digits, and a JSON object in Python's `json.dumps` form
//! (made by [`crawld_sink::cdxj`], which writes the same lines as a crawl goes). Like `cdxj-indexer`, it
//! indexes `response`, `revisit`, `resource` and `metadata` records (not `request`, not `warcinfo`), and
//! sorts the lines bytewise. Read back from WARC files, the lines are sorted in memory: about 250 bytes
//! per record.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crawld_sink::cdxj::{Head, mime_of};

use crate::Error;
use crate::warc::{self, Record};

/// Index every WARC file of output directory `dir`; returns the sorted lines, each with its newline.
/// The records that pages.jsonl points at are decompressed only as far as their heads.
pub fn index(dir: &Path) -> Result<Vec<String>, Error> {
    let mut lengths = member_lengths(&dir.join("pages.jsonl"));
    let files = warc::files(dir)?;
    let mut lines = Vec::new();
    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let records = warc::Records::open(path)?.heads_only(lengths.remove(&name).unwrap_or_default());
        index_records(records, &name, &mut lines)?;
    }
    lines.sort_unstable();
    Ok(lines)
}

/// The compressed length of each record pages.jsonl points at, by file name and offset. Anything
/// unreadable is left out: those records are then decompressed whole.
fn member_lengths(pages: &Path) -> HashMap<String, HashMap<u64, u64>> {
    #[derive(Deserialize)]
    struct Line {
        warc: Option<Pointer>,
    }
    #[derive(Deserialize)]
    struct Pointer {
        file: String,
        offset: u64,
        length: u64,
    }
    let mut lengths: HashMap<String, HashMap<u64, u64>> = HashMap::new();
    let Ok(file) = std::fs::File::open(pages) else { return lengths };
    for line in std::io::BufReader::new(file).split(b'\n').map_while(Result::ok) {
        if let Ok(Line { warc: Some(p) }) = serde_json::from_slice::<Line>(&line) {
            lengths.entry(p.file).or_default().insert(p.offset, p.length);
        }
    }
    lengths
}

/// Index these WARC files.
pub fn index_files(files: &[PathBuf]) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        index_records(warc::Records::open(path)?, &name, &mut lines)?;
    }
    lines.sort_unstable();
    Ok(lines)
}

fn index_records(records: warc::Records, name: &str, lines: &mut Vec<String>) -> Result<(), Error> {
    for record in records {
        if let Some(line) = line(&record?, name) {
            lines.push(line);
        }
    }
    Ok(())
}

/// Write the index to `OUT/indexes/index.cdxj` (through a temporary file, so a reader never sees half
/// of one); returns its path and how many lines it has.
pub fn write_index(dir: &Path) -> Result<(PathBuf, usize), Error> {
    let lines = index(dir)?;
    let path = dir.join(crate::INDEX_PATH);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    let tmp = path.with_extension("cdxj.tmp");
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for line in &lines {
            out.write_all(line.as_bytes())?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| Error::io("write", &path, e))?;
    Ok((path, lines.len()))
}

/// The index line of one record, or None for a record type that is not indexed.
pub fn line(record: &Record, filename: &str) -> Option<String> {
    let kind = record.header("WARC-Type")?;
    if !matches!(kind, "response" | "revisit" | "resource" | "metadata") {
        return None;
    }
    let content_type = record.header("Content-Type");
    if matches!(kind, "resource" | "metadata") && content_type == Some("application/warc-fields") {
        return None;
    }
    let url = record.header("WARC-Target-URI")?.trim_start_matches('<').trim_end_matches('>');
    let http = matches!(kind, "response" | "revisit").then(|| record.http()).flatten();
    let mime = match kind {
        "revisit" => Some("warc/revisit"),
        "response" => http.as_ref().and_then(|h| h.header("Content-Type")).map(mime_of),
        _ => content_type.map(mime_of),
    };
    let status = http.as_ref().and_then(|h| h.status());
    let digest = record.header("WARC-Payload-Digest");
    let date = record.header("WARC-Date").unwrap_or_default();
    Some(Head::new(url, date, mime, status, digest).line(record.length, record.offset, filename))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use crawld_sink::{HttpExchange, PageRecord, Sink, SinkOptions, SinkSummary, WarcPair};

    use super::*;

    fn exchange(head: &[u8], body: &'static [u8]) -> HttpExchange {
        HttpExchange {
            request_head: b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(),
            response_head: head.to_vec(),
            body: bytes::Bytes::from_static(body),
            remote_ip: None,
        }
    }

    /// A crawl's sink fed these exchanges (as pages, and the first also as an archived exchange alone),
    /// in WARC files small enough to rotate.
    fn crawl(dir: &Path, heads: &[&[u8]]) -> SinkSummary {
        let options = SinkOptions { warc_max_bytes: 600, ..SinkOptions::default() };
        let sink = Sink::create(dir, &serde_json::json!({}), options).unwrap_or_else(|e| panic!("{e}"));
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
            let robots =
                WarcPair::encode("http://example.com/robots.txt", at, None, &exchange(heads[0], b"User-agent: *"))
                    .unwrap_or_else(|e| panic!("{e}"));
            sink.archive(robots).await.unwrap_or_else(|e| panic!("{e}"));
            for (i, head) in heads.iter().enumerate() {
                let page = PageRecord::new(format!("http://www.Example.com/p/{i}/?b=2&a=%C3%A9"), 1);
                let pair =
                    WarcPair::encode(&page.url, at + Duration::from_secs(i as u64), None, &exchange(head, b"<p>hi"))
                        .unwrap_or_else(|e| panic!("{e}"));
                sink.record(PageRecord { archive: Some(pair), ..page }).await.unwrap_or_else(|e| panic!("{e}"));
            }
            sink.finish().await.unwrap_or_else(|e| panic!("{e}"))
        })
    }

    #[test]
    fn the_index_a_crawl_writes_is_the_index_read_back_from_its_warc_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let heads: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-type:text/plain\r\nContent-Type: x/y\r\n\r\n",
            b"HTTP/1.0 301\r\nLocation: /\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-Note: caf\xc3\xa9\r\n\r\n",
        ];
        let summary = crawl(dir.path(), &heads);
        assert!(summary.warc_files > 1, "the files rotated");
        assert_eq!(summary.index_lines, Some(5));
        let written = std::fs::read_to_string(dir.path().join(crate::INDEX_PATH)).unwrap_or_else(|e| panic!("{e}"));
        let read_back = index(dir.path()).unwrap_or_else(|e| panic!("{e}")).concat();
        assert_eq!(written, read_back);
        assert_eq!(written.lines().count(), 5);
    }

    #[test]
    fn a_head_the_index_cannot_read_leaves_the_index_to_the_warc_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let heads: [&[u8]; 2] = [b"HTTP/1.1 200 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nX-Note: caf\xe9\r\n\r\n"];
        let summary = crawl(dir.path(), &heads);
        assert_eq!(summary.index_lines, None);
        assert!(!dir.path().join(crate::INDEX_PATH).exists());
        assert!(!dir.path().join("state/index-runs").exists());
        // Read back, the record not UTF-8 has a line without mime and status, as cdxj-indexer gives it.
        let lines = index(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().any(|l| !l.contains("\"status\"")), "{lines:?}");
    }
}
