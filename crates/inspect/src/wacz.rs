//! A crawl packaged as WACZ 1.1.1, the zip that ReplayWeb.page opens and `wacz validate` checks:
//!
//! ```text
//! archive/crawld-*.warc.gz   the WARC files, as they are
//! indexes/index.cdxj         their CDXJ index (see [`crate::cdxj`])
//! pages/pages.jsonl          the pages to list: every 2xx HTML page (every 2xx page when none is HTML)
//! datapackage.json           each file's path, size and sha256; the crawl's title and first seed
//! datapackage-digest.json    the sha256 of datapackage.json
//! ```
//!
//! Every entry is stored, not deflated: the WARC files are gzipped already, and the format asks for it
//! so that a replay tool can read a record at its offset without unpacking the zip.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::read::{Flow, Lines};
use crate::{Error, cdxj, report, warc};

pub const WACZ_VERSION: &str = "1.1.1";

#[derive(Serialize)]
struct Resource {
    name: String,
    path: String,
    hash: String,
    bytes: u64,
}

#[derive(Serialize)]
struct DataPackage {
    profile: &'static str,
    resources: Vec<Resource>,
    title: String,
    #[serde(rename = "mainPageURL", skip_serializing_if = "Option::is_none")]
    main_page_url: Option<String>,
    created: String,
    wacz_version: &'static str,
    software: String,
}

/// What [`export`] wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    pub path: PathBuf,
    pub warc_files: usize,
    pub pages: u64,
    pub index_lines: usize,
    pub bytes: u64,
}

/// Passes writes on, and hashes and counts them.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn now_utc() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Package output directory `dir` as a WACZ file at `to` (written beside it first, then renamed, so
/// that a failed export leaves no half file under the name asked for).
pub fn export(dir: &Path, to: &Path) -> Result<Exported, Error> {
    let lines = Lines::new(&[dir.to_owned()])?;
    let files = warc::files(dir)?;
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "{} has no WARC files to package (was the crawl run with output.warc off?)",
            dir.display()
        )));
    }
    let index = cdxj::index_files(&files)?;
    let pages = pages_jsonl(&lines)?;
    let manifest: serde_json::Value =
        std::fs::read(dir.join("crawl.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();

    let tmp = to.with_extension("wacz.tmp");
    let out = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    let written = write_zip(out, &files, &index, &pages.0, &manifest, dir);
    let bytes = match written {
        Ok(()) => std::fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(match e {
                ZipOrIo::Io(path, error) => Error::io("write", &path, error),
                ZipOrIo::Zip(error) => Error::io("write", to, io::Error::other(error)),
            });
        }
    };
    std::fs::rename(&tmp, to).map_err(|e| Error::io("rename into place", to, e))?;
    Ok(Exported { path: to.to_owned(), warc_files: files.len(), pages: pages.1, index_lines: index.len(), bytes })
}

enum ZipOrIo {
    Io(PathBuf, io::Error),
    Zip(zip::result::ZipError),
}

impl From<zip::result::ZipError> for ZipOrIo {
    fn from(e: zip::result::ZipError) -> Self {
        ZipOrIo::Zip(e)
    }
}

