use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use crawld_fetch::{FetchConfig, FetchFailure, Fetcher, Retry, Truncation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{closed_port, config, fetcher, serve, url};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// `<html><body>` + 40 × "crawld brotli test body. " + `</body></html>`, compressed by the reference
/// brotli encoder at quality 11 (a real compressed stream, not just stored blocks).
const BROTLI_HEX: &str =
    "1b01049015a1d2ddc6d6752ce7af3a8110481038e480fd7b2c3126e0d5895e17a0c959ca99516397e3d548ef690ee189094a19";

fn brotli_plain() -> Vec<u8> {
    let mut s = b"<html><body>".to_vec();
    for _ in 0..40 {
        s.extend_from_slice(b"crawld brotli test body. ");
    }
    s.extend_from_slice(b"</body></html>");
    s
}

/// A brotli stream of stored (uncompressed) meta-blocks, built by hand from RFC 7932 §9.2.
fn brotli_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, block) in data.chunks(65536).enumerate() {
        // Bits, LSB first: [WBITS=16 as one 0 bit, first block only] ISLAST=0, MNIBBLES=4 (00), MLEN-1 (16 bits),
        // ISUNCOMPRESSED=1, then zero padding to the byte boundary.
        let mlen = (block.len() - 1) as u32;
        let (bits, nbits) = if i == 0 { ((mlen << 4) | (1 << 20), 21) } else { ((mlen << 3) | (1 << 19), 20) };
        let nbytes = usize::div_ceil(nbits, 8);
        out.extend_from_slice(&bits.to_le_bytes()[..nbytes]);
        out.extend_from_slice(block);
    }
    // Final empty meta-block: ISLAST=1, ISLASTEMPTY=1.
    out.push(0b11);
    out
}

fn page_text() -> Vec<u8> {
    "<html><body>héllo crawld, ".repeat(200).into_bytes()
}

fn encoded(coding: &'static str, body: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_ENCODING, coding), (header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
}

#[tokio::test]
async fn content_codings_are_decoded_and_raw_body_kept() {
    let text = page_text();
    let app = Router::new()
        .route("/gz", get(|| async { encoded("gzip", gzip(&page_text())) }))
        .route("/xgz", get(|| async { encoded("x-gzip", gzip(&page_text())) }))
        .route("/zlib", get(|| async { encoded("deflate", zlib(&page_text())) }))
        .route("/rawdeflate", get(|| async { encoded("deflate", raw_deflate(&page_text())) }))
        .route("/br", get(|| async { encoded("br", unhex(BROTLI_HEX)) }))
        .route("/br-stored", get(|| async { encoded("br", brotli_stored(&page_text())) }))
        .route("/plain", get(|| async { ([(header::CONTENT_TYPE, "text/plain")], page_text()) }))
        .route("/unknown", get(|| async { encoded("zstd", b"opaque bytes".to_vec()) }));
    let addr = serve(app).await;
    let f = fetcher();

    let cases: [(&str, Vec<u8>, Vec<u8>); 7] = [
        ("/gz", text.clone(), gzip(&text)),
        ("/xgz", text.clone(), gzip(&text)),
        ("/zlib", text.clone(), zlib(&text)),
        ("/rawdeflate", text.clone(), raw_deflate(&text)),
        ("/br", brotli_plain(), unhex(BROTLI_HEX)),
        ("/br-stored", text.clone(), brotli_stored(&text)),
        ("/unknown", b"opaque bytes".to_vec(), b"opaque bytes".to_vec()),
    ];
    for (path, plain, wire) in cases {
        let r = f.fetch(&url(addr, path)).await;
        assert_eq!(r.failure, None, "{path}");
        assert_eq!(r.status, Some(200), "{path}");
        assert_eq!(&r.body[..], &plain[..], "{path}: decoded body");
        assert_eq!((r.truncated, r.body_capped), (None, false), "{path}");
        assert_eq!(r.wire_bytes, wire.len() as u64, "{path}");
        let ex = r.exchange.as_ref().expect("exchange");
        assert_eq!(&ex.raw_body[..], &wire[..], "{path}: raw body stays encoded");
        if path != "/unknown" {
            assert_ne!(&ex.raw_body[..], &plain[..], "{path}");
        }
        assert_eq!(r.content_type.as_deref(), Some("text/html; charset=utf-8"), "{path}");
    }

    let r = f.fetch(&url(addr, "/plain")).await;
    assert_eq!(&r.body[..], &text[..]);
    assert_eq!(r.content_type.as_deref(), Some("text/plain"));
    assert!(r.is_success());
    assert_eq!(r.retry(), Retry::No);
}

