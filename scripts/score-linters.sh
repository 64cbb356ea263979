#!/usr/bin/env bash
# Scores two real migration linters, squawk and eugene, against a fresh 12-week run (seed 42,
# empty mode: the linters read only the migration files). Installs them from their registries
# when missing: squawk from PyPI (squawk-cli), eugene from crates.io (it builds libpg_query, whose
# bindings need libclang). Prints each tool's score as Markdown (README "Scoring your tool").
#
#   scripts/score-linters.sh            (ENGINEER_SIM_BIN=path to use another build)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
unset DATABASE_URL ENGINEER_SIM_STATE
bin=${ENGINEER_SIM_BIN:-./target/release/engineer-sim}
[ -x "$bin" ] || cargo build --release --quiet

if ! command -v squawk >/dev/null 2>&1; then
  echo "== installing squawk (pip install squawk-cli)" >&2
  python3 -m pip install --quiet squawk-cli >&2
fi
if ! command -v eugene >/dev/null 2>&1; then
  echo "== installing eugene (cargo install eugene)" >&2
  if ! ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    $sudo_cmd apt-get install -y -qq libclang-dev >/dev/null
  fi
  cargo install --locked eugene --version 0.8.3 >&2
fi

work=$(mktemp -d /tmp/es-linters-XXXXXX); chmod 755 "$work"
state="$work/state"
trap '"$bin" --state-dir "$state" db stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
es() { ENGINEER_SIM_NO_DATA=true "$bin" --state-dir "$state" "$@"; }
es init --no-data --seed 42 --start-date 2026-01-05 >/dev/null
es run --until-week 12 >/dev/null
migrations="$state/migrations"

# The output is Markdown, to paste into a README or a pull-request comment as it is.
echo "engineer-sim $("$bin" --version | awk '{print $2}'), seed 42, weeks 1-12, $(ls "$migrations" | wc -l) migration files;"
echo "$(squawk --version), $(eugene --version)."
echo

(cd "$state" && squawk --reporter json migrations/*.sql > "$work/squawk.json") || true
printf '%s\n' '```sh' \
  '$ squawk --reporter json state/migrations/*.sql > squawk.json' \
  '$ engineer-sim score --report squawk.json --report-format squawk-json --format markdown' '```' ''
es score --report "$work/squawk.json" --report-format squawk-json --format markdown
echo

(cd "$state" && eugene lint --format json --accept-failures migrations/ > "$work/eugene.json")
printf '%s\n' '```sh' \
  '$ eugene lint --format json --accept-failures state/migrations/ > eugene.json' \
  '$ engineer-sim score --report eugene.json --report-format eugene-json --format markdown' '```' ''
es score --report "$work/eugene.json" --report-format eugene-json --format markdown
