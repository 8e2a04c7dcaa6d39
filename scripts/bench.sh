#!/usr/bin/env bash
# Crawl benchmark of crawld against its peers (wget2, spider-rs as a library, wget) on real and generated
# static sites served by nginx on loopback (issue 5: every page found, at the speed of the fastest peer,
# in less memory).
#
# Usage:
#   scripts/bench.sh [ROUNDS=3]     all sites, all crawlers, ROUNDS interleaved rounds
#   scripts/bench.sh scale          crawld and wget2 on the small-page site at 10k, 100k and 1M pages
#   scripts/bench.sh setup          only install, build, generate the sites and their references (the slow
#                                   part, e.g. the spider-rs peer's first build), then stop; SITES and
#                                   CRAWLERS choose what, as for a run
# Environment:
#   SITES="openjdk cppreference postgresql generated-docs small"   sites to crawl (any subset, in order)
#   CRAWLERS="crawld wget2 spider wget"   crawlers (crawld must stay in the list for the ratios); also
#                       crawld-before, an earlier build given as CRAWLD_BEFORE=path (scripts/bench-frontier.sh)
#   BENCH_DIR=/tmp/crawld-bench   work dir (sites, references, logs, report.md); kept between runs as a cache
#   CRAWL_TIMEOUT=900   seconds one crawl may take      WRK_SECONDS=10   length of the nginx GET-rate run
#   BOUNDS=1   0 skips the bounds (wrk and the extractor bench)
#   CRAWLD_MAX_LINKS=   crawld's scope.max_links_per_page; empty (the default): crawld's own default, so
#                that coverage is measured as a user gets it
#   DOCS_PAGES=10000  SMALL_PAGES=20000   sizes of the generated sites
#   SCALE_SIZES="10000 100000 1000000"  SCALE_ROUNDS=1   for the scale mode
#   BENCH_PORT=18080   first port; site number i is served on BENCH_PORT+i
#
# What it does. It installs what is missing (apt-get: nginx-light wget wget2 time wrk and the Debian
# documentation packages used as sites: openjdk-17-doc, cppreference-doc-en-html, postgresql-doc-15),
# builds crawld (target/release/crawld), the spider-rs peer (scripts/peers/spider, its own target dir) and
# the extractor bench (crates/extract/examples/extract_bench.rs) in release (cargo decides what is stale;
# the spider peer only if missing), generates the
# synthetic sites (scripts/gen-site.py) and serves every site with one bench-owned nginx on 127.0.0.1,
# one port per site, worker_processes 1 (the same for every crawler; the other core is the crawler's).
# Every crawl runs at concurrency 16, no delay, robots.txt off, unlimited depth, same host, under
# `timeout CRAWL_TIMEOUT` and GNU `/usr/bin/time -v`, after every site's files were read once (a warm
# page cache for every crawler). In each round the sites are crawled in turn, and
# each site by every crawler in turn, the crawler order rotating from round to round (A B C D, B C D A, ...).
#
# What it measures, per site and crawler:
#   pages found  distinct paths nginx answered 200 with text/html to a GET, from nginx's access log ($uri:
#                percent-decoded, dot segments resolved, no query), the same count for every crawler
#   coverage     share of the reference pages among them. The reference (scripts/bench/refbfs.py, Python
#                standard library only) walks the docroot on disk from the seed like a browser-ish crawler
#                (a/area/link/iframe/frame, meta refresh, <base href>, same host, fragments dropped) and
#                normalizes paths the same way nginx does. Pages a crawler missed: BENCH_DIR/missed/.
#   pages/s      pages found / wall seconds; printed as FAIL (coverage NN%) when coverage is below 100% in
#                any round, since a crawler that skips pages is not faster, it is wrong
#   CPU s/1000 pages  (user + sys) / pages found * 1000       peak RSS   GNU time's maximum resident set
#   crawld / peer: the median over rounds of the per-round ratio (speed, CPU per page, RSS); under 1 is
#                less CPU or memory, over 1 is faster. Timings on a shared machine drift between runs, the
#                ratios of interleaved runs much less: compare those.
#   bounds       (a) nginx's raw GET rate over the reference URL list at concurrency 16 (wrk, WRK_SECONDS,
#                scripts/bench/wrk-urls.lua), (b) crawld's link extractor alone over the same pages read
#                from disk (decode_html + extract_links, one core), in MB/s and pages/s; and crawld's
#                pages/s as a fraction of each. Neither bound includes the other's cost.
# Output: markdown tables on stdout, also written to BENCH_DIR/report.md (report-scale.md); raw data under
# BENCH_DIR/runs (runs-scale): per crawl the GNU time output, the counted pages, the exit code and a log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_DIR:-/tmp/crawld-bench}
PORT0=${BENCH_PORT:-18080}
CONCURRENCY=16
CRAWL_TIMEOUT=${CRAWL_TIMEOUT:-900}
WRK_SECONDS=${WRK_SECONDS:-10}
BOUNDS=${BOUNDS:-1}
CRAWLD_MAX_LINKS=${CRAWLD_MAX_LINKS-}
DOCS_PAGES=${DOCS_PAGES:-10000}
SMALL_PAGES=${SMALL_PAGES:-20000}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CRAWLD="$TARGET/release/crawld"
SPIDER_DIR="$ROOT/scripts/peers/spider"
SPIDER="$SPIDER_DIR/target/release/spider-peer"
EXTRACT_BENCH="$TARGET/release/examples/extract_bench"
HELPERS="$ROOT/scripts/bench"

