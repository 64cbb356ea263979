#!/usr/bin/env bash
# The tool's own cost beside PostgreSQL's, every figure against its floor in one run (README
# "Performance"). A benchmark, not a test. Options: see scripts/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x target/release/engineer-sim ] || cargo build --release --quiet
exec python3 scripts/bench.py "$@"
