//! End-to-end checks of the output directory, read back with independent readers (the `warc` crate, flate2).

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::warc::{WarcHeader, WarcReader};
use bytes::Bytes;
use flate2::read::{GzDecoder, MultiGzDecoder};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::*;

/// 2026-11-21T11:24:07.123Z
fn fetched_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_260_247_123)
}

fn page(url: &str, depth: u32, parent: Option<&str>) -> PageRecord {
    PageRecord {
        parent: parent.map(Into::into),
        fetched_at: fetched_at(),
        elapsed: Duration::from_millis(40),
        ..PageRecord::new(url, depth)
    }
}

fn exchange(path: &str, status: &str, body: impl Into<Bytes>, ip: Option<IpAddr>) -> HttpExchange {
    HttpExchange {
        request_head: format!("GET {path} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: crawld-test\r\n\r\n")
            .into_bytes(),
        response_head: format!("HTTP/1.1 {status}\r\nContent-Type: text/html\r\nServer: test\r\n\r\n").into_bytes(),
        body: body.into(),
        remote_ip: ip,
    }
}

fn with_exchange(mut p: PageRecord, status: u16, ex: HttpExchange) -> PageRecord {
    p.status = Some(status);
    p.bytes = ex.body.len() as u64;
    p.stored_bytes = ex.body.len() as u64;
    p.archive = Some(WarcPair::encode(&p.url, p.fetched_at, p.truncated, &ex).unwrap());
    p
}

/// Bytes that deflate cannot shrink, so sizes and rotation behave as with real (compressed) bodies.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn opts() -> SinkOptions {
    SinkOptions { sync_interval: Duration::from_secs(3600), ..SinkOptions::default() }
}

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("pages.jsonl")).unwrap().lines().map(str::to_owned).collect()
}

fn warc_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("warc")).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// A record as the `warc` crate parsed it, headers as written.
#[derive(Debug)]
struct Rec {
    headers: HashMap<WarcHeader, String>,
    body: Vec<u8>,
}

impl Rec {
    fn get(&self, h: WarcHeader) -> &str {
        self.headers.get(&h).map_or("", String::as_str)
    }
}

fn parse_records<R: std::io::BufRead>(reader: WarcReader<R>) -> Vec<Rec> {
    reader
        .iter_raw_records()
        .map(|r| {
            let (head, body) = r.unwrap();
            assert_eq!(head.version, "1.1");
            let headers =
                head.headers.into_iter().map(|(k, v)| (k, String::from_utf8(v).unwrap())).collect::<HashMap<_, _>>();
            Rec { headers, body }
        })
        .collect()
}

/// Every record of a .warc.gz, checked once more through the crate's validating reader.
fn read_warc(path: &Path) -> Vec<Rec> {
    let validated: Vec<_> = WarcReader::from_path_gzip(path).unwrap().iter_records().map(Result::unwrap).collect();
    let recs = parse_records(WarcReader::from_path_gzip(path).unwrap());
    assert_eq!(validated.len(), recs.len());
    recs
}

/// The record in the gzip member at `offset..offset+length`, decoded from those bytes alone.
fn member_at(file: &Path, offset: u64, length: u64) -> Rec {
    let data = std::fs::read(file).unwrap();
    let slice = &data[offset as usize..(offset + length) as usize];
    let mut one = Vec::new();
    GzDecoder::new(slice).read_to_end(&mut one).unwrap();
    // A multi-member decoder yields nothing more: the range is exactly one member.
    let mut all = Vec::new();
    MultiGzDecoder::new(slice).read_to_end(&mut all).unwrap();
    assert_eq!(one, all, "{offset}+{length} holds more than one gzip member");
    let mut recs = parse_records(WarcReader::new(&one[..]));
    assert_eq!(recs.len(), 1, "{offset}+{length} holds {} records", recs.len());
    recs.remove(0)
}

fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    format!("sha1:{}", data_encoding::BASE32.encode(&h.finalize()))
}

fn warc_of(line: &str) -> (String, u64, u64) {
    let v: Value = serde_json::from_str(line).unwrap();
    let w = &v["warc"];
    (w["file"].as_str().unwrap().to_owned(), w["offset"].as_u64().unwrap(), w["length"].as_u64().unwrap())
}

#[test]
fn fetched_at_fixture_is_the_documented_instant() {
    assert_eq!(timestamp::rfc3339_millis(fetched_at()), "2026-11-21T11:24:07.123Z");
}

