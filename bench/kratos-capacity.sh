#!/usr/bin/env bash
# The capacity of the real Ory Kratos for `create-native-flow` within an objective, found by
# `recovery-harness load capacity`, and an `oha` sweep at the same rates with
# `--latency-correction` (its open model) for comparison. Release build (not timed); Kratos on
# loopback with `serve --dev`, on a SQLite file (default) or on a throwaway PostgreSQL cluster.
#
#   RECOVERY_HARNESS_KRATOS_BIN=$PWD/../shared/kratos/kratos bench/kratos-capacity.sh          # SQLite
#   DB=postgres RECOVERY_HARNESS_KRATOS_BIN=... bench/kratos-capacity.sh                       # PostgreSQL
#   SLO='p99<100ms' STEP=10s START=100 MAX_IN_FLIGHT=500 ...                                  # the defaults
#
# oha: `cargo install oha` (crates.io). PostgreSQL: Debian's `postgresql` (initdb runs as the
# `postgres` user, as its README says). kratos.yml and identity.schema.json are read from the
# Kratos binary's directory. Kratos and PostgreSQL are stopped by their PIDs when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
kratos=${RECOVERY_HARNESS_KRATOS_BIN:?set RECOVERY_HARNESS_KRATOS_BIN to the kratos binary}
db=${DB:-sqlite}
slo=${SLO:-p99<100ms}
step=${STEP:-10s}
start_rate=${START:-100}
in_flight=${MAX_IN_FLIGHT:-500}
profile=${PROFILE:-release}
command -v oha >/dev/null || { echo "oha is not installed: cargo install oha" >&2; exit 2; }
. bench/lib.sh
build_harness "$profile"

dir=$(mktemp -d)
chmod 755 "$dir"
pid=
pg_data=
cleanup() {
    [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    [ -n "$pg_data" ] && runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
case "$db" in
sqlite) dsn="sqlite://$dir/db.sqlite?_fk=true&_journal=WAL&mode=rwc" ;;
postgres)
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL not found (apt-get install postgresql)" >&2; exit 2; }
    pg_port=$(free_port)
    mkdir "$dir/pg"
    chown postgres "$dir/pg"
    pg_data=$dir/pg/data
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -A trust -U kratos >/dev/null
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$dir/pg/log" -w start \
        -o "-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1 -c fsync=off" >/dev/null
    "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U kratos -d postgres -qc 'create database kratos'
    dsn="postgres://kratos@127.0.0.1:$pg_port/kratos?sslmode=disable&max_conns=20"
    ;;
*) echo "DB is sqlite or postgres, not '$db'" >&2; exit 2 ;;
esac
export DSN="$dsn" COURIER_SMTP_CONNECTION_URI="smtp://127.0.0.1:9/?disable_starttls=true"
start_kratos "$kratos" "$dir"
pid=$kratos_pid
wait_kratos "$dir"

echo "recovery-harness load capacity --target $base --slo '$slo' --start-rate $start_rate --step-duration $step --max-in-flight $in_flight ($profile build, Kratos on $db)"
code=0
"$bin" load capacity --target "$base" --scenario create-native-flow --slo "$slo" \
    --start-rate "$start_rate" --step-duration "$step" --max-in-flight "$in_flight" \
    --report-dir "$dir/capacity" || code=$?
echo "exit $code"

# The same rates, by oha: -q RATE with --latency-correction counts each request from its
# scheduled time, as `load --rate` does; -c as many connections as --max-in-flight.
rates=$(python3 -c "import json,sys; print(' '.join(str(s['intended_rate']) for s in json.load(open(sys.argv[1]))['capacity']['steps']))" "$dir/capacity/load-summary.json")
seconds=${step%s}
echo
echo "oha -z ${step} -q RATE --latency-correction -c $in_flight --no-tui --output-format json -H 'Accept: application/json' $base/self-service/recovery/api"
printf '%10s  %10s  %9s  %9s  %9s  %8s\n' "rate/s" "achieved/s" "p50 ms" "p95 ms" "p99 ms" "errors"
for rate in $rates; do
    oha -z "${seconds}s" -q "$rate" --latency-correction -c "$in_flight" --no-tui --output-format json \
        -H 'Accept: application/json' "$base/self-service/recovery/api" >"$dir/oha.json" 2>/dev/null || true
    python3 - "$dir/oha.json" "$rate" "$seconds" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
p = d.get("latencyPercentiles", {})
codes = d.get("statusCodeDistribution", {})
ok = sum(n for c, n in codes.items() if c == "200")
# Requests still open when -z ends are "aborted due to deadline": not the target's errors.
errors = sum(n for c, n in codes.items() if c != "200") + sum(
    n for e, n in d.get("errorDistribution", {}).items() if "deadline" not in e)
ms = lambda k: (p.get(k) or 0) * 1000
print(f"{float(sys.argv[2]):10.2f}  {ok / float(sys.argv[3]):10.1f}  {ms('p50'):9.2f}  {ms('p95'):9.2f}  {ms('p99'):9.2f}  {errors:8d}")
EOF
done
