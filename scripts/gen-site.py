#!/usr/bin/env python3
"""Generate a static site for crawl benchmarks.

Usage: gen-site.py DIR PAGES [small|docs]

small (the default): PAGES pages of about 4 KB with 10 links each, all in /p/. Page i links to its five
  children in a 5-ary tree (so every page is reachable, depth ~log5 N) and to five pseudo-random pages
  (so most links are already known: the dedup path gets exercised). Seed: /index.html.

docs: about PAGES pages shaped like generated API documentation (javadoc): a tree of modules, packages,
  class pages and class-use pages, linked with relative URLs ("../../m3/p17/C5.html", "class-use/C5.html",
  some with #fragments). Every page carries the same navigation bar (about 30 links to the global
  indexes), a stylesheet <link>, a <script src> and an <img src>. Pages range from 5 KB to several MB
  (log-normal sizes, a few pages of 1-4 MB) and from about 30 to PAGES links: index-all.html links every
  class, class-use and package page. Seed: /index.html. Every HTML page is reachable from it.
"""
import math
import os
import random
import sys

FILLER = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. " * 60_000)[:4_500_000]


def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def small(out: str, pages: int) -> None:
    rng = random.Random(42)
    os.makedirs(os.path.join(out, "p"), exist_ok=True)
    filler = FILLER[:3000]
    for i in range(pages):
        links = [c for c in range(5 * i + 1, 5 * i + 6) if c < pages]
        links += [rng.randrange(pages) for _ in range(10 - len(links))]
        items = "\n".join(f'<li><a href="/p/{j}.html">page {j}</a></li>' for j in links)
        write(
            os.path.join(out, "p", f"{i}.html"),
            f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Page {i}</title></head>"
            f"<body><h1>Page {i}</h1><p>{filler}</p><ul>\n{items}\n</ul></body></html>\n",
        )
    write(os.path.join(out, "index.html"), '<!doctype html><html><body><a href="/p/0.html">start</a></body></html>\n')


