#!/usr/bin/env bash
# Writes crates/crawld/symbol-order.txt: the functions a crawl runs, hottest first, which release builds
# lay out together at the start of the binary's code (see crates/crawld/build.rs for why).
#
#   scripts/order-symbols.sh [SEED_URL...]
#
# Profiles (valgrind's callgrind) `crawld demo`, which serves its own site on loopback, and a crawl of
# each SEED_URL given (loopback sites only: say, the documentation sites scripts/bench.sh serves). Run it
# again after updating dependencies or Rust, whose symbol names change: a stale list costs memory,
# never correctness. scripts/bench.sh reports how much of the list the binary still matches.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || apt-get install -y valgrind >&2
cargo build --release -p crawld >&2
bin=target/release/crawld
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# crawld sets these itself by starting again (exec), which valgrind would follow into a second run.
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=2 CRAWLD_MALLOC_TUNED=1
profile() {
  local name=$1
  shift
  echo "profiling: $*" >&2
  timeout 1200 valgrind --tool=callgrind --dump-instr=yes --compress-strings=no --compress-pos=no \
    --callgrind-out-file="$work/callgrind.$name" "$@" >/dev/null 2>"$work/log.$name" ||
    { tail -5 "$work/log.$name" >&2; exit 1; }
}

profile demo "$bin" demo --out "$work/demo" --pages 2000
cat >"$work/crawl.toml" <<'EOF'
[crawl]
max_pages = 3000
[politeness]
per_host_concurrency = 16
delay = "0s"
[fetch]
allow_private_networks = true
EOF
i=0
for seed in "$@"; do
  i=$((i + 1))
  profile "seed$i" "$bin" run --config "$work/crawl.toml" --seed "$seed" --out "$work/out$i" --concurrency 16
done

# Each instruction callgrind saw in the binary, with its cost, charged to the function holding it.
nm --defined-only --print-size "$bin" >"$work/symbols"
python3 - "$work/symbols" "$work"/callgrind.* >"$work/symbol-order.txt" <<'EOF'
import bisect, collections, sys

functions = []
for line in open(sys.argv[1]):
    fields = line.split()
    if len(fields) == 4 and fields[2] in "tT":
        functions.append((int(fields[0], 16), int(fields[1], 16), fields[3]))
functions.sort()
starts = [f[0] for f in functions]
cost = collections.Counter()
for path in sys.argv[2:]:
    in_binary = False
    for line in open(path):
        if line.startswith("ob="):
            in_binary = line.rstrip().endswith("/crawld")
        elif in_binary and line.startswith("0x"):
            fields = line.split()
            address = int(fields[0], 16)
            i = bisect.bisect_right(starts, address) - 1
            if i >= 0 and address < functions[i][0] + functions[i][1]:
                cost[functions[i][2]] += int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else 1
for name, _ in cost.most_common():
    print(name)
size = {f[2]: f[1] for f in functions}
run, total = sum(size[n] for n in cost) // 1024, sum(f[1] for f in functions) // 1024
print(f"{len(cost)} functions ran: {run} KB of the binary's {total} KB of code", file=sys.stderr)
EOF
# Replaced only once made whole: a failure above leaves the list in place.
mv "$work/symbol-order.txt" crates/crawld/symbol-order.txt
echo "wrote crates/crawld/symbol-order.txt" >&2
