#!/usr/bin/env python3
"""The tool's own cost beside PostgreSQL's (README "Performance"). A benchmark, not a test.

    scripts/bench.sh [--runs N] [--tables 0,500,2000] [--seed-scales 0.01] [--data-scale 0.01]

Starts a fresh embedded cluster in a temporary directory and, in the same run, times each figure
against its floor:

- a full 12-week run (init + run, empty tables, cluster up) against one `psql` session applying
  the same base and migration files, one transaction per file;
- a tick with nothing due against `psql -c 'select 1'`;
- `audit` against the server's own time for the audit's queries (pg_stat_statements);
- a tick applying one change (no floor: its growth with the catalog is the figure);
- the full run again with extra tables in the database (a schema of FK-linked tables);
- a full run with data (seeded at --data-scale, growing every sim day) against the same wall time
  less the tool's own part: its own statements' server time (audits, catalog reads, ledger and
  journal records, from pg_stat_statements) and its own CPU time; the rest is PostgreSQL carrying
  out the changes, the data steps and the daily vacuum, the work any tool would have to do;
- the seed against `pgbench -i` loading the same volume (scripts/bench-seed.sh).

Prints min / median / max over --runs runs, the ratio of the medians and the peak RSS of
engineer-sim. Needs python3, psql and pgbench (the PostgreSQL server packages).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "engineer-sim"
START = "2026-01-05"
END = "2026-03-27"  # week 12 Friday for START
peak_rss_kb = 0


def timed(cmd, env=None, quiet=True):
    """Runs cmd; returns (seconds, stdout). Tracks engineer-sim's peak RSS."""
    global peak_rss_kb
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err if quiet else None, env=env)
        # wait4 gives this process's own peak RSS.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        out, err = out.read(), err.read()
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({proc.returncode}):\n{out}\n{err}")
    if str(cmd[0]) == str(BIN):
        peak_rss_kb = max(peak_rss_kb, usage.ru_maxrss)
    return elapsed, out