def docs(out: str, pages: int) -> None:
    rng = random.Random(42)
    n_classes = max(10, (pages - 40) // 2)
    n_packages = max(1, n_classes // 40)
    n_modules = max(1, n_packages // 10)
    # class c lives in package c % n_packages; package p in module p % n_modules
    pkg_dir = [f"m{p % n_modules}/p{p}" for p in range(n_packages)]
    cls_pkg = [c % n_packages for c in range(n_classes)]

    def page(title: str, up: str, body: str) -> str:
        """A page `up` levels below the root ("../../"), with the shared navigation bar."""
        nav = "".join(f'<li><a href="{up}index-files/index-{k}.html">{chr(64 + k)}</a></li>' for k in range(1, 27))
        return (
            f'<!DOCTYPE HTML>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>\n'
            f'<link rel="stylesheet" type="text/css" href="{up}stylesheet.css">\n'
            f'<script type="text/javascript" src="{up}script.js"></script></head><body>\n'
            f'<header><nav><img src="{up}logo.png" alt="logo"><ul>'
            f'<li><a href="{up}index.html">Overview</a></li><li><a href="{up}allclasses-index.html">Classes</a></li>'
            f'<li><a href="{up}index-all.html">Index</a></li><li><a href="{up}help.html#search">Help</a></li>'
            f"{nav}</ul></nav></header>\n<main><h1>{title}</h1>\n{body}\n</main></body></html>\n"
        )

    def filler() -> str:
        size = max(3000, int(rng.lognormvariate(math.log(8000), 1.0)))
        if rng.random() < 0.002:
            size = rng.randrange(1_000_000, 4_000_000)
        return f"<div class=\"block\">{FILLER[:min(size, len(FILLER))]}</div>"

    def cls_href(c: int, from_pkg: int | None) -> str:
        """Link to class c from a page two levels down (a package dir), or from the root when from_pkg is None."""
        if from_pkg is not None and cls_pkg[c] == from_pkg:
            return f"C{c}.html"
        return f"{'../../' if from_pkg is not None else ''}{pkg_dir[cls_pkg[c]]}/C{c}.html"

    for d in pkg_dir:
        os.makedirs(os.path.join(out, d, "class-use"), exist_ok=True)
    os.makedirs(os.path.join(out, "index-files"), exist_ok=True)
    write(os.path.join(out, "stylesheet.css"), "body { font-family: sans-serif; }\n" * 200)
    write(os.path.join(out, "script.js"), "function loadScripts() { return 0; }\n" * 300)
    write(os.path.join(out, "logo.png"), "\x89PNG\r\n\x1a\n" + "\0" * 2000)

    members = {p: [] for p in range(n_packages)}
    for c in range(n_classes):
        members[cls_pkg[c]].append(c)
    for c in range(n_classes):
        p = cls_pkg[c]
        refs = [rng.randrange(n_classes) for _ in range(int(min(300, rng.lognormvariate(math.log(20), 0.8))))]
        items = "\n".join(
            f'<li><a href="{cls_href(r, p)}{"#method-summary" if r % 3 == 0 else ""}">C{r}</a></li>' for r in refs
        )
        body = (
            f'<p>In <a href="package-summary.html">package p{p}</a>. '
            f'<a href="class-use/C{c}.html">Uses of C{c}</a></p>\n<ul>{items}</ul>\n{filler()}'
        )
        write(os.path.join(out, pkg_dir[p], f"C{c}.html"), page(f"Class C{c}", "../../", body))
        users = [rng.randrange(n_classes) for _ in range(int(min(2000, rng.lognormvariate(math.log(15), 1.2))))]
        items = "\n".join(f'<li><a href="../{cls_href(u, p)}">C{u}</a></li>' for u in users)
        body = f'<p>Uses of <a href="../C{c}.html#class-description">C{c}</a></p>\n<ul>{items}</ul>\n{filler()}'
        write(os.path.join(out, pkg_dir[p], "class-use", f"C{c}.html"), page(f"Uses of C{c}", "../../../", body))
    for p in range(n_packages):
        items = "\n".join(f'<li><a href="C{c}.html">C{c}</a> {FILLER[:200]}</li>' for c in members[p])
        body = f'<p>Module <a href="../module-summary.html">m{p % n_modules}</a></p><ul>{items}</ul>'
        write(os.path.join(out, pkg_dir[p], "package-summary.html"), page(f"Package p{p}", "../../", body))
    for m in range(n_modules):
        items = "\n".join(
            f'<li><a href="p{p}/package-summary.html">p{p}</a></li>' for p in range(m, n_packages, n_modules)
        )
        os.makedirs(os.path.join(out, f"m{m}"), exist_ok=True)
        write(os.path.join(out, f"m{m}", "module-summary.html"), page(f"Module m{m}", "../", f"<ul>{items}</ul>"))
    items = "\n".join(f'<li><a href="m{m}/module-summary.html">m{m}</a></li>' for m in range(n_modules))
    write(os.path.join(out, "index.html"), page("Overview", "", f"<ul>{items}</ul>"))
    write(os.path.join(out, "help.html"), page("Help", "", f'<h2 id="search">Search</h2>{FILLER[:5000]}'))
    items = "\n".join(f'<tr><td><a href="{cls_href(c, None)}">C{c}</a></td><td>{FILLER[:120]}</td></tr>'
                      for c in range(n_classes))
    write(os.path.join(out, "allclasses-index.html"), page("All Classes", "", f"<table>{items}</table>"))
    entries = [f'<dt><a href="{cls_href(c, None)}">C{c}</a></dt>' for c in range(n_classes)]
    entries += [f'<dt><a href="{pkg_dir[cls_pkg[c]]}/class-use/C{c}.html">Uses of C{c}</a></dt>' for c in range(n_classes)]
    entries += [f'<dt><a href="{d}/package-summary.html">{d}</a></dt>' for d in pkg_dir]
    write(os.path.join(out, "index-all.html"), page("Index", "", "<dl>" + "\n".join(entries) + "</dl>"))
    for k in range(1, 27):
        items = "\n".join(
            f'<dt><a href="../{cls_href(c, None)}">C{c}</a></dt><dd>{FILLER[:300]}</dd>'
            for c in range(k - 1, n_classes, 26)
        )
        write(os.path.join(out, "index-files", f"index-{k}.html"), page(f"Index {chr(64 + k)}", "../", f"<dl>{items}</dl>"))


def main() -> None:
    out, pages = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "small"
    os.makedirs(out, exist_ok=True)
    {"small": small, "docs": docs}[mode](out, pages)


if __name__ == "__main__":
    main()
