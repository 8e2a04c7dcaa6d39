#!/usr/bin/env python3
"""Generate a static site for crawl benchmarks: N pages of about 4 KB, 10 links each.

Page i links to its five children in a 5-ary tree (so every page is reachable, depth ~log5 N) and to
five pseudo-random pages (so most links are already known: the dedup path gets exercised).
Usage: gen-site.py DIR PAGES
"""
import os
import random
import sys


def main() -> None:
    out, pages = sys.argv[1], int(sys.argv[2])
    rng = random.Random(42)
    os.makedirs(os.path.join(out, "p"), exist_ok=True)
    filler = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 40)[:3000]
    for i in range(pages):
        links = [c for c in range(5 * i + 1, 5 * i + 6) if c < pages]
        links += [rng.randrange(pages) for _ in range(10 - len(links))]
        items = "\n".join(f'<li><a href="/p/{j}.html">page {j}</a></li>' for j in links)
        html = (
            f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Page {i}</title></head>"
            f"<body><h1>Page {i}</h1><p>{filler}</p><ul>\n{items}\n</ul></body></html>\n"
        )
        with open(os.path.join(out, "p", f"{i}.html"), "w") as f:
            f.write(html)
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write('<!doctype html><html><body><a href="/p/0.html">start</a></body></html>\n')


if __name__ == "__main__":
    main()