#[tokio::test]
async fn exchange_heads_and_peer() {
    let app = Router::new().route(
        "/p",
        get(|| async {
            ([(header::CONTENT_TYPE, "text/html"), (header::HeaderName::from_static("x-thing"), "1")], "hi")
        }),
    );
    let addr = serve(app).await;
    let before = SystemTime::now();
    let r = fetcher().fetch(&url(addr, "/p?q=1#frag")).await;
    let ex = r.exchange.expect("exchange");
    let req = String::from_utf8(ex.request_head).unwrap();
    assert_eq!(
        req,
        format!(
            "GET /p?q=1 HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: {}\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\n\
             Accept-Encoding: gzip, deflate, br\r\n\r\n",
            crate::common::UA
        )
    );
    let resp = String::from_utf8(ex.response_head).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("\r\nContent-Type: text/html\r\n"), "{resp}");
    assert!(resp.contains("\r\nX-Thing: 1\r\n"), "{resp}");
    assert!(resp.contains("\r\nContent-Length: 2\r\n"), "{resp}");
    assert!(resp.ends_with("\r\n\r\n"), "{resp}");
    assert_eq!(ex.remote_ip, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert!(r.fetched_at >= before && r.fetched_at <= SystemTime::now());
    assert!(r.elapsed > Duration::ZERO);
}

/// Counts what the server produced and whether the stream ran to its end.
struct Produced {
    bytes: AtomicU64,
    finished: AtomicBool,
    dropped: AtomicBool,
}