MODE=bench
SETUP_ONLY=0
if [ "${1:-}" = setup ]; then
  SETUP_ONLY=1
  shift
fi
if [ "${1:-}" = scale ]; then
  MODE=scale
  ROUNDS=${SCALE_ROUNDS:-1}
  read -ra SITE_LIST <<< "${SCALE_SIZES:-10000 100000 1000000}"
  read -ra CRAWLER_LIST <<< "${CRAWLERS:-crawld wget2}"
else
  ROUNDS=${1:-3}
  read -ra SITE_LIST <<< "${SITES:-openjdk cppreference postgresql generated-docs small}"
  read -ra CRAWLER_LIST <<< "${CRAWLERS:-crawld wget2 spider wget}"
fi
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "bench: ROUNDS must be a positive number, not '$ROUNDS'" >&2; exit 2; }

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- installation --------------------------------------------------------------------------------
site_package() {
  case $1 in
    openjdk) echo openjdk-17-doc ;;
    cppreference) echo cppreference-doc-en-html ;;
    postgresql) echo postgresql-doc-15 ;;
  esac
}

install_deps() {
  local pkgs=(nginx-light wget wget2 time wrk) missing=() p site
  if [ "$MODE" = bench ]; then
    for site in "${SITE_LIST[@]}"; do
      p=$(site_package "$site")
      [ -n "$p" ] && pkgs+=("$p")
    done
  fi
  for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
  fi
}

build() {
  # Always asked of cargo (a no-op when up to date), so the figures are never those of a stale build.
  if [[ " ${CRAWLER_LIST[*]} " == *" crawld "* ]]; then
    log "building crawld"
    (cd "$ROOT" && cargo build --release -p crawld)
  fi
  if [ "$MODE" = bench ] && [ "$BOUNDS" = 1 ]; then
    log "building the extractor bench"
    (cd "$ROOT" && cargo build --release -p crawld-extract --example extract_bench)
  fi
  if [[ " ${CRAWLER_LIST[*]} " == *" spider "* ]] && [ ! -x "$SPIDER" ]; then
    log "building the spider-rs peer"
    (cd "$SPIDER_DIR" && CARGO_TARGET_DIR="$SPIDER_DIR/target" cargo build --release --locked)
  fi
}

# --- sites ---------------------------------------------------------------------------------------
# first_match PACKAGE REGEX: the first file of an installed package matching REGEX (reads the whole list:
# no SIGPIPE under pipefail).
first_match() {
  dpkg -L "$1" | awk -v re="$2" '$0 ~ re && !found { print; found = 1 }'
}