#[tokio::test]
async fn pages_and_warc_round_trip() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("crawl");
    let manifest = json!({"seeds": ["http://example.com/"], "max_depth": 2});
    let sink = Sink::create(&dir, &manifest, opts()).unwrap();
    assert_eq!(sink.dir(), dir);

    let v4: IpAddr = "93.184.216.34".parse().unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    let seed = "http://example.com/";

    let ex1 = exchange("/", "200 OK", "<html>hi</html>", Some(v4));
    let mut p1 = with_exchange(page(seed, 0, None), 200, ex1.clone());
    p1.content_type = Some("text/html".into());
    p1.links = 2;
    let ex2 = exchange("/old", "301 Moved Permanently", Bytes::new(), None);
    let mut p2 = with_exchange(page("http://example.com/old", 1, Some(seed)), 301, ex2.clone());
    p2.redirect = Some("http://example.com/new".into());
    let mut p3 = page("http://example.com/down", 1, Some(seed));
    p3.error = Some("connection refused".into());
    p3.attempts = 3;
    let big = noise(1000, 7);
    let ex4 = exchange("/big", "200 OK", big.clone(), Some(v6));
    let mut p4 = page("http://example.com/big", 1, Some(seed));
    p4.truncated = Some(Truncation::Length);
    let mut p4 = with_exchange(p4, 200, ex4.clone());
    p4.content_type = Some("application/octet-stream".into());

    for p in [&p1, &p2, &p3, &p4] {
        sink.record(p.clone()).await.unwrap();
    }
    let summary = sink.finish().await.unwrap();

    // crawl.json is the manifest.
    let written: Value = serde_json::from_slice(&std::fs::read(dir.join("crawl.json")).unwrap()).unwrap();
    assert_eq!(written, manifest);

    // pages.jsonl: exact lines, keys in contract order, in recording order.
    let got = lines(&dir);
    assert_eq!(got.len(), 4);
    let files = warc_files(&dir);
    assert_eq!(files.len(), 1);
    let file_name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    let stamp = file_name.strip_prefix("crawld-").unwrap().strip_suffix("-00000.warc.gz").unwrap();
    assert!(stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()), "{file_name}");

    let (f1, o1, l1) = warc_of(&got[0]);
    let (f2, o2, l2) = warc_of(&got[1]);
    let (f4, o4, l4) = warc_of(&got[3]);
    assert_eq!([&f1, &f2, &f4], [&file_name; 3]);
    let ts = "2026-11-21T11:24:07.123Z";
    assert_eq!(
        got[0],
        format!(
            r#"{{"url":"http://example.com/","depth":0,"parent":null,"status":200,"content_type":"text/html","bytes":15,"stored_bytes":15,"fetched_at":"{ts}","elapsed_ms":40.0,"links":2,"attempts":1,"warc":{{"file":"{file_name}","offset":{o1},"length":{l1}}}}}"#
        )
    );
    assert_eq!(
        got[1],
        format!(
            r#"{{"url":"http://example.com/old","depth":1,"parent":"http://example.com/","status":301,"content_type":null,"bytes":0,"stored_bytes":0,"fetched_at":"{ts}","elapsed_ms":40.0,"links":0,"attempts":1,"redirect":"http://example.com/new","warc":{{"file":"{file_name}","offset":{o2},"length":{l2}}}}}"#
        )
    );
    assert_eq!(
        got[2],
        format!(
            r#"{{"url":"http://example.com/down","depth":1,"parent":"http://example.com/","status":null,"content_type":null,"bytes":0,"stored_bytes":0,"fetched_at":"{ts}","elapsed_ms":40.0,"links":0,"attempts":3,"error":"connection refused"}}"#
        )
    );
    assert_eq!(
        got[3],
        format!(
            r#"{{"url":"http://example.com/big","depth":1,"parent":"http://example.com/","status":200,"content_type":"application/octet-stream","bytes":1000,"stored_bytes":1000,"fetched_at":"{ts}","elapsed_ms":40.0,"links":0,"attempts":1,"truncated":"length","warc":{{"file":"{file_name}","offset":{o4},"length":{l4}}}}}"#
        )
    );

    // The WARC file, record by record.
    let recs = read_warc(&files[0]);
    let kinds: Vec<&str> = recs.iter().map(|r| r.get(WarcHeader::WarcType)).collect();
    assert_eq!(kinds, ["warcinfo", "response", "request", "response", "request", "response", "request"]);

    let info = &recs[0];
    assert_eq!(info.get(WarcHeader::Filename), file_name);
    assert_eq!(info.get(WarcHeader::ContentType), "application/warc-fields");
    let fields = String::from_utf8(info.body.clone()).unwrap();
    assert!(fields.contains(&format!("software: crawld/{}\r\n", env!("CARGO_PKG_VERSION"))), "{fields}");
    assert!(fields.contains("format: WARC File Format 1.1\r\n"), "{fields}");
    let info_id = info.get(WarcHeader::RecordID).to_owned();

    let archived = [(&p1, &ex1, Some("93.184.216.34")), (&p2, &ex2, None), (&p4, &ex4, Some("2001:db8::1"))];
    let mut ids = vec![info_id.clone()];
    for (i, (p, ex, ip)) in archived.iter().enumerate() {
        let (resp, req) = (&recs[1 + 2 * i], &recs[2 + 2 * i]);
        for r in [resp, req] {
            assert_eq!(r.get(WarcHeader::TargetURI), p.url);
            assert_eq!(r.get(WarcHeader::Date), "2026-11-21T11:24:07Z");
            // Records are encoded before their file is known, so they name no warcinfo.
            assert_eq!(r.get(WarcHeader::WarcInfoID), "");
            assert_eq!(r.get(WarcHeader::IPAddress), ip.unwrap_or(""));
            assert_eq!(r.get(WarcHeader::ContentLength), r.body.len().to_string());
            let id = r.get(WarcHeader::RecordID);
            assert!(id.starts_with("<urn:uuid:") && id.ends_with('>'), "{id}");
            ids.push(id.to_owned());
        }
        assert_eq!(resp.get(WarcHeader::ContentType), "application/http;msgtype=response");
        assert_eq!(resp.body, [ex.response_head.as_slice(), &ex.body].concat());
        assert_eq!(resp.get(WarcHeader::BlockDigest), digest(&[&ex.response_head, &ex.body]));
        assert_eq!(resp.get(WarcHeader::PayloadDigest), digest(&[&ex.body]));
        assert_eq!(resp.get(WarcHeader::Truncated), p.truncated.map_or("", Truncation::as_str));
        assert_eq!(req.get(WarcHeader::ContentType), "application/http;msgtype=request");
        assert_eq!(req.body, ex.request_head);
        assert_eq!(req.get(WarcHeader::BlockDigest), digest(&[&ex.request_head]));
        assert_eq!(req.get(WarcHeader::ConcurrentTo), resp.get(WarcHeader::RecordID));
        assert_eq!(req.get(WarcHeader::PayloadDigest), "");
    }
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "record ids repeat");

    // Each index entry is exactly the response record of its page.
    for (line, p, ex) in [(&got[0], &p1, &ex1), (&got[1], &p2, &ex2), (&got[3], &p4, &ex4)] {
        let (file, offset, length) = warc_of(line);
        let rec = member_at(&dir.join("warc").join(file), offset, length);
        assert_eq!(rec.get(WarcHeader::WarcType), "response");
        assert_eq!(rec.get(WarcHeader::TargetURI), p.url);
        assert_eq!(rec.body, [ex.response_head.as_slice(), &ex.body].concat());
    }

    assert_eq!(summary.pages, 4);
    assert_eq!(summary.warc_records, 7);
    assert_eq!(summary.warc_files, 1);
    assert_eq!(summary.warc_bytes, std::fs::metadata(&files[0]).unwrap().len());
    assert_eq!(names(&dir), ["crawl.json", "indexes", "pages.jsonl", "state", "warc"]);
    assert_eq!(names(&dir.join("state")), [] as [&str; 0], "the space reserve is given back at finish");
    assert_eq!(summary.index_lines, Some(3), "every response record has its index line");
}

