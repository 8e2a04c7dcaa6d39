#!/usr/bin/env python3
"""Markdown report of a scripts/bench.sh run.

Usage: report.py WORK MODE ROUNDS SITES_FILE CRAWLER...
Reads WORK/runs/SITE/ (runs-scale/ in the scale mode) CRAWLER.ROUND.{pages,time,rc} (pages: the distinct paths nginx answered 200
text/html to a GET; time: GNU time -v), WORK/runs/SITE/{wrk,extract}.ROUND (the bounds) and
WORK/ref/SITE/ref-paths.txt (the reference BFS). Writes the pages each crawler missed to WORK/missed/
(missed-scale/).
"""
import os
import re
import statistics
import sys
from dataclasses import dataclass

RUNS, MISSED = "runs", "missed"  # runs-scale, missed-scale in the scale mode


@dataclass
class Run:
    pages: set[str]
    found: int  # reference pages among `pages`
    wall: float
    cpu: float
    rss_mb: float
    rc: int

    @property
    def pps(self) -> float:
        return len(self.pages) / self.wall if self.wall else 0.0

    @property
    def cpu_per_page(self) -> float:
        return self.cpu / len(self.pages) if self.pages else float("inf")


def read_lines(path: str) -> list[str]:
    with open(path, errors="surrogateescape") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def parse_time(path: str) -> tuple[float, float, float]:
    """Wall seconds, user+sys seconds, peak RSS in MB from `/usr/bin/time -v` output."""
    text = open(path).read()

    def field(name: str) -> str:
        m = re.search(rf"{re.escape(name)}[^:]*(?:\([^)]*\))?: (\S+)", text)
        return m.group(1) if m else "0"

    wall = 0.0
    for part in field("Elapsed (wall clock) time").split(":"):
        wall = wall * 60 + float(part)
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return wall, cpu, float(field("Maximum resident set size (kbytes)")) / 1024


def load_run(work: str, site: str, crawler: str, rnd: int, ref: set[str]) -> Run | None:
    base = os.path.join(work, RUNS, site, f"{crawler}.{rnd}")
    if not os.path.exists(base + ".time"):
        return None
    pages = set(read_lines(base + ".pages"))
    wall, cpu, rss = parse_time(base + ".time")
    rc = int(open(base + ".rc").read().strip() or 0)
    return Run(pages, len(pages & ref), wall, cpu, rss, rc)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def coverage(runs: list[Run], ref: set[str]) -> float:
    """The worst round's coverage, in percent."""
    return min(r.found for r in runs) / len(ref) * 100 if ref else 0.0


def speed_cell(runs: list[Run], ref: set[str]) -> str:
    cov = coverage(runs, ref)
    if cov < 100:
        return f"FAIL (coverage {cov:.1f}%)" if cov >= 99.95 else f"FAIL (coverage {cov:.3g}%)"
    return fmt_int(median([r.pps for r in runs]))


def write_missed(work: str, site: str, crawler: str, runs: dict[int, Run], ref: set[str]) -> str | None:
    lines = []
    for rnd, run in sorted(runs.items()):
        missed = sorted(ref - run.pages)
        extra = sorted(run.pages - ref)
        if not missed and not extra:
            continue
        lines.append(f"# round {rnd}: {len(missed)} reference pages missed, {len(extra)} pages not in the reference")
        lines += [f"missed {p}" for p in missed[:200]]
        lines += [f"extra {p}" for p in extra[:50]]
    if not lines:
        return None
    path = os.path.join(work, MISSED, f"{site}.{crawler}.txt")
    with open(path, "w", errors="surrogateescape") as f:
        f.write("\n".join(lines) + "\n")
    return path


