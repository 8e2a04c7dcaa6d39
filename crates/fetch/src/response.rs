//! The outcome of one fetch: what came back, what to archive, and whether trying again makes sense.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use url::Url;

/// Longest Retry-After we honour: a server asking for a day-long pause should not stall a crawl.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Everything known about one GET. A failed fetch is data: `failure` says why, and whatever did arrive
/// (status, headers, part of the body) is kept.
#[derive(Debug, Clone)]
pub struct Response {
    /// The URL that was requested.
    pub url: Url,
    /// `None` when no response came.
    pub status: Option<u16>,
    /// The Content-Type header value as sent (lossily made UTF-8).
    pub content_type: Option<String>,
    /// For 3xx: Location resolved against `url`.
    pub location: Option<Url>,
    /// Retry-After (delta-seconds or HTTP-date) on any response, capped at [`MAX_RETRY_AFTER`].
    pub retry_after: Option<Duration>,
    /// Decoded (gzip/x-gzip/deflate/br) body, capped at `max_body_bytes`. Empty when decoding failed.
    pub body: Bytes,
    /// Body bytes received from the wire. Counts the whole of the last chunk read, so on a truncated
    /// response it can exceed the cap by up to one chunk (it measures bandwidth, not what was kept).
    pub wire_bytes: u64,
    /// Why the body as received (`exchange.raw_body`, what is archived) is shorter than what the server
    /// sent; `None` when it is whole. A whole body that decodes to more than the cap is not truncated:
    /// see `body_capped`.
    pub truncated: Option<Truncation>,
    /// `body` was stopped at the cap: the body as received hit it, or decoding expanded it past it.
    pub body_capped: bool,
    /// From the start of the request to the end of the body (or the failure).
    pub elapsed: Duration,
    /// From the start of the request to the response head (time to first byte); `None` without one.
    pub ttfb: Option<Duration>,
    /// When the request started.
    pub fetched_at: SystemTime,
    /// Why there is no (complete) response.
    pub failure: Option<FetchFailure>,
    /// What to archive; `Some` whenever a status line came.
    pub exchange: Option<Exchange>,
}

/// The request and response as they went over the wire, for WARC records.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET /p?q HTTP/1.1\r\nHost: ..\r\nUser-Agent: ..\r\nAccept: ..\r\nAccept-Encoding: ..\r\n\r\n`.
    pub request_head: Vec<u8>,
    /// Status line plus each header as `Name: value\r\n`, then `\r\n`. Reconstructed from the parsed
    /// response: names are Title-Cased, the reason phrase is the canonical one. `Transfer-Encoding` is
    /// left out because `raw_body` is de-chunked; `Content-Length` is kept as sent (a truncated body is
    /// shorter; the sink marks such records `WARC-Truncated`).
    pub response_head: Vec<u8>,
    /// The body as received (de-chunked, still content-encoded), capped.
    pub raw_body: Bytes,
    /// The peer address, when the connection reported one.
    pub remote_ip: Option<IpAddr>,
}

/// Why a body as received stops short, in the terms of WARC 1.1's `WARC-Truncated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// Cut at the body cap.
    Length,
    /// The whole-request timeout expired while the body was arriving.
    Time,
    /// The connection broke while the body was arriving.
    Disconnect,
}

/// Why a fetch produced no complete response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchFailure {
    /// No connection to the host could be made: DNS, a refused or timed-out connect, TLS. Says the host
    /// is unreachable, not just this URL.
    #[error("connect failed: {0}")]
    Connect(String),
    /// Connected, but the connection broke (or the peer spoke something other than HTTP) after the request
    /// and before a response head. A failure of this URL, as transient as a 5xx.
    #[error("request failed: {0}")]
    Request(String),
    /// The whole-request timeout expired (before the head or while reading the body).
    #[error("timed out")]
    Timeout,
    /// The connection broke while reading the body.
    #[error("body read failed: {0}")]
    Body(String),
    /// The response head was larger than allowed (`limit`: bytes of header names and values); the body
    /// was not read. Not retried: the server would send the same head again.
    #[error("response head too large: more than {limit} bytes of headers")]
    HeadTooLarge { limit: usize },
    /// The body could not be content-decoded.
    #[error("undecodable body: {0}")]
    Decode(String),
    /// Not requested: the host is, or resolves only to, a loopback, private, link-local, multicast or
    /// otherwise non-public address, and `allow_private_networks` is off. Not retried.
    #[error("refused: {0}; non-public addresses are fetched only with fetch.allow_private_networks = true")]
    Refused(String),
    /// Anything else (unsupported scheme, unusable URL, ...).
    #[error("{0}")]
    Other(String),
}