#[tokio::test]
async fn small_max_bytes_rotates_files_and_keeps_every_record_once() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink = Sink::create(dir, &json!({}), SinkOptions { warc_max_bytes: 1500, ..opts() }).unwrap();
    let urls: Vec<String> = (0..12).map(|i| format!("http://example.com/p{i}")).collect();
    for (i, url) in urls.iter().enumerate() {
        let ex = exchange(&format!("/p{i}"), "200 OK", noise(400 + 100 * i, i as u64), None);
        sink.record(with_exchange(page(url, 1, Some("http://example.com/")), 200, ex)).await.unwrap();
    }
    let summary = sink.finish().await.unwrap();

    let files = warc_files(dir);
    assert!(files.len() >= 4, "only {} files", files.len());
    let mut seen_responses = Vec::new();
    let mut seen_requests = Vec::new();
    let mut total_records = 0;
    let mut total_bytes = 0;
    for (seq, file) in files.iter().enumerate() {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(name.ends_with(&format!("-{seq:05}.warc.gz")), "{name} is not file #{seq}");
        let recs = read_warc(file);
        assert_eq!(recs[0].get(WarcHeader::WarcType), "warcinfo", "{name}");
        assert_eq!(recs[0].get(WarcHeader::Filename), name);
        assert!(recs.len() >= 3, "{name} holds no exchange");
        for r in &recs[1..] {
            match r.get(WarcHeader::WarcType) {
                "response" => seen_responses.push(r.get(WarcHeader::TargetURI).to_owned()),
                "request" => seen_requests.push(r.get(WarcHeader::TargetURI).to_owned()),
                other => panic!("unexpected {other} record in {name}"),
            }
        }
        total_records += recs.len() as u64;
        total_bytes += std::fs::metadata(file).unwrap().len();
    }
    assert_eq!(seen_responses, urls);
    assert_eq!(seen_requests, urls);

    // Every line points into the file that really holds its response.
    let got = lines(dir);
    assert_eq!(got.len(), urls.len());
    for (line, url) in got.iter().zip(&urls) {
        let (file, offset, length) = warc_of(line);
        let rec = member_at(&dir.join("warc").join(&file), offset, length);
        assert_eq!(rec.get(WarcHeader::TargetURI), url);
    }

    assert_eq!(summary.warc_files as usize, files.len());
    assert_eq!(summary.warc_records, total_records);
    assert_eq!(summary.warc_bytes, total_bytes);
    assert_eq!(summary.pages, 12);
}

