//! Capped streaming body reads and content decoding.
//!
//! Both halves share one rule: never hold more than the cap (plus one read buffer) in memory, whatever the
//! server sends or claims in Content-Length, and whatever a compressed body expands to.

use std::io::Read;

use bytes::Bytes;
use reqwest::header::{CONTENT_ENCODING, HeaderMap};
use tokio::time::{Instant, timeout_at};

use crate::response::FetchFailure;

/// Never pre-allocate more than this from a (possibly lying) Content-Length.
const MAX_INITIAL_ALLOC: u64 = 256 * 1024;

/// The body as it came off the wire.
#[derive(Debug)]
pub(crate) struct RawBody {
    pub bytes: Bytes,
    pub wire_bytes: u64,
    pub truncated: bool,
    /// Timeout or broken connection; `bytes` holds what arrived before it.
    pub failure: Option<FetchFailure>,
}

/// Reads the body chunk by chunk until EOF, the cap, the deadline or an error. Past the cap nothing more
/// is read: dropping the response afterwards closes the connection instead of draining it.
pub(crate) async fn read_capped(resp: &mut reqwest::Response, cap: u64, deadline: Instant) -> RawBody {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let declared = resp.content_length().map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let initial = declared.unwrap_or(0).min(MAX_INITIAL_ALLOC as usize);
    let mut buf: Vec<u8> = Vec::with_capacity(initial.min(cap));
    let mut wire_bytes = 0u64;
    let mut truncated = false;
    let mut failure = None;
    loop {
        let chunk = match timeout_at(deadline, resp.chunk()).await {
            Err(_elapsed) => {
                failure = Some(FetchFailure::Timeout);
                break;
            }
            Ok(Err(e)) => {
                failure = Some(if e.is_timeout() {
                    FetchFailure::Timeout
                } else {
                    FetchFailure::Body(crate::client::error_text(&e))
                });
                break;
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => chunk,
        };
        if chunk.is_empty() {
            continue;
        }
        wire_bytes += chunk.len() as u64;
        let room = cap - buf.len();
        let take = chunk.len().min(room);
        if buf.capacity() < buf.len() + take {
            buf.reserve_exact(grown(buf.len() + take, buf.capacity(), declared, cap) - buf.len());
        }
        buf.extend_from_slice(&chunk[..take]);
        if take < chunk.len() {
            truncated = true;
            break;
        }
    }
    RawBody { bytes: Bytes::from(buf), wire_bytes, truncated, failure }
}

/// The capacity to grow a body buffer of `capacity` bytes to, now that it must hold `need`: twice as much
/// (few copies, however the body arrives) but never past the cap, so a capped body costs at most `cap`
/// bytes, nor past the declared Content-Length while the body keeps within it, so a body of the length
/// announced ends in a buffer of that size rather than up to twice it. A length is trusted only as far as
/// the bytes that arrive: a server that claims much and sends little costs what it sends.
fn grown(need: usize, capacity: usize, declared: Option<usize>, cap: usize) -> usize {
    let doubled = need.max(capacity.saturating_mul(2)).min(cap);
    match declared {
        Some(length) if length >= need => doubled.min(length),
        _ => doubled,
    }
}

/// A Content-Encoding we can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
    Brotli,
}

/// The codings applied to the body, in the order the server applied them. `None` when any of them is
/// unknown: then the body is passed on as is rather than half-decoded.
pub(crate) fn content_codings(headers: &HeaderMap) -> Option<Vec<Coding>> {
    let mut codings = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let text = std::str::from_utf8(value.as_bytes()).ok()?;
        for token in text.split(',') {
            match token.trim().to_ascii_lowercase().as_str() {
                "" | "identity" => {}
                "gzip" | "x-gzip" => codings.push(Coding::Gzip),
                "deflate" => codings.push(Coding::Deflate),
                "br" => codings.push(Coding::Brotli),
                _ => return None,
            }
        }
    }
    Some(codings)
}

/// A decoded body and whether the decoder was stopped at the cap.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub body: Bytes,
    pub truncated: bool,
}

/// Undoes `codings` (last applied first), each step capped at `cap` output bytes so a bomb stops early.
/// When the input itself was cut short (`input_truncated`), a decoder error at the end is expected and
/// whatever decoded before it is kept. CPU-bound: run it off the async threads.
pub(crate) fn decode(raw: &Bytes, codings: &[Coding], cap: u64, input_truncated: bool) -> Result<Decoded, String> {
    let mut data = raw.clone();
    let mut truncated = false;
    for coding in codings.iter().rev() {
        if data.is_empty() {
            // An empty body with a Content-Encoding (204s, some 3xx) is empty, not corrupt.
            break;
        }
        let (out, cut) = match coding {
            Coding::Gzip => read_all(flate2::read::MultiGzDecoder::new(&data[..]), cap, input_truncated)
                .map_err(|e| format!("gzip: {e}"))?,
            Coding::Deflate => inflate(&data, cap, input_truncated)?,
            Coding::Brotli => read_all(brotli_decompressor::Decompressor::new(&data[..], 4096), cap, input_truncated)
                .map_err(|e| format!("br: {e}"))?,
        };
        truncated |= cut;
        data = Bytes::from(out);
    }
    Ok(Decoded { body: data, truncated })
}

