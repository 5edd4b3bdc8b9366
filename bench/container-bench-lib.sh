# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# What the container benchmarks (rotate-under-load.sh, drop-to-serving.sh)
# and tests/system/crash.sh share on top of tests/system/lib.sh: boot the
# project in a throwaway systemd-nspawn container, copy helper binaries in,
# generate certificates, small readers of the daemon's state, percentiles,
# and a watchdog that bounds the whole run (CB_MAX_SECONDS, started by
# cb_setup). The container is stopped on every path by cb_cleanup (callers
# install it as their EXIT trap).
#
# Only defines functions and CB_* variables; sourcing starts nothing.

CB_SERVER_NAME=${CB_SERVER_NAME:-appliance.vertex.test}
CB_PORTS=(8443 8444 8445)
CB_UNITS=(vertex-console.service vertex-grpc.service vertex-api.service)
CB_BUS=(org.vertex.Certificates /org/vertex/Certificates org.vertex.Certificates)
CB_TOOLS=/opt/vertex-bench      # inside the container
CB_WATCHDOG_PID=
CB_UBUILD=

cb_log() {
        printf '# %s\n' "$*" >&2
}

cb_norm_fp() {
        tr 'A-F' 'a-f'
}

# Stops the watchdog and the container, removes the work directory
# (CB_KEEP=1 keeps it). Meant as the EXIT trap; keeps the exit status.
cb_cleanup() {
        local rc=$?
        trap - EXIT
        # A second signal (the watchdog's and a user's) must not cut the cleanup short.
        trap '' INT TERM
        if [ -n "$CB_WATCHDOG_PID" ]; then
                kill "$CB_WATCHDOG_PID" 2>/dev/null
                wait "$CB_WATCHDOG_PID" 2>/dev/null
                CB_WATCHDOG_PID=
        fi
        vx_container_stop
        if [ "${CB_KEEP:-0}" = 1 ]; then
                cb_log "kept $VX_DIR"
        else
                vx_container_remove
        fi
        exit "$rc"
}

# When this shell has run for $1 seconds: TERM to it (its EXIT trap stops
# the container). A trap waits for the foreground command, so if the shell is
# still there 60 s later, the watchdog stops the container itself, which ends
# whatever command was stuck in it. Needs VX_DIR (the container's files).
cb_watchdog() {
        local seconds=$(($1 - SECONDS)) me=$$
        ((seconds > 0)) || seconds=1
        (
                # Its sleeps must neither outlive it nor hold the caller's
                # output open (meson waits for that pipe to close).
                local sp=
                trap 'kill $sp 2>/dev/null; exit 0' TERM
                sleep "$seconds" >/dev/null 2>&1 &
                sp=$!
                wait $sp
                echo "# watchdog: $1 s are over, stopping" >&2
                kill -TERM "$me" 2>/dev/null
                sleep 60 >/dev/null 2>&1 &
                sp=$!
                wait $sp
                if kill -0 "$me" 2>/dev/null; then
                        echo "# watchdog: still running, stopping the container" >&2
                        VX_NSPAWN_PID=
                        vx_container_stop
                fi
        ) &
        CB_WATCHDOG_PID=$!
}

