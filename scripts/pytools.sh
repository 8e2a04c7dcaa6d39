#!/usr/bin/env bash
# Install the independent tools that the end-to-end tests check crawld's output against, in a
# virtualenv: PyPI's cdxj-indexer (the CDXJ index), wacz (`wacz validate`) and prometheus_client (the
# /metrics text).
#
#   scripts/pytools.sh [VENV]     default: $CARGO_TARGET_DIR/tmp/pyvenv (target/tmp/pyvenv)
#
# The tests look for them there (or in $CRAWLD_PYTOOLS) and run this script when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${1:-${CARGO_TARGET_DIR:-target}/tmp/pyvenv}"
if [[ -x "$venv/bin/cdxj-indexer" && -x "$venv/bin/wacz" ]] && "$venv/bin/python" -c 'import prometheus_client' 2>/dev/null; then
    exit 0
fi
python3 -m venv "$venv"
# Pinned: the tests compare crawld's index with this version's, byte for byte.
"$venv/bin/pip" install --quiet --disable-pip-version-check 'cdxj-indexer==1.5.0' 'wacz==0.6.0' \
    'prometheus_client==0.26.0'
echo "installed cdxj-indexer, wacz and prometheus_client in $venv"
