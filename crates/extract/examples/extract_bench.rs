//! Throughput of link extraction over pages on disk: the CPU bound of a crawl of those pages.
//!
//! Usage: `cargo run --release -p crawld-extract --example extract_bench -- ROOT BASE_URL [LIST]`
//!
//! Reads every `.html`/`.htm` file under ROOT (or, with LIST, the files named one per line in LIST,
//! relative to ROOT) into memory, then times `decode_html` + `extract_links` (no link cap) on each,
//! with the page URL BASE_URL + relative path. Prints one line of `key=value` pairs:
//! bytes, pages, seconds, mb_per_s, pages_per_s, links.

use std::path::{Path, PathBuf};
use std::time::Instant;
use std::{env, fs, io, process};

use crawld_extract::{decode_html, extract_links};
use url::Url;

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    if args.len() < 2 || args.len() > 3 {
        eprintln!("usage: extract_bench ROOT BASE_URL [LIST]");
        process::exit(2);
    }
    if let Err(err) = run(Path::new(&args[0]), &args[1], args.get(2).map(Path::new)) {
        eprintln!("extract_bench: {err}");
        process::exit(1);
    }
}

fn run(root: &Path, base: &str, list: Option<&Path>) -> Result<(), Box<dyn std::error::Error>> {
    let base = Url::parse(base)?;
    let files = match list {
        Some(list) => fs::read_to_string(list)?.lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect(),
        None => {
            let mut files = Vec::new();
            walk(root, Path::new(""), &mut files)?;
            files
        }
    };
    let mut pages = Vec::with_capacity(files.len());
    for rel in files {
        let url = base.join(&rel.to_string_lossy())?;
        pages.push((url, fs::read(root.join(&rel))?));
    }

    let bytes: usize = pages.iter().map(|(_, body)| body.len()).sum();
    let start = Instant::now();
    let mut links = 0;
    for (url, body) in &pages {
        let html = decode_html(body, Some("text/html"));
        links += extract_links(url, &html, usize::MAX).links.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let (mb, n) = (bytes as f64 / 1e6, pages.len() as f64);
    println!(
        "bytes={bytes} pages={} seconds={secs:.3} mb_per_s={:.1} pages_per_s={:.0} links={links}",
        pages.len(),
        mb / secs,
        n / secs
    );
    Ok(())
}

/// Paths (relative to `root`) of the HTML files under `root.join(rel)`, following symlinks.
fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(root.join(rel))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let rel = rel.join(entry.file_name());
        let path = root.join(&rel);
        if path.is_dir() {
            walk(root, &rel, out)?;
        } else if path.extension().is_some_and(|e| e == "html" || e == "htm") {
            out.push(rel);
        }
    }
    Ok(())
}
