#!/usr/bin/env bash
# Crawl speed and memory of crawld against wget (and wget2 when installed) on one generated site,
# served by nginx on loopback. The crawlers run interleaved (A B A B ...) and the report gives medians
# and the median of per-round ratios, since timings on a shared machine vary between runs.
#
# Usage: scripts/bench.sh [PAGES=20000] [ROUNDS=3]
# Needs: nginx, wget, GNU time (/usr/bin/time); wget2 optional. A release build of crawld
# (cargo build --release -p crawld) is made if missing.
# Pages are counted the same way for every crawler: distinct URLs nginx answered 200 with text/html.
set -euo pipefail

PAGES=${1:-20000}
ROUNDS=${2:-3}
CONCURRENCY=16
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/crawld-bench}
PORT=${BENCH_PORT:-18080}
CRAWLD="$ROOT/target/release/crawld"

for tool in nginx wget /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx-light wget time)" >&2; exit 1; }
done
[ -x "$CRAWLD" ] || (cd "$ROOT" && cargo build --release -p crawld)

rm -rf "$WORK" && mkdir -p "$WORK"/{site,nginx,runs}
python3 "$ROOT/scripts/gen-site.py" "$WORK/site" "$PAGES"

cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  log_format bench '\$status \$sent_http_content_type \$uri';
  access_log $WORK/nginx/access.log bench;
  types { text/html html; }
  default_type application/octet-stream;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$PORT; root $WORK/site; index index.html; }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
NGINX_PID=$(cat "$WORK/nginx/nginx.pid")
trap 'kill "$NGINX_PID" 2>/dev/null || true' EXIT
URL="http://127.0.0.1:$PORT/"

cat > "$WORK/crawld.toml" <<CONF
seeds = ["$URL"]
[crawl]
concurrency = $CONCURRENCY
[politeness]
per_host_concurrency = $CONCURRENCY
delay = "0s"
CONF

# run NAME COMMAND...: time one crawl; prints "pages seconds rss_kb" and appends to runs/NAME.
run() {
  local name=$1; shift
  local out="$WORK/runs/$name-out"
  rm -rf "$out"; : > "$WORK/nginx/access.log"
  /usr/bin/time -f "%e %M" -o "$WORK/runs/time" timeout 600 "$@" >/dev/null 2>"$WORK/runs/$name.log" || true
  local pages
  pages=$(awk '$1 == 200 && $2 ~ /text\/html/ { print $3 }' "$WORK/nginx/access.log" | sort -u | wc -l)
  read -r secs rss < "$WORK/runs/time"
  echo "$pages $secs $rss" | tee -a "$WORK/runs/$name"
  rm -rf "$out"
}

crawlers=(crawld wget)
command -v wget2 >/dev/null && crawlers+=(wget2)
for round in $(seq "$ROUNDS"); do
  for c in "${crawlers[@]}"; do
    printf 'round %s %-6s pages secs rss_kb: ' "$round" "$c"
    out="$WORK/runs/$c-out"
    case $c in
      crawld) run crawld env RUST_LOG=warn "$CRAWLD" run --config "$WORK/crawld.toml" --out "$out" ;;
      wget)   run wget wget -r -l inf -e robots=off -nv -P "$out" -o /dev/null "$URL" ;;
      wget2)  run wget2 wget2 -r -l 0 --robots=off --max-threads=$CONCURRENCY -nv -P "$out" -o /dev/null "$URL" ;;
    esac
  done
done

python3 - "$WORK/runs" "${crawlers[@]}" <<'PY'
import statistics, sys
runs_dir, names = sys.argv[1], sys.argv[2:]
data = {n: [tuple(map(float, l.split())) for l in open(f"{runs_dir}/{n}")] for n in names}
print(f"\n{'crawler':8} {'pages':>7} {'pages/s':>9} {'peak RSS MB':>12}   (medians of {len(data['crawld'])} rounds)")
for n in names:
    rows = data[n]
    print(f"{n:8} {statistics.median(r[0] for r in rows):7.0f} {statistics.median(r[0]/r[1] for r in rows):9.0f}"
          f" {statistics.median(r[2] for r in rows)/1024:12.1f}")
for n in names[1:]:
    speed = statistics.median((a[0]/a[1]) / (b[0]/b[1]) for a, b in zip(data['crawld'], data[n]))
    rss = statistics.median(a[2] / b[2] for a, b in zip(data['crawld'], data[n]))
    print(f"crawld / {n}: pages/s x{speed:.2f}, peak RSS x{rss:.2f}  (median of per-round ratios)")
PY
