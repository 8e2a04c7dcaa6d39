//! Streaming pages.jsonl: one borrowed [`Line`] at a time, from one output directory or several.
//!
//! A directory still being written may end in half a line (the writer appends whole lines, but a reader
//! can catch one mid-write): a last line without its newline is skipped and counted, never an error. A
//! line that does not parse anywhere else is an error naming the file and line number.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// One pages.jsonl line, borrowing from the read buffer wherever the JSON has no escapes.
///
/// Only the fields the reports use; the rest (`dropped`) is skipped by serde.
#[derive(Debug, Deserialize)]
pub struct Line<'a> {
    #[serde(borrow)]
    pub url: Cow<'a, str>,
    pub depth: u32,
    #[serde(borrow)]
    pub parent: Option<Cow<'a, str>>,
    pub status: Option<u16>,
    #[serde(borrow)]
    pub content_type: Option<Cow<'a, str>>,
    pub bytes: u64,
    #[serde(default)]
    pub stored_bytes: u64,
    #[serde(borrow)]
    pub fetched_at: Cow<'a, str>,
    pub elapsed_ms: f64,
    #[serde(default)]
    pub ttfb_ms: Option<f64>,
    #[serde(default)]
    pub links: u32,
    #[serde(default = "one")]
    pub attempts: u32,
    #[serde(borrow, default)]
    pub redirect: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub truncated: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub error: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub warc: Option<WarcRef<'a>>,
}

fn one() -> u32 {
    1
}

/// Where a page's response record is: a gzip member of a file in `OUT/warc/`.
#[derive(Debug, Clone, Deserialize)]
pub struct WarcRef<'a> {
    #[serde(borrow)]
    pub file: Cow<'a, str>,
    pub offset: u64,
    pub length: u64,
}

/// What [`Lines::for_each`] hands the callback besides the line: which directory it came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// Index into the directories given to [`Lines::new`].
    pub dir: usize,
    pub path: &'a Path,
    /// The line as read, without its newline.
    pub raw: &'a [u8],
}

/// What a pass over the directories saw besides the lines it handed on.
#[derive(Debug, Clone, Default)]
pub struct ReadSummary {
    /// Lines read, duplicates included, torn last lines not.
    pub lines: u64,
    /// Directories whose pages.jsonl ended in half a line (being written), skipped.
    pub torn: Vec<PathBuf>,
    /// Lines whose URL was already seen in an earlier directory: skipped.
    pub duplicates: u64,
    /// The first few of those URLs.
    pub duplicate_sample: Vec<String>,
}

const DUPLICATE_SAMPLE: usize = 10;

/// The pages.jsonl files of one or more output directories, read in the order given.
#[derive(Debug, Clone)]
pub struct Lines {
    dirs: Vec<PathBuf>,
}

impl Lines {
    /// Fails when a directory, or its pages.jsonl, does not exist.
    pub fn new(dirs: &[PathBuf]) -> Result<Lines, Error> {
        for dir in dirs {
            if !dir.is_dir() {
                return Err(Error::NotADirectory(dir.clone()));
            }
            let pages = dir.join(crate::PAGES_FILE);
            if !pages.is_file() {
                return Err(Error::NoPages(pages));
            }
        }
        Ok(Lines { dirs: dirs.to_vec() })
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Call `f` with every line, in file order, directory by directory. With several directories a URL
    /// met again in a later one is skipped and counted as a duplicate; that needs 16 bytes per distinct
    /// URL, so one directory is read without the check (a crawl records each URL once).
    pub fn for_each(&self, mut f: impl FnMut(&Line<'_>, Origin<'_>) -> Flow) -> Result<ReadSummary, Error> {
        let mut summary = ReadSummary::default();
        let mut seen: Option<HashSet<u128>> = (self.dirs.len() > 1).then(HashSet::new);
        for (index, dir) in self.dirs.iter().enumerate() {
            let path = dir.join(crate::PAGES_FILE);
            let file = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
            let mut reader = BufReader::with_capacity(1 << 16, file);
            let mut buf = Vec::with_capacity(1024);
            let mut number = 0u64;
            loop {
                buf.clear();
                let n = reader.read_until(b'\n', &mut buf).map_err(|e| Error::io("read", &path, e))?;
                if n == 0 {
                    break;
                }
                number += 1;
                if buf.last() != Some(&b'\n') {
                    summary.torn.push(path.clone());
                    break;
                }
                let text = &buf[..buf.len() - 1];
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let line: Line<'_> = serde_json::from_slice(text).map_err(|e| Error::BadLine {
                    path: path.clone(),
                    line: number,
                    message: e.to_string(),
                })?;
                summary.lines += 1;
                if let Some(seen) = &mut seen {
                    let key = xxhash_rust::xxh3::xxh3_128(line.url.as_bytes());
                    if !seen.insert(key) {
                        summary.duplicates += 1;
                        if summary.duplicate_sample.len() < DUPLICATE_SAMPLE {
                            summary.duplicate_sample.push(line.url.clone().into_owned());
                        }
                        continue;
                    }
                }
                if f(&line, Origin { dir: index, path: dir, raw: text }) == Flow::Stop {
                    return Ok(summary);
                }
            }
        }
        Ok(summary)
    }
}

