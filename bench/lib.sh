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