struct DropFlag(Arc<Produced>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn huge_body_is_capped_and_not_read_to_the_end() {
    const TOTAL: u64 = 20 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let produced = Arc::new(Produced {
        bytes: AtomicU64::new(0),
        finished: AtomicBool::new(false),
        dropped: AtomicBool::new(false),
    });
    let state = Arc::clone(&produced);
    let app = Router::new().route(
        "/big",
        get(move || {
            let state = Arc::clone(&state);
            async move {
                let chunk = Bytes::from(vec![b'x'; CHUNK]);
                let guard = DropFlag(Arc::clone(&state));
                let stream = futures_util::stream::unfold((0u64, guard, chunk), |(sent, guard, chunk)| async move {
                    if sent >= TOTAL {
                        guard.0.finished.store(true, Ordering::SeqCst);
                        return None;
                    }
                    guard.0.bytes.fetch_add(CHUNK as u64, Ordering::SeqCst);
                    Some((Ok::<_, std::io::Error>(chunk.clone()), (sent + CHUNK as u64, guard, chunk)))
                });
                ([(header::CONTENT_TYPE, "application/octet-stream")], Body::from_stream(stream))
            }
        }),
    );
    let addr = serve(app).await;
    let cap = 1024 * 1024;
    let r = fetcher().fetch(&url(addr, "/big")).await;
    assert_eq!(r.status, Some(200));
    assert_eq!(r.failure, None, "a cap is not a failure");
    assert_eq!((r.truncated, r.body_capped), (Some(Truncation::Length), true));
    assert_eq!(r.body.len() as u64, cap);
    assert_eq!(r.exchange.as_ref().unwrap().raw_body.len() as u64, cap);
    assert!(r.wire_bytes >= cap && r.wire_bytes < cap + 512 * 1024, "wire_bytes {}", r.wire_bytes);
    assert_eq!(r.retry(), Retry::No);

    // The client hung up: the server's stream is dropped before it ever reaches its end.
    for _ in 0..100 {
        if produced.dropped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(produced.dropped.load(Ordering::SeqCst), "server never saw the connection go away");
    assert!(!produced.finished.load(Ordering::SeqCst), "the whole 20 MB was sent");
    assert!(produced.bytes.load(Ordering::SeqCst) < TOTAL);
}

#[tokio::test]
async fn body_exactly_at_cap_is_not_truncated() {
    let app = Router::new()
        .route("/exact", get(|| async { vec![b'a'; 1000] }))
        .route("/over", get(|| async { vec![b'a'; 1001] }));
    let addr = serve(app).await;
    let f = Fetcher::new(FetchConfig { max_body_bytes: 1000, ..config() }).unwrap();
    let r = f.fetch(&url(addr, "/exact")).await;
    assert_eq!((r.body.len(), r.truncated), (1000, None));
    let r = f.fetch(&url(addr, "/over")).await;
    assert_eq!((r.body.len(), r.truncated, r.wire_bytes), (1000, Some(Truncation::Length), 1001));
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_cap() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![0u8; 32 * 1024 * 1024]).unwrap();
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
    let wire = bomb.clone();
    let app = Router::new().route("/bomb", get(move || async move { encoded("gzip", wire) }));
    let addr = serve(app).await;
    let r = fetcher().fetch(&url(addr, "/bomb")).await;
    assert_eq!(r.status, Some(200));
    assert_eq!(r.failure, None);
    assert!(r.body_capped, "decoded body hit the cap");
    assert_eq!(r.truncated, None, "the body as received is whole");
    assert_eq!(r.body.len(), 1024 * 1024);
    assert_eq!(r.wire_bytes, bomb.len() as u64);
}

#[tokio::test]
async fn undecodable_body_keeps_status_and_raw_bytes() {
    let app = Router::new()
        .route("/bad", get(|| async { encoded("gzip", b"\x1f\x8b\x08\x00 definitely not gzip".to_vec()) }));
    let addr = serve(app).await;
    let r = fetcher().fetch(&url(addr, "/bad")).await;
    assert_eq!(r.status, Some(200));
    assert!(matches!(r.failure, Some(FetchFailure::Decode(_))), "{:?}", r.failure);
    assert!(r.body.is_empty());
    assert_eq!(&r.exchange.as_ref().unwrap().raw_body[..], b"\x1f\x8b\x08\x00 definitely not gzip");
    assert_eq!(r.retry(), Retry::No);
}

#[tokio::test]
async fn stalls_end_in_timeout() {
    let app = Router::new()
        .route(
            "/stall-body",
            get(|| async {
                let first = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"partial"))]);
                let stream = futures_util::StreamExt::chain(first, futures_util::stream::pending());
                Body::from_stream(stream)
            }),
        )
        .route(
            "/stall-head",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        );
    let addr = serve(app).await;
    let f = Fetcher::new(FetchConfig { timeout: Duration::from_millis(400), ..config() }).unwrap();

    let r = f.fetch(&url(addr, "/stall-body")).await;
    assert_eq!(r.failure, Some(FetchFailure::Timeout));
    assert_eq!(r.status, Some(200), "status kept");
    assert!(r.exchange.is_some());
    assert_eq!(&r.body[..], b"partial");
    assert_eq!(r.truncated, Some(Truncation::Time));
    assert!(r.elapsed >= Duration::from_millis(400) && r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert_eq!(r.retry(), Retry::After(None));

    let r = f.fetch(&url(addr, "/stall-head")).await;
    assert_eq!(r.failure, Some(FetchFailure::Timeout));
    assert_eq!(r.status, None);
    assert!(r.exchange.is_none());
    assert!(r.elapsed < Duration::from_secs(3));

    // Retuned while the fetcher is in use: the next request gets the new deadline.
    f.set_timeout(Duration::from_millis(100)).unwrap();
    let r = f.fetch(&url(addr, "/stall-head")).await;
    assert_eq!(r.failure, Some(FetchFailure::Timeout));
    assert!(r.elapsed < Duration::from_millis(350), "{:?}", r.elapsed);
    assert!(f.set_timeout(Duration::ZERO).is_err());
    assert_eq!(f.timeout(), Duration::from_millis(100));
}

#[tokio::test]
async fn refused_connection_is_a_connect_failure() {
    let addr = closed_port().await;
    let r = fetcher().fetch(&url(addr, "/")).await;
    assert!(matches!(r.failure, Some(FetchFailure::Connect(_))), "{:?}", r.failure);
    assert_eq!(r.status, None);
    assert!(r.exchange.is_none());
    assert_eq!(r.retry(), Retry::After(None));
    let text = r.failure.unwrap().to_string();
    assert!(text.starts_with("connect failed: ") && text.len() < 400, "{text}");
}