# Builds (prefix /usr), boots the container, installs and starts the project,
# copies the given executables into $CB_TOOLS inside. $1: source dir, $2:
# build dir, $3: work directory prefix, rest: executables (build-relative or
# absolute). Extra certd.conf lines can be given in CB_EXTRA_CONF.
cb_setup() {
        local src=$1 build=$2 prefix=$3 f t0
        shift 3
        CB_UBUILD=$(vx_build_for_usr "$build" "$src") || return 1
        for f in "$CB_UBUILD/src/vertex-certd" "$CB_UBUILD/src/vertex-endpoint" "$CB_UBUILD/tests/vertex-testpki"; do
                [ -x "$f" ] || { cb_log "$f was not built"; return 1; }
        done
        vx_container_create "$(mktemp -d "/var/tmp/$prefix.XXXXXX")" || return 1
        cb_watchdog "${CB_MAX_SECONDS:-570}"
        vx_install_build "$CB_UBUILD" || return 1
        mkdir -p "$VX_ROOT$CB_TOOLS" "$VX_ROOT/etc/vertex-certd/certd.conf.d"
        for f in "$@"; do
                case $f in /*) ;; *) f=$CB_UBUILD/$f ;; esac
                [ -x "$f" ] || { cb_log "$f was not built"; return 1; }
                cp "$f" "$VX_ROOT$CB_TOOLS/"
        done
        cat >"$VX_ROOT/etc/vertex-certd/certd.conf.d/50-bench.conf" <<EOF
[Certificates]
ServerName=$CB_SERVER_NAME
ReloadTimeoutSec=20s
SettleSec=2s
${CB_EXTRA_CONF:-}
EOF
        t0=$SECONDS
        vx_container_boot || return 1
        vx_start_project || return 1
        cb_log "container up with the project in $((SECONDS - t0)) s"
}

# N PKIs (root -> intermediate -> leaf, EC P-256 unless CB_KEY_TYPE says
# otherwise) in $VX_ROOT$2/0 … $2/N-1, two at a time. Each has a new leaf.
cb_make_pkis() {
        local n=$1 dir=$2 i kt=${CB_KEY_TYPE:-ec256} pids=() p
        mkdir -p "$VX_ROOT$dir"
        for ((i = 0; i < n; i++)); do
                "$CB_UBUILD/tests/vertex-testpki" "$VX_ROOT$dir/$i" --server-name "$CB_SERVER_NAME" \
                        --key-type "$kt" --ca-key-type "$kt" >/dev/null &
                pids+=($!)
                # Two at a time; a bare `wait` would wait for the container too.
                if [ ${#pids[@]} -ge 2 ] || [ $((i + 1)) -eq "$n" ]; then
                        for p in "${pids[@]}"; do
                                wait "$p" || return 1
                        done
                        pids=()
                fi
        done
        for ((i = 0; i < n; i++)); do
                [ -s "$VX_ROOT$dir/$i/leaf.pem" ] || { cb_log "PKI $i was not made"; return 1; }
        done
}

# Lower-case SHA-256 fingerprint of the first certificate of a PEM file (host path).
cb_file_fp() {
        openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//' | cb_norm_fp
}

# A property of org.vertex.Certificates, its value only (strings unquoted).
cb_prop() {
        vx_exec busctl get-property "${CB_BUS[@]}" "$1" | sed -E 's/^[a-z(){}]+ //; s/^"(.*)"$/\1/'
}

# Lower-case leaf fingerprint served on 127.0.0.1:$1 inside the container, "" when none.
cb_served_fp() {
        vx_exec timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$CB_SERVER_NAME" \
                </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null |
                sed 's/^.*=//' | cb_norm_fp
}

# Waits (up to $2 s) until every port serves fingerprint $1.
cb_wait_all_serve() {
        local want deadline=$((SECONDS + ${2:-10})) p ok
        want=$(echo "$1" | cb_norm_fp)
        while :; do
                ok=1
                for p in "${CB_PORTS[@]}"; do
                        [ "$(cb_served_fp "$p")" = "$want" ] || { ok=0; break; }
                done
                [ $ok = 1 ] && return 0
                [ $SECONDS -ge "$deadline" ] && return 1
                sleep 0.2
        done
}

# Nearest-rank percentile $1 (0-100) of the numbers on stdin.
cb_percentile() {
        sort -g | awk -v p="$1" '{ v[NR] = $1 } END {
                if (NR == 0) { print "nan"; exit }
                k = int((p / 100) * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR
                printf "%.1f\n", v[k] }'
}

# Makes the three endpoint services serve from directory $1 (inside the
# container) instead of vertex-certd's store, through runtime drop-ins
# (which also lift the start rate limit), and restarts them. The directory must hold fullchain.pem and key.pem readable
# by group vertex-tls.
cb_endpoints_serve_from() {
        local dir=$1 u exec_start
        for u in "${CB_UNITS[@]}"; do
                # The shipped ExecStart= line, with the other directory.
                exec_start=$(grep '^ExecStart=' "$VX_UPPER/lib/systemd/system/$u" | head -n 1 |
                             sed -E "s|--directory [^ ]+|--directory $dir|")
                [ -n "$exec_start" ] || { cb_log "no ExecStart= in $u"; return 1; }
                vx_exec mkdir -p "/run/systemd/system/$u.d" || return 1
                # A restart per rotation must not run into the start rate limit (5 in 10 s).
                printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=\n%s\n' "$exec_start" |
                        vx_exec sh -c "cat >/run/systemd/system/$u.d/60-bench-directory.conf" || return 1
        done
        vx_exec systemctl daemon-reload || return 1
        vx_exec systemctl restart "${CB_UNITS[@]}"
}
