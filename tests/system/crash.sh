#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The system tier's crash-consistency test: vertex-certd is SIGKILLed at a
# random moment (0-300 ms) after a `busctl call … Install` starts, over and
# over, in the system container (a real systemd in systemd-nspawn, see
# lib.sh); systemd brings it back (the unit's Restart=on-failure). After each
# restart, once the daemon's State is `serving` again (polled, never a fixed
# sleep; `degraded` is a failure):
#
#   - `current` points at a generation holding cert.pem, fullchain.pem and
#     key.pem, the key belongs to the certificate (public keys compared with
#     openssl x509 -pubkey / openssl pkey -pubout) and fullchain.pem starts
#     with cert.pem;
#   - it is the certificate from before the Install or the new one, and the
#     new one whenever the Install was answered with success;
#   - the Fingerprint property names it;
#   - 8443, 8444 and 8445 serve it (each checked until it does, for up to
#     VERTEX_CRASH_SERVE_SEC, 10 s: a reload systemd started for the killed
#     daemon may still be finishing; a mismatch beyond that is a failure);
#   - no temporary is left in the store (generations/.tmp-*, current.tmp*,
#     next-id.tmp).
#
# One TAP line per kill. VERTEX_CRASH_INSTALLS kills (default 200: about 6
# minutes on a 2-CPU VM). After VERTEX_CRASH_MAX_FAILURES (10) failures it
# bails out, so that a broken build cannot take half an hour.
# So that hundreds of crashes fit in minutes, a runtime drop-in sets
# RestartSec=100ms and lifts the start rate limit; Restart= itself is the
# shipped unit's.
#
# Environment: VERTEX_BUILD_DIR, VERTEX_SOURCE_DIR, CB_KEEP=1 keeps the
# container's directory.

set -u -o pipefail

SRC=${VERTEX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${VERTEX_BUILD_DIR:-$SRC/build}
# shellcheck source=tests/system/lib.sh
. "$SRC/tests/system/lib.sh"
# shellcheck source=bench/container-bench-lib.sh
. "$SRC/bench/container-bench-lib.sh"

N=${VERTEX_CRASH_INSTALLS:-200}
SERVE_SEC=${VERTEX_CRASH_SERVE_SEC:-10}
MAX_FAILURES=${VERTEX_CRASH_MAX_FAILURES:-10}
# Within meson's timeout (900 s) for the default count.
CB_MAX_SECONDS=${VERTEX_CRASH_MAX_SECONDS:-$((N * 4 < 720 ? 120 + N * 4 : 840))}
STORE=/var/lib/vertex-certd
PKI=/root/crash-pki

vx_require_host

echo "1..$N"

trap cb_cleanup EXIT
trap 'exit 130' INT TERM

cb_setup "$SRC" "$BUILD" vertex-crash || { echo "Bail out! could not boot the container with the project installed"; exit 0; }

grep -q '^Restart=\(on-failure\|always\|on-abnormal\)' "$VX_UPPER/lib/systemd/system/vertex-certd.service" ||
        { echo "Bail out! vertex-certd.service has no Restart= that restarts it after SIGKILL"; exit 0; }
vx_exec mkdir -p /run/systemd/system/vertex-certd.service.d &&
        printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nRestartSec=100ms\n' |
        vx_exec sh -c 'cat >/run/systemd/system/vertex-certd.service.d/50-crash-test.conf' &&
        vx_exec systemctl daemon-reload ||
        { echo "Bail out! could not install the test's drop-in"; exit 0; }

K=$((N < 40 ? N + 1 : 40))
cb_make_pkis "$K" "$PKI" || { echo "Bail out! could not make certificates"; exit 0; }
declare -a PFP
for ((k = 0; k < K; k++)); do
        PFP[$k]=$(cb_file_fp "$VX_ROOT$PKI/$k/leaf.pem")
done

diag() {
        sed 's/^/#   /' >&2
}

main_pid() {
        vx_exec systemctl show -p MainPID --value vertex-certd.service
}

# Until vertex-certd runs with a MainPID other than $1 and is active (READY=1 sent).
wait_restarted() {
        local old=$1 deadline=$((SECONDS + 60)) pid state
        while :; do
                pid=$(main_pid)
                state=$(vx_exec systemctl show -p ActiveState --value vertex-certd.service)
                [ "$state" = active ] && [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$old" ] && return 0
                if [ "$state" = failed ] || [ $SECONDS -ge "$deadline" ]; then
                        echo "vertex-certd is '$state' (MainPID '$pid', was $old)"
                        return 1
                fi
                sleep 0.05
        done
}

# Until State is serving; degraded is a failure, reloading is waited out.
wait_serving() {
        local deadline=$((SECONDS + 60)) state
        while :; do
                state=$(cb_prop State 2>/dev/null)
                case $state in
                        serving) return 0 ;;
                        degraded) echo "State is degraded: $(cb_prop LastError)"; return 1 ;;
                esac
                if [ $SECONDS -ge "$deadline" ]; then
                        echo "State is '$state' after 60 s"
                        return 1
                fi
                sleep 0.05
        done
}