def bench_report(work: str, rounds: int, sites: list[tuple[str, str, str]], crawlers: list[str]) -> None:
    summary = []
    details = []
    for site, docroot, seed in sites:
        ref = set(read_lines(os.path.join(work, "ref", site, "ref-paths.txt")))
        runs = {c: {} for c in crawlers}
        for c in crawlers:
            for rnd in range(1, rounds + 1):
                run = load_run(work, site, c, rnd, ref)
                if run is not None:
                    runs[c][rnd] = run
        out = [f"### {site}: {len(ref):,} reference pages (docroot {docroot}, seed {seed})", ""]
        out.append("| crawler | pages found | coverage | pages/s | CPU s / 1000 pages | peak RSS MB | wall s | exit codes |")
        out.append("|---|---|---|---|---|---|---|---|")
        cells = {}
        missed_files = []
        for c in crawlers:
            rs = list(runs[c].values())
            if not rs:
                continue
            cells[c] = (speed_cell(rs, ref), median([r.cpu_per_page * 1000 for r in rs]), median([r.rss_mb for r in rs]))
            out.append(
                f"| {c} | {fmt_int(median([len(r.pages) for r in rs]))} | {coverage(rs, ref):.2f}% | {cells[c][0]} "
                f"| {cells[c][1]:.2f} | {cells[c][2]:.0f} | {median([r.wall for r in rs]):.1f} "
                f"| {' '.join(str(r.rc) for r in rs)} |"
            )
            path = write_missed(work, site, c, runs[c], ref)
            if path:
                missed_files.append(f"{c}: {path}")
        out.append("")
        if runs.get("crawld") and len(crawlers) > 1:
            out.append("| crawld / peer (median of per-round ratios) | speed | CPU per page | peak RSS |")
            out.append("|---|---|---|---|")
            for c in crawlers:
                if c == "crawld":
                    continue
                pairs = [(a, runs[c][k]) for k, a in runs["crawld"].items() if k in runs[c]]
                if not pairs:
                    continue
                note = ""
                if coverage([a for a, _ in pairs], ref) < 100 or coverage([b for _, b in pairs], ref) < 100:
                    note = " (a side below 100% coverage)"
                speed = median([a.pps / b.pps for a, b in pairs if b.pps])
                cpu = median([a.cpu_per_page / b.cpu_per_page for a, b in pairs if b.pages])
                rss = median([a.rss_mb / b.rss_mb for a, b in pairs if b.rss_mb])
                out.append(f"| crawld / {c}{note} | ×{speed:.2f} | ×{cpu:.2f} | ×{rss:.2f} |")
            out.append("")
        if runs.get("crawld"):
            out += bounds_table(work, site, rounds, runs["crawld"])
        if missed_files:
            out.append("Missed / extra pages: " + "; ".join(missed_files))
            out.append("")
        details += out
        row = f"| {site} | {len(ref):,} |"
        for c in crawlers:
            speed, cpu, rss = cells.get(c, ("-", float("nan"), float("nan")))
            row += f" {speed}{' pages/s' if speed[0].isdigit() else ''}, {cpu:.2f} CPU s/1000, {rss:.0f} MB |"
        summary.append(row)
    print("## Summary (medians; pages/s is FAIL when a round missed reference pages)")
    print()
    print("| site | reference pages | " + " | ".join(crawlers) + " |")
    print("|---|---|" + "---|" * len(crawlers))
    print("\n".join(summary))
    print()
    print("\n".join(details))


def bounds_table(work: str, site: str, rounds: int, crawld_runs: dict[int, Run]) -> list[str]:
    wrk, mbs, eps = [], [], []
    for rnd in range(1, rounds + 1):
        try:
            m = re.search(r"Requests/sec:\s+([\d.]+)", open(os.path.join(work, RUNS, site, f"wrk.{rnd}")).read())
            if m:
                wrk.append(float(m.group(1)))
            text = open(os.path.join(work, RUNS, site, f"extract.{rnd}")).read()
            kv = dict(re.findall(r"(\w+)=([\d.]+)", text))
            if "mb_per_s" in kv:
                mbs.append(float(kv["mb_per_s"]))
                eps.append(float(kv["pages_per_s"]))
        except FileNotFoundError:
            continue
    if not wrk and not mbs:
        return []
    crawld_pps = median([r.pps for r in crawld_runs.values()])
    out = ["| bound (median of rounds) | rate | crawld pages/s as a fraction |", "|---|---|---|"]
    if wrk:
        out.append(f"| nginx GET rate over the reference URLs (wrk, 16 connections) | {fmt_int(median(wrk))} req/s "
                   f"| {crawld_pps / median(wrk):.2f} |")
    if mbs:
        out.append(f"| link extractor alone, 1 core (decode_html + extract_links) | {median(mbs):.0f} MB/s, "
                   f"{fmt_int(median(eps))} pages/s | {crawld_pps / median(eps):.2f} |")
    return out + [""]


def scale_report(work: str, rounds: int, sites: list[tuple[str, str, str]], crawlers: list[str]) -> None:
    print(f"## Scaling on the small-page site (4 KB pages, 10 links each), median of {rounds} round(s)")
    print()
    print("| pages | " + " | ".join(f"{c} pages/s | {c} peak RSS MB" for c in crawlers) + " | crawld / "
          + " | crawld / ".join(c for c in crawlers if c != "crawld") + " |")
    print("|---|" + "---|---|" * len(crawlers) + "---|" * (len(crawlers) - 1))
    for site, _, _ in sites:
        ref = set(read_lines(os.path.join(work, "ref", site, "ref-paths.txt")))
        runs = {c: {k: r for k in range(1, rounds + 1) if (r := load_run(work, site, c, k, ref))} for c in crawlers}
        row = f"| {int(site):,} |"
        for c in crawlers:
            rs = list(runs[c].values())
            row += f" {speed_cell(rs, ref) if rs else '-'} | {median([r.rss_mb for r in rs]):.0f} |"
            write_missed(work, site, c, runs[c], ref)
        for c in crawlers:
            if c == "crawld":
                continue
            pairs = [(a, runs[c][k]) for k, a in runs["crawld"].items() if k in runs[c] and runs[c][k].pps]
            row += (f" ×{median([a.pps / b.pps for a, b in pairs]):.2f} speed, "
                    f"×{median([a.rss_mb / b.rss_mb for a, b in pairs]):.2f} RSS |")
        print(row)
    print()


def main() -> None:
    work, mode, rounds, sites_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    crawlers = sys.argv[5:]
    if mode == "scale":
        global RUNS, MISSED
        RUNS, MISSED = "runs-scale", "missed-scale"
    sites = [tuple(line.split(" ", 2)) for line in read_lines(sites_file)]
    (scale_report if mode == "scale" else bench_report)(work, rounds, sites, crawlers)


if __name__ == "__main__":
    main()