/// Regression: a connection that broke after the request was sent was called a connect failure, which
/// holds the whole host.
#[tokio::test]
async fn a_connection_dropped_before_the_head_is_a_request_failure_not_a_connect_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf).await;
            n += 1;
            if n % 2 == 0 {
                // A reset rather than a close.
                let _ = sock.set_zero_linger();
            }
            drop(sock);
        }
    });
    for _ in 0..2 {
        let r = fetcher().fetch(&url(addr, "/")).await;
        assert!(matches!(r.failure, Some(FetchFailure::Request(_))), "{:?}", r.failure);
        assert_eq!(r.status, None);
        assert_eq!(r.retry(), Retry::After(None));
        assert!(r.failure.unwrap().to_string().starts_with("request failed: "));
    }
}

#[tokio::test]
async fn not_http_at_all() {
    // A peer that answers with garbage and hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(b"\x00\xffSSH-2.0 garbage\r\n\r\n\xfe").await;
        }
    });
    let r = fetcher().fetch(&url(addr, "/")).await;
    assert_eq!(r.status, None);
    assert!(r.failure.is_some());

    let r = fetcher().fetch(&url::Url::parse("ftp://127.0.0.1/file").unwrap()).await;
    assert!(matches!(r.failure, Some(FetchFailure::Other(_))), "{:?}", r.failure);
}

#[tokio::test]
async fn retry_after_and_retry_classes() {
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
    let app = Router::new()
        .route("/429", get(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "7")], "slow down") }))
        .route("/503", get(move || async move { (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, when)], "") }))
        .route("/500", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, [(header::RETRY_AFTER, "soon")], "") }))
        .route("/408", get(|| async { StatusCode::REQUEST_TIMEOUT }))
        .route("/403", get(|| async { (StatusCode::FORBIDDEN, [(header::RETRY_AFTER, "5")], "") }));
    let addr = serve(app).await;
    let f = fetcher();

    let r = f.fetch(&url(addr, "/429")).await;
    assert_eq!(r.status, Some(429));
    assert_eq!(r.retry(), Retry::After(Some(Duration::from_secs(7))));
    assert_eq!(&r.body[..], b"slow down");

    let r = f.fetch(&url(addr, "/503")).await;
    assert_eq!(r.status, Some(503));
    match r.retry() {
        Retry::After(Some(d)) => assert!(d >= Duration::from_secs(27) && d <= Duration::from_secs(30), "{d:?}"),
        other => panic!("{other:?}"),
    }

    let r = f.fetch(&url(addr, "/500")).await;
    assert_eq!(r.retry(), Retry::After(None), "garbage Retry-After is ignored");
    let r = f.fetch(&url(addr, "/408")).await;
    assert_eq!(r.retry(), Retry::After(None));
    let r = f.fetch(&url(addr, "/403")).await;
    assert_eq!(r.retry(), Retry::No);
    assert_eq!(r.retry_after, Some(Duration::from_secs(5)), "Retry-After is reported on any response");
    let r = f.fetch(&url(addr, "/missing")).await;
    assert_eq!(r.status, Some(404));
    assert_eq!(r.retry(), Retry::No);
    assert_eq!(r.failure, None);
}

#[tokio::test]
async fn redirects_are_reported_not_followed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let target_hits = Arc::clone(&hits);
    let app = Router::new()
        .route("/old/page", get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "../new?x=1")], "") }))
        .route("/abs", get(|| async { (StatusCode::FOUND, [(header::LOCATION, "https://other.example/there")], "") }))
        .route("/no-location", get(|| async { StatusCode::FOUND }))
        .route(
            "/new",
            get(move || {
                target_hits.fetch_add(1, Ordering::SeqCst);
                async { "new" }
            }),
        );
    let addr = serve(app).await;
    let f = fetcher();
    let r = f.fetch(&url(addr, "/old/page")).await;
    assert_eq!(r.status, Some(301));
    assert_eq!(r.location, Some(url(addr, "/new?x=1")));
    assert_eq!(r.failure, None);
    assert_eq!(r.retry(), Retry::No);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "redirect was followed");

    let r = f.fetch(&url(addr, "/abs")).await;
    assert_eq!(r.location.unwrap().as_str(), "https://other.example/there");
    let r = f.fetch(&url(addr, "/no-location")).await;
    assert_eq!((r.status, r.location), (Some(302), None));
}