#[tokio::test]
async fn a_used_directory_is_refused_and_left_untouched() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    std::fs::write(dir.join("pages.jsonl"), "{\"url\":\"http://old/\"}\n").unwrap();
    std::fs::write(dir.join("crawl.json"), "old manifest").unwrap();
    let err = Sink::create(dir, &json!({"new": true}), opts()).unwrap_err();
    assert!(matches!(&err, SinkError::AlreadyUsed { path } if path == dir), "{err:?}");
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("pages.jsonl")).unwrap(), "{\"url\":\"http://old/\"}\n");
    assert_eq!(std::fs::read_to_string(dir.join("crawl.json")).unwrap(), "old manifest");
    assert_eq!(names(dir), ["crawl.json", "pages.jsonl"]);

    // The same holds for a directory a finished sink left behind.
    let second = out.path().join("second");
    let sink = Sink::create(&second, &json!({}), opts()).unwrap();
    sink.record(page("http://example.com/", 0, None)).await.unwrap();
    sink.finish().await.unwrap();
    let before = std::fs::read(second.join("pages.jsonl")).unwrap();
    let warc_before = warc_files(&second);
    let err = Sink::create(&second, &json!({}), opts()).unwrap_err();
    assert!(matches!(err, SinkError::AlreadyUsed { .. }), "{err:?}");
    assert_eq!(std::fs::read(second.join("pages.jsonl")).unwrap(), before);
    assert_eq!(warc_files(&second), warc_before);
}

#[tokio::test]
async fn stats_are_replaced_atomically() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink = Sink::create(dir, &json!({}), opts()).unwrap();
    for n in 1..=5 {
        sink.write_stats(json!({"pages": n, "errors": {"timeout": n * 2}})).await.unwrap();
    }
    sink.sync().await.unwrap();
    let mid: Value = serde_json::from_slice(&std::fs::read(dir.join("stats.json")).unwrap()).unwrap();
    assert_eq!(mid, json!({"pages": 5, "errors": {"timeout": 10}}));

    for n in 6..=20 {
        sink.record(page(&format!("http://example.com/{n}"), 1, None)).await.unwrap();
        sink.write_stats(json!({"pages": n})).await.unwrap();
    }
    sink.finish().await.unwrap();
    let last: Value = serde_json::from_slice(&std::fs::read(dir.join("stats.json")).unwrap()).unwrap();
    assert_eq!(last, json!({"pages": 20}));
    // No temporary file is left behind.
    assert_eq!(names(dir), ["crawl.json", "indexes", "pages.jsonl", "state", "stats.json", "warc"]);
    assert_eq!(warc_files(dir).len(), 1);
}

