#!/usr/bin/env bash
# Benchmark of the reference server, one command:
#
#   bench/server.sh [DURATION_SECONDS] [CONNECTIONS]
#
# 1. Throughput: wrk against GET /self-service/recovery/api of `recovery-harness serve` and, in the
#    same run with the same settings, against the minimal axum hello server
#    (examples/hello_server.rs, built the same way, same profile); BENCH_ROUNDS interleaved rounds
#    (hello, reference, [baseline]); prints every round, the medians, their ratio and the median
#    of the per-round ratios, and whether the target (>= 0.90x) is met.
# 2. Instructions per request (BENCH_CALLGRIND=1): each server under valgrind's callgrind for a
#    wrk run of BENCH_CALLGRIND_SECONDS (5), instructions counted from the first request to the
#    last: a figure a busy machine does not move (user space only, no kernel, no cache misses).
# 3. Memory (BENCH_MEMORY=1, the default): fills the server, started with --max-flows 1000000,
#    with >= 1,000,000 flows and reports its RSS in MiB (target: <= 128 per million flows).
# 4. Flatness (with 3): 60 s of load on that full server (max_flows bounds the store), RSS sampled
#    every 10 s; prints the samples and the growth.
#
# Environment: BENCH_ROUNDS (3); BENCH_PROFILE (release; `profiling` is the same code with line
# tables, for perf); BENCH_BASELINE: the path of another recovery-harness binary (an older build)
# run as a third server in every round, for before/after figures from one run; BENCH_MEMORY (1);
# BENCH_CALLGRIND (0); WRK_THREADS (1); CARGO_TARGET_DIR as cargo reads it.
#
# Loopback only; every load step is bounded in time. Needs wrk (`apt-get install -y wrk`); for
# BENCH_CALLGRIND, valgrind.
set -euo pipefail

DURATION="${1:-10}"
CONNS="${2:-64}"
THREADS="${WRK_THREADS:-1}"
ROUNDS="${BENCH_ROUNDS:-3}"
MEMORY="${BENCH_MEMORY:-1}"
CALLGRIND="${BENCH_CALLGRIND:-0}"
CG_SECONDS="${BENCH_CALLGRIND_SECONDS:-5}"
BASELINE="${BENCH_BASELINE:-}"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
cd "$HERE"

command -v wrk >/dev/null || { echo "error: wrk not found; apt-get install -y wrk" >&2; exit 2; }
if [ "$CALLGRIND" = 1 ]; then
  command -v valgrind >/dev/null || { echo "error: valgrind not found; apt-get install -y valgrind" >&2; exit 2; }
fi
if [ -n "$BASELINE" ] && [ ! -x "$BASELINE" ]; then
  echo "error: BENCH_BASELINE=$BASELINE is not an executable recovery-harness" >&2; exit 2
fi

# BENCH_PROFILE: release (default) or profiling (the same code with line tables, for perf).
PROFILE="${BENCH_PROFILE:-release}"
CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --profile "$PROFILE" --quiet --bin recovery-harness --example hello_server
TARGET="${CARGO_TARGET_DIR:-$HERE/target}/$PROFILE"
BIN="$TARGET/recovery-harness"
HELLO="$TARGET/examples/hello_server"
OUT="$(mktemp -d)"

PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "$OUT"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
wait_up() { for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "error: $1 did not come up" >&2; exit 2; }
rps() { awk '/Requests\/sec/ {print $2}'; }
total() { awk '/requests in/ {print $1}'; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
API=/self-service/recovery/api

HELLO_PORT=$(free_port)
"$HELLO" "127.0.0.1:$HELLO_PORT" >/dev/null & PIDS+=($!)
SERVE_PORT=$(free_port)
"$BIN" serve --listen "127.0.0.1:$SERVE_PORT" --max-flows 1000000 >/dev/null & SERVE_PID=$!; PIDS+=($SERVE_PID)
URLS=("http://127.0.0.1:$HELLO_PORT/hello" "http://127.0.0.1:$SERVE_PORT$API")
NAMES=(hello reference)
if [ -n "$BASELINE" ]; then
  BASE_PORT=$(free_port)
  "$BASELINE" serve --listen "127.0.0.1:$BASE_PORT" --max-flows 1000000 >/dev/null & PIDS+=($!)
  URLS+=("http://127.0.0.1:$BASE_PORT$API")
  NAMES+=(baseline)
fi
for u in "${URLS[@]}"; do wait_up "$u"; done

echo "== throughput: wrk -t$THREADS -c$CONNS -d${DURATION}s (loopback), $ROUNDS interleaved rounds, $PROFILE build =="
for u in "${URLS[@]}"; do wrk -t"$THREADS" -c"$CONNS" -d2s "$u" >/dev/null; done   # warm-up
for round in $(seq "$ROUNDS"); do
  line="round $round:"
  for i in "${!URLS[@]}"; do
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "${URLS[$i]}" > "$OUT/wrk.$round.$i"
    line="$line ${NAMES[$i]} $(rps < "$OUT/wrk.$round.$i") req/s,"
    echo "${NAMES[$i]} $round $(rps < "$OUT/wrk.$round.$i")" >> "$OUT/results.txt"
  done
  echo "${line%,}"
done
cat "$OUT"/wrk.*.1 | grep -E "Non-2xx|Socket errors" || true
python3 - "$OUT/results.txt" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for name, rnd, v in rows:
    by.setdefault(name, {})[int(rnd)] = float(v)
hello = by["hello"]
med = {name: st.median(v.values()) for name, v in by.items()}
for name in by:
    print(f"{name + ':':<11} median {med[name]:>10,.0f} req/s")
for name in [n for n in by if n != "hello"]:
    per_round = [by[name][r] / hello[r] for r in sorted(hello)]
    ratio = med[name] / med["hello"]
    rounds = ", ".join(f"{x:.2f}" for x in per_round)
    line = (f"{name} / hello: {ratio:.2f}x (ratio of the medians; per round {rounds}; "
            f"median of the per-round ratios {st.median(per_round):.2f}x)")
    if name == "reference":
        line += f" -- target >= 0.90x: {'met' if ratio >= 0.9 else 'NOT met'}"
    print(line)
EOF

if [ "$CALLGRIND" = 1 ]; then
  echo "== instructions per request: callgrind, wrk -t1 -c8 -d${CG_SECONDS}s, user space only =="
  cg_one() { # name url-path cmd...
    local name=$1 path=$2 port pid n ir
    shift 2
    port=$(free_port)
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg.$name" \
      "${@//PORT/$port}" >/dev/null 2>"$OUT/cg.$name.log" &
    pid=$!; PIDS+=($pid)
    wait_up "http://127.0.0.1:$port$path"
    wrk -t1 -c8 -d2s "http://127.0.0.1:$port$path" >/dev/null
    callgrind_control -i on "$pid" >/dev/null 2>&1
    n=$(wrk -t1 -c8 -d"${CG_SECONDS}s" "http://127.0.0.1:$port$path" | total)
    callgrind_control -i off "$pid" >/dev/null 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -INT "$pid"; wait "$pid" || true
    ir=$(callgrind_annotate "$(ls -S "$OUT/cg.$name".* | grep -v log | head -1)" 2>/dev/null \
      | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    awk -v name="$name" -v ir="$ir" -v n="$n" \
      'BEGIN {printf "%-10s %8d requests, %14.0f instructions, %7.0f per request\n", name ":", n, ir, ir / n}'
  }
  cg_one hello /hello "$HELLO" "127.0.0.1:PORT"
  cg_one reference "$API" "$BIN" serve --listen "127.0.0.1:PORT" --max-flows 1000000
  if [ -n "$BASELINE" ]; then
    cg_one baseline "$API" "$BASELINE" serve --listen "127.0.0.1:PORT" --max-flows 1000000
  fi
fi

[ "$MEMORY" = 1 ] || exit 0
kill "${PIDS[0]}" 2>/dev/null || true

echo "== memory: fill to 1,000,000 live flows =="
CREATED=$(cat "$OUT"/wrk.*.1 | total | awk '{s+=$1} END {print s+0}')
while [ "$CREATED" -lt 1000000 ]; do
  wrk -t"$THREADS" -c"$CONNS" -d10s "http://127.0.0.1:$SERVE_PORT$API" > "$OUT/fill"
  CREATED=$(( CREATED + $(total < "$OUT/fill") ))
done
RSS=$(rss_mib "$SERVE_PID")
echo "flows created so far: $CREATED (store holds min(created, 1,000,000))"
echo "RSS with 1,000,000 live flows: $RSS MiB (target <= 128 MiB per million)"

echo "== flatness: 60 s of load at the --max-flows bound =="
wrk -t"$THREADS" -c"$CONNS" -d60s "http://127.0.0.1:$SERVE_PORT$API" > "$OUT/flat" &
WRK_PID=$!
SAMPLES=()
for _ in 1 2 3 4 5 6; do sleep 10; SAMPLES+=("$(rss_mib "$SERVE_PID")"); done
wait "$WRK_PID" || true
echo "RSS samples (MiB, every 10 s): ${SAMPLES[*]}"
echo "requests during the 60 s: $(total < "$OUT/flat")"
awk -v a="${SAMPLES[0]}" -v b="${SAMPLES[5]}" 'BEGIN {printf "RSS growth over the last 50 s: %.1f MiB\n", b-a}'