/// Whether another attempt is worthwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    No,
    /// Try again; carries the server's Retry-After when it gave one.
    After(Option<Duration>),
}

impl Response {
    /// Connect and request errors, timeouts, body errors, 5xx, 429 and 408 are worth another attempt; 4xx and
    /// the rest are not.
    pub fn retry(&self) -> Retry {
        let transient_failure = matches!(
            self.failure,
            Some(FetchFailure::Connect(_) | FetchFailure::Request(_) | FetchFailure::Timeout | FetchFailure::Body(_))
        );
        let transient_status = matches!(self.status, Some(500..=599 | 429 | 408));
        if transient_failure || transient_status { Retry::After(self.retry_after) } else { Retry::No }
    }

    /// A status came, it is 2xx, and nothing went wrong.
    pub fn is_success(&self) -> bool {
        self.failure.is_none() && matches!(self.status, Some(200..=299))
    }

    pub(crate) fn empty(url: Url, fetched_at: SystemTime) -> Response {
        Response {
            url,
            status: None,
            content_type: None,
            location: None,
            retry_after: None,
            body: Bytes::new(),
            wire_bytes: 0,
            truncated: None,
            body_capped: false,
            elapsed: Duration::ZERO,
            ttfb: None,
            fetched_at,
            failure: None,
            exchange: None,
        }
    }
}

/// Retry-After as delta-seconds or an HTTP-date, relative to `now`, capped; garbage gives `None`.
pub(crate) fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if text.is_empty() {
        return None;
    }
    let delay = if text.bytes().all(|b| b.is_ascii_digit()) {
        // Over-long digit strings overflow u64; they still mean "a long time".
        Duration::from_secs(text.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let when = httpdate::parse_http_date(text).ok()?;
        // A date in the past means "now".
        when.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn resp(status: Option<u16>, failure: Option<FetchFailure>) -> Response {
        let mut r = Response::empty(Url::parse("http://example.com/").unwrap(), SystemTime::now());
        r.status = status;
        r.failure = failure;
        r
    }

    #[test]
    fn retry_classification() {
        assert_eq!(resp(Some(200), None).retry(), Retry::No);
        assert_eq!(resp(Some(404), None).retry(), Retry::No);
        assert_eq!(resp(Some(403), None).retry(), Retry::No);
        assert_eq!(resp(Some(301), None).retry(), Retry::No);
        assert_eq!(resp(Some(500), None).retry(), Retry::After(None));
        assert_eq!(resp(Some(408), None).retry(), Retry::After(None));
        assert_eq!(resp(Some(429), None).retry(), Retry::After(None));
        assert_eq!(resp(None, Some(FetchFailure::Connect("refused".into()))).retry(), Retry::After(None));
        assert_eq!(resp(None, Some(FetchFailure::Request("reset".into()))).retry(), Retry::After(None));
        assert_eq!(resp(Some(200), Some(FetchFailure::Timeout)).retry(), Retry::After(None));
        assert_eq!(resp(Some(200), Some(FetchFailure::Body("reset".into()))).retry(), Retry::After(None));
        assert_eq!(resp(Some(200), Some(FetchFailure::Decode("bad gzip".into()))).retry(), Retry::No);
        assert_eq!(resp(None, Some(FetchFailure::Other("bad scheme".into()))).retry(), Retry::No);
        assert_eq!(resp(None, Some(FetchFailure::HeadTooLarge { limit: 10 })).retry(), Retry::No);
        let mut r = resp(Some(503), None);
        r.retry_after = Some(Duration::from_secs(5));
        assert_eq!(r.retry(), Retry::After(Some(Duration::from_secs(5))));
    }

    #[test]
    fn retry_after_parsing() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after(b" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(b"0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(b"86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after(b"99999999999999999999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after(b"", now), None);
        assert_eq!(parse_retry_after(b"-5", now), None);
        assert_eq!(parse_retry_after(b"soon", now), None);
        assert_eq!(parse_retry_after(b"1.5", now), None);
        assert_eq!(parse_retry_after(&[0xff, 0xfe], now), None);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(120));
        let got = parse_retry_after(later.as_bytes(), now).unwrap();
        // HTTP-dates have one-second resolution.
        assert!(got >= Duration::from_secs(119) && got <= Duration::from_secs(120), "{got:?}");
        let past = httpdate::fmt_http_date(now - Duration::from_secs(120));
        assert_eq!(parse_retry_after(past.as_bytes(), now), Some(Duration::ZERO));
    }

    #[test]
    fn failure_display_is_short() {
        assert_eq!(FetchFailure::Timeout.to_string(), "timed out");
        assert_eq!(
            FetchFailure::Connect("connection refused".into()).to_string(),
            "connect failed: connection refused"
        );
    }
}
