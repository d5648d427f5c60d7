#!/usr/bin/env bash
# Wall time of `recovery-harness check` (the full suite, 64 fuzz cases per operation) against the
# embedded reference server, end to end: process start, server start, every check, reports written.
# Release build; the build itself is not timed. Target: under 1 second per run.
#
#   bench/check.sh            # 20 runs
#   RUNS=50 bench/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/recovery-harness
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bin" check --quiet --report-dir "$dir" >/dev/null # warm-up (page cache)
ms=()
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    if ! "$bin" check --quiet --report-dir "$dir" >/dev/null; then
        echo "a run did not exit 0; see $dir" >&2
        trap - EXIT
        exit 1
    fi
    end=$(date +%s%N)
    ms+=($(((end - start) / 1000000)))
done
sorted=$(printf '%s\n' "${ms[@]}" | sort -n)
min=$(echo "$sorted" | head -1)
max=$(echo "$sorted" | tail -1)
median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
checks=$(grep -o '"id"' "$dir/conformance.json" | wc -l)
echo "recovery-harness check, embedded server, $checks checks, $runs runs: min ${min} ms, median ${median} ms, max ${max} ms (wall, per run)"