/// Whether a pass over the lines goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Milliseconds since the Unix epoch of a pages.jsonl `fetched_at` (`2026-11-21T11:34:33.205Z`), or
/// None when it is not in that form.
pub fn epoch_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut n = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = if b[19] == b'.' && b.len() >= 24 { num(20..23)? } else { 0 };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    Some(((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn fetched_at_parses_to_epoch_millis() {
        assert_eq!(epoch_millis("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(epoch_millis("2023-11-14T22:13:20.042Z"), Some(1_700_000_000_042));
        assert_eq!(epoch_millis("2024-02-29T00:00:01Z"), Some(1_709_164_801_000));
        assert_eq!(epoch_millis("yesterday"), None);
        assert_eq!(epoch_millis("2023-13-14T22:13:20.042Z"), None);
    }

    fn dir_with(lines: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pages.jsonl"), lines).unwrap();
        dir
    }

    const A: &str = r#"{"url":"http://a/","depth":0,"parent":null,"status":200,"content_type":"text/html","bytes":5,"stored_bytes":5,"fetched_at":"2026-11-21T11:34:33.205Z","elapsed_ms":1.5,"links":2,"attempts":1}"#;
    const B: &str = r#"{"url":"http://a/b\u0020c","depth":1,"parent":"http://a/","status":null,"content_type":null,"bytes":0,"stored_bytes":0,"fetched_at":"2026-11-21T11:34:34.000Z","elapsed_ms":3.0,"links":0,"attempts":3,"error":"timed out","dropped":{"url_too_long":1}}"#;

    fn urls(dirs: &[PathBuf]) -> (Vec<String>, ReadSummary) {
        let mut urls = Vec::new();
        let summary = Lines::new(dirs)
            .unwrap()
            .for_each(|l, _| {
                urls.push(l.url.to_string());
                Flow::Continue
            })
            .unwrap();
        (urls, summary)
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_reported() {
        let dir = dir_with(&format!("{A}\n{B}\n{{\"url\":\"http://a/c\",\"dep"));
        let (urls, summary) = urls(&[dir.path().to_owned()]);
        assert_eq!(urls, ["http://a/", "http://a/b c"]);
        assert_eq!(summary.torn.len(), 1);
        assert_eq!(summary.lines, 2);
    }

    #[test]
    fn a_bad_line_in_the_middle_names_file_and_line() {
        let dir = dir_with(&format!("{A}\nnot json\n{B}\n"));
        let err = Lines::new(&[dir.path().to_owned()]).unwrap().for_each(|_, _| Flow::Continue).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("pages.jsonl:2:"), "{text}");
    }

    #[test]
    fn a_url_in_two_directories_counts_once() {
        let (one, two) = (dir_with(&format!("{A}\n{B}\n")), dir_with(&format!("{A}\n")));
        let (urls, summary) = urls(&[one.path().to_owned(), two.path().to_owned()]);
        assert_eq!(urls.len(), 2);
        assert_eq!((summary.duplicates, summary.duplicate_sample.as_slice()), (1, &["http://a/".to_owned()][..]));
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let err = Lines::new(&[PathBuf::from("/nonexistent/crawl")]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/crawl"), "{err}");
    }
}
