#!/usr/bin/env bash
# Fuzz crawld's parsers for a bounded time each, with libFuzzer through cargo-fuzz (nightly toolchain).
#
# Usage: scripts/fuzz.sh [SECONDS=60] [TARGET...]
#   targets: extract_links normalize robots sitemap config (default: all)
# Needs: rustup's nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); installs cargo-fuzz if missing.
# Each target runs for SECONDS with a 2 GiB RSS limit (a page must not make crawld use unbounded memory),
# seeded from the committed corpus (fuzz/seeds/TARGET, and crates/extract/tests/corpus for extract_links). A crash leaves its input
# under fuzz/artifacts/TARGET/; turn it into a regression test beside the code it broke.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(extract_links normalize robots sitemap config)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$ROOT/fuzz"
for target in "${TARGETS[@]}"; do
  work=$(mktemp -d)
  seeds=()
  [ "$target" = extract_links ] && seeds+=("$ROOT/crates/extract/tests/corpus")
  [ -d "$ROOT/fuzz/seeds/$target" ] && seeds+=("$ROOT/fuzz/seeds/$target")
  echo "fuzz: $target for ${SECONDS_EACH}s" >&2
  cargo +nightly fuzz run "$target" "$work" "${seeds[@]}" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=262144 -timeout=10
  rm -rf "$work"
done
echo "fuzz: no crash in ${TARGETS[*]}" >&2
