//! What the crawler hands the sink for each finished fetch, and the pages.jsonl line made from it.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::timestamp;
use crate::warc::WarcPair;

/// One finished fetch: a line in pages.jsonl and, when a response came, a response/request pair in WARC.
#[derive(Debug, Clone)]
pub struct PageRecord {
    pub url: String,
    pub depth: u32,
    pub parent: Option<String>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// Body bytes received on the wire (still content-encoded; on a cut body, up to one read past the cap).
    pub bytes: u64,
    /// Body bytes kept and archived: as received, at most the body cap.
    pub stored_bytes: u64,
    /// When the request started (for a URL that was not requested: when it was recorded).
    pub fetched_at: SystemTime,
    /// From the start of the request to the end of the body (or the failure).
    pub elapsed: Duration,
    /// From the start of the request to the response head: time to first byte. None without a response.
    pub ttfb: Option<Duration>,
    /// Number of outlinks found on the page.
    pub links: u32,
    /// Why no usable response came (connection refused, timeout, blocked by robots.txt, ...).
    pub error: Option<String>,
    /// Resolved Location of a redirect response.
    pub redirect: Option<String>,
    /// Why the archived body is shorter than what the server sent; None when it is whole.
    pub truncated: Option<Truncation>,
    /// URLs this page led to (links, or its redirect target) that a guard kept out of the crawl.
    pub dropped: Dropped,
    /// How many attempts this URL took (1 = first try).
    pub attempts: u32,
    /// How the URL was found when not by a link, a redirect or as a seed: `"sitemap"`.
    pub via: Option<&'static str>,
    /// The exchange to archive in WARC, already encoded ([`WarcPair::encode`]); None when no response
    /// came or WARC is off.
    pub archive: Option<WarcPair>,
}

impl PageRecord {
    /// A record of `url` at `depth` with nothing known yet: no parent, no response, fetched now, first
    /// attempt. Fill in the rest with struct-update syntax.
    pub fn new(url: impl Into<String>, depth: u32) -> PageRecord {
        PageRecord {
            url: url.into(),
            depth,
            parent: None,
            status: None,
            content_type: None,
            bytes: 0,
            stored_bytes: 0,
            fetched_at: SystemTime::now(),
            elapsed: Duration::ZERO,
            ttfb: None,
            links: 0,
            error: None,
            redirect: None,
            truncated: None,
            dropped: Dropped::default(),
            attempts: 1,
            via: None,
            archive: None,
        }
    }
}

/// Why an archived body stops short of what the server sent: WARC 1.1 §5.13 `WARC-Truncated`, which is
/// about the record's block (the bytes as received, still content-encoded), and pages.jsonl's `truncated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Truncation {
    /// Cut at the body size cap.
    Length,
    /// Cut by the fetch timeout.
    Time,
    /// Cut by a broken connection.
    Disconnect,
}

impl Truncation {
    /// The name WARC-Truncated and pages.jsonl give the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Truncation::Length => "length",
            Truncation::Time => "time",
            Truncation::Disconnect => "disconnect",
        }
    }
}

/// URLs a page led to that a guard kept out of the crawl, by guard. Each is a count of URLs; on a
/// pages.jsonl line only the non-zero ones appear, and the object not at all when all are zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dropped {
    /// Unique links past `scope.max_links_per_page`.
    #[serde(skip_serializing_if = "is_zero")]
    pub links_over_cap: u32,
    /// Links or a redirect target longer than `scope.max_url_length`.
    #[serde(skip_serializing_if = "is_zero")]
    pub url_too_long: u32,
    /// Links or a redirect target whose path repeats segments (`scope.max_repeated_segments`).
    #[serde(skip_serializing_if = "is_zero")]
    pub repeated_segments: u32,
    /// The redirect target, not followed because `crawl.max_redirects` hops were followed in a row.
    #[serde(skip_serializing_if = "is_zero")]
    pub redirect_over_limit: u32,
}

impl Dropped {
    pub fn is_empty(&self) -> bool {
        *self == Dropped::default()
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The bytes of one HTTP request/response as they are to be archived.
#[derive(Debug, Clone, Default)]
pub struct HttpExchange {
    /// Request line + headers + blank line, exactly as to be archived ("GET /a HTTP/1.1\r\nHost: ..\r\n\r\n").
    pub request_head: Vec<u8>,
    /// Status line + headers + blank line ("HTTP/1.1 200 OK\r\nContent-Type: ..\r\n\r\n").
    pub response_head: Vec<u8>,
    /// The payload as received on the wire (still content-encoded, possibly cut at the cap).
    pub body: bytes::Bytes,
    pub remote_ip: Option<IpAddr>,
}

/// Where a page's response record sits: the gzip member at `offset..offset + length` of `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WarcLocation {
    /// File name only (not a path), so the index stays valid when the output directory is moved.
    pub file: String,
    pub offset: u64,
    pub length: u64,
}

/// The pages.jsonl object. Field order here is the key order on disk, which is part of the output contract.
#[derive(Serialize)]
struct PageLine<'a> {
    url: &'a str,
    depth: u32,
    parent: Option<&'a str>,
    status: Option<u16>,
    content_type: Option<&'a str>,
    bytes: u64,
    stored_bytes: u64,
    fetched_at: String,
    elapsed_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttfb_ms: Option<f64>,
    links: u32,
    attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    via: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated: Option<Truncation>,
    #[serde(skip_serializing_if = "Dropped::is_empty")]
    dropped: &'a Dropped,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warc: Option<&'a WarcLocation>,
}

