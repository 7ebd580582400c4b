#!/usr/bin/env python3
"""Request-worker throughput: small subject exports per minute with 1, 2 and 4 `handover worker` processes,
on a SQLite store and on a PostgreSQL store.

Usage: workers.py --binary PATH [--requests 200] [--workers 1,2,4] [--stores sqlite,postgres] [--work DIR]
                  [--postgres URL]

For each store and worker count: a fresh store, --requests subject requests (typical users of the demo
database, all three formats, zip) submitted and verified through the CLI, then that many workers started
together with --until-idle; the time from their start until the last one exits is the figure. Each
configuration checks that every request ended completed with one archive.
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def run(binary, *args):
    result = subprocess.run([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: handover {' '.join(args)}\n{result.stderr}")
    return result.stdout


def measure(binary, store, workers, emails, work, env):
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    for index, email in enumerate(emails):
        rid = f"bench-{index}"
        run(binary, "requests", "submit", "--store", store, "--subject", f"email={email}", "--request-id", rid)
        run(binary, "requests", "verify", "--store", store, rid, "--by", "bench")
    data = ["--db", os.path.join(work, "demo", "demo.sqlite"), "--map", os.path.join(work, "demo", "demo-map.yaml"),
            "--out", out, "--until-idle", "--quiet", "--idle", "0.05s"]
    started = time.monotonic()
    processes = [subprocess.Popen([binary, "worker", "--store", store, "--json", *data], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env) for _ in range(workers)]
    summaries = []
    for process in processes:
        stdout, stderr = process.communicate()
        if process.returncode != 0:
            sys.exit(f"a worker failed:\n{stderr}")
        summaries.append(json.loads(stdout.strip().splitlines()[-1]))
    elapsed = time.monotonic() - started
    listed = json.loads(run(binary, "requests", "list", "--store", store, "--state", "completed", "--json"))
    archives = [name for name in os.listdir(out) if name.endswith(".zip")]
    if len(listed["requests"]) != len(emails) or len(archives) != len(emails):
        sys.exit(f"{len(listed['requests'])} completed, {len(archives)} archives, of {len(emails)} requests")
    return elapsed, [summary["completed"] for summary in summaries]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--work", default=os.path.join(HERE, ".work", "workers"))
    parser.add_argument(
        "--postgres",
        default=os.environ.get("HANDOVER_TEST_POSTGRES_URL",
                               "postgres://handover_test:handover_test@127.0.0.1:5432/handover_test?sslmode=disable"))
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    env = dict(os.environ, HANDOVER_PSEUDONYM_KEY_FILE=os.path.join(args.work, "key"))
    os.environ["HANDOVER_PSEUDONYM_KEY_FILE"] = env["HANDOVER_PSEUDONYM_KEY_FILE"]
    if not os.path.exists(env["HANDOVER_PSEUDONYM_KEY_FILE"]):
        with open(env["HANDOVER_PSEUDONYM_KEY_FILE"], "wb") as key:
            key.write(os.urandom(32))
    demo = os.path.join(args.work, "demo")
    if not os.path.exists(os.path.join(demo, "demo.sqlite")):
        run(args.binary, "demo", "--out", demo, "--json")
    db = sqlite3.connect(os.path.join(demo, "demo.sqlite"))
    users = [row[0] for row in db.execute("SELECT email FROM users WHERE id > 1 ORDER BY id")]
    emails = [users[index % len(users)] for index in range(args.requests)]

    print(f"{args.requests} subject requests (demo users, json+csv+xml, zip) per run; "
          f"{os.cpu_count()} cores")
    print(f"{'store':<10} {'workers':>7} {'seconds':>8} {'exports/min':>12}  per worker")
    for store_kind in args.stores.split(","):
        for workers in [int(n) for n in args.workers.split(",")]:
            if store_kind == "sqlite":
                path = os.path.join(args.work, f"requests-{workers}.sqlite")
                for suffix in ["", "-wal", "-shm"]:
                    if os.path.exists(path + suffix):
                        os.remove(path + suffix)
                store = "sqlite:" + path
            else:
                separator = "&" if "?" in args.postgres else "?"
                store = f"{args.postgres}{separator}schema=bench_{uuid.uuid4().hex[:12]}"
            elapsed, shares = measure(args.binary, store, workers, emails, args.work, env)
            print(f"{store_kind:<10} {workers:>7} {elapsed:>8.2f} {args.requests / elapsed * 60:>12.0f}  {shares}",
                  flush=True)


if __name__ == "__main__":
    main()
