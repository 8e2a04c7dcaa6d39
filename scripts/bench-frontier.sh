#!/usr/bin/env bash
# Frontier benchmark: a crawl whose queue grows to millions of URLs, its memory and speed over time, and
# how long a resume of it takes after kill -9.
#
#   scripts/bench-frontier.sh            queue to 10 million URLs, then kill -9 and time the resume
#   scripts/bench-frontier.sh compare    also: pages/s on the 100k-page generated site, this crawld
#                                        against the in-memory frontier it replaced (BASELINE_REV), in one
#                                        interleaved run of scripts/bench.sh scale
#
# Environment: TARGET_QUEUED=10000000  TARGET_PAGES= (stop at this many pages recorded instead)
#   LINKS=40 (links per page)  PAGES_N=100000000 (the farm's size)
#   MAX_SECONDS=1200  BENCH_DIR=/tmp/crawld-bench-frontier  BENCH_PORT=8700  CONCURRENCY=32
#   BASELINE_REV=b2f1ec9 (the last commit with the in-memory frontier)  COMPARE_ROUNDS=3
#
# The server is crates/crawld/examples/linkfarm.rs on 127.0.0.1: page I links to LINKS pseudo-random pages
# of PAGES_N, generated on the fly, so nearly every link is new. Everything stays on loopback; every loop
# is bounded by MAX_SECONDS. Prints a table every 10 s: elapsed, pages recorded, pages/s over the last
# interval, URLs queued, RSS; then the peak RSS and the resume figures: a resume from the frontier's
# snapshot (state/frontier.snapshot, taken every output.snapshot_after URLs), killed once it is under
# way, then a resume of the same directory with the snapshot removed (a replay of the whole journal and
# pages.jsonl), for the comparison. For a crawl with a million pages recorded and several million queued:
#   TARGET_PAGES=1000000 LINKS=5 scripts/bench-frontier.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/crawld-bench-frontier}
PORT=${BENCH_PORT:-8700}
TARGET_QUEUED=${TARGET_QUEUED:-10000000}
TARGET_PAGES=${TARGET_PAGES:-0}
LINKS=${LINKS:-40}
PAGES_N=${PAGES_N:-100000000}
MAX_SECONDS=${MAX_SECONDS:-1200}
CONCURRENCY=${CONCURRENCY:-32}
BASELINE_REV=${BASELINE_REV:-b2f1ec9}
CRAWLD="$ROOT/target/release/crawld"
FARM="$ROOT/target/release/examples/linkfarm"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

rss_mb() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_mb() { awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }
stat_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))" "$WORK/out/stats.json" "$1" 2>/dev/null || echo 0; }

compare() {
  log "building the baseline crawld at $BASELINE_REV (the in-memory frontier)"
  local tree="$WORK/baseline-src"
  rm -rf "$tree"
  git -C "$ROOT" worktree prune
  git -C "$ROOT" worktree add --detach "$tree" "$BASELINE_REV" > /dev/null
  # Its own target dir under WORK: the dependencies are compiled once and kept between runs.
  (cd "$tree" && CARGO_TARGET_DIR="$WORK/baseline-target" cargo build --release -p crawld)
  cp "$WORK/baseline-target/release/crawld" "$WORK/crawld-before"
  git -C "$ROOT" worktree remove --force "$tree"
  SCALE_SIZES=100000 SCALE_ROUNDS=${COMPARE_ROUNDS:-3} CRAWLERS="crawld crawld-before" \
    CRAWLD_BEFORE="$WORK/crawld-before" "$ROOT/scripts/bench.sh" scale
}

mkdir -p "$WORK"
if [ "${1:-}" = compare ]; then
  compare
fi

log "building crawld and the link farm"
(cd "$ROOT" && cargo build --release -p crawld --bin crawld --example linkfarm)

"$FARM" "$PORT" "$PAGES_N" "$LINKS" 2> "$WORK/farm.log" &
PIDS+=($!)
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$PORT/" > /dev/null && break
  sleep 0.1
done

rm -rf "$WORK/out"
{
  echo "# Written by scripts/bench-frontier.sh"
  echo "seeds = [\"http://127.0.0.1:$PORT/\"]"
  echo "out = \"$WORK/out\""
  echo "[crawl]"
  echo "concurrency = $CONCURRENCY"
  echo "[politeness]"
  echo "per_host_concurrency = $CONCURRENCY"
  echo 'delay = "0s"'
  echo 'respect_robots = false'
  echo "[output]"
  echo 'progress_interval = "2s"'
  if grep -q '^ *#* *allow_private_networks' "$ROOT/config/crawld.toml"; then
    echo '[fetch]'
    echo 'allow_private_networks = true'
  fi
} > "$WORK/crawld.toml"

