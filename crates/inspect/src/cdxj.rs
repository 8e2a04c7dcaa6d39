//! The CDXJ index of a crawl's WARC files, line for line as `cdxj-indexer --sort` (and pywb) write it:
//!
//! ```text
//! 1,0,0,127:41959)/page/2 20261121113433 {"url": "http://127.0.0.1:41959/page/2", "mime": "text/html", "status": "200", "digest": "sha1:...", "length": "557", "offset": "1416", "filename": "crawld-20261121113433-00000.warc.gz"}
//! ```
//!
//! A SURT key, the record's WARC-Date as 14 digits, and a JSON object in Python's `json.dumps` form. Like
//! `cdxj-indexer`, it indexes `response`, `revisit`, `resource` and `metadata` records (not `request`,
//! not `warcinfo`), and sorts the lines bytewise. The lines are sorted in memory: about 250 bytes per
//! record.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::surt::surt;
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
        "revisit" => Some("warc/revisit".to_owned()),
        "response" => http.as_ref().and_then(|h| h.header("Content-Type")).map(mime_of),
        _ => content_type.map(mime_of),
    };
    let status = http.as_ref().and_then(|h| h.status()).map(str::to_owned);
    let digest = record.header("WARC-Payload-Digest").map(str::to_owned);
    let (length, offset) = (record.length.to_string(), record.offset.to_string());
    let fields: [(&str, Option<&str>); 7] = [
        ("url", Some(url)),
        ("mime", mime.as_deref()),
        ("status", status.as_deref()),
        ("digest", digest.as_deref()),
        ("length", Some(&length)),
        ("offset", Some(&offset)),
        ("filename", Some(filename)),
    ];
    let mut json = String::from("{");
    for (name, value) in fields {
        let Some(value) = value else { continue };
        if json.len() > 1 {
            json.push_str(", ");
        }
        py_json_string(&mut json, name);
        json.push_str(": ");
        py_json_string(&mut json, value);
    }
    json.push('}');
    let date = record.header("WARC-Date").unwrap_or_default();
    let timestamp: String = date.chars().filter(char::is_ascii_digit).take(14).collect();
    Some(format!("{} {timestamp} {json}\n", surt(url)))
}

/// The media type alone: what comes before the first `;` or space, as `cdxj-indexer` takes it.
fn mime_of(content_type: &str) -> String {
    content_type.split([';', ' ', '\t']).next().unwrap_or_default().trim().to_owned()
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`): anything outside printable ASCII
/// escaped, as `\uXXXX` (surrogate pairs beyond the BMP).
fn py_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_python_json_dumps_does() {
        let mut out = String::new();
        py_json_string(&mut out, "a\"b\\c\nd\u{7f}é😀/");
        assert_eq!(out, r#""a\"b\\c\nd\u007f\u00e9\ud83d\ude00/""#);
    }

    #[test]
    fn mime_drops_parameters() {
        assert_eq!(mime_of("text/html; charset=utf-8"), "text/html");
        assert_eq!(mime_of("text/plain"), "text/plain");
    }
}