# site_info SITE: prints "DOCROOT SEED_PATH" (generating a synthetic site first if needed).
site_info() {
  local site=$1 index
  case $site in
    openjdk)
      index=$(first_match openjdk-17-doc '/openjdk-17-doc/index.html$')
      echo "$(dirname "$index") /api/index.html" ;;  # its index.html is a meta refresh to api/index.html
    cppreference)
      index=$(first_match cppreference-doc-en-html '/html/en/index.html$')
      echo "$(dirname "$(dirname "$index")") /en/index.html" ;;
    postgresql)
      index=$(first_match postgresql-doc-15 '/html/index.html$')
      echo "$(dirname "$index") /index.html" ;;
    generated-docs) gen_site "$WORK/sites/generated-docs" "$DOCS_PAGES" docs; echo "$WORK/sites/generated-docs /index.html" ;;
    small) gen_site "$WORK/sites/small" "$SMALL_PAGES" small; echo "$WORK/sites/small /index.html" ;;
    [0-9]*) gen_site "$WORK/sites/small-$site" "$site" small; echo "$WORK/sites/small-$site /index.html" ;;
    *) echo "bench: unknown site '$site'" >&2; return 1 ;;
  esac
}

# gen_site DIR PAGES MODE: generate once; the stamp file records what was generated, by which generator.
gen_site() {
  local dir=$1 stamp
  stamp="$2 $3 $(sha1sum < "$ROOT/scripts/gen-site.py" | cut -c1-12)"
  [ -f "$dir.stamp" ] && [ "$(cat "$dir.stamp")" = "$stamp" ] && return 0
  log "generating $dir ($2 pages, $3)"
  rm -rf "$dir" "$dir.stamp"
  mkdir -p "$(dirname "$dir")"
  python3 "$ROOT/scripts/gen-site.py" "$dir" "$2" "$3" >&2
  echo "$stamp" > "$dir.stamp"
}

