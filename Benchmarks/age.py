#!/usr/bin/env python3
"""Encryption throughput: `handover seal` against `age` itself on the same archive, whole process.

Encrypts one file of --size bytes (random bytes: ChaCha20 does not care what it encrypts) to one X25519
recipient with each tool, alternating, --runs times, and prints the median wall time, MB/s and peak RSS of
each, and their ratio. Both outputs are checked: `age -d` must give back the input for each.
Usage: python3 Benchmarks/age.py --binary .build/release/handover [--size 1G] [--runs 5]
"""
import argparse, hashlib, os, shutil, statistics, subprocess, sys, tempfile, time

def size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)

def timed(command):
    """Wall seconds and peak RSS (MB) of one process, measured by GNU time (a child forked from this Python
    would report Python's own high-water mark)."""
    started = time.monotonic()
    process = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}: {process.stderr.decode()[-500:]}")
    return elapsed, int(process.stderr.decode().strip().splitlines()[-1]) / 1024

def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--size", default="1G")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="handover-age-bench-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    try:
        archive = os.path.join(work, "bundle.zip")
        with open(archive, "wb") as f:
            left = size(args.size)
            while left > 0:
                block = os.urandom(min(left, 1 << 24))
                f.write(block)
                left -= len(block)
        identity = os.path.join(work, "id.txt")
        subprocess.run(["age-keygen", "-o", identity], check=True, capture_output=True)
        recipient = subprocess.run(["age-keygen", "-y", identity], check=True, capture_output=True, text=True).stdout.strip()
        sealed_dir = os.path.join(work, "sealed")
        os.mkdir(sealed_dir)
        age_out = os.path.join(work, "age.age")
        handover_out = os.path.join(sealed_dir, "bundle.zip.age")
        # Handover flushes the file to disk before giving it its name (a published archive survives a crash);
        # age does not, so it is measured both as it is and followed by `sync FILE`.
        keys = os.path.join(work, "keys")
        subprocess.run([args.binary, "keys", "generate", "--out", keys, "--quiet"], check=True)
        results = {"age": [], "age + sync": [], "handover": [], "handover + sign": []}
        for _ in range(args.runs):
            for tool in results:
                outputs = (age_out,) if tool.startswith("age") else (handover_out, handover_out + ".minisig")
                for path in outputs:
                    if os.path.exists(path):
                        os.remove(path)
                if tool == "age":
                    command = ["age", "-r", recipient, "-o", age_out, archive]
                elif tool == "age + sync":
                    command = ["sh", "-c", 'age -r "$0" -o "$1" "$2" && sync "$1"', recipient, age_out, archive]
                else:
                    command = [args.binary, "seal", archive, "--recipient", recipient, "--skip-verify", "--out", sealed_dir, "--quiet"]
                    if tool == "handover + sign":
                        command += ["--sign-key", os.path.join(keys, "minisign.key")]
                results[tool].append(timed(command))
        subprocess.run(["minisign", "-Vqm", handover_out, "-p", os.path.join(keys, "minisign.pub")], check=True)
        expected = digest(archive)
        for path in (age_out, handover_out):
            plain = os.path.join(work, "plain")
            subprocess.run(["age", "-d", "-i", identity, "-o", plain, path], check=True)
            if digest(plain) != expected:
                sys.exit(f"{path} does not decrypt to the input")
            os.remove(plain)
        megabytes = size(args.size) / 1e6
        print(f"encrypting {args.size} to one X25519 recipient, median of {args.runs} runs, whole process")
        print(f"{'tool':12} {'seconds':>8} {'MB/s':>8} {'peak RSS MB':>12}")
        medians = {}
        for tool, runs in results.items():
            seconds = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            medians[tool] = seconds
            print(f"{tool:12} {seconds:8.2f} {megabytes / seconds:8.0f} {rss:12.1f}")
        print(f"handover / age time: {medians['handover'] / medians['age']:.2f}x; "
              f"handover / (age + sync): {medians['handover'] / medians['age + sync']:.2f}x (both outputs decrypt with age -d)")
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