log "crawling until $TARGET_QUEUED URLs are queued (at most ${MAX_SECONDS}s)"
"$CRAWLD" run --config "$WORK/crawld.toml" 2> "$WORK/crawl.log" > /dev/null &
CRAWL=$!
PIDS+=("$CRAWL")
start=$(date +%s.%N)
printf '| seconds | pages | pages/s | queued | RSS MB |\n|---|---|---|---|---|\n'
last_pages=0
last_t=$start
queued=0
while kill -0 "$CRAWL" 2>/dev/null; do
  sleep 10
  now=$(date +%s.%N)
  pages=$(stat_of pages)
  queued=$(stat_of queued)
  rate=$(python3 -c "print(f'{($pages - $last_pages) / ($now - $last_t):.0f}')")
  printf '| %.0f | %s | %s | %s | %s |\n' "$(python3 -c "print($now - $start)")" "$pages" "$rate" "$queued" "$(rss_mb "$CRAWL")"
  last_pages=$pages
  last_t=$now
  if [ "$queued" -ge "$TARGET_QUEUED" ] || { [ "$TARGET_PAGES" -gt 0 ] && [ "$pages" -ge "$TARGET_PAGES" ]; } || python3 -c "import sys; sys.exit(0 if $now - $start > $MAX_SECONDS else 1)"; then
    break
  fi
done
peak=$(hwm_mb "$CRAWL")
kill -KILL "$CRAWL" 2>/dev/null || true
wait "$CRAWL" 2>/dev/null || true
recorded=$(grep -c '' "$WORK/out/pages.jsonl" || true)
journal=$(du -m "$WORK/out/state/frontier.journal" | cut -f1)
echo
echo "Peak RSS ${peak} MB with $queued URLs queued and $recorded pages recorded (then kill -9)."
echo "Journal: ${journal} MB."

snapshot=$(du -m "$WORK/out/state/frontier.snapshot" 2>/dev/null | cut -f1 || echo none)
echo "Snapshot: ${snapshot} MB."

# Resume the crawl in $WORK/out and time it: to the "resuming the crawl" line (the state rebuilt), and to
# the first new page; $1 says whether to let it run on (then stopped with SIGTERM) or to kill it at once.
resume() {
  local log="$WORK/resume-$2.log"
  t0=$(date +%s.%N)
  "$CRAWLD" run --config "$WORK/crawld.toml" 2> "$log" > /dev/null &
  RESUME=$!
  PIDS+=("$RESUME")
  deadline=$(( $(date +%s) + MAX_SECONDS ))
  until grep -q 'resuming the crawl' "$log"; do
    kill -0 "$RESUME" 2>/dev/null || { cat "$log" >&2; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "bench: resume took longer than ${MAX_SECONDS}s" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(date +%s.%N)
  local lines
  lines=$(grep -c '' "$WORK/out/pages.jsonl")
  until [ "$(grep -c '' "$WORK/out/pages.jsonl")" -gt "$lines" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || break
    sleep 0.05
  done
  t2=$(date +%s.%N)
  resume_rss=$(rss_mb "$RESUME")
  if [ "$1" = kill ]; then
    kill -KILL "$RESUME" 2>/dev/null || true
  else
    sleep 5
    resume_rss=$(rss_mb "$RESUME")
    kill -TERM "$RESUME" 2>/dev/null || true
  fi
  wait "$RESUME" 2>/dev/null || true
  grep -m1 'resuming the crawl' "$log" | sed 's/^.*resuming/resuming/' >&2
  printf 'Resume (%s): state rebuilt in %.1f s, first new page recorded %.1f s after the start; RSS %s MB.\n' \
    "$2" "$(python3 -c "print($t1 - $t0)")" "$(python3 -c "print($t2 - $t0)")" "$resume_rss"
}

log "resuming after kill -9, from the frontier's snapshot"
resume kill snapshot
log "resuming again, the snapshot removed: the whole journal and pages.jsonl are read"
rm -f "$WORK/out/state/frontier.snapshot"
resume run full-replay
