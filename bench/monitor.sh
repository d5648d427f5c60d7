#!/usr/bin/env bash
# Monitor benchmark: memory and CPU of `recovery-harness monitor --every 1s` left running against
# the reference server (a `serve` process), sampled from /proc every BENCH_SAMPLE seconds.
#
#   bench/monitor.sh [SECONDS]          (default 600: ten minutes, about 600 runs of the suite)
#
# Prints one line per sample (elapsed s, runs so far, RSS MiB, CPU s used) and a summary: RSS
# after the first minute and at the end, the least and most after the first minute, the
# least-squares slope of RSS over the samples after the first minute (MiB per hour), the average
# CPU use of the monitor process (% of one core) and CPU per run. Memory must stay flat: the slope
# is the figure docs/monitor.md quotes. Not a test: numbers depend on the machine; nothing here
# asserts them.
#
# Environment: BENCH_PROFILE (release), BENCH_BUILD (1; 0 measures the binary already built),
# BENCH_OUT (reports/bench-monitor), BENCH_PORT (48533; the metrics port is the next one),
# BENCH_SAMPLE (10), BENCH_EVERY (1s).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${1:-600}"
PROFILE="${BENCH_PROFILE:-release}"
BIN="${CARGO_TARGET_DIR:-target}/${PROFILE}/recovery-harness"
OUT="${BENCH_OUT:-reports/bench-monitor}"
PORT="${BENCH_PORT:-48533}"
METRICS_PORT=$((PORT + 1))
SAMPLE="${BENCH_SAMPLE:-10}"
EVERY="${BENCH_EVERY:-1s}"
BASE="http://127.0.0.1:${PORT}"

[ "${BENCH_BUILD:-1}" = 0 ] || CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --profile "$PROFILE" --quiet --bin recovery-harness
mkdir -p "$OUT"

"$BIN" serve --listen "127.0.0.1:${PORT}" >"$OUT/serve.log" 2>&1 &
SERVER=$!
MONITOR=
cleanup() {
  [ -z "$MONITOR" ] || kill "$MONITOR" 2>/dev/null || true
  kill "$SERVER" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do
  curl -fsS -o /dev/null -H 'Accept: application/json' "$BASE/self-service/recovery/api" 2>/dev/null && break
  sleep 0.1
done

"$BIN" monitor --target "$BASE" --every "$EVERY" --listen "127.0.0.1:${METRICS_PORT}" >"$OUT/monitor.log" 2>&1 &
MONITOR=$!
TICK=$(getconf CLK_TCK)

cpu_seconds() { # utime + stime of a PID, in seconds
  awk -v tick="$TICK" '{ sub(/^.*\) /, ""); print ($12 + $13) / tick }' "/proc/$1/stat"
}
rss_mib() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}
runs() {
  curl -fsS "http://127.0.0.1:${METRICS_PORT}/metrics" 2>/dev/null \
    | awk '/^recovery_harness_runs_total/ { n += $NF } END { print n + 0 }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "monitor --every $EVERY against serve, ${SECS}s, a sample every ${SAMPLE}s" | tee "$OUT/samples.txt"
echo "elapsed_s runs rss_mib cpu_s" | tee -a "$OUT/samples.txt"
START=$(date +%s.%N)
CPU0=$(cpu_seconds "$MONITOR")
while :; do
  NOW=$(date +%s.%N)
  ELAPSED=$(awk -v a="$NOW" -v b="$START" 'BEGIN { printf "%.0f", a - b }')
  echo "$ELAPSED $(runs) $(rss_mib "$MONITOR") $(cpu_seconds "$MONITOR")" | tee -a "$OUT/samples.txt"
  [ "$ELAPSED" -ge "$SECS" ] && break
  sleep "$SAMPLE"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

awk -v cpu0="$CPU0" '
  NR <= 2 { next }
  { t[n] = $1; r[n] = $2; m[n] = $3; c[n] = $4; n++ }
  END {
    # Samples after the first minute: start-up and the allocator warming up are not a trend.
    k = 0
    for (i = 0; i < n; i++) if (t[i] >= 60) { x[k] = t[i]; y[k] = m[i]; k++ }
    if (k < 2) { print "too short for a trend (run at least 80 s)"; exit }
    sx = sy = sxx = sxy = 0; lo = hi = y[0]
    for (i = 0; i < k; i++) {
      sx += x[i]; sy += y[i]; sxx += x[i] * x[i]; sxy += x[i] * y[i]
      if (y[i] < lo) lo = y[i]; if (y[i] > hi) hi = y[i]
    }
    slope = (k * sxy - sx * sy) / (k * sxx - sx * sx)
    cpu = c[n - 1] - cpu0
    printf "RSS: %.1f MiB at %d s, %.1f MiB at %d s; after the first minute between %.1f and %.1f MiB; slope %+.2f MiB/hour\n", y[0], x[0], y[k - 1], x[k - 1], lo, hi, slope * 3600
    printf "CPU: %.1f s in %d s = %.1f%% of one core; %d runs, %.1f ms of CPU per run\n", cpu, t[n - 1], 100 * cpu / t[n - 1], r[n - 1], 1000 * cpu / (r[n - 1] > 0 ? r[n - 1] : 1)
  }' "$OUT/samples.txt" | tee "$OUT/summary.txt"
