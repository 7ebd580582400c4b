#!/usr/bin/env python3
"""Handover's benchmark harness: whole-process wall time and peak RSS against hand-made pipelines.

Usage: bench.py [--rows 1000000] [--runs 3] [--work DIR] [--binary PATH] [--postgres URL]

It generates the demo database at about the requested number of rows (once; kept in --work), then runs
every case --runs times in one session, on the same rows, and prints the medians and the ratios
Handover / peer beside the targets of issue 6. Peak RSS comes from GNU time (%M); for a pipeline it is
the largest process of the pipeline.

With --postgres (a server URL; `make bench` passes the one scripts/start-postgres.sh starts), the same rows are
copied into a schema of that server (once; kept) and the tenant export is also measured from PostgreSQL, against
`psql -c "\\copy (…) to stdout csv" | zstd -3`.
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS_AT_SCALE_1 = 4863
TENANT = 1
TABLES = ["tenants", "users", "contacts", "content_items", "comments", "coaching_feedback", "activity_events"]


def timed(command, shell=False):
    """Runs a command under GNU time; returns (seconds, peak RSS in MiB)."""
    argv = ["/usr/bin/time", "-f", "%e %M"] + (["sh", "-c", command] if shell else command)
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {command}\n{result.stderr}")
    seconds, kib = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def tenant_query(database):
    """The same rows Handover's tenant export reads: every column the map exports, in key order."""
    import sqlite3
    db = sqlite3.connect(database)
    parts = []
    for table in TABLES:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[1] != "password_hash"]
        key = "id" if table == "tenants" else "tenant_id"
        parts.append(f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = {TENANT} ORDER BY id;")
    rows = sum(db.execute(f"SELECT count(*) FROM {t} WHERE {'id' if t == 'tenants' else 'tenant_id'} = {TENANT}").fetchone()[0] for t in TABLES)
    return " ".join(parts), rows


def postgres_copy(database, url, schema):
    """Copies the demo database into `schema` (once): the same tables, types mapped, rows by COPY, then keys and
    the indexes SQLite has."""
    import sqlite3
    exists = subprocess.run(["psql", url, "-Atqc", f"SELECT 1 FROM pg_namespace WHERE nspname = '{schema}'"],
                            check=True, capture_output=True, text=True).stdout.strip()
    if exists == "1":
        return
    print(f"copying the database into PostgreSQL schema {schema} ...", file=sys.stderr)
    db = sqlite3.connect(database)
    staging = schema + "_loading"
    ddl = [f'DROP SCHEMA IF EXISTS "{staging}" CASCADE;', f'CREATE SCHEMA "{staging}";', f'SET search_path = "{staging}";']
    after = []
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        columns = list(db.execute(f'PRAGMA table_info("{table}")'))
        def pg(declared):
            t = declared.upper()
            if "DATETIME" in t or "TIMESTAMP" in t: return "timestamptz"
            if "BOOL" in t: return "boolean"
            if "INT" in t: return "bigint"
            if "REAL" in t or "DOUB" in t or "FLOA" in t: return "double precision"
            if "BLOB" in t: return "bytea"
            return "text"
        definitions = [f'"{c[1]}" {pg(c[2])}' + (" NOT NULL" if c[3] else "") for c in columns]
        key = [c[1] for c in sorted(columns, key=lambda c: c[5]) if c[5] > 0]
        if key:
            definitions.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in key) + ")")
        ddl.append(f'CREATE TABLE "{table}" (' + ", ".join(definitions) + ");")
        for fk in db.execute(f'PRAGMA foreign_key_list("{table}")'):
            after.append(f'ALTER TABLE "{table}" ADD FOREIGN KEY ("{fk[3]}") REFERENCES "{fk[2]}" ("{fk[4]}");')
        for index in db.execute(f'PRAGMA index_list("{table}")'):
            first = db.execute(f'SELECT name FROM pragma_index_info(?) WHERE seqno = 0', (index[1],)).fetchone()
            if first and [first[0]] != key[:1]:
                after.append(f'CREATE INDEX ON "{table}" ("{first[0]}");')
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", "\n".join(ddl)], check=True)
    for table in tables:
        export = subprocess.Popen(["sqlite3", "-csv", database, f'SELECT * FROM "{table}"'], stdout=subprocess.PIPE)
        subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", f'SET search_path = "{staging}"',
                        "-c", f'\\copy "{table}" FROM STDIN CSV'], stdin=export.stdout, check=True)
        export.wait()
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    "\n".join([f'SET search_path = "{staging}";'] + after + [f'ANALYZE "{staging}"."{t}";' for t in tables]
                              + [f'ALTER SCHEMA "{staging}" RENAME TO "{schema}";'])],
                   check=True)