#[test]
fn an_unwritable_output_is_a_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let blocker = out.path().join("blocker");
    std::fs::write(&blocker, "a regular file").unwrap();
    let target = blocker.join("out");
    let err = Sink::create(&target, &json!({}), opts()).unwrap_err();
    assert!(matches!(&err, SinkError::Io { path, .. } if path == &target), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("cannot create directory {}: ", target.display())), "{msg}");
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "a regular file");
}

#[test]
fn a_failed_create_does_not_claim_the_directory() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    // warc/ cannot be created: a regular file holds the name.
    std::fs::write(dir.join("warc"), "not a directory").unwrap();
    let err = Sink::create(dir, &json!({}), opts()).unwrap_err();
    assert!(matches!(&err, SinkError::Io { path, .. } if path == &dir.join("warc")), "{err:?}");
    assert!(!dir.join("pages.jsonl").exists());
    // With the obstacle gone, the directory is usable.
    std::fs::remove_file(dir.join("warc")).unwrap();
    drop(Sink::create(dir, &json!({}), opts()).unwrap());
}

#[tokio::test]
async fn a_writer_error_stops_the_sink_but_keeps_what_was_recorded() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink = Sink::create(dir, &json!({}), opts()).unwrap();
    for i in 0..3 {
        let ex = exchange(&format!("/{i}"), "200 OK", format!("body {i}"), None);
        sink.record(with_exchange(page(&format!("http://example.com/{i}"), 1, None), 200, ex)).await.unwrap();
    }
    // stats.json cannot be replaced: a non-empty directory holds the name.
    let stats = dir.join("stats.json");
    std::fs::create_dir(&stats).unwrap();
    std::fs::write(stats.join("x"), "").unwrap();
    sink.write_stats(json!({"pages": 3})).await.unwrap();

    let err = sink.sync().await.unwrap_err();
    assert!(matches!(&err, SinkError::Io { path, .. } if path == &stats), "{err:?}");
    assert!(err.to_string().contains("stats.json"), "{err}");
    // Every later call reports the same error.
    let again = sink.record(page("http://example.com/late", 1, None)).await.unwrap_err();
    assert_eq!(again.to_string(), err.to_string());
    let at_finish = sink.finish().await.unwrap_err();
    assert_eq!(at_finish.to_string(), err.to_string());

    // The three pages recorded before the failure are on disk, and their index entries resolve.
    let got = lines(dir);
    assert_eq!(got.len(), 3);
    for (i, line) in got.iter().enumerate() {
        let (file, offset, length) = warc_of(line);
        let rec = member_at(&dir.join("warc").join(file), offset, length);
        assert_eq!(rec.get(WarcHeader::TargetURI), format!("http://example.com/{i}"));
    }
    assert_eq!(read_warc(&warc_files(dir)[0]).len(), 7);
}

#[tokio::test]
async fn a_five_megabyte_body_is_archived_intact() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink = Sink::create(dir, &json!({}), opts()).unwrap();
    let body = Bytes::from(noise(5 * 1024 * 1024, 42));
    let ex = exchange("/big.bin", "200 OK", body.clone(), None);
    let head = ex.response_head.clone();
    sink.record(with_exchange(page("http://example.com/big.bin", 0, None), 200, ex)).await.unwrap();
    let summary = sink.finish().await.unwrap();
    assert!(summary.warc_bytes > 5 * 1024 * 1024, "{summary:?}");

    let got = lines(dir);
    let v: Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(v["bytes"], 5 * 1024 * 1024);
    let (file, offset, length) = warc_of(&got[0]);
    let rec = member_at(&dir.join("warc").join(&file), offset, length);
    assert_eq!(rec.get(WarcHeader::ContentLength), (head.len() + body.len()).to_string());
    assert_eq!(rec.body.len(), head.len() + body.len());
    assert!(rec.body[..head.len()] == head[..] && rec.body[head.len()..] == body[..]);
    assert_eq!(rec.get(WarcHeader::PayloadDigest), digest(&[&body]));

    let recs = read_warc(&dir.join("warc").join(&file));
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[1].body.len(), head.len() + body.len());
}

