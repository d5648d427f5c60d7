#!/usr/bin/env bash
# Wall time of the concurrency checks, `recovery-harness check --only race` (race.code.single_use
# and race.brute_force.limit with their prerequisites; default --race-width 16, --race-trials 16),
# end to end, against the embedded reference server and against the real Ory Kratos on a
# throwaway PostgreSQL cluster (codes read from the courier, Kratos's mail sent to a Mailpit so the
# courier marks it sent). Release build; neither the build nor the servers' start is timed. Each
# Kratos run also says how many trials issued two sessions for one code.
#
#   bench/race.sh                                                             # embedded only, 10 runs
#   RECOVERY_HARNESS_KRATOS_BIN=$PWD/../shared/kratos/kratos bench/race.sh    # + Kratos master on PostgreSQL
#   KRATOS=kratos-v26.2.0 RECOVERY_HARNESS_KRATOS_BIN=... bench/race.sh       # + the release beside it
#   DB=sqlite ...       # Kratos on a SQLite file instead (writes serialized: the race cannot show)
#   SUITE=all PULL_WAIT=1s ...   # the verdicts instead of timings: the whole suite once with a session
#                       # token and cookie, then again with --strict; summary, exit code, failed checks
#                       # and trials with a double success of each (docs/check.md's matrix)
#   RUNS=5 PULL_WAIT=1s ...   # Kratos's courier.worker.pull_wait (default here 100ms; Kratos's own: 1s)
#
# Kratos's mail goes to a Mailpit (mailpit on PATH). PostgreSQL comes from Debian's package (/usr/lib/postgresql/<major>/bin, or POSTGRES_BIN); as
# root, initdb and the server run as the `postgres` user. Every process the script starts is
# stopped by its PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
. bench/lib.sh
build_harness release

dir=$(mktemp -d)
pids=()
pg_data=
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT

# Times `check ARGS...` RUNS times; prints min/median/max and, for a real Kratos, the trials with
# a double success of each run.
measure() {
    local label=$1
    shift
    local reports=$dir/reports ms=() doubles=() start end code
    "$bin" check --quiet --only race --report-dir "$reports" "$@" >/dev/null || true # warm-up
    for _ in $(seq "$runs"); do
        start=$(date +%s%N)
        code=0
        "$bin" check --quiet --only race --report-dir "$reports" "$@" >/dev/null || code=$?
        end=$(date +%s%N)
        ms+=($(((end - start) / 1000000)))
        doubles+=("$(tr -d '\n' <"$reports/conformance.json" | grep -o '[0-9]* of [0-9]* trials had two or more successes' | cut -d' ' -f1 || true)")
        doubles[-1]=${doubles[-1]:-0}
        [ "$code" -le 1 ] || { echo "$label: exit $code" >&2; exit 1; }
    done
    local sorted
    sorted=$(printf '%s\n' "${ms[@]}" | sort -n)
    echo "$label, $runs runs: min $(echo "$sorted" | head -1) ms, median $(echo "$sorted" | sed -n "$(((runs + 1) / 2))p") ms, max $(echo "$sorted" | tail -1) ms (wall, per run); trials with a double success per run: ${doubles[*]}"
}

# The whole suite without and with --strict against the server: per run its summary line, exit
# code, the checks that failed or warned, and the race's double successes (SUITE=all).
verdicts() {
    local label=$1
    shift
    local reports=$dir/reports out code strict
    for strict in "" --strict; do
        code=0
        out=$("$bin" check --quiet --report-dir "$reports" "$@" $strict 2>&1) || code=$?
        [ "$code" -le 1 ] || { echo "$label: exit $code" >&2; echo "$out" >&2; exit 1; }
        echo "$label${strict:+ $strict}: $(echo "$out" | grep -E '^[0-9]+ passed' | tail -1), exit $code"
        echo "$out" | grep -E '^  (FAIL|WARN|ERR[A-Z]*) ' | sed 's/^  /    /' || true
        tr -d '\n' <"$reports/conformance.json" | grep -o '[0-9]* of [0-9]* trials had two or more successes' | sed 's/^/    /' || true
    done
}

if [ "${SUITE:-race}" = all ]; then
    verdicts "check, embedded reference server"
else
    measure "check --only race, embedded reference server"
fi

kratos_home=${RECOVERY_HARNESS_KRATOS_BIN:-}
[ -n "$kratos_home" ] || exit 0
kratos_home=$(cd "$(dirname "$kratos_home")" && pwd)
kratos="$kratos_home/${KRATOS:-$(basename "$RECOVERY_HARNESS_KRATOS_BIN")}"

