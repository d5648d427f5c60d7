#!/usr/bin/env bash
# Takes the screenshots of docs/reports.md of both report.html files with headless Chromium:
#   docs/screenshots/check-report.png  a real `check` run against the reference server (`serve`)
#                                      given a session token it does not know, so the signed-in
#                                      checks fail with their evidence and the cookie check skips;
#   docs/screenshots/load-report.png   the constructed load run of the HTML tests
#                                      (tests/html_fixture), written by `cargo run --example
#                                      report_samples`.
# Usage: docs/screenshots.sh [OUT_DIR]   (default docs/screenshots; needs chromium on PATH or
# RECOVERY_HARNESS_CHROMIUM; uses pngquant when installed, Debian package `pngquant`). Chromium runs with a proxy on a closed port and every host name
# unresolvable: the screenshots show what an offline reader sees.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
chromium=${RECOVERY_HARNESS_CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chromium" ] || { echo "docs/screenshots.sh: chromium not found (set RECOVERY_HARNESS_CHROMIUM)" >&2; exit 2; }

work=$(mktemp -d)
serve_pid=
cleanup() {
    if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --bin recovery-harness --example report_samples
target=${CARGO_TARGET_DIR:-target}
bin=$target/debug/recovery-harness

# The check report: a real run. `serve` prints its URL on its first line.
"$bin" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
serve_pid=$!
url=
for _ in $(seq 100); do
    url=$(sed -n 's/^recovery-harness serve: listening on //p' "$work/serve.log")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$work/serve.log" >&2; echo "serve did not start" >&2; exit 2; }
set +e
"$bin" check --target "$url" --session-token not-a-session-of-this-server --seed 7 --fuzz-cases 16 \
    --quiet --report-dir "$work/check" >/dev/null
status=$?
set -e
[ "$status" -eq 1 ] || { echo "check exited $status, expected 1 (failed checks)" >&2; exit 2; }

# The load report: the constructed run.
"$target/debug/examples/report_samples" "$work/samples" >/dev/null

mkdir -p "$out"
shot() { # PAGE PNG
    "$chromium" --headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run \
        --user-data-dir="$work/profile-$(basename "$2" .png)" \
        --proxy-server=http://127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" \
        --window-size=1000,1500 --screenshot="$2" "file://$1" >/dev/null 2>&1
    [ -s "$2" ] || { echo "no screenshot of $1" >&2; exit 2; }
    # Text on flat colours: a 64-colour palette keeps it crisp at a fraction of the size.
    if command -v pngquant >/dev/null; then pngquant --force --skip-if-larger --quality 60-95 64 --output "$2" "$2" || true; fi
    echo "$2: $(wc -c <"$2") bytes"
}
shot "$work/check/report.html" "$out/check-report.png"
shot "$work/samples/load/report.html" "$out/load-report.png"