#[tokio::test]
async fn without_warc_only_the_index_is_written() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink = Sink::create(dir, &json!({}), SinkOptions { warc: false, queue: 0, ..opts() }).unwrap();
    let ex = exchange("/", "200 OK", "x", None);
    sink.record(with_exchange(page("http://example.com/", 0, None), 200, ex)).await.unwrap();
    sink.record(page("http://example.com/2", 1, None)).await.unwrap();
    let summary = sink.finish().await.unwrap();
    assert_eq!((summary.pages, summary.warc_records, summary.warc_files, summary.warc_bytes), (2, 0, 0, 0));
    assert_eq!(names(dir), ["crawl.json", "pages.jsonl", "state"]);
    for line in lines(dir) {
        let v: Value = serde_json::from_str(&line).unwrap();
        assert!(v.get("warc").is_none(), "{line}");
    }
}

#[tokio::test]
async fn lines_reach_the_file_only_at_a_sync() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink = Sink::create(dir, &json!({}), opts()).unwrap();
    let ex = exchange("/", "200 OK", "x", None);
    sink.record(with_exchange(page("http://example.com/", 0, None), 200, ex)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(lines(dir).is_empty(), "a line was written before its sync");
    sink.sync().await.unwrap();
    let got = lines(dir);
    assert_eq!(got.len(), 1);
    // By then the WARC member it points at is complete on disk.
    let (file, offset, length) = warc_of(&got[0]);
    let rec = member_at(&dir.join("warc").join(file), offset, length);
    assert_eq!(rec.get(WarcHeader::TargetURI), "http://example.com/");
    sink.finish().await.unwrap();
}

#[tokio::test]
async fn a_quiet_crawl_is_still_synced_within_the_interval() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink =
        Sink::create(dir, &json!({}), SinkOptions { sync_interval: Duration::from_millis(50), ..opts() }).unwrap();
    sink.record(page("http://example.com/", 0, None)).await.unwrap();
    let mut waited = Duration::ZERO;
    while lines(dir).is_empty() {
        assert!(waited < Duration::from_secs(10), "never synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    sink.finish().await.unwrap();
}

#[tokio::test]
async fn dropping_the_sink_still_writes_what_was_recorded() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink = Sink::create(dir, &json!({}), opts()).unwrap();
    sink.record(page("http://example.com/a", 0, None)).await.unwrap();
    sink.record(page("http://example.com/b", 0, None)).await.unwrap();
    drop(sink);
    let mut waited = Duration::ZERO;
    while lines(dir).len() < 2 {
        assert!(waited < Duration::from_secs(10), "lines lost on drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_can_record_at_once() {
    fn assert_shareable<T: Send + Sync>() {}
    assert_shareable::<Sink>();

    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_path_buf();
    let sink = Arc::new(Sink::create(&dir, &json!({}), SinkOptions { queue: 4, ..opts() }).unwrap());
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                for i in 0..25 {
                    let ex = exchange("/", "200 OK", format!("{t}-{i}"), None);
                    let p = with_exchange(page(&format!("http://example.com/{t}/{i}"), 1, None), 200, ex);
                    sink.record(p).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let Ok(sink) = Arc::try_unwrap(sink) else { panic!("all tasks are done") };
    let summary = sink.finish().await.unwrap();
    assert_eq!(summary.pages, 100);
    assert_eq!(summary.warc_records, 201);
    let mut urls: Vec<String> = lines(&dir)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["url"].as_str().unwrap().to_owned())
        .collect();
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 100);
}

#[tokio::test]
async fn archive_writes_warc_records_but_no_line() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let sink = Sink::create(dir, &json!({}), opts()).unwrap();
    let robots = with_exchange(
        page("http://example.com/robots.txt", 0, None),
        200,
        exchange("/robots.txt", "200 OK", "User-agent: *", None),
    );
    sink.archive(robots.archive.unwrap()).await.unwrap();
    sink.record(page("http://example.com/", 0, None)).await.unwrap();
    sink.finish().await.unwrap();

    assert_eq!(lines(dir).len(), 1, "only the page has a line");
    let records = parse_records(WarcReader::from_path_gzip(&warc_files(dir)[0]).unwrap());
    let types: Vec<&str> = records.iter().map(|r| r.get(WarcHeader::WarcType)).collect();
    assert_eq!(types, ["warcinfo", "response", "request"]);
    assert_eq!(records[1].get(WarcHeader::TargetURI), "http://example.com/robots.txt");
}

/// A page whose archive is about `kib` KiB of incompressible body.
fn page_of_kib(i: usize, kib: usize) -> PageRecord {
    let ex = exchange("/", "200 OK", noise(kib * 1024, i as u64), None);
    with_exchange(page(&format!("http://example.com/{i}"), 1, None), 200, ex)
}

