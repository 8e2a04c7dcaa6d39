#!/usr/bin/env python3
"""Reference BFS for the crawl benchmark: which HTML pages of a static site are reachable from the seed.

Walks the docroot on disk, not over HTTP, so it depends on no crawler and no server. Starting from the
seed URL it follows what a browser-ish crawler follows:

  <a href>, <area href>, <link href>, <iframe src>, <frame src>, <meta http-equiv=refresh content="N; url=...">

resolved against the page URL or the page's first usable <base href>, same scheme/host/port only,
fragments stripped. A URL is mapped to a file the way the bench's nginx serves it: the path is
percent-decoded, the query ignored, "/dir/" means "/dir/index.html", and "/dir" (a directory) is a 301
to "/dir/". Only files that nginx sends as text/html (.html, .htm, .shtml) are parsed and counted.

Normalization (the same one scripts/bench/report.py applies to nginx's log, whose $uri nginx has already
normalized this way): a page is identified by its path, fully percent-decoded (unreserved and reserved
characters alike, since a static server maps both to the same file), dot segments resolved, runs of "/"
merged, no query, no fragment, "/dir/" replaced by the index file it serves ("/dir/index.html").

Usage: refbfs.py DOCROOT SEED_URL OUTDIR
Writes to OUTDIR: ref-paths.txt (the canonical paths, sorted), ref-files.txt (the same pages as file
paths relative to DOCROOT, for the extractor bench) and ref-urls.txt (percent-encoded request paths, for wrk).
"""
import os
import re
import sys
from collections import deque
from html.parser import HTMLParser
from urllib.parse import quote, unquote, urljoin, urlsplit

HTML_SUFFIXES = (".html", ".htm", ".shtml")
IGNORED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:")
REFRESH_URL = re.compile(r"^\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(.*)$", re.IGNORECASE | re.DOTALL)


class LinkParser(HTMLParser):
    """Collects raw link values and the first <base href> of one document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in reversed(attrs) if v is not None}  # first occurrence of an attribute wins
        if tag == "base" and self.base is None and "href" in a:
            self.base = a["href"]
        elif tag in ("a", "area", "link") and "href" in a:
            self.links.append(a["href"])
        elif tag in ("iframe", "frame") and "src" in a:
            self.links.append(a["src"])
        elif tag == "meta" and a.get("http-equiv", "").strip().lower() == "refresh" and "content" in a:
            m = REFRESH_URL.match(a["content"])
            value = m.group(1).strip() if m else ""
            if value[:1] in ("'", '"'):
                value = value[1:].split(value[0], 1)[0]
            if value:
                self.links.append(value)

    handle_startendtag = handle_starttag


def canonical_path(url_path: str) -> str:
    """Percent-decoded path with "//" runs merged (dot segments are already resolved by urljoin)."""
    return re.sub(r"/{2,}", "/", unquote(url_path, errors="surrogateescape")) or "/"


def main() -> None:
    docroot, seed, outdir = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3]
    origin = urlsplit(seed)
    site = (origin.scheme, origin.netloc.lower())
    seen_paths: set[str] = set()  # canonical paths ever queued (pages or not)
    pages: dict[str, str] = {}  # canonical path of an HTML page -> file path relative to docroot
    queue: deque[str] = deque()

    def enqueue(url: str) -> None:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc.lower()) != site:
            return
        path = canonical_path(parts.path)
        if path not in seen_paths:
            seen_paths.add(path)
            queue.append(path)

    enqueue(seed)
    while queue:
        path = queue.popleft()
        fs_path = os.path.join(docroot, path.lstrip("/"))
        if os.path.isdir(fs_path):
            if not path.endswith("/"):  # nginx answers 301 to "path/"
                enqueue(f"{site[0]}://{site[1]}{quote(path + '/', safe='/')}")
                continue
            fs_path = os.path.join(fs_path, "index.html")
            path += "index.html"
            if path in seen_paths:
                continue
            seen_paths.add(path)
        if not path.endswith(HTML_SUFFIXES) or not os.path.isfile(fs_path):
            continue
        pages[path] = os.path.relpath(fs_path, docroot)
        page_url = f"{site[0]}://{site[1]}{quote(path, safe='/')}"
        parser = LinkParser()
        with open(fs_path, "rb") as f:
            parser.feed(f.read().decode("utf-8", errors="replace"))
        parser.close()
        base = page_url
        if parser.base is not None:
            candidate = urljoin(page_url, parser.base.strip())
            if urlsplit(candidate).scheme in ("http", "https"):
                base = candidate
        for raw in parser.links:
            value = raw.strip()
            if not value or value.lower().startswith(IGNORED_SCHEMES):
                continue
            enqueue(urljoin(base, value).split("#", 1)[0])

    os.makedirs(outdir, exist_ok=True)
    ordered = sorted(pages)
    with open(os.path.join(outdir, "ref-paths.txt"), "w", errors="surrogateescape") as f:
        f.writelines(p + "\n" for p in ordered)
    with open(os.path.join(outdir, "ref-files.txt"), "w", errors="surrogateescape") as f:
        f.writelines(pages[p] + "\n" for p in ordered)
    with open(os.path.join(outdir, "ref-urls.txt"), "w") as f:
        f.writelines(quote(p, safe="/", errors="surrogateescape") + "\n" for p in ordered)
    print(f"reference BFS: {len(pages)} HTML pages reachable from {seed}")


if __name__ == "__main__":
    main()
