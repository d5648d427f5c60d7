# Sourced by the bench scripts that start real servers: the harness binary and free loopback ports.

# Builds recovery-harness with cargo profile $1 (release by default) and sets $bin to its path.
build_harness() {
    local profile=${1:-release} out
    CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --profile "$profile" --quiet --bin recovery-harness
    if [ "$profile" = dev ]; then out=debug; else out=$profile; fi
    bin=${CARGO_TARGET_DIR:-target}/$out/recovery-harness
}

# A loopback port nothing answers on (probed by connecting: the server about to take it binds at once).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

# Starts the Kratos binary $1 with the kratos.yml and identity.schema.json of its directory, its
# files in $2, on two free loopback ports, migrated first; `--dev`, plus any further arguments to
# `kratos serve`. DSN, COURIER_SMTP_CONNECTION_URI and any other setting come from the
# environment. Sets $kratos_pid (for the caller's cleanup, before it waits with wait_kratos),
# $base (public) and $admin_base.
start_kratos() {
    local bin=$1 dir=$2 home public admin
    shift 2
    home=$(cd "$(dirname "$bin")" && pwd)
    cp "$home/identity.schema.json" "$dir/"
    public=$(free_port)
    admin=$(free_port)
    while [ "$admin" = "$public" ]; do admin=$(free_port); done
    export SERVE_PUBLIC_PORT=$public SERVE_ADMIN_PORT=$admin \
        SERVE_PUBLIC_BASE_URL=http://127.0.0.1:$public/ SERVE_ADMIN_BASE_URL=http://127.0.0.1:$admin/ \
        IDENTITY_SCHEMAS="[{\"id\":\"default\",\"url\":\"file://$dir/identity.schema.json\"}]"
    "$bin" migrate sql -e --yes -c "$home/kratos.yml" >"$dir/migrate.log" 2>&1
    "$bin" serve -c "$home/kratos.yml" --dev --sqa-opt-out "$@" >"$dir/kratos.log" 2>&1 &
    kratos_pid=$!
    base=http://127.0.0.1:$public
    admin_base=http://127.0.0.1:$admin
}

# Waits up to 30 s for the Kratos start_kratos started (its files in $1) to be ready; exits if not.
wait_kratos() {
    for _ in $(seq 300); do
        curl -sf "$base/health/ready" >/dev/null && return
        sleep 0.1
    done
    echo "Kratos did not start:" >&2
    tail "$1/kratos.log" >&2
    exit 1
}
