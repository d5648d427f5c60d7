#!/usr/bin/env bash
# Wall time of `recovery-harness check` with default flags (64 fuzz cases per operation,
# concurrency 16), a session token and a session cookie, against the real Ory Kratos on loopback
# (SQLite file database, `serve --dev`), end to end: process start to reports written. Release
# build; neither the build nor Kratos's start is timed.
#
#   RECOVERY_HARNESS_KRATOS_BIN=$PWD/../shared/kratos/kratos bench/kratos-check.sh   # 10 runs
#   RUNS=20 RECOVERY_HARNESS_KRATOS_BIN=... bench/kratos-check.sh
#   PROFILE=dev ...                                                                   # a debug build
#   CODES=courier ...   # plus the code checks: --courier-url (Kratos's admin API) and --known-email
#   CODES=mailpit ...   # the same with --mailpit-url: starts Mailpit (on PATH) and points Kratos's SMTP at it
#
# kratos.yml and identity.schema.json are read from the binary's directory. Kratos is stopped by
# its PID when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
kratos=${RECOVERY_HARNESS_KRATOS_BIN:?set RECOVERY_HARNESS_KRATOS_BIN to the kratos binary}
profile=${PROFILE:-release}
. bench/lib.sh
build_harness "$profile"

source=${CODES:-}
case "$source" in "" | courier | mailpit) ;; *) echo "CODES is courier or mailpit, not '$source'" >&2; exit 2 ;; esac

dir=$(mktemp -d)
pid=
mailpit_pid=
cleanup() {
    for p in $pid $mailpit_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
smtp_uri="smtp://127.0.0.1:9/?disable_starttls=true"
if [ "$source" = mailpit ]; then
    smtp=$(free_port)
    web=$(free_port)
    mailpit --smtp "127.0.0.1:$smtp" --listen "127.0.0.1:$web" --database "$dir/mailpit.db" \
        --disable-version-check --smtp-disable-rdns --smtp-auth-accept-any --smtp-auth-allow-insecure \
        --quiet >"$dir/mailpit.log" 2>&1 &
    mailpit_pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$web/readyz" >/dev/null && break; sleep 0.1; done
    smtp_uri="smtp://127.0.0.1:$smtp/?disable_starttls=true"
fi
export DSN="sqlite://$dir/db.sqlite?_fk=true&_journal=WAL&mode=rwc" COURIER_SMTP_CONNECTION_URI="$smtp_uri"
start_kratos "$kratos" "$dir" --watch-courier
pid=$kratos_pid
wait_kratos "$dir"

password='recovery-harness-Zq7v!long-enough-passphrase'
flow=$(curl -sf "$base/self-service/registration/api" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
token=$(curl -sf -H 'Content-Type: application/json' -H 'Accept: application/json' \
    -d "{\"method\":\"password\",\"traits\":{\"email\":\"bench-native@example.org\"},\"password\":\"$password\"}" \
    "$base/self-service/registration?flow=$flow" | grep -o '"session_token":"[^"]*"' | cut -d'"' -f4)
jar=$dir/jar
flow_json=$(curl -sf -c "$jar" -H 'Accept: application/json' "$base/self-service/registration/browser")
flow=$(echo "$flow_json" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
csrf=$(echo "$flow_json" | grep -o '"name":"csrf_token","type":"hidden","value":"[^"]*"' | cut -d'"' -f12)
cookie=$(curl -sf -b "$jar" -c "$jar" -o /dev/null -D - -H 'Content-Type: application/json' -H 'Accept: application/json' \
    -d "{\"method\":\"password\",\"csrf_token\":\"$csrf\",\"traits\":{\"email\":\"bench-browser@example.org\"},\"password\":\"$password\"}" \
    "$base/self-service/registration?flow=$flow" | grep -io 'set-cookie: ory_kratos_session=[^;]*' | cut -d' ' -f2)
[ -n "$token" ] && [ -n "$cookie" ] || { echo "registration failed" >&2; exit 1; }

reports=$dir/reports
extra=()
case "$source" in
courier) extra=(--courier-url "$admin_base" --known-email bench-native@example.org) ;;
mailpit) extra=(--mailpit-url "http://127.0.0.1:$web" --known-email bench-native@example.org) ;;
esac
run() { RECOVERY_HARNESS_SESSION_TOKEN=$token "$bin" check --quiet --target "$base" --session-cookie "$cookie" --report-dir "$reports" "${extra[@]}" >/dev/null; }
run || true # warm-up (page cache, Kratos's first queries)
ms=()
codes=()
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    code=0
    run || code=$?
    end=$(date +%s%N)
    ms+=($(((end - start) / 1000000)))
    codes+=("$code")
done
sorted=$(printf '%s\n' "${ms[@]}" | sort -n)
min=$(echo "$sorted" | head -1)
max=$(echo "$sorted" | tail -1)
median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
summary=$(tr -d " \n" <"$reports/conformance.json" | grep -o "\"summary\":{[^}]*}" || true)
echo "recovery-harness check, real Kratos ($("$kratos" version 2>/dev/null | grep -i '^version' | tr -s ' \t' ' ' || echo unknown version)), default flags${source:+, codes from $source with --known-email}, $profile build, $runs runs: min ${min} ms, median ${median} ms, max ${max} ms (wall, per run); exit codes: $(printf '%s\n' "${codes[@]}" | sort | uniq -c | tr -s ' ' | tr '\n' ';'); last $summary"
