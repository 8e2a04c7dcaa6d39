#!/usr/bin/env python3
"""Write a synthetic crawl output directory: N pages.jsonl lines shaped like crawld's, over many hosts.

    scripts/gen-pages.py OUT [N]      (N defaults to 1,000,000)

For measuring `crawld inspect` on a big crawl without running one (README, Performance).
"""
import json
import os
import random
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
os.makedirs(out, exist_ok=True)
rng = random.Random(8)
types = ["text/html; charset=utf-8"] * 8 + ["text/plain", "application/pdf", "image/png", None]
start = 1_795_000_000.0
with open(os.path.join(out, "pages.jsonl"), "w") as f:
    for i in range(n):
        host = f"host{rng.randrange(500)}.example.org"
        depth = min(int(rng.expovariate(0.7)), 12)
        status = rng.choices([200, 301, 404, 500, None], [90, 4, 3, 1, 2])[0]
        size = int(rng.lognormvariate(9, 1.2)) if status else 0
        t = start + i / 2000.0
        line = {
            "url": f"https://{host}/section/{rng.randrange(10**6)}/page-{i}.html",
            "depth": depth,
            "parent": None if depth == 0 else f"https://{host}/section/{rng.randrange(10**6)}/index.html",
            "status": status,
            "content_type": rng.choice(types) if status else None,
            "bytes": size,
            "stored_bytes": size,
            "fetched_at": f"{__import__('time').strftime('%Y-%m-%dT%H:%M:%S', __import__('time').gmtime(t))}.{int(t * 1000) % 1000:03d}Z",
            "elapsed_ms": round(rng.lognormvariate(3, 1), 3),
            "links": rng.randrange(60),
            "attempts": 1 if rng.random() < 0.97 else 2,
        }
        if status is not None:
            line["ttfb_ms"] = round(line["elapsed_ms"] / 2, 3)
        if status == 301:
            line["redirect"] = line["url"] + "/"
        if status is None:
            line["error"] = rng.choice(["timed out", "connection refused", "disallowed by robots.txt"])
        else:
            line["warc"] = {"file": "crawld-20261122000000-00000.warc.gz", "offset": i * 3000, "length": 2900}
        f.write(json.dumps(line, separators=(",", ":")) + "\n")