# The checks after a restart. $1: fingerprint before the Install, $2: the new
# one, $3: 1 when the Install was answered with success. Sets CUR_FP and
# LATE (ports that served it only after a while). Prints why on failure.
check_store() {
        local before=$1 new=$2 acked=$3 link gen dir f cert_pub key_pub prop p got deadline left
        CUR_FP=
        LATE=
        link=$(readlink "$VX_ROOT$STORE/current") || { echo "no current link"; return 1; }
        case $link in
                generations/[0-9]*|"$STORE"/generations/[0-9]*) ;;
                *) echo "current points at '$link'"; return 1 ;;
        esac
        gen=${link##*/}
        dir=$VX_ROOT$STORE/generations/$gen
        for f in cert.pem fullchain.pem key.pem; do
                [ -s "$dir/$f" ] || { echo "generation $gen has no $f"; return 1; }
        done
        cert_pub=$(openssl x509 -in "$dir/cert.pem" -noout -pubkey 2>&1) || { echo "cert.pem unreadable: $cert_pub"; return 1; }
        key_pub=$(openssl pkey -in "$dir/key.pem" -pubout 2>&1) || { echo "key.pem unreadable"; return 1; }
        [ "$cert_pub" = "$key_pub" ] || { echo "generation $gen: the key does not belong to the certificate"; return 1; }
        CUR_FP=$(cb_file_fp "$dir/cert.pem")
        [ "$(cb_file_fp "$dir/fullchain.pem")" = "$CUR_FP" ] || { echo "generation $gen: fullchain.pem does not start with cert.pem"; return 1; }

        if [ "$acked" = 1 ]; then
                [ "$CUR_FP" = "$new" ] || { echo "Install answered success, but current is $CUR_FP (generation $gen), not $new"; return 1; }
        else
                [ "$CUR_FP" = "$new" ] || [ "$CUR_FP" = "$before" ] ||
                        { echo "current is $CUR_FP (generation $gen): neither the old $before nor the new $new"; return 1; }
        fi

        prop=$(cb_prop Fingerprint | cb_norm_fp)
        [ "$prop" = "$CUR_FP" ] || { echo "Fingerprint is '$prop', current/cert.pem is $CUR_FP"; return 1; }

        for p in "${CB_PORTS[@]}"; do
                deadline=$((SECONDS + SERVE_SEC))
                got=$(cb_served_fp "$p")
                if [ "$got" != "$CUR_FP" ]; then
                        while [ "$got" != "$CUR_FP" ] && [ $SECONDS -lt "$deadline" ]; do
                                sleep 0.1
                                got=$(cb_served_fp "$p")
                        done
                        [ "$got" = "$CUR_FP" ] ||
                                { echo "port $p serves '${got:-nothing}', not current's $CUR_FP (generation $gen), after $SERVE_SEC s"; return 1; }
                        LATE+=" $p"
                fi
        done

        left=$(vx_exec find "$STORE" -maxdepth 2 \( -name '.tmp-*' -o -name 'current.tmp*' -o -name 'next-id.tmp' \) -print)
        [ -z "$left" ] || { echo "temporaries left: $left"; return 1; }
        echo "$CUR_FP${LATE:+ late:$LATE}"
}