if [ "${DB:-postgres}" != sqlite ]; then
    pg_bin=${POSTGRES_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
    [ -x "$pg_bin/initdb" ] || { echo "no PostgreSQL (apt-get install postgresql, or POSTGRES_BIN)" >&2; exit 1; }
    as_pg=()
    server_as_pg=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir"
        as_pg=(runuser -u postgres --)
        server_as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    fi
    "${as_pg[@]}" "$pg_bin/initdb" -D "$dir/pg" -A trust -U bench --no-sync -E UTF8 --locale C >"$dir/initdb.log"
    pg_port=$(free_port)
    "${server_as_pg[@]}" "$pg_bin/postgres" -D "$dir/pg" -p "$pg_port" -k "$dir" -c listen_addresses=127.0.0.1 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off >"$dir/postgres.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 300); do "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U bench -d postgres -qc 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
    "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U bench -d postgres -qc 'create database kratos' >/dev/null
fi

smtp=$(free_port)
web=$(free_port)
mailpit --smtp "127.0.0.1:$smtp" --listen "127.0.0.1:$web" --database "$dir/mailpit.db" \
    --disable-version-check --smtp-disable-rdns --smtp-auth-accept-any --smtp-auth-allow-insecure \
    --quiet >"$dir/mailpit.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$web/readyz" >/dev/null && break; sleep 0.1; done

if [ "${DB:-postgres}" = sqlite ]; then
    export DSN="sqlite://$dir/db.sqlite?_fk=true&_journal=WAL&mode=rwc"
else
    export DSN="postgres://bench@127.0.0.1:$pg_port/kratos?sslmode=disable&max_conns=20"
fi
export COURIER_SMTP_CONNECTION_URI="smtp://127.0.0.1:$smtp/?disable_starttls=true" \
    COURIER_WORKER_PULL_WAIT=${PULL_WAIT:-100ms} \
    HASHERS_ALGORITHM=bcrypt HASHERS_BCRYPT_COST=4 SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED=false
start_kratos "$kratos" "$dir" --watch-courier
pids=("$kratos_pid" "${pids[@]}")
wait_kratos "$dir"
flow=$(curl -sf "$base/self-service/registration/api" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
curl -sf -H 'Content-Type: application/json' -H 'Accept: application/json' \
    -d '{"method":"password","traits":{"email":"bench-race@example.org"},"password":"recovery-harness-Zq7v!long-enough-passphrase"}' \
    "$base/self-service/registration?flow=$flow" >/dev/null

version=$("$kratos" version 2>/dev/null | grep -i '^version' | sed 's/^[Vv]ersion:[[:space:]]*//' || basename "$kratos")
backend=PostgreSQL
[ "${DB:-postgres}" != sqlite ] || backend=SQLite
if [ "${SUITE:-race}" != all ]; then
    measure "check --only race, Kratos $version on $backend, codes from the courier" \
        --target "$base" --courier-url "$admin_base" --known-email bench-race@example.org
    exit 0
fi

# A session token (native registration) and a session cookie (browser registration: the flow's
# csrf_token and its cookie sent back) for the signed-in checks.
register() { # register ADDR [COOKIE_JAR] -> the registration's answer
    local jar=${2:-} kind=api flow csrf=
    [ -z "$jar" ] || kind=browser
    flow=$(curl -sf ${jar:+-c "$jar" -b "$jar"} -H 'Accept: application/json' "$base/self-service/registration/$kind")
    [ -z "$jar" ] || csrf=$(echo "$flow" | grep -o '"name":"csrf_token","type":"hidden","value":"[^"]*"' | cut -d'"' -f12)
    curl -sf ${jar:+-c "$jar" -b "$jar"} -H 'Content-Type: application/json' -H 'Accept: application/json' \
        -d "{\"method\":\"password\",\"csrf_token\":\"$csrf\",\"traits\":{\"email\":\"$1\"},\"password\":\"recovery-harness-Zq7v!long-enough-passphrase\"}" \
        "$base/self-service/registration?flow=$(echo "$flow" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)"
}
token=$(register bench-token@example.org | grep -o '"session_token":"[^"]*"' | cut -d'"' -f4)
register bench-cookie@example.org "$dir/jar" >/dev/null
cookie=$(awk '$6 == "ory_kratos_session" { print $7 }' "$dir/jar")
[ -n "$token" ] && [ -n "$cookie" ] || { echo "no session token or cookie from Kratos's registration" >&2; exit 1; }
verdicts "check, Kratos $version on $backend, codes from the courier" \
    --target "$base" --session-token "$token" --session-cookie "ory_kratos_session=$cookie" \
    --courier-url "$admin_base" --known-email bench-race@example.org
