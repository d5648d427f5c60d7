#!/usr/bin/env bash
# Load-runner benchmark: one command, same machine, same reference server, same connections.
#
#   bench/load.sh [SECONDS] [USERS]     (defaults: 10 s per throughput run; USERS "8,32", the two
#                                        user counts docs/performance.md quotes; comma-separated)
#
# For each user count, ROUNDS times, back to back:
# 1. wrk on create-native-flow (GET /self-service/recovery/api) against a `serve` process;
# 2. `load --validate none` and `load --validate all` on the same scenario, as many users as wrk's
#    connections, against the same server (the order alternates between rounds).
# Then a 60 s `load --validate all` run whose RSS is sampled every 5 s (and its peak via
# /usr/bin/time -v when available): memory must stay flat (BENCH_MEMORY=0 skips it).
#
# Prints, per user count, the medians of the rounds and the two ratios docs/performance.md quotes:
# all / none (target >= 0.9) and none / wrk (target >= 0.5), and the median of the per-round
# all / none ratios (each from two runs seconds apart: the least disturbed by a shared machine).
# Not a test: numbers depend on the machine; nothing here asserts them.
#
# Environment: BENCH_ROUNDS (3), BENCH_MEMORY (1), BENCH_PROFILE (release; `profiling` is the
# same code with line tables, for perf), BENCH_BUILD (1), BENCH_OUT, BENCH_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${1:-10}"
USERS_LIST="${2:-8,32}"
PROFILE="${BENCH_PROFILE:-release}"
BIN="${CARGO_TARGET_DIR:-target}/${PROFILE}/recovery-harness"
OUT="${BENCH_OUT:-reports/bench-load}"
PORT="${BENCH_PORT:-48433}"
BASE="http://127.0.0.1:${PORT}"
ROUNDS="${BENCH_ROUNDS:-3}"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
# BENCH_BUILD=0 measures the binary already built (to catch an idle moment of a shared machine).
[ "${BENCH_BUILD:-1}" = 0 ] || CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --profile "$PROFILE" --quiet --bin recovery-harness
mkdir -p "$OUT"

"$BIN" serve --listen "127.0.0.1:${PORT}" --max-flows 20000 >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fsS -o /dev/null -H 'Accept: application/json' "$BASE/self-service/recovery/api" 2>/dev/null && break
  sleep 0.1
done

rps_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rps"])' "$1"; }

run_load() { # mode dir duration users
  "$BIN" load --target "$BASE" --scenario create-native-flow --users "$4" --ramp 0s \
    --duration "$3" --validate "$1" --threshold 'error-rate<1%' --report-dir "$2" --quiet
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$OUT/results.txt"
IFS=',' read -r -a USERS_ARR <<<"$USERS_LIST"
for CONNS in "${USERS_ARR[@]}"; do
  WRKS=(); NONES=(); ALLS=()
  for r in $(seq "$ROUNDS"); do
    echo "== ${CONNS} users, round $r: wrk, ${CONNS} connections, 2 threads, ${SECS}s"
    wrk -t2 -c"$CONNS" -d"${SECS}s" -H 'Accept: application/json' "$BASE/self-service/recovery/api" \
      | tee "$OUT/wrk-$CONNS-$r.txt"
    WRKS+=("$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk-$CONNS-$r.txt")")
    # Alternate which mode goes first, so neither always meets a warmer server.
    if [ $((r % 2)) = 1 ]; then ORDER="none all"; else ORDER="all none"; fi
    for mode in $ORDER; do
      echo "== ${CONNS} users, round $r: load --validate $mode, ${SECS}s"
      run_load "$mode" "$OUT/$mode-$CONNS-$r" "${SECS}s" "$CONNS"
      rps=$(rps_of "$OUT/$mode-$CONNS-$r/load-summary.json")
      echo "   $rps req/s"
      if [ "$mode" = none ]; then NONES+=("$rps"); else ALLS+=("$rps"); fi
    done
  done
  echo "$CONNS ${WRKS[*]} | ${NONES[*]} | ${ALLS[*]}" >>"$OUT/results.txt"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

: >"$OUT/rss.txt"
if [ "${BENCH_MEMORY:-1}" != 0 ]; then
  CONNS="${USERS_ARR[0]}"
  echo "== memory: load --validate all, ${CONNS} users, 60s, RSS sampled every 5s"
  TIMEV=()
  [ -x /usr/bin/time ] && TIMEV=(/usr/bin/time -v -o "$OUT/mem-time.txt")
  "${TIMEV[@]}" "$BIN" load --target "$BASE" --scenario create-native-flow --users "$CONNS" --ramp 0s \
    --duration 60s --validate all --threshold 'error-rate<1%' --report-dir "$OUT/mem" --quiet &
  LOADPID=$!
  for t in $(seq 5 5 60); do
    sleep 5
    PID=$(pgrep -n -f "report-dir $OUT/mem" || true)
    [ -n "$PID" ] && echo "$t $(ps -o rss= -p "$PID" | tr -d ' ')" | tee -a "$OUT/rss.txt"
  done
  wait "$LOADPID"
  [ -f "$OUT/mem-time.txt" ] && grep -E 'Maximum resident' "$OUT/mem-time.txt"
fi

python3 - "$OUT/results.txt" "$OUT/rss.txt" "$SECS" "$ROUNDS" "$PROFILE" <<'EOF'
import statistics as st
import sys
results, rss_file, secs, rounds, profile = sys.argv[1:6]
print(f"\n== result: median of {rounds} rounds of {secs} s, {profile} build")
print(f"{'users':>5}  {'wrk':>9}  {'none':>9}  {'all':>9}  {'none/wrk':>8}  {'all/none':>8}  {'per-round all/none':>22}")
lines = []
for line in open(results):
    head, nones, alls = line.split("|")
    users, *wrks = head.split()
    wrks = [float(x) for x in wrks]
    nones = [float(x) for x in nones.split()]
    alls = [float(x) for x in alls.split()]
    wrk, none, all_ = st.median(wrks), st.median(nones), st.median(alls)
    pairs = [a / n for a, n in zip(alls, nones)]
    print(f"{users:>5}  {wrk:9.0f}  {none:9.0f}  {all_:9.0f}  {none / wrk:7.2f}x  {all_ / none:7.2f}x  "
          f"{' '.join(f'{p:.2f}' for p in pairs):>22}")
    lines.append((users, all_ / none, st.median(pairs), none / wrk))
print()
for users, ratio, paired, vs_wrk in lines:
    verdict = "met" if ratio >= 0.9 else "NOT met"
    print(f"validation, {users} users: --validate all = {ratio:.2f}x --validate none "
          f"(median of per-round ratios {paired:.2f}x; target >= 0.9x: {verdict}); "
          f"--validate none = {vs_wrk:.2f}x wrk (target >= 0.5x)")
rss = [tuple(map(int, l.split())) for l in open(rss_file) if l.strip()]
if len(rss) >= 3:
    early = rss[1][1]
    late = rss[-1][1]
    print(f"RSS at {rss[1][0]}s {early} KiB, at {rss[-1][0]}s {late} KiB "
          f"({(late - early) / early * 100:+.1f}% over the last {rss[-1][0] - rss[1][0]}s)")
EOF