def psql(url, sql):
    return timed(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", url, "-c", sql])[1]


class Bench:
    def __init__(self, work: Path):
        self.work = work
        self.state = work / "cluster"
        self.env = dict(os.environ, ENGINEER_SIM_DATA=str(ROOT), ENGINEER_SIM_NO_DATA="true")
        for var in ("DATABASE_URL", "ENGINEER_ERROR_RATE", "ENGINEER_CHANGES_PER_DAY"):
            self.env.pop(var, None)
        timed([BIN, "--state-dir", self.state, "db", "start"], self.env)
        url = timed([BIN, "--state-dir", self.state, "db", "url"], self.env)[1].strip()
        self.admin = url.replace("/taskpilot?", "/postgres?")
        self.url_of = lambda db: url.replace("/taskpilot?", f"/{db}?")
        self.count = 0

    def stop(self):
        subprocess.run([BIN, "--state-dir", self.state, "db", "stop"], env=self.env,
                       capture_output=True)

    def fresh(self, extra_tables):
        """A new database holding `extra_tables` FK-linked tables; its URL and a state dir."""
        self.count += 1
        name = f"bench_{self.count}"
        psql(self.admin, f"DROP DATABASE IF EXISTS {name}")
        psql(self.admin, f"CREATE DATABASE {name}")
        url = self.url_of(name)
        if extra_tables:
            ddl = ["CREATE SCHEMA extra;",
                   "CREATE TABLE extra.t0 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
                   ");"]
            for i in range(1, extra_tables):
                ddl.append(
                    f"CREATE TABLE extra.t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                    f" parent_id bigint NOT NULL REFERENCES extra.t{i - 1}(id) ON DELETE CASCADE"
                    f"); CREATE INDEX ON extra.t{i}(parent_id);")
            script = self.work / f"{name}.sql"
            script.write_text("\n".join(ddl))
            timed(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-f", script])
        state = self.work / f"state_{self.count}"
        return url, state

    def es(self, state, url, *args):
        # Database options go after the command.
        return timed([BIN, "--state-dir", state, args[0], "--database-url", url, *args[1:]],
                     self.env)

    def full_run(self, extra):
        url, state = self.fresh(extra)
        t_init, _ = self.es(state, url, "init", "--force", "--seed", "42", "--start-date", START)
        t_run, _ = self.es(state, url, "run", "--until-week", "12")
        return t_init + t_run, url, state

    def data_run(self, scale):
        """A full run with data on a fresh database: (wall s, the tool's own s, statements lost).

        The tool's own part is its CPU time plus the server time of the statements it makes for
        itself: those reading the catalogs or statistics or writing its ledger. The data
        connections' statements (DDL, data steps, VACUUM/ANALYZE) are the floor's work."""
        url, state = self.fresh(0)
        env = dict(self.env)
        env.pop("ENGINEER_SIM_NO_DATA", None)
        psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        psql(url, "SELECT pg_stat_statements_reset()")
        before = os.times()
        wall = 0.0
        for args in (["init", "--force", "--seed", "42", "--start-date", START, "--scale", scale],
                     ["run", "--until-week", "12"]):
            wall += timed([BIN, "--state-dir", state, args[0], "--database-url", url, *args[1:]],
                          env)[0]
        after = os.times()
        cpu = (after.children_user - before.children_user
               + after.children_system - before.children_system)
        # Data steps call the engineer_sim helpers or are DO blocks (data templates); DDL and
        # vacuum are the changes' own work.
        own_ms = psql(url, r"""
            SELECT coalesce(sum(total_exec_time), 0) FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query NOT LIKE '%pg_stat_statements%'
              AND query !~ 'engineer_sim\.(uid|rand|pick|skewed|recent|oneof|ts|words)\('
              AND query !~* '^\s*(DO|VACUUM|ANALYZE|CREATE|ALTER|DROP|COMMENT|REINDEX)\M'
              AND (query ~* '\m(pg_catalog|information_schema|engineer_sim)\.'
                   OR query ~* '\mpg_[a-z_]+\M')""")
        lost = psql(url, "SELECT dealloc FROM pg_stat_statements_info")
        return wall, cpu + float(own_ms) / 1000, int(lost)

    def psql_floor(self, migrations: Path, extra):
        url, _ = self.fresh(extra)
        driver = self.work / "apply.sql"
        driver.write_text("".join(
            f"BEGIN;\n\\i {f}\nCOMMIT;\n" for f in sorted(migrations.glob("*.sql"))))
        return timed(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-f", driver])[0]


def row(what, tool, floor=None, floor_label="-"):
    def fmt(xs):
        return f"{min(xs):.3f} / {statistics.median(xs):.3f} / {max(xs):.3f}"
    ratio = f"{statistics.median(tool) / statistics.median(floor):.2f}x" if floor else "-"
    floor_s = f"{floor_label}: {fmt(floor)}" if floor else floor_label
    print(f"| {what} | {fmt(tool)} | {floor_s} | {ratio} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tables", default="0,500,2000")
    parser.add_argument("--seed-scales", default="0.01")
    parser.add_argument("--data-scale", default="0.01",
                        help="scale of the full run with data ('' to skip it)")
    args = parser.parse_args()
    tables = [int(t) for t in args.tables.split(",") if t]
    if not BIN.exists():
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="es-bench-"))
    os.chmod(work, 0o755)
    bench = Bench(work)
    try:
        cpu = os.cpu_count()
        print(f"engineer-sim benchmark: {cpu} CPUs, {args.runs} runs each, seconds as "
              "min / median / max\n")
        print("| what | engineer-sim | floor | ratio |")
        print("|---|---|---|---|")
        for extra in tables:
            runs, last = [], None
            for _ in range(args.runs):
                t, url, state = bench.full_run(extra)
                runs.append(t)
                last = (url, state)
            floors = [bench.psql_floor(last[1] / "migrations", extra) for _ in range(args.runs)]
            row(f"full 12-week run, empty tables, {extra} extra tables", runs, floors,
                "psql, one session, a transaction per file")
            url, state = last
            ticks = [bench.es(state, url, "tick", "--now", END)[0] for _ in range(args.runs)]
            selects = [timed(["psql", "-X", "-At", url, "-c", "select 1"])[0]
                       for _ in range(args.runs)]
            row(f"tick with nothing due, {extra} extra tables", ticks, selects,
                "psql -c 'select 1'")
            audits, server = [], []
            for _ in range(args.runs):
                psql(url, "SELECT pg_stat_statements_reset()")
                audits.append(bench.es(state, url, "audit", "--format", "json")[0])
                ms = psql(url, "SELECT coalesce(sum(total_exec_time), 0) FROM pg_stat_statements"
                               " WHERE query NOT LIKE '%pg_stat_statements%'")
                server.append(float(ms) / 1000)
            row(f"audit, {extra} extra tables", audits, server,
                "server time of its queries")
            url, state = bench.fresh(extra)
            bench.es(state, url, "init", "--force", "--seed", "42", "--start-date", START)
            one = [bench.es(state, url, "tick", "--now", END, "--max-per-tick", "1")[0]
                   for _ in range(args.runs)]
            row(f"tick applying one change, {extra} extra tables", one)
        if args.data_scale:
            walls, floors, lost = [], [], 0
            for _ in range(args.runs):
                wall, own, dropped = bench.data_run(args.data_scale)
                walls.append(wall)
                floors.append(wall - own)
                lost += dropped
            row(f"full 12-week run with data, scale {args.data_scale}", walls, floors,
                "the same less the tool's own CPU and statements")
            if lost:
                print(f"(pg_stat_statements dropped {lost} entries: the tool's own part is low)")
        print(f"\npeak RSS of engineer-sim: {peak_rss_kb / 1024:.1f} MB\n")
        sys.stdout.flush()
        scales = [s for s in args.seed_scales.split(",") if s]
        if scales:
            subprocess.run(["bash", str(ROOT / "scripts" / "bench-seed.sh"), *scales], check=True)
    finally:
        bench.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