/// Milliseconds to the microsecond: fast servers answer in well under a millisecond.
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// Append `page`'s pages.jsonl line (with its newline) to `out`.
pub(crate) fn write_line(
    out: &mut Vec<u8>,
    page: &PageRecord,
    warc: Option<&WarcLocation>,
) -> Result<(), serde_json::Error> {
    let line = PageLine {
        url: &page.url,
        depth: page.depth,
        parent: page.parent.as_deref(),
        status: page.status,
        content_type: page.content_type.as_deref(),
        bytes: page.bytes,
        stored_bytes: page.stored_bytes,
        fetched_at: timestamp::rfc3339_millis(page.fetched_at),
        elapsed_ms: millis(page.elapsed),
        ttfb_ms: page.ttfb.map(millis),
        links: page.links,
        attempts: page.attempts,
        via: page.via,
        redirect: page.redirect.as_deref(),
        truncated: page.truncated,
        dropped: &page.dropped,
        error: page.error.as_deref(),
        warc,
    };
    let start = out.len();
    if let Err(e) = serde_json::to_writer(&mut *out, &line) {
        // Never leave half a line in the buffer: the next line would be glued to it.
        out.truncate(start);
        return Err(e);
    }
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn page() -> PageRecord {
        PageRecord {
            fetched_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_042),
            elapsed: Duration::from_micros(12_345),
            ..PageRecord::new("https://example.com/", 0)
        }
    }

    fn line(page: &PageRecord, warc: Option<&WarcLocation>) -> String {
        let mut out = Vec::new();
        write_line(&mut out, page, warc).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn minimal_line_has_nulls_and_omits_unset_optionals() {
        assert_eq!(
            line(&page(), None),
            "{\"url\":\"https://example.com/\",\"depth\":0,\"parent\":null,\"status\":null,\
             \"content_type\":null,\"bytes\":0,\"stored_bytes\":0,\"fetched_at\":\"2023-11-14T22:13:20.042Z\",\
             \"elapsed_ms\":12.345,\"links\":0,\"attempts\":1}\n"
        );
    }

    #[test]
    fn full_line_keeps_the_contract_key_order() {
        let mut p = page();
        p.parent = Some("https://example.com/p".into());
        p.status = Some(301);
        p.content_type = Some("text/html".into());
        p.bytes = 5;
        p.ttfb = Some(Duration::from_micros(412));
        p.stored_bytes = 4;
        p.links = 3;
        p.attempts = 2;
        p.via = Some("sitemap");
        p.redirect = Some("https://example.com/r".into());
        p.truncated = Some(Truncation::Time);
        p.dropped = Dropped { links_over_cap: 4, redirect_over_limit: 1, ..Dropped::default() };
        p.error = Some("body \"cut\"\nhere".into());
        let loc = WarcLocation { file: "crawld-20231114221320-00000.warc.gz".into(), offset: 7, length: 9 };
        assert_eq!(
            line(&p, Some(&loc)),
            "{\"url\":\"https://example.com/\",\"depth\":0,\"parent\":\"https://example.com/p\",\"status\":301,\
             \"content_type\":\"text/html\",\"bytes\":5,\"stored_bytes\":4,\"fetched_at\":\"2023-11-14T22:13:20.042Z\",\
             \"elapsed_ms\":12.345,\"ttfb_ms\":0.412,\"links\":3,\"attempts\":2,\"via\":\"sitemap\",\"redirect\":\"https://example.com/r\",\
             \"truncated\":\"time\",\"dropped\":{\"links_over_cap\":4,\"redirect_over_limit\":1},\"error\":\"body \\\"cut\\\"\\nhere\",\
             \"warc\":{\"file\":\"crawld-20231114221320-00000.warc.gz\",\"offset\":7,\"length\":9}}\n"
        );
    }

    #[test]
    fn lines_append_one_per_call() {
        let mut out = Vec::new();
        write_line(&mut out, &page(), None).unwrap();
        write_line(&mut out, &page(), None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2);
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["url"], "https://example.com/");
        }
    }
}