# reference SITE DOCROOT SEED_URL: the reference BFS, cached in $WORK/ref/SITE while docroot, seed,
# package version and refbfs.py are unchanged.
reference() {
  local site=$1 docroot=$2 seed=$3 dir="$WORK/ref/$1" stamp pkg
  pkg=$(site_package "$site")
  stamp="$docroot ${seed#http://127.0.0.1:*/} ${pkg:+$(dpkg-query -W -f '${Version}' "$pkg")} $(cat "$docroot.stamp" 2>/dev/null) $(sha1sum < "$HELPERS/refbfs.py" | cut -c1-12)"
  [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp" ] && return 0
  log "reference BFS of $site (a few minutes for the large sites, then cached)"
  rm -rf "$dir"
  python3 "$HELPERS/refbfs.py" "$docroot" "$seed" "$dir" >&2
  echo "$stamp" > "$dir/stamp"
}

# --- nginx ---------------------------------------------------------------------------------------
NGINX_PID=
stop_nginx() {
  if [ -n "$NGINX_PID" ]; then
    kill "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    NGINX_PID=
  fi
}
trap stop_nginx EXIT

# start_nginx: one server per entry of SITE_LIST, on PORT0+1, PORT0+2, ...
start_nginx() {
  local conf="$WORK/nginx/nginx.conf" i=0 site docroot
  mkdir -p "$WORK/nginx" "$WORK/logs"
  {
    cat <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  log_format bench escape=none '\$request_method\t\$status\t\$sent_http_content_type\t\$uri';
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
CONF
    for site in "${SITE_LIST[@]}"; do
      i=$((i + 1))
      docroot=${DOCROOT[$site]}
      echo "  server { listen 127.0.0.1:$((PORT0 + i)); root $docroot; index index.html; access_log $WORK/logs/$site.access.log bench; }"
    done
    echo "}"
  } > "$conf"
  nginx -c "$conf" -p "$WORK/nginx"
  for _ in $(seq 50); do [ -s "$WORK/nginx/nginx.pid" ] && break; sleep 0.1; done
  NGINX_PID=$(cat "$WORK/nginx/nginx.pid")
}

# --- crawls --------------------------------------------------------------------------------------
write_crawld_config() {
  {
    echo '# Written by scripts/bench.sh: concurrency 16, no delay, robots.txt off, WARC on (the default).'
    echo '[politeness]'
    echo "per_host_concurrency = $CONCURRENCY"
    echo 'delay = "0s"'
    echo 'respect_robots = false'
    if [ -n "$CRAWLD_MAX_LINKS" ]; then
      echo '[scope]'
      echo "max_links_per_page = $CRAWLD_MAX_LINKS"
    fi
  } > "$WORK/crawld-before.toml"
  {
    cat "$WORK/crawld-before.toml"
    # Only when this crawld knows the key: loopback must be allowed.
    if grep -q '^ *#* *allow_private_networks' "$ROOT/config/crawld.toml"; then
      echo '[fetch]'
      echo 'allow_private_networks = true'
    fi
  } > "$WORK/crawld.toml"
}

# crawl SITE CRAWLER ROUND: one timed crawl; leaves runs/SITE/CRAWLER.ROUND.{time,pages,rc,log}.
crawl() {
  local site=$1 name=$2 round=$3 url=${SEED_URL[$1]} dir="$RUNS/$1" out="$WORK/out/$2" rc=0
  local base="$dir/$name.$round" cmd
  mkdir -p "$dir"
  rm -rf "$out" && mkdir -p "$out"
  case $name in
    crawld) cmd=("$CRAWLD" run --config "$WORK/crawld.toml" --seed "$url" --out "$out/crawl" --concurrency "$CONCURRENCY") ;;
    # An earlier crawld (CRAWLD_BEFORE=path), for before/after figures; its config has no newer keys.
    crawld-before) cmd=("$CRAWLD_BEFORE" run --config "$WORK/crawld-before.toml" --seed "$url" --out "$out/crawl" --concurrency "$CONCURRENCY") ;;
    wget2) cmd=(wget2 -r -l 0 --robots=off --max-threads="$CONCURRENCY" -nv -P "$out/files" -o "$out/log" "$url") ;;
    wget) cmd=(wget -r -l inf -e robots=off -nv -P "$out/files" -o "$out/log" "$url") ;;
    spider) cmd=("$SPIDER" "$url") ;;
    *) echo "bench: unknown crawler '$name'" >&2; return 1 ;;
  esac
  : > "$WORK/logs/$site.access.log"
  /usr/bin/time -v -o "$base.time" timeout "$CRAWL_TIMEOUT" "${cmd[@]}" > "$base.log" 2>&1 < /dev/null || rc=$?
  echo "$rc" > "$base.rc"
  awk -F'\t' '$1 == "GET" && $2 == 200 && $3 ~ /^text\/html/ { print $4 }' "$WORK/logs/$site.access.log" \
    | LC_ALL=C sort -u > "$base.pages"
  [ -f "$out/log" ] && tail -n 20 "$out/log" >> "$base.log"
  log "round $round $site $(printf '%-7s' "$name") exit $rc, $(wc -l < "$base.pages") pages, $(grep -m1 'Elapsed' "$base.time" | awk '{print $NF}')"
  rm -rf "$out"
}

# bounds SITE ROUND: nginx's GET rate over the reference URLs (wrk) and the extractor over the same files.
bounds() {
  local site=$1 round=$2 dir="$RUNS/$1" ref="$WORK/ref/$1"
  : > "$WORK/logs/$site.access.log"
  timeout $((WRK_SECONDS + 30)) wrk -t2 -c"$CONCURRENCY" -d"${WRK_SECONDS}s" -s "$HELPERS/wrk-urls.lua" \
    "${ORIGIN[$site]}" -- "$ref/ref-urls.txt" > "$dir/wrk.$round" 2>&1 || true
  : > "$WORK/logs/$site.access.log"
  timeout "$CRAWL_TIMEOUT" "$EXTRACT_BENCH" "${DOCROOT[$site]}" "${ORIGIN[$site]}/" "$ref/ref-files.txt" \
    > "$dir/extract.$round" 2>&1 || true
  log "round $round $site bounds: $(grep -m1 'Requests/sec' "$dir/wrk.$round" || echo 'wrk failed'); extractor $(cat "$dir/extract.$round")"
}