#[tokio::test]
async fn concurrent_fetches_share_one_fetcher() {
    let app = Router::new()
        .route("/{n}", get(|axum::extract::Path(n): axum::extract::Path<u32>| async move { format!("page {n}") }));
    let addr = serve(app).await;
    let f = fetcher();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20u32 {
        let f = f.clone();
        let u = url(addr, &format!("/{n}"));
        tasks.spawn(async move { (n, f.fetch(&u).await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (n, r) = done.unwrap();
        assert_eq!(r.body, Bytes::from(format!("page {n}")));
    }
}

#[tokio::test]
async fn https_handshake_failure_is_a_connect_failure() {
    // A plain-HTTP server behind an https:// URL: the TLS stack (and its crypto provider) must be in place
    // and report a failed handshake as data.
    let app = Router::new().route("/", get(|| async { "plain" }));
    let addr = serve(app).await;
    let u = url::Url::parse(&format!("https://{addr}/")).unwrap();
    let r = fetcher().fetch(&u).await;
    assert_eq!(r.status, None);
    assert!(matches!(r.failure, Some(FetchFailure::Connect(_))), "{:?}", r.failure);
}

#[test]
fn fetcher_builds_outside_a_runtime() {
    let f = Fetcher::new(FetchConfig::default()).unwrap();
    assert_eq!(f.agent_token(), "crawld");
    assert_eq!(f.robots_fetched(), 0);
}

#[tokio::test]
async fn a_body_cut_by_a_broken_connection_is_truncated_by_disconnect() {
    let app = Router::new().route(
        "/cut",
        get(|| async {
            // The break comes a moment later, once the head and the first bytes are out.
            let cut = async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(std::io::Error::other("cut"))
            };
            let first = futures_util::stream::iter([Ok(Bytes::from_static(b"partial"))]);
            Body::from_stream(futures_util::StreamExt::chain(first, futures_util::stream::once(cut)))
        }),
    );
    let addr = serve(app).await;
    let r = fetcher().fetch(&url(addr, "/cut")).await;
    assert_eq!(r.status, Some(200));
    assert!(matches!(r.failure, Some(FetchFailure::Body(_))), "{:?}", r.failure);
    assert_eq!((r.truncated, r.body_capped), (Some(Truncation::Disconnect), false));
    assert_eq!(&r.exchange.unwrap().raw_body[..], b"partial");
}

/// A head is measured as names and values with `: ` and CRLF each; past the limit the response is
/// refused unread and not retried, and so is one too large for hyper's own buffer.
#[tokio::test]
async fn a_response_head_past_max_header_bytes_is_refused() {
    let app = Router::new()
        .route("/small", get(|| async { ([("x-pad", "a".repeat(100))], "body") }))
        .route("/huge", get(|| async { ([("x-pad", "a".repeat(1 << 20))], "body") }));
    let addr = serve(app).await;
    let f = Fetcher::new(FetchConfig { max_header_bytes: 150, ..config() }).unwrap();
    let r = f.fetch(&url(addr, "/small")).await;
    assert_eq!((r.status, r.failure.clone()), (None, Some(FetchFailure::HeadTooLarge { limit: 150 })));
    assert_eq!(r.retry(), Retry::No);
    assert!(r.body.is_empty());

    let f = Fetcher::new(FetchConfig { max_header_bytes: 64 * 1024, ..config() }).unwrap();
    let r = f.fetch(&url(addr, "/small")).await;
    assert_eq!((r.status, r.failure.clone(), &r.body[..]), (Some(200), None, &b"body"[..]));
    let r = f.fetch(&url(addr, "/huge")).await;
    assert_eq!((r.status, r.failure.clone()), (None, Some(FetchFailure::HeadTooLarge { limit: 64 * 1024 })));
    assert_eq!(r.retry(), Retry::No);
}