/// "deflate" is meant to be zlib-wrapped, but some servers send raw deflate; tell them apart by the zlib
/// header and fall back to raw when a zlib-looking stream fails to decode.
fn inflate(data: &[u8], cap: u64, input_truncated: bool) -> Result<(Vec<u8>, bool), String> {
    let zlib_header =
        data.len() >= 2 && data[0] & 0x0f == 8 && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
    if zlib_header {
        match read_all(flate2::read::ZlibDecoder::new(data), cap, input_truncated) {
            Ok(out) => return Ok(out),
            Err(zlib_err) => {
                return read_all(flate2::read::DeflateDecoder::new(data), cap, input_truncated)
                    .map_err(|_| format!("deflate: {zlib_err}"));
            }
        }
    }
    read_all(flate2::read::DeflateDecoder::new(data), cap, input_truncated).map_err(|e| format!("deflate: {e}"))
}

/// Reads at most `cap + 1` bytes (the extra one tells "exactly cap" from "more than cap").
fn read_all(reader: impl Read, cap: u64, input_truncated: bool) -> std::io::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    // read_to_end keeps what it read before an error, which is what a cut-off input needs.
    match reader.take(cap.saturating_add(1)).read_to_end(&mut out) {
        Err(e) if !input_truncated => return Err(e),
        _ => {}
    }
    let truncated = out.len() as u64 > cap;
    if truncated {
        out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        out.shrink_to_fit();
    }
    Ok((out, truncated))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Write;

    use reqwest::header::HeaderValue;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn a_buffer_grows_to_the_declared_length_and_never_past_the_cap() {
        // (need, capacity, declared, cap) -> new capacity
        let cases = [
            ((300, 256, None, 1000), 512),
            ((300, 256, Some(400), 1000), 400),
            ((300, 256, Some(300), 1000), 300),
            // The body outgrew its declared length: doubling again, as without one.
            ((500, 400, Some(400), 1000), 800),
            ((900, 800, None, 1000), 1000),
            ((300, 256, Some(5000), 1000), 512),
        ];
        for ((need, capacity, declared, cap), want) in cases {
            assert_eq!(grown(need, capacity, declared, cap), want, "{need} {capacity} {declared:?} {cap}");
        }
    }

    #[test]
    fn codings_parse() {
        let mut h = HeaderMap::new();
        assert_eq!(content_codings(&h), Some(vec![]));
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("X-GZIP"));
        assert_eq!(content_codings(&h), Some(vec![Coding::Gzip]));
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("deflate, br"));
        assert_eq!(content_codings(&h), Some(vec![Coding::Deflate, Coding::Brotli]));
        h.append(CONTENT_ENCODING, HeaderValue::from_static("identity"));
        assert_eq!(content_codings(&h), Some(vec![Coding::Deflate, Coding::Brotli]));
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("zstd"));
        assert_eq!(content_codings(&h), None);
    }

    #[test]
    fn stacked_codings_decode_in_reverse() {
        let text = b"hello hello hello hello";
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(text).unwrap();
        let inner = zlib.finish().unwrap();
        let outer = gzip(&inner);
        let d = decode(&Bytes::from(outer), &[Coding::Deflate, Coding::Gzip], 1000, false).unwrap();
        assert_eq!(&d.body[..], text);
        assert!(!d.truncated);
    }

    #[test]
    fn raw_deflate_accepted() {
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"raw deflate body").unwrap();
        let raw = enc.finish().unwrap();
        let d = decode(&Bytes::from(raw), &[Coding::Deflate], 1000, false).unwrap();
        assert_eq!(&d.body[..], b"raw deflate body");
    }

    #[test]
    fn exact_cap_is_not_truncated() {
        let body = gzip(&[b'a'; 100]);
        let d = decode(&Bytes::from(body.clone()), &[Coding::Gzip], 100, false).unwrap();
        assert_eq!(d.body.len(), 100);
        assert!(!d.truncated);
        let d = decode(&Bytes::from(body), &[Coding::Gzip], 99, false).unwrap();
        assert_eq!(d.body.len(), 99);
        assert!(d.truncated);
    }

    #[test]
    fn garbage_is_an_error_unless_input_was_cut() {
        let garbage = Bytes::from_static(b"\x1f\x8b\x08\x00this is not gzip at all");
        assert!(decode(&garbage, &[Coding::Gzip], 1000, false).is_err());
        assert!(decode(&garbage, &[Coding::Brotli], 1000, false).is_err());
        assert!(decode(&Bytes::from_static(b"\xff\xff\xff"), &[Coding::Deflate], 1000, false).is_err());

        let full = gzip(&[b'z'; 10_000]);
        let cut = Bytes::copy_from_slice(&full[..full.len() / 2]);
        assert!(decode(&cut, &[Coding::Gzip], 100_000, false).is_err());
        let partial = decode(&cut, &[Coding::Gzip], 100_000, true).unwrap();
        assert!(partial.body.iter().all(|&b| b == b'z'));
    }

    #[test]
    fn empty_input() {
        let d = decode(&Bytes::new(), &[], 10, false).unwrap();
        assert!(d.body.is_empty());
        assert!(decode(&Bytes::new(), &[Coding::Gzip], 10, false).unwrap().body.is_empty());
    }
}