# The starting point must already be consistent.
vx_exec systemctl start vertex-certd.service || { echo "Bail out! vertex-certd did not start"; exit 0; }
wait_serving >/dev/null || { echo "Bail out! vertex-certd is not serving at the start"; exit 0; }
before=$(cb_prop Fingerprint | cb_norm_fp)
cb_wait_all_serve "$before" 20 || { echo "Bail out! the endpoints do not serve $before at the start"; exit 0; }

cb_log "ready to crash after $SECONDS s"
failed=0
n_acked=0
n_new=0
n_late=0
n_stale=0
t_start=$SECONDS
for ((i = 1; i <= N; i++)); do
        k=$((i % K))
        # Never the certificate already current: the new one must be told apart.
        [ "${PFP[$k]}" = "$before" ] && k=$(((k + 1) % K))
        new=${PFP[$k]}
        dir=$PKI/$k
        old_pid=$(main_pid)
        delay=$((RANDOM % 301))

        vx_exec busctl call --timeout=60 -- "${CB_BUS[@]}" Install sss \
                "$(cat "$VX_ROOT$dir/fullchain.pem")" "$(cat "$VX_ROOT$dir/key.pem")" \
                "$(cat "$VX_ROOT$dir/ca.pem")" >"$VX_DIR/install.out" 2>&1 &
        ipid=$!
        sleep "$(printf '0.%03d' "$delay")"
        # MainPID 0 (between two runs) must not become "kill 0": that is
        # this script's own process group.
        if [ -n "$old_pid" ] && [ "$old_pid" -gt 0 ]; then
                vx_exec kill -KILL "$old_pid" 2>/dev/null
        fi
        wait "$ipid"
        irc=$?
        acked=0
        if [ $irc = 0 ] && cb_norm_fp <"$VX_DIR/install.out" | grep -q "$new"; then
                acked=1
                n_acked=$((n_acked + 1))
        fi

        rc=0
        why=$(wait_restarted "$old_pid") || rc=1
        [ $rc = 0 ] && { why=$(wait_serving) || rc=1; }
        [ $rc = 0 ] && { why=$(check_store "$before" "$new" "$acked") || rc=1; }

        if [ $rc = 0 ]; then
                cur=${why%% *}
                late=
                case $why in *late:*) late=" (port${why#*late:} served it only after a moment)"; n_late=$((n_late + 1)) ;; esac
                [ "$cur" = "$new" ] && n_new=$((n_new + 1))
                note=$([ "$cur" = "$new" ] && echo new || echo old)
                echo "ok $i - SIGKILL ${delay} ms into Install ($([ $acked = 1 ] && echo answered || echo cut off)): current is the $note certificate, complete, served$late, no temporaries"
                before=$cur
        else
                failed=$((failed + 1))
                case $why in *"after $SERVE_SEC s"*) n_stale=$((n_stale + 1)) ;; esac
                echo "not ok $i - SIGKILL ${delay} ms into Install ($([ $acked = 1 ] && echo answered || echo cut off))"
                {
                        echo "$why"
                        echo "--- Install said: $(cat "$VX_DIR/install.out")"
                        echo "--- vertex-certd journal (last 15)"
                        vx_exec journalctl --no-pager -o short-precise -n 15 -u vertex-certd.service
                } 2>&1 | diag
                # Go on from whatever is current now (so one failure is not counted again and again).
                vx_exec busctl call --timeout=60 -- "${CB_BUS[@]}" ReloadEndpoints >/dev/null 2>&1 || true
                before=$(cb_file_fp "$VX_ROOT$STORE/current/cert.pem" 2>/dev/null || echo "")
                if [ "$failed" -ge "$MAX_FAILURES" ]; then
                        echo "Bail out! $failed of $i kills left a broken state, stopping"
                        exit 0
                fi
        fi
done

echo "# $N kills in $((SECONDS - t_start)) s: $n_acked Installs answered before the kill, $n_new times the new certificate was current after the restart, $n_late times an endpoint served it only after a moment, $failed failures ($n_stale of them endpoints not serving current)" >&2
exit 0
