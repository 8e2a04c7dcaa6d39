//! One page: its pages.jsonl record(s), how the crawl got there, and its archived response.

use std::io::Read;
use std::path::PathBuf;

use serde::Serialize;

use crate::Error;
use crate::read::{Flow, Lines};
use crate::warc::{Record, read_member};

/// A chain never runs longer than this; a longer one can only be a loop in damaged input.
const MAX_CHAIN: usize = 1000;

/// Everything `inspect --url` shows.
#[derive(Debug, Clone, Serialize)]
pub struct PageDetail {
    pub url: String,
    /// The page's pages.jsonl lines (one per directory that has it), as JSON.
    pub records: Vec<serde_json::Value>,
    /// From the page's parent back to a seed: each step's URL, depth and status, and whether the step
    /// to the next page down was a redirect rather than a link.
    pub chain: Vec<ChainStep>,
    /// The archived response: the WARC file and offset, the WARC header and the HTTP response head.
    pub response: Option<ArchivedResponse>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainStep {
    pub url: String,
    pub depth: u32,
    pub status: Option<u16>,
    pub redirect: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchivedResponse {
    pub file: PathBuf,
    pub offset: u64,
    pub length: u64,
    pub warc_headers: Vec<(String, String)>,
    /// The HTTP status line and headers as archived.
    pub http_head: String,
}

/// The line of `url`: raw JSON, and where its parent and WARC record are.
struct Found {
    dir: PathBuf,
    raw: Vec<u8>,
    parent: Option<String>,
    depth: u32,
    status: Option<u16>,
    redirect: Option<String>,
    warc: Option<(String, u64, u64)>,
}

fn find(lines: &Lines, url: &str, all: bool) -> Result<Vec<Found>, Error> {
    let mut found = Vec::new();
    lines.for_each(|line, origin| {
        if line.url != url {
            return Flow::Continue;
        }
        found.push(Found {
            dir: origin.path.to_owned(),
            raw: origin.raw.to_vec(),
            parent: line.parent.as_ref().map(|p| p.to_string()),
            depth: line.depth,
            status: line.status,
            redirect: line.redirect.as_ref().map(|r| r.to_string()),
            warc: line.warc.as_ref().map(|w| (w.file.to_string(), w.offset, w.length)),
        });
        if all { Flow::Continue } else { Flow::Stop }
    })?;
    Ok(found)
}

/// The archived response record of the first line of `url` that has one.
fn response_record(found: &[Found]) -> Result<Option<(PathBuf, Record)>, Error> {
    for f in found {
        if let Some((file, offset, length)) = &f.warc {
            let path = f.dir.join("warc").join(file);
            return Ok(Some((path.clone(), read_member(&path, *offset, *length)?)));
        }
    }
    Ok(None)
}

impl PageDetail {
    /// Look `url` up in every directory of `lines`; an error when no directory has it.
    pub fn find(lines: &Lines, url: &str) -> Result<PageDetail, Error> {
        let found = find(lines, url, true)?;
        let Some(first) = found.first() else {
            return Err(Error::Usage(format!(
                "{url} is not in pages.jsonl (URLs are recorded normalized, as crawled)"
            )));
        };
        let records = found.iter().filter_map(|f| serde_json::from_slice(&f.raw).ok()).collect();

        let mut chain = Vec::new();
        let (mut child, mut parent) = (url.to_owned(), first.parent.clone());
        while let Some(p) = parent.take() {
            if chain.len() >= MAX_CHAIN {
                break;
            }
            let Some(step) = find(lines, &p, false)?.into_iter().next() else {
                chain.push(ChainStep { url: p, depth: 0, status: None, redirect: false });
                break;
            };
            chain.push(ChainStep {
                url: p.clone(),
                depth: step.depth,
                status: step.status,
                redirect: step.redirect.as_deref() == Some(child.as_str()),
            });
            child = p;
            parent = step.parent;
        }

        let response = response_record(&found)?.map(|(file, record)| {
            let http_head = record.http().map(|h| String::from_utf8_lossy(h.head).trim_end().to_owned());
            ArchivedResponse {
                file,
                offset: record.offset,
                length: record.length,
                warc_headers: record.headers.clone(),
                http_head: http_head.unwrap_or_default(),
            }
        });
        Ok(PageDetail { url: url.to_owned(), records, chain, response })
    }

    /// As text for a terminal.
    pub fn render(&self) -> String {
        let mut o = String::new();
        for r in &self.records {
            o.push_str(&serde_json::to_string_pretty(r).unwrap_or_default());
            o.push('\n');
        }
        if self.chain.is_empty() {
            o.push_str("\nreached as: a seed\n");
        } else {
            o.push_str("\nreached from (back to a seed):\n");
            for step in &self.chain {
                let status = step.status.map_or("-".to_owned(), |s| s.to_string());
                // How the page below this one was reached from it.
                let how = if step.redirect { "redirect" } else { "link" };
                o.push_str(&format!("  <- {how:<8} depth {:<3} {status:<4} {}\n", step.depth, step.url));
            }
        }
        match &self.response {
            Some(resp) => {
                o.push_str(&format!(
                    "\nWARC record: {} at offset {} ({} bytes)\n",
                    resp.file.display(),
                    resp.offset,
                    resp.length
                ));
                for (k, v) in &resp.warc_headers {
                    o.push_str(&format!("  {k}: {v}\n"));
                }
                o.push('\n');
                for line in resp.http_head.lines() {
                    o.push_str(&format!("  {line}\n"));
                }
            }
            None => o.push_str("\nno archived response (no response came, or WARC was off)\n"),
        }
        o
    }
}

/// The archived body of `url`, decoded from its Content-Encoding (gzip, deflate, br) when it has one.
/// A body that does not decode (cut at the size cap, say) is given as archived, with a note saying so.
pub fn body(lines: &Lines, url: &str) -> Result<(Vec<u8>, Option<String>), Error> {
    let found = find(lines, url, false)?;
    if found.is_empty() {
        return Err(Error::Usage(format!("{url} is not in pages.jsonl")));
    }
    let Some((_, record)) = response_record(&found)? else {
        return Err(Error::Usage(format!("{url} has no archived response")));
    };
    let Some(http) = record.http() else {
        return Err(Error::Usage(format!("the WARC record of {url} holds no HTTP response")));
    };
    let coding = http.header("Content-Encoding").unwrap_or("identity").trim().to_ascii_lowercase();
    let raw = http.payload;
    let mut out = Vec::new();
    let decoded = match coding.as_str() {
        "identity" | "" => return Ok((raw.to_vec(), None)),
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(raw).read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(raw).read_to_end(&mut out).or_else(|_| {
            out.clear();
            flate2::read::DeflateDecoder::new(raw).read_to_end(&mut out)
        }),
        "br" => brotli_decompressor::Decompressor::new(raw, 4096).read_to_end(&mut out),
        other => {
            return Ok((
                raw.to_vec(),
                Some(format!("Content-Encoding {other} is not decoded: the body is as archived")),
            ));
        }
    };
    match decoded {
        Ok(_) => Ok((out, None)),
        Err(e) => Ok((raw.to_vec(), Some(format!("the {coding} body does not decode ({e}): it is given as archived")))),
    }
}
