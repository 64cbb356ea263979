#!/usr/bin/env bash
# Seeding throughput: `engineer-sim seed` against `pgbench -i` loading about the same volume on the
# same machine, in the same run, each in a fresh embedded cluster. A benchmark, not a test.
#
#   scripts/bench-seed.sh [SCALE ...]      (default: 0.01 0.1)
#
# Prints, per scale, engineer-sim's rows/s and MB/s, pgbench -i's MB/s for a pgbench scale of the
# same size, and the ratio. Needs the release binary (cargo build --release) and pgbench.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./target/release/engineer-sim
[ -x "$bin" ] || cargo build --release --quiet
scales=("$@"); [ ${#scales[@]} -eq 0 ] && scales=(0.01 0.1)
work=$(mktemp -d /tmp/es-bench-XXXXXX); chmod 755 "$work"
trap '"$bin" --state-dir "$work/s" db stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)

printf '%-7s %10s %9s %9s %12s %9s %7s\n' scale rows seed_s seed_MB/s pgbench_MB pgb_MB/s ratio
for scale in "${scales[@]}"; do
  rm -rf "$work/s"
  out=$("$bin" --state-dir "$work/s" init --scale "$scale" 2>/dev/null)
  line=$(grep '^seeded:' <<<"$out")
  rows=$(sed -E 's/^seeded: ([0-9]+) rows.*/\1/' <<<"$line")
  mb=$(sed -E 's/.* rows, ([0-9.]+) MB in.*/\1/' <<<"$line")
  secs=$(sed -E 's/.* MB in ([0-9.]+) s.*/\1/' <<<"$line")
  mbs=$(sed -E 's/.*, ([0-9.]+) MB\/s\)/\1/' <<<"$line")
  url=$("$bin" --state-dir "$work/s" db url)
  admin=${url/\/taskpilot/\/postgres}
  psql -q "$admin" -c "CREATE DATABASE pgb" >/dev/null
  pgurl=${url/\/taskpilot/\/pgb}
  # pgbench scale 1 is about 15 MB (100,000 accounts with their index).
  pscale=$(python3 -c "print(max(1, round($mb / 15)))")
  start=$(date +%s.%N)
  "$pgbench" -q -i -s "$pscale" "$pgurl" >/dev/null 2>&1
  end=$(date +%s.%N)
  pmb=$(psql -Atq "$pgurl" -c "select round(pg_database_size('pgb')/1e6 - 8, 1)")
  psecs=$(python3 -c "print(round($end - $start, 2))")
  pmbs=$(python3 -c "print(round($pmb / ($end - $start), 1))")
  ratio=$(python3 -c "print(round($mbs / $pmbs, 2))")
  printf '%-7s %10s %9s %9s %12s %9s %7s\n' "$scale" "$rows" "$secs" "$mbs" "$pmb (${psecs}s)" "$pmbs" "$ratio"
  "$bin" --state-dir "$work/s" db stop >/dev/null
done