fn write_zip(
    out: File,
    files: &[PathBuf],
    index: &[String],
    pages: &[u8],
    manifest: &serde_json::Value,
    dir: &Path,
) -> Result<(), ZipOrIo> {
    let now = now_utc();
    let stamp = zip::DateTime::from_date_and_time(
        now.year().clamp(1980, 2107) as u16,
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
    )
    .unwrap_or_default();
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(stamp)
        .large_file(true);
    let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 16, out));
    let mut resources = Vec::new();
    let mut add = |zip: &mut ZipWriter<_>, path: String, source: &mut dyn Read, from: &Path| -> Result<(), ZipOrIo> {
        zip.start_file(path.as_str(), options)?;
        let mut sink = Hashing { inner: &mut *zip, hash: Sha256::new(), bytes: 0 };
        io::copy(source, &mut sink).map_err(|e| ZipOrIo::Io(from.to_owned(), e))?;
        let name = path.rsplit('/').next().unwrap_or(&path).to_lowercase();
        resources.push(Resource { name, path, hash: format!("sha256:{:x}", sink.hash.finalize()), bytes: sink.bytes });
        Ok(())
    };
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut f = File::open(file).map_err(|e| ZipOrIo::Io(file.clone(), e))?;
        add(&mut zip, format!("archive/{name}"), &mut f, file)?;
    }
    let index_bytes: Vec<u8> = index.concat().into_bytes();
    add(&mut zip, "indexes/index.cdxj".into(), &mut &index_bytes[..], dir)?;
    add(&mut zip, "pages/pages.jsonl".into(), &mut &pages[..], dir)?;

    let seeds = manifest["seeds"].as_array();
    let first_seed = seeds.and_then(|s| s.first()).and_then(|s| s.as_str()).map(str::to_owned);
    let title = match (&first_seed, seeds.map_or(0, Vec::len)) {
        (Some(seed), 1) => format!("crawld crawl of {seed}"),
        (Some(seed), n) => format!("crawld crawl of {seed} and {} more seeds", n - 1),
        (None, _) => format!("crawld crawl {}", dir.display()),
    };
    let package = DataPackage {
        profile: "data-package",
        resources,
        title,
        main_page_url: first_seed,
        created: format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        ),
        wacz_version: WACZ_VERSION,
        software: format!("crawld {}", env!("CARGO_PKG_VERSION")),
    };
    let package = serde_json::to_vec_pretty(&package).map_err(|e| ZipOrIo::Io(dir.to_owned(), e.into()))?;
    zip.start_file("datapackage.json", options)?;
    zip.write_all(&package).map_err(|e| ZipOrIo::Io(dir.to_owned(), e))?;
    let digest =
        serde_json::json!({ "path": "datapackage.json", "hash": format!("sha256:{:x}", Sha256::digest(&package)) });
    zip.start_file("datapackage-digest.json", options)?;
    zip.write_all(digest.to_string().as_bytes()).map_err(|e| ZipOrIo::Io(dir.to_owned(), e))?;
    let out = zip.finish()?;
    let file = out.into_inner().map_err(|e| ZipOrIo::Io(dir.to_owned(), e.into_error()))?;
    file.sync_all().map_err(|e| ZipOrIo::Io(dir.to_owned(), e))
}

/// The WACZ page list: a header line, then one line per page worth opening; and how many pages.
fn pages_jsonl(lines: &Lines) -> Result<(Vec<u8>, u64), Error> {
    #[derive(Serialize)]
    struct Page<'a> {
        id: String,
        url: &'a str,
        ts: &'a str,
        title: &'a str,
    }
    let mut html = Vec::new();
    let mut other = Vec::new();
    let (mut n_html, mut n_other) = (0u64, 0u64);
    lines.for_each(|line, _| {
        if line.warc.is_none() || !line.status.is_some_and(|s| (200..300).contains(&s)) {
            return Flow::Continue;
        }
        let is_html = report::mime_of(line.content_type.as_deref()) == "text/html";
        let page = Page {
            id: format!("{:032x}", xxhash_rust::xxh3::xxh3_128(line.url.as_bytes())),
            url: &line.url,
            ts: &line.fetched_at,
            title: &line.url,
        };
        let (buf, n) = if is_html { (&mut html, &mut n_html) } else { (&mut other, &mut n_other) };
        if serde_json::to_writer(&mut *buf, &page).is_ok() {
            buf.push(b'\n');
            *n += 1;
        }
        Flow::Continue
    })?;
    let mut out = br#"{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}"#.to_vec();
    out.push(b'\n');
    let n = if n_html > 0 {
        out.extend_from_slice(&html);
        n_html
    } else {
        out.extend_from_slice(&other);
        n_other
    };
    Ok((out, n))
}
