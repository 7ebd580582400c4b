#!/usr/bin/env python3
"""Delivery throughput (issue 13): concurrent downloads of one large archive from `handover serve` over loopback.

Usage: downloads.py --binary PATH [--clients 200] [--size 1G] [--ranged 0.5] [--work DIR] [--export-scale 20]

Two runs against a release build, each on a fresh server on 127.0.0.1 with a SQLite store:
  1. the server alone;
  2. the server with `--workers 2`, exporting demo tenant requests in the same process all through the downloads.
In each, --clients `curl` processes start together and download the archive with an operator token; a fraction
(--ranged) ask for a range from a random offset to the end (as a resumed download does, 206). Every answer is
checked (status, bytes). Printed: aggregate throughput (MB/s, 10^6 bytes), time to first byte p50/p99 (curl's
time_starttransfer), the server's peak RSS (VmHWM), and in run 2 how many exports the workers completed meanwhile.

The archive is random bytes recorded as one completed request by editing the store directly (a benchmark only:
exporting a real 1 GB bundle first would take longer than the measurement, and the server reads the recorded size
and SHA-256, not the content).
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def size(text):
    match = re.fullmatch(r"(\d+)([KMG]?)", text.upper())
    if not match:
        sys.exit(f"bad size {text}")
    return int(match.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2)]


def run(binary, *args, env=None):
    result = subprocess.run([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"failed: handover {' '.join(args)}\n{result.stderr}")
    return result.stdout


def make_archive(path, total):
    """`total` random bytes at `path` (kept between runs), and their SHA-256."""
    if not os.path.exists(path) or os.path.getsize(path) != total:
        with open(path + ".tmp", "wb") as handle:
            left = total
            while left:
                block = os.urandom(min(left, 8 << 20))
                handle.write(block)
                left -= len(block)
        os.replace(path + ".tmp", path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def prepare_store(binary, work, archive, total, sha, env):
    database = os.path.join(work, "requests.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)
    store = "sqlite:" + database
    run(binary, "requests", "submit", "--store", store, "--tenant", "1", "--request-id", "big", env=env)
    run(binary, "requests", "verify", "--store", store, "big", "--by", "bench", env=env)
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE requests SET state = 'completed', archive = ?, archive_files = ?, expires_at = ? WHERE id = 'big'",
            (archive, f"{sha} {total} {os.path.basename(archive)}", int(time.time() * 1000) + 86_400_000))
    token = run(binary, "tokens", "create", "--operator", "--name", "bench", "--store", store, "--quiet",
                env=env).strip()
    return store, token


def peak_rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def measure(binary, store, token, total, sha, clients, ranged, extra, env, label):
    server = subprocess.Popen([binary, "serve", "--store", store, "--listen", "127.0.0.1:0",
                               "--auth-failures-per-minute", "100000", *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    base = None
    while base is None:
        line = server.stderr.readline()
        if not line:
            sys.exit("the server stopped:\n" + server.stderr.read())
        found = re.search(r"listening on (\S+)", line)
        if found:
            base = found.group(1)
    log = []
    threading.Thread(target=lambda: log.extend(server.stderr), daemon=True).start()
    url = base + "/v1/requests/big/archive"
    generator = random.Random(13)
    plans = []
    for index in range(clients):
        start = generator.randrange(0, total) if index < clients * ranged else None
        plans.append(start)
    generator.shuffle(plans)
    rss_before = peak_rss_mb(server.pid)
    started = time.monotonic()
    processes = []
    for start in plans:
        arguments = ["curl", "-s", "-o", "/dev/null", "-H", "Authorization: Bearer " + token,
                     "-w", "%{http_code} %{time_starttransfer} %{size_download} %{time_total}"]
        if start is not None:
            arguments += ["-r", f"{start}-"]
        processes.append((start, subprocess.Popen(arguments + [url], stdout=subprocess.PIPE, text=True)))
    results = []
    for start, process in processes:
        out, _ = process.communicate()
        status, ttfb, downloaded, elapsed = out.split()
        expected = total - (start or 0)
        want = 206 if start is not None else 200
        if int(status) != want or int(downloaded) != expected:
            sys.exit(f"{label}: got {status} with {downloaded} bytes, expected {want} with {expected}")
        results.append((start is not None, float(ttfb), int(downloaded), float(elapsed)))
    wall = time.monotonic() - started
    peak = peak_rss_mb(server.pid)
    server.terminate()
    server.wait(timeout=120)
    moved = sum(r[2] for r in results)
    ttfbs = sorted(r[1] for r in results)

    def percentile(values, p):
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

    return {
        "run": label, "clients": clients, "ranged": sum(1 for r in results if r[0]),
        "bytes": moved, "seconds": round(wall, 2), "MBps": round(moved / wall / 1e6, 1),
        "ttfb_p50_ms": round(percentile(ttfbs, 50) * 1000, 1), "ttfb_p99_ms": round(percentile(ttfbs, 99) * 1000, 1),
        "server_peak_rss_MB": round(peak, 1), "server_rss_at_start_MB": round(rss_before, 1),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--size", default="1G")
    parser.add_argument("--ranged", type=float, default=0.5)
    parser.add_argument("--export-scale", type=int, default=20)
    parser.add_argument("--exports", type=int, default=40)
    parser.add_argument("--work", default=os.path.join(HERE, ".work", "downloads"))
    args = parser.parse_args()
    if shutil.which("curl") is None:
        sys.exit("curl is needed")
    os.makedirs(args.work, exist_ok=True)
    env = dict(os.environ)
    key = os.path.join(args.work, "pseudonym.key")
    if not os.path.exists(key):
        with open(key, "wb") as handle:
            handle.write(os.urandom(32))
    env["HANDOVER_PSEUDONYM_KEY_FILE"] = key
    total = size(args.size)
    archive = os.path.join(args.work, "handover-big.zip")
    print(f"archive: {total} random bytes, {args.clients} clients, {int(args.clients * args.ranged)} ranged",
          file=sys.stderr)
    sha = make_archive(archive, total)

    store, token = prepare_store(args.binary, args.work, archive, total, sha, env)
    alone = measure(args.binary, store, token, total, sha, args.clients, args.ranged, [], env, "server alone")
    print(json.dumps(alone), flush=True)

    # Run 2: the same, while two workers in the server export demo tenants.
    demo = os.path.join(args.work, "demo")
    if not os.path.exists(os.path.join(demo, "demo.sqlite")):
        run(args.binary, "demo", "--out", demo, "--scale", str(args.export_scale), "--quiet", env=env)
    store, token = prepare_store(args.binary, args.work, archive, total, sha, env)
    for index in range(args.exports):
        rid = f"export-{index}"
        run(args.binary, "requests", "submit", "--store", store, "--tenant", str(index % 3 + 1), "--request-id", rid,
            env=env)
        run(args.binary, "requests", "verify", "--store", store, rid, "--by", "bench", env=env)
    out = os.path.join(args.work, "out")
    shutil.rmtree(out, ignore_errors=True)
    busy = measure(args.binary, store, token, total, sha, args.clients, args.ranged,
                   ["--workers", "2", "--db", os.path.join(demo, "demo.sqlite"), "--map",
                    os.path.join(demo, "demo-map.yaml"), "--out", out], env, "with two workers exporting")
    completed = json.loads(run(args.binary, "requests", "list", "--store", store, "--state", "completed", "--json",
                               env=env))["requests"]
    busy["exports_completed_meanwhile"] = len([r for r in completed if r["id"] != "big"])
    print(json.dumps(busy), flush=True)


if __name__ == "__main__":
    main()
