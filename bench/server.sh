#!/usr/bin/env bash
# Benchmark of the reference server (issue 3 §3), one command:
#
#   bench/server.sh [DURATION_SECONDS] [CONNECTIONS]
#
# 1. Throughput: wrk against GET /self-service/recovery/api of `recovery-harness serve` and, in the
#    same run with the same settings, against the minimal axum hello server
#    (examples/hello_server.rs, built the same way); prints both requests/s and the ratio
#    (target: >= 0.80).
# 2. Memory: fills a server started with --max-flows 1000000 with >= 1,000,000 flows and reports
#    its RSS in MiB per million flows (target: <= 256).
# 3. Flatness: 60 s of load on that full server (max_flows bounds the store), RSS sampled every
#    10 s; prints the samples and the growth.
#
# Loopback only; every load step is bounded in time. Needs wrk (`apt-get install -y wrk`).
set -euo pipefail

DURATION="${1:-10}"
CONNS="${2:-64}"
THREADS="${WRK_THREADS:-1}"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
cd "$HERE"

command -v wrk >/dev/null || { echo "error: wrk not found; apt-get install -y wrk" >&2; exit 2; }

# BENCH_PROFILE: release (default) or profiling (the same code with line tables, for perf).
PROFILE="${BENCH_PROFILE:-release}"
CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --profile "$PROFILE" --quiet --bin recovery-harness --example hello_server
TARGET="${CARGO_TARGET_DIR:-$HERE/target}/$PROFILE"
BIN="$TARGET/recovery-harness"
HELLO="$TARGET/examples/hello_server"

PIDS=()
FLAT_OUT=$(mktemp)
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -f "$FLAT_OUT"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "error: $1 did not come up" >&2; exit 2; }
rps() { awk '/Requests\/sec/ {print $2}'; }
total() { awk '/requests in/ {print $1}'; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

HELLO_PORT=$(free_port)
"$HELLO" "127.0.0.1:$HELLO_PORT" >/dev/null & PIDS+=($!)
SERVE_PORT=$(free_port)
"$BIN" serve --listen "127.0.0.1:$SERVE_PORT" --max-flows 1000000 >/dev/null & SERVE_PID=$!; PIDS+=($SERVE_PID)
wait_up "http://127.0.0.1:$HELLO_PORT/hello"
wait_up "http://127.0.0.1:$SERVE_PORT/self-service/recovery/api"

echo "== throughput: wrk -t$THREADS -c$CONNS -d${DURATION}s (loopback) =="
# Two interleaved rounds, best of each: the machine may be shared, and interleaving keeps a
# burst of outside load from favouring one side.
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$HELLO_PORT/hello" >/dev/null   # warm-up
wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$SERVE_PORT/self-service/recovery/api" >/dev/null
HELLO_RPS=0; SERVE_RPS=0; SERVE_OUT=""
for round in 1 2; do
  H=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$HELLO_PORT/hello" | rps)
  OUT=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$SERVE_PORT/self-service/recovery/api")
  S=$(echo "$OUT" | rps)
  echo "round $round: hello $H req/s, reference $S req/s"
  HELLO_RPS=$(awk -v a="$HELLO_RPS" -v b="$H" 'BEGIN {print (b>a)?b:a}')
  if awk -v a="$SERVE_RPS" -v b="$S" 'BEGIN {exit !(b>a)}'; then SERVE_RPS=$S; fi
  SERVE_OUT="$SERVE_OUT
$OUT"
done
echo "hello server:        $HELLO_RPS req/s"
echo "reference server:    $SERVE_RPS req/s (GET /self-service/recovery/api)"
echo "$SERVE_OUT" | grep -E "Non-2xx|Socket errors" || true
RATIO=$(awk -v a="$SERVE_RPS" -v b="$HELLO_RPS" 'BEGIN {printf "%.2f", a/b}')
echo "ratio:               $RATIO (target >= 0.80)"
kill "${PIDS[0]}" 2>/dev/null || true

echo "== memory: fill to 1,000,000 live flows =="
CREATED=$(echo "$SERVE_OUT" | total | awk '{s+=$1} END {print s+0}')
while [ "$CREATED" -lt 1000000 ]; do
  OUT=$(wrk -t"$THREADS" -c"$CONNS" -d10s "http://127.0.0.1:$SERVE_PORT/self-service/recovery/api")
  CREATED=$(( CREATED + $(echo "$OUT" | total) ))
done
RSS=$(rss_mib "$SERVE_PID")
echo "flows created so far: $CREATED (store holds min(created, 1,000,000))"
echo "RSS with 1,000,000 live flows: $RSS MiB (target <= 256 MiB per million)"

echo "== flatness: 60 s of load at the --max-flows bound =="
wrk -t"$THREADS" -c"$CONNS" -d60s "http://127.0.0.1:$SERVE_PORT/self-service/recovery/api" > "$FLAT_OUT" &
WRK_PID=$!
SAMPLES=()
for _ in 1 2 3 4 5 6; do sleep 10; SAMPLES+=("$(rss_mib "$SERVE_PID")"); done
wait "$WRK_PID" || true
echo "RSS samples (MiB, every 10 s): ${SAMPLES[*]}"
echo "requests during the 60 s: $(total < "$FLAT_OUT")"
awk -v a="${SAMPLES[0]}" -v b="${SAMPLES[5]}" 'BEGIN {printf "RSS growth over the last 50 s: %.1f MiB\n", b-a}'