/// Regression: the queue to the writer was bounded only in pages (64 in crawld), whatever their size,
/// so a slow disk let 64 large records pile up in memory. It is now bounded in bytes too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_is_bounded_in_bytes_and_an_oversized_record_still_passes() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_path_buf();
    // Room for three 40 KiB records, and any number of pages by count.
    let options = SinkOptions { queue: 1024, max_queued_bytes: 130 * 1024, ..opts() };
    let sink = Sink::create(&dir, &json!({}), options).unwrap();
    let release = sink.pause().await;
    for i in 0..3 {
        sink.record(page_of_kib(i, 40)).await.unwrap();
    }
    let fourth = tokio::time::timeout(Duration::from_millis(300), sink.record(page_of_kib(3, 40))).await;
    assert!(fourth.is_err(), "a fourth record waits while the writer is held");
    drop(release);
    sink.record(page_of_kib(3, 40)).await.unwrap();

    // A record larger than the whole budget waits for an empty queue, then goes through alone.
    let release = sink.pause().await;
    sink.record(page_of_kib(4, 40)).await.unwrap();
    let oversized = tokio::time::timeout(Duration::from_millis(300), sink.record(page_of_kib(5, 300))).await;
    assert!(oversized.is_err(), "an oversized record waits for the queue to empty");
    drop(release);
    sink.record(page_of_kib(5, 300)).await.unwrap();
    sink.record(page_of_kib(6, 300)).await.unwrap();
    sink.record(page_of_kib(7, 1)).await.unwrap();
    let summary = sink.finish().await.unwrap();
    // The records that timed out waiting were never queued: each page is there once, in order.
    assert_eq!(summary.pages, 8);
    let lines = lines(&dir);
    assert_eq!(lines.len(), 8);
    for (i, line) in lines.iter().enumerate() {
        let (file, offset, length) = warc_of(line);
        let record = member_at(&dir.join("warc").join(file), offset, length);
        assert_eq!(record.get(WarcHeader::TargetURI), format!("http://example.com/{i}"));
    }
}

/// With a budget smaller than every record, many tasks recording at once still finish: no deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_byte_budget_never_deadlocks() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_path_buf();
    let sink = Arc::new(Sink::create(&dir, &json!({}), SinkOptions { max_queued_bytes: 1, ..opts() }).unwrap());
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                for i in 0..10 {
                    sink.record(page_of_kib(t * 100 + i, 3)).await.unwrap();
                    sink.archive(page_of_kib(t * 100 + i, 2).archive.unwrap()).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(30), t).await.unwrap().unwrap();
    }
    let Ok(sink) = Arc::try_unwrap(sink) else { panic!("all tasks are done") };
    let summary = sink.finish().await.unwrap();
    assert_eq!(summary.pages, 40);
    assert_eq!(summary.warc_records, 1 + 40 * 4);
}

/// Record `n` pages (u0, u1, ...) with archives and finish.
async fn crawl_of(dir: &Path, n: usize, opts: SinkOptions) {
    let sink = Sink::create(dir, &json!({}), opts).unwrap();
    for i in 0..n {
        let url = format!("http://example.com/u{i}");
        sink.record(with_exchange(page(&url, 1, None), 200, exchange("/", "200 OK", noise(300, i as u64), None)))
            .await
            .unwrap();
    }
    sink.finish().await.unwrap();
}

fn resume(dir: &Path) -> Result<(Sink, Recovered, Vec<String>), SinkError> {
    let mut urls = Vec::new();
    let recovered = Sink::recover(dir, |p| urls.push(p.url.clone()))?;
    Ok((Sink::reopen(dir, opts())?, recovered, urls))
}

