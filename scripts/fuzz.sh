#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ with the address sanitizer and runs each for FUZZ_SECONDS from its
# committed seed corpus (copied, so the seeds stay as committed). Prints executions per second for each; an
# input that crashes one is kept in Fuzz/Crashes/ and the script fails, naming it. Not part of `make test`.
set -euo pipefail
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"fuzz-bundle fuzz-json fuzz-csv fuzz-xml fuzz-map fuzz-age fuzz-minisign"}
scratch=${FUZZ_SCRATCH:-.build-fuzz}
# lld: gold fails on the sanitizer's symbols; SwiftPM passes the choice to the link through swiftc.
(cd Fuzz && swift build --scratch-path "../$scratch" -c release -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld 2>&1 | grep -E "error|Compiling|Build complete" | tail -3)
bin=$scratch/x86_64-unknown-linux-gnu/release
mkdir -p Fuzz/Crashes
failed=0
printf '%-14s %8s %12s %10s %8s %s\n' fuzzer seconds runs "exec/s" corpus result
for target in $targets; do
    corpus=$scratch/corpus/$target
    rm -rf "$corpus" && mkdir -p "$corpus" && cp Fuzz/Corpus/"$target"/* "$corpus"/
    log=$scratch/$target.log
    status=0
    # Leak checks off: Swift's global values live until exit, which LeakSanitizer reports as leaks.
    ASAN_OPTIONS=detect_leaks=0 "$bin/$target" -max_total_time="$seconds" -print_final_stats=1 -detect_leaks=0 -timeout=20 \
        -rss_limit_mb=4096 -artifact_prefix="Fuzz/Crashes/$target-" "$corpus" >"$log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo 0)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || echo 0)
    size=$(ls "$corpus" | wc -l)
    if [ "$status" -ne 0 ]; then
        failed=1
        result="CRASH: $(grep -o 'Test unit written to .*' "$log" | head -1)"
    else
        result="no crash"
    fi
    printf '%-14s %8s %12s %10s %8s %s\n' "$target" "$seconds" "$runs" "$rate" "$size" "$result"
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: a target crashed; its input is in Fuzz/Crashes/ and its log in $scratch/<target>.log" >&2
    exit 1
fi
