#!/usr/bin/env bash
# Sharded load benchmark: what N shards add over one process, and what `load merge` costs.
#
#   bench/shards.sh [SHARDS] [SECONDS] [USERS]     (defaults: 4 shards, 10 s, 8 users in all)
#
# 1. one shard (`--shard 0/1`) with all USERS against a `serve` process: total rps;
# 2. SHARDS shards (`--shards N`, JOB_COMPLETION_INDEX=0..N-1, one --start-at) sharing the same
#    USERS against the same server, then `load merge`: total rps of the merged run, and the sum
#    of the shards' own rps;
# 3. 8 shards of a 60 s run (BENCH_MERGE_SECONDS), then `load merge` on them timed BENCH_ROUNDS
#    times (median): the cost of the verdict step.
# On one machine the shards compete with the server for the same cores: the figure that matters
# is whether one process was the limit. Not a test: nothing here asserts a number.
# BENCH_BIN=path runs that binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARDS="${1:-4}"
SECS="${2:-10}"
USERS="${3:-8}"
MERGE_SECS="${BENCH_MERGE_SECONDS:-60}"
ROUNDS="${BENCH_ROUNDS:-5}"
BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release/recovery-harness}"
OUT="${BENCH_OUT:-reports/bench-shards}"
PORT="${BENCH_PORT:-48533}"
BASE="http://127.0.0.1:${PORT}"

[ -n "${BENCH_BIN:-}" ] || CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --release --quiet
rm -rf "$OUT"
mkdir -p "$OUT"

"$BIN" serve --listen "127.0.0.1:${PORT}" --max-flows 20000 >"$OUT/serve.log" 2>&1 &
SERVER=$!
PIDS=()
cleanup() {
  for p in "${PIDS[@]}" "$SERVER"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
for _ in $(seq 50); do
  curl -fsS -o /dev/null -H 'Accept: application/json' "$BASE/self-service/recovery/api" 2>/dev/null && break
  sleep 0.1
done

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
start_at() { date -u -d "+$1 sec" +%Y-%m-%dT%H:%M:%SZ; }

# shards N seconds users dir: runs N shard processes from one --start-at, waits for them.
shards() {
  local n=$1 secs=$2 users=$3 dir=$4 at
  at=$(start_at 3)
  PIDS=()
  for i in $(seq 0 $((n - 1))); do
    JOB_COMPLETION_INDEX=$i "$BIN" load --target "$BASE" --scenario create-native-flow \
      --shards "$n" --users "$users" --ramp 0s --duration "${secs}s" --start-at "$at" \
      --threshold 'error-rate<1%' --report-dir "$dir/shard-{shard}" --quiet \
      >"$dir.shard-$i.log" 2>&1 &
    PIDS+=($!)
  done
  local rc=0
  for p in "${PIDS[@]}"; do wait "$p" || rc=$?; done
  PIDS=()
  return $rc
}

echo "== 1 shard, ${USERS} users, ${SECS}s"
shards 1 "$SECS" "$USERS" "$OUT/one"
"$BIN" load merge "$OUT/one" --report-dir "$OUT/one/merged" --quiet
ONE=$(field "$OUT/one/merged/load-summary.json" rps)

echo "== ${SHARDS} shards, ${USERS} users in all, ${SECS}s"
shards "$SHARDS" "$SECS" "$USERS" "$OUT/many"
"$BIN" load merge "$OUT/many" --report-dir "$OUT/many/merged" --quiet
MANY=$(field "$OUT/many/merged/load-summary.json" rps)
OVERLAP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["merge"]["window_overlap"])' "$OUT/many/merged/load-summary.json")
SUM=$(python3 -c 'import json,sys; print(round(sum(json.load(open(p))["rps"] for p in sys.argv[1:]),1))' "$OUT"/many/shard-*/load-summary.json)

echo "== 8 shards of a ${MERGE_SECS}s run (2 users each), then load merge x${ROUNDS}"
shards 8 "$MERGE_SECS" 16 "$OUT/merge8"
BUCKETS=$(python3 -c '
import json,sys
print(sum(len(r["raw_data"]["times_us"]) for p in sys.argv[1:] for r in json.load(open(p))["raw_metrics"]["requests"].values()))' "$OUT"/merge8/shard-*/report.json)
TIMES=()
for r in $(seq "$ROUNDS"); do
  t0=$(date +%s%N)
  "$BIN" load merge "$OUT/merge8" --report-dir "$OUT/merge8/merged" --quiet >/dev/null
  t1=$(date +%s%N)
  TIMES+=("$(( (t1 - t0) / 1000000 ))")
done
MEDIAN=$(printf '%s\n' "${TIMES[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
REQS=$(field "$OUT/merge8/merged/load-summary.json" requests)
SIZE=$(du -ch "$OUT"/merge8/shard-*/report.json | awk 'END {print $1}')

echo
echo "create-native-flow, ${USERS} users in all, ${SECS}s, one serve on $(nproc) cores:"
echo "  1 shard:              ${ONE} req/s"
echo "  ${SHARDS} shards (merged):   ${MANY} req/s (shards' own rps summed: ${SUM}; window overlap ${OVERLAP})"
echo "load merge of 8 shards x ${MERGE_SECS}s (${REQS} requests, ${BUCKETS} histogram buckets, report.json ${SIZE} in all):"
echo "  median ${MEDIAN} ms over ${ROUNDS} runs (${TIMES[*]})"