#[tokio::test]
async fn resume_cuts_a_torn_line_and_the_records_after_the_last_line_then_appends() {
    let out = tempfile::tempdir().unwrap();
    crawl_of(out.path(), 3, opts()).await;
    let whole = lines(out.path());
    let (file, offset, length) = warc_of(&whole[2]);
    let warc = out.path().join("warc").join(&file);
    let pair_end = std::fs::metadata(&warc).unwrap().len();
    // A crash: the third line half written, a page archived whose line never came, a torn record, and a
    // later file holding only records without lines.
    let mut torn_lines = whole[..2].join("\n") + "\n";
    torn_lines.push_str(&whole[2][..40]);
    std::fs::write(out.path().join("pages.jsonl"), &torn_lines).unwrap();
    let orphan =
        WarcPair::encode("http://example.com/x", fetched_at(), None, &exchange("/x", "200 OK", "x", None)).unwrap();
    let mut bytes = std::fs::read(&warc).unwrap();
    bytes.extend_from_slice(&orphan.response);
    bytes.extend_from_slice(&orphan.request[..10]);
    std::fs::write(&warc, &bytes).unwrap();
    std::fs::write(out.path().join("warc/crawld-29991231235959-00000.warc.gz"), &orphan.response).unwrap();

    let (sink, recovered, urls) = resume(out.path()).unwrap();
    assert_eq!(urls, ["http://example.com/u0", "http://example.com/u1"]);
    assert_eq!(recovered.lines, 2);
    assert_eq!(recovered.pages_cut, 40);
    // The second page's pair ends where the third began: everything after it is cut.
    let (_, second_offset, _) = warc_of(&whole[1]);
    assert!(second_offset < offset && offset + length < pair_end);
    assert_eq!(recovered.warc_cut, [(file.clone(), bytes.len() as u64 - offset)]);
    assert_eq!(recovered.warc_removed, ["crawld-29991231235959-00000.warc.gz"]);
    assert_eq!(std::fs::metadata(&warc).unwrap().len(), offset);
    assert!(recovered.cuts().contains("40 bytes of a torn line"), "{}", recovered.cuts());

    // Recording goes on: the page that was lost comes again, into a new file.
    sink.record(with_exchange(page("http://example.com/u2", 1, None), 200, exchange("/", "200 OK", "again", None)))
        .await
        .unwrap();
    sink.finish().await.unwrap();
    let after = lines(out.path());
    assert_eq!(after[..2], whole[..2]);
    assert_eq!(after.len(), 3);
    let (new_file, new_offset, new_length) = warc_of(&after[2]);
    assert_ne!(new_file, file);
    let rec = member_at(&out.path().join("warc").join(&new_file), new_offset, new_length);
    assert_eq!(rec.get(WarcHeader::TargetURI), "http://example.com/u2");
    // Every file is whole again: a validating reader gets through each.
    for path in warc_files(out.path()) {
        read_warc(&path);
    }
}

#[tokio::test]
async fn resume_refuses_a_damaged_line_before_the_last_and_cuts_nothing() {
    let out = tempfile::tempdir().unwrap();
    crawl_of(out.path(), 3, opts()).await;
    let mut text = std::fs::read_to_string(out.path().join("pages.jsonl")).unwrap();
    text.replace_range(1..5, "XXXX");
    std::fs::write(out.path().join("pages.jsonl"), &text).unwrap();
    let before: Vec<_> = warc_files(out.path()).iter().map(|p| std::fs::read(p).unwrap()).collect();
    let error = resume(out.path()).unwrap_err().to_string();
    assert!(error.contains("pages.jsonl") && error.contains("line 1 (byte 0) is damaged"), "{error}");
    assert_eq!(std::fs::read_to_string(out.path().join("pages.jsonl")).unwrap(), text);
    let after: Vec<_> = warc_files(out.path()).iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(before, after);
}

#[derive(Debug)]
struct Journal {
    path: PathBuf,
    /// Lines in pages.jsonl at each sync of the journal.
    seen: std::sync::Mutex<Vec<usize>>,
}

impl BeforeLines for Journal {
    fn sync(&self) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap();
        let lines = std::fs::read_to_string(dir.join("pages.jsonl")).map_or(0, |t| t.lines().count());
        self.seen.lock().unwrap().push(lines);
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[tokio::test]
async fn what_must_precede_the_lines_is_synced_before_each_batch_of_them() {
    let out = tempfile::tempdir().unwrap();
    let journal = Arc::new(Journal { path: out.path().join("journal"), seen: Default::default() });
    let sink =
        Sink::create(out.path(), &json!({}), SinkOptions { before_lines: Some(journal.clone()), ..opts() }).unwrap();
    sink.record(page("http://example.com/a", 0, None)).await.unwrap();
    sink.sync().await.unwrap();
    sink.record(page("http://example.com/b", 1, None)).await.unwrap();
    sink.record(page("http://example.com/c", 1, None)).await.unwrap();
    sink.finish().await.unwrap();
    // Synced while the lines of each batch were not yet in the file.
    assert_eq!(*journal.seen.lock().unwrap(), [0, 1]);
    assert_eq!(lines(out.path()).len(), 3);
}