def subject_query(user):
    """The indexed queries of one subject's export, as the dataset map makes them."""
    return " ".join([
        f"SELECT * FROM users WHERE id = {user};",
        f"SELECT * FROM contacts WHERE owner_id = {user} ORDER BY id;",
        f"SELECT * FROM content_items WHERE owner_id = {user} ORDER BY id;",
        f"SELECT * FROM comments WHERE author_id = {user} OR content_id IN (SELECT id FROM content_items WHERE owner_id = {user}) ORDER BY id;",
        f"SELECT * FROM coaching_feedback WHERE coach_id = {user} OR content_id IN (SELECT id FROM content_items WHERE owner_id = {user}) ORDER BY id;",
        f"SELECT * FROM activity_events WHERE user_id = {user} ORDER BY id;",
        f"SELECT * FROM contact_form_submissions WHERE email = (SELECT email FROM users WHERE id = {user}) ORDER BY id;",
    ])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default=os.path.join(HERE, ".work"))
    parser.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "handover"))
    parser.add_argument("--postgres", help="a PostgreSQL server URL (without schema) to measure the PostgreSQL source too")
    args = parser.parse_args()
    handover = os.path.abspath(args.binary)
    scale = max(1, math.ceil(args.rows / ROWS_AT_SCALE_1))
    folder = os.path.join(args.work, f"db-{args.rows}")
    database, dataset_map = os.path.join(folder, "demo.sqlite"), os.path.join(folder, "demo-map.yaml")
    if not os.path.exists(database):
        print(f"generating the demo database at scale {scale} (about {scale * ROWS_AT_SCALE_1:,} rows) ...", file=sys.stderr)
        subprocess.run([handover, "demo", "--scale", str(scale), "--out", folder, "--quiet", "--json"], check=True, stdout=subprocess.DEVNULL)
    key = os.path.join(args.work, "pseudonym.key")
    if not os.path.exists(key):
        with open(key, "wb") as f:
            f.write(os.urandom(32))
    out = os.path.join(args.work, "out")
    query, tenant_rows = tenant_query(database)
    import sqlite3
    user = sqlite3.connect(database).execute("SELECT id FROM users WHERE id > 1 ORDER BY id LIMIT 1 OFFSET 41").fetchone()[0]
    email = sqlite3.connect(database).execute("SELECT email FROM users WHERE id = ?", (user,)).fetchone()[0]

    def export(*options):
        shutil.rmtree(out, ignore_errors=True)
        return [handover, "export", "--db", database, "--map", dataset_map, "--out", out, "--quiet",
                "--pseudonym-key-file", key, *options]

    def pipe(command):
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out, exist_ok=True)
        return command.replace("OUT", out)

    q = query.replace("'", "'\\''")
    cases = [
        ("tenant CSV, tar.zst", lambda: timed(export("--tenant", str(TENANT), "--formats", "csv", "--archive", "tzst")),
         "sqlite3 -csv | zstd -3", lambda: timed(pipe(f"sqlite3 -csv -header '{database}' '{q}' | zstd -3 -q -o OUT/x.zst"), shell=True), 1.0),
        ("tenant JSON, tar.zst", lambda: timed(export("--tenant", str(TENANT), "--formats", "json", "--archive", "tzst")),
         "sqlite3 -json | zstd -3", lambda: timed(pipe(f"sqlite3 -json '{database}' '{q}' | zstd -3 -q -o OUT/x.zst"), shell=True), 1.0),
        ("tenant CSV, zip", lambda: timed(export("--tenant", str(TENANT), "--formats", "csv", "--archive", "zip")),
         "sqlite3 -csv | gzip -6", lambda: timed(pipe(f"sqlite3 -csv -header '{database}' '{q}' | gzip -6 > OUT/x.gz"), shell=True), 0.7),
        ("tenant all three, tar.zst", lambda: timed(export("--tenant", str(TENANT), "--archive", "tzst")),
         "sqlite3 -csv | zstd -3", lambda: timed(pipe(f"sqlite3 -csv -header '{database}' '{q}' | zstd -3 -q -o OUT/x.zst"), shell=True), 2.5),
        ("tenant CSV+JSON, tar.zst", lambda: timed(export("--tenant", str(TENANT), "--formats", "csv,json", "--archive", "tzst")),
         "Python csv+json modules", lambda: timed(pipe(f"python3 '{os.path.join(HERE, 'python_export.py')}' '{database}' {TENANT} OUT"), shell=True), None),
        ("one subject, all three", lambda: timed(export("--subject", f"email={email}", "--archive", "zip")),
         "sqlite3, same indexed queries", lambda: timed(pipe(f"sqlite3 -csv '{database}' '{subject_query(user)}' > OUT/x.csv"), shell=True), None),
    ]

    if args.postgres:
        schema = f"bench_{args.rows}"
        postgres_copy(database, args.postgres, schema)
        source = args.postgres + ("&" if "?" in args.postgres else "?") + "schema=" + schema
        copies = " ".join(
            "-c " + "'" + ("\\copy (" + part.strip().rstrip(";") + ") to stdout csv header").replace("'", "'\\''") + "'"
            for part in query.split(";") if part.strip())
        psql_peer = f"PGOPTIONS='-c search_path={schema}' psql '{args.postgres}' -q {copies} | zstd -3 -q -o OUT/x.zst"

        def pg_export(*options):
            command = export(*options)
            command[command.index("--db") + 1] = source
            return command

        cases += [
            ("PostgreSQL tenant CSV, tzst", lambda: timed(pg_export("--tenant", str(TENANT), "--formats", "csv", "--archive", "tzst")),
             "psql \\copy csv | zstd -3", lambda: timed(pipe(psql_peer), shell=True), None),
            ("PostgreSQL tenant all, tzst", lambda: timed(pg_export("--tenant", str(TENANT), "--archive", "tzst")),
             "psql \\copy csv | zstd -3", lambda: timed(pipe(psql_peer), shell=True), None),
            ("PostgreSQL one subject", lambda: timed(pg_export("--subject", f"email={email}", "--archive", "zip")),
             "-", lambda: (0.0, 0.0), None),
        ]

    print(f"{args.rows:,}-row demo database; tenant {TENANT} holds {tenant_rows:,} rows; {args.runs} runs per case, medians")
    header = f"{'case':28} {'handover':>9} {'RSS':>7} {'peer':31} {'peer s':>7} {'RSS':>7} {'ratio':>6} {'target':>7}"
    print(header)
    print("-" * len(header))
    results = []
    for name, ours, peer_name, theirs, target in cases:
        mine = [ours() for _ in range(args.runs)]
        peer = [theirs() for _ in range(args.runs)]
        seconds, rss = statistics.median(m[0] for m in mine), max(m[1] for m in mine)
        peer_seconds, peer_rss = statistics.median(p[0] for p in peer), max(p[1] for p in peer)
        ratio = seconds / peer_seconds if peer_seconds > 0 else float("inf")
        if name.startswith("one subject"):
            target_text = "≤40 ms" + (" ok" if seconds <= 0.04 else " MISS")
        elif target:
            target_text = f"≤{target}" + (" ok" if ratio <= target else " MISS")
        else:
            target_text = "-"
        # GNU time counts in hundredths of a second: below that, a ratio means nothing.
        ratio_text = f"{ratio:5.2f}x" if peer_seconds >= 0.01 else "  n/a "
        print(f"{name:28} {seconds:8.2f}s {rss:6.0f}M {peer_name:31} {peer_seconds:6.2f}s {peer_rss:6.0f}M {ratio_text} {target_text:>7}")
        results.append({"case": name, "seconds": seconds, "rss_mib": rss, "peer": peer_name, "peer_seconds": peer_seconds, "ratio": ratio})
    worst = max(r["rss_mib"] for r in results)
    print(f"peak RSS of Handover over all cases: {worst:.0f} MiB (target ≤64 MiB: {'ok' if worst <= 64 else 'MISS'})")
    with open(os.path.join(args.work, f"results-{args.rows}.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