# --- main ----------------------------------------------------------------------------------------
install_deps
build
# The scale mode keeps its results apart (runs-scale/, missed-scale/, report-scale.md).
SUFFIX=${MODE#bench}
SUFFIX=${SUFFIX:+-$SUFFIX}
RUNS="$WORK/runs$SUFFIX"
mkdir -p "$WORK"/{sites,ref,out,logs}
[ "$SETUP_ONLY" = 1 ] || { rm -rf "$RUNS" "$WORK/missed$SUFFIX" && mkdir -p "$RUNS" "$WORK/missed$SUFFIX"; }
declare -A DOCROOT SEED_PATH SEED_URL ORIGIN
i=0
for site in "${SITE_LIST[@]}"; do
  i=$((i + 1))
  info=$(site_info "$site")
  read -r docroot seed_path <<< "$info"
  [ -d "$docroot" ] || { echo "bench: no docroot for $site ('$docroot')" >&2; exit 1; }
  DOCROOT[$site]=$docroot
  SEED_PATH[$site]=$seed_path
  ORIGIN[$site]="http://127.0.0.1:$((PORT0 + i))"
  SEED_URL[$site]="${ORIGIN[$site]}$seed_path"
  if [ "$MODE" = bench ]; then
    reference "$site" "$docroot" "${SEED_URL[$site]}"
  else  # the small site's pages are /index.html and /p/0.html ... /p/N-1.html, all reachable
    mkdir -p "$WORK/ref/$site"
    { echo /index.html; seq 0 $((site - 1)) | sed 's|.*|/p/&.html|'; } | LC_ALL=C sort > "$WORK/ref/$site/ref-paths.txt"
  fi
done
if [ "$SETUP_ONLY" = 1 ]; then
  log "setup done: ${SITE_LIST[*]} ready for ${CRAWLER_LIST[*]}"
  exit 0
fi
write_crawld_config
start_nginx
log "nginx (pid $NGINX_PID, worker_processes 1) serving ${SITE_LIST[*]} on ports $((PORT0 + 1))-$((PORT0 + i))"
# Every site's files read once before the first crawl, so that no crawler pays for nginx reading them
# from disk: with one round (scale mode) the first crawler of a site would, and seemed half as fast.
for site in "${SITE_LIST[@]}"; do
  log "reading $site's files into the page cache"
  find "${DOCROOT[$site]}" -type f -print0 | xargs -0 cat > /dev/null
done

n=${#CRAWLER_LIST[@]}
for round in $(seq "$ROUNDS"); do
  for site in "${SITE_LIST[@]}"; do
    for k in $(seq 0 $((n - 1))); do
      crawl "$site" "${CRAWLER_LIST[$(((k + round - 1) % n))]}" "$round"
    done
    if [ "$MODE" = bench ] && [ "$BOUNDS" = 1 ]; then bounds "$site" "$round"; fi
  done
done
stop_nginx

# How much of the release link's code layout list (crates/crawld/build.rs) the binary still matches: a
# list made before a dependency or Rust update no longer names the functions, and peak RSS grows back.
symbol_order() {
  local list="$ROOT/crates/crawld/symbol-order.txt"
  if [ ! -f "$list" ] || [ ! -x "$CRAWLD" ]; then echo "no symbol order"; return; fi
  local found
  found=$(nm --defined-only "$CRAWLD" | awk 'NR == FNR { want[$1] = 1; next } ($3 in want) && !seen[$3]++ { n++ } END { print n + 0 }' "$list" -)
  echo "$found of the $(wc -l < "$list") functions of crates/crawld/symbol-order.txt found in crawld"
}

{
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS round(s), $(nproc) cores, crawld $(git -C "$ROOT" rev-parse --short HEAD)," \
    "$(wget2 --version | head -n1 | awk '{print $2, $3}'), $(wget --version | head -n1 | awk '{print $1, $2, $3}')," \
    "spider $(awk '/^name = "spider"$/ { getline; print $3 }' "$SPIDER_DIR/Cargo.lock" | tr -d '"'), nginx worker_processes 1;" \
    "$(symbol_order)."
  echo
  for site in "${SITE_LIST[@]}"; do
    echo "$site ${DOCROOT[$site]} ${SEED_PATH[$site]}"
  done > "$WORK/sites$SUFFIX.txt"
  python3 "$HELPERS/report.py" "$WORK" "$MODE" "$ROUNDS" "$WORK/sites$SUFFIX.txt" "${CRAWLER_LIST[@]}"
} | tee "$WORK/report$SUFFIX.md"
