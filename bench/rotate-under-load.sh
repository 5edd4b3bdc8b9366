#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/rotate-under-load: rotates the certificate again and again while
# clients hammer the three endpoints, in the system container (a real
# systemd booted with systemd-nspawn, tests/system/lib.sh), and counts what
# the clients notice. Two phases, the same load in both:
#
#   1. vertex-certd: BENCH_ROTATIONS rotations (default 100), alternately
#      busctl Install and a bundle renamed into the drop directory; the
#      endpoints are reloaded by vertex-certd (new TLS context, listener and
#      established connections kept).
#   2. restart baseline: the same number of rotations done the blunt way:
#      the new fullchain.pem/key.pem copied into the endpoints' directory,
#      then `systemctl restart` of the three endpoint services.
#
# The load (bench/rotate-under-load.c, inside the container): BENCH_CLIENTS
# (50) connections doing handshake + GET / + close in a loop over ports
# 8443-8445, and BENCH_KEEPALIVE (20) long-lived keep-alive connections
# exchanging GET / every 10 ms. See bench/README.md for what is counted and
# what "wrong certificate" means.
#
# Bounded: each phase stops after BENCH_PHASE_SECONDS (240) even if not all
# rotations are done, and a watchdog ends the whole run after
# BENCH_MAX_SECONDS (570). The container is stopped on every path.
#
# Exit status: 0 when vertex-certd's column shows 0 failed handshakes, 0
# dropped connections and 0 wrong certificates, 1 when not, 2 when the
# bench could not run.
#
# Environment: VERTEX_BUILD_DIR (a configured build), VERTEX_SOURCE_DIR,
# CB_KEEP=1 keeps the container's directory for a post-mortem.

set -u -o pipefail

SRC=${VERTEX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${VERTEX_BUILD_DIR:-$SRC/build}
# shellcheck source=tests/system/lib.sh
. "$SRC/tests/system/lib.sh"
# shellcheck source=bench/container-bench-lib.sh
. "$SRC/bench/container-bench-lib.sh"

ROTATIONS=${BENCH_ROTATIONS:-100}
CLIENTS=${BENCH_CLIENTS:-50}
KEEPALIVE=${BENCH_KEEPALIVE:-20}
PHASE_SECONDS=${BENCH_PHASE_SECONDS:-240}
CB_MAX_SECONDS=${BENCH_MAX_SECONDS:-570}
PKI=/root/bench-pki
DROP=/var/lib/vertex-certd/drop
RESTART_DIR=/srv/bench-restart-tls

[ "$(id -u)" = 0 ] || { echo "rotate-under-load: needs root (systemd-nspawn)" >&2; exit 2; }
command -v systemd-nspawn >/dev/null || { echo "rotate-under-load: needs systemd-nspawn" >&2; exit 2; }

trap cb_cleanup EXIT
trap 'exit 2' INT TERM

cb_setup "$SRC" "$BUILD" vertex-bench-rotate bench/bench-rotate-load || { echo "rotate-under-load: setup failed" >&2; exit 2; }
cb_log "making $((ROTATIONS + 1)) certificates"
cb_make_pkis $((ROTATIONS + 1)) "$PKI" || exit 2
declare -a FP
for ((i = 0; i <= ROTATIONS; i++)); do
        FP[$i]=$(cb_file_fp "$VX_ROOT$PKI/$i/leaf.pem") || exit 2
done

# ------------------------------------------------------------ the load client

LOAD_PID=
# Starts the load client for phase $1; its diagnostics go to $VX_DIR/load-$1.log.
load_start() {
        coproc LOAD { vx_exec "$CB_TOOLS/bench-rotate-load" --clients "$CLIENTS" --keepalive "$KEEPALIVE" \
                        --server-name "$CB_SERVER_NAME" --max-seconds $((PHASE_SECONDS + 120)) \
                        2>"$VX_DIR/load-$1.log"; }
}

# One command, one answer.
load_cmd() {
        local reply
        echo "$*" >&"${LOAD[1]}" || return 1
        read -r -t 30 reply <&"${LOAD[0]}" || return 1
        echo "$reply"
}

load_ctl() {
        [ "$(load_cmd "$@")" = ok ] || { cb_log "the load client did not take '$*'"; return 1; }
}

# A counter from a stats line.
stat_of() {
        echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# Until every keep-alive connection is up and handshakes flow.
load_warm_up() {
        local s i
        for ((i = 0; i < 100; i++)); do
                s=$(load_cmd stats) || return 1
                if [ "$(stat_of "$s" ka_established)" = "$KEEPALIVE" ] && [ "$(stat_of "$s" hs_ok)" -gt "$CLIENTS" ]; then
                        return 0
                fi
                sleep 0.2
        done
        cb_log "the load did not warm up: $s"
        return 1
}

# Ends the client; prints its final stats line.
load_stop() {
        local s
        local fd=${LOAD[1]} pid=$LOAD_PID
        s=$(load_cmd quit)
        exec {fd}>&-
        wait "$pid" 2>/dev/null
        echo "$s"
}

# ------------------------------------------------------------------ phases

declare -A R   # R[phase,key]

# Rotation $1 through vertex-certd: odd over the bus, even through the drop directory.
rotate_certd() {
        local i=$1 dir=$PKI/$1 out deadline
        if ((i % 2 == 1)); then
                out=$(vx_exec busctl call --timeout=90 -- "${CB_BUS[@]}" Install sss \
                        "$(cat "$VX_ROOT$dir/fullchain.pem")" "$(cat "$VX_ROOT$dir/key.pem")" \
                        "$(cat "$VX_ROOT$dir/ca.pem")" 2>&1) || { cb_log "Install $i failed: $out"; return 1; }
                echo "$out" | cb_norm_fp | grep -q "${FP[$i]}" || { cb_log "Install $i answered '$out'"; return 1; }
        else
                # As an operator would: written aside, readable by the daemon, renamed in, the certificate last.
                vx_exec sh -c "cd $DROP &&
                        install -o vertex-certd -g vertex-tls -m 0640 $dir/ca.pem .ca.tmp &&
                        install -o vertex-certd -g vertex-tls -m 0640 $dir/key.pem .key.tmp &&
                        install -o vertex-certd -g vertex-tls -m 0640 $dir/fullchain.pem .crt.tmp &&
                        mv .ca.tmp ca.crt && mv .key.tmp tls.key && mv .crt.tmp tls.crt" || return 1
                # Installed: the Fingerprint property changes when the Installed signal is sent.
                deadline=$((SECONDS + 30))
                until [ "$(cb_prop Fingerprint | cb_norm_fp)" = "${FP[$i]}" ]; do
                        [ $SECONDS -lt "$deadline" ] || { cb_log "drop $i was not installed within 30 s"; return 1; }
                        sleep 0.01
                done
        fi
}

# Rotation $1 the restart way.
rotate_restart() {
        local dir=$PKI/$1
        vx_exec sh -c "cd $RESTART_DIR &&
                install -g vertex-tls -m 0640 $dir/fullchain.pem .fullchain.new &&
                install -g vertex-tls -m 0640 $dir/key.pem .key.new &&
                mv .fullchain.new fullchain.pem && mv .key.new key.pem &&
                systemctl restart ${CB_UNITS[*]}"
}

# Runs phase $1 (certd|restart) with rotate function $2 from fingerprint $3.
run_phase() {
        local phase=$1 rotate=$2 cur=$3 i t0 t_end done_ns failures=0 s
        local times=()
        load_start "$phase"
        load_ctl allow "$cur" || return 1
        load_warm_up || return 1
        cb_log "$phase: load running, rotating"
        t0=$SECONDS
        for ((i = 1; i <= ROTATIONS; i++)); do
                if [ $((SECONDS - t0)) -ge "$PHASE_SECONDS" ]; then
                        cb_log "$phase: $PHASE_SECONDS s are over after $((i - 1)) rotations"
                        break
                fi
                load_ctl allow "$cur" "${FP[$i]}" || return 1
                local r0=$EPOCHREALTIME
                if $rotate "$i"; then
                        done_ns=$(date +%s%N)
                        cur=${FP[$i]}
                else
                        failures=$((failures + 1))
                        done_ns=$(date +%s%N)
                        # Whatever is served now is what the next handshakes must get.
                        [ "$phase" = certd ] && cur=$(cb_prop Fingerprint | cb_norm_fp)
                fi
                times+=("$(awk -v a="$r0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
                load_ctl "done" "$cur" "$done_ns" || return 1
        done
        t_end=$SECONDS
        # A moment of load after the last rotation, so that its aftermath is counted too.
        sleep 1
        s=$(load_stop)
        [ -n "$s" ] || { cb_log "$phase: no final stats"; return 1; }
        R[$phase,stats]=$s
        R[$phase,rotations]=$((i - 1))
        R[$phase,failures]=$failures
        R[$phase,seconds]=$((t_end - t0))
        R[$phase,p50]=$(printf '%s\n' "${times[@]}" | cb_percentile 50)
        R[$phase,max]=$(printf '%s\n' "${times[@]}" | cb_percentile 100)
        R[$phase,cur]=$cur
        if [ -s "$VX_DIR/load-$phase.log" ]; then
                cb_log "$phase: first notes of the load client:"
                head -n 12 "$VX_DIR/load-$phase.log" | sed 's/^/#   /' >&2
        fi
}

FP_SS=$(cb_prop Fingerprint | cb_norm_fp)
cb_wait_all_serve "$FP_SS" 20 || { cb_log "the endpoints do not serve the first certificate"; exit 2; }
run_phase certd rotate_certd "$FP_SS" || { echo "rotate-under-load: phase vertex-certd failed" >&2; exit 2; }

# The endpoints now serve from a directory of their own, as without vertex-certd.
vx_exec sh -c "install -d -m 0750 -g vertex-tls $RESTART_DIR &&
        install -g vertex-tls -m 0640 $PKI/0/fullchain.pem $PKI/0/key.pem $RESTART_DIR/" || exit 2
cb_endpoints_serve_from "$RESTART_DIR" || { cb_log "could not point the endpoints at $RESTART_DIR"; exit 2; }
cb_wait_all_serve "${FP[0]}" 20 || { cb_log "the endpoints do not serve ${FP[0]} from $RESTART_DIR"; exit 2; }
run_phase restart rotate_restart "${FP[0]}" || { echo "rotate-under-load: phase restart failed" >&2; exit 2; }

# ------------------------------------------------------------------ report

row() {
        printf '%-44s %20s %20s\n' "$1" "$2" "$3"
}
val() {
        stat_of "${R[$1,stats]}" "$2"
}
sum() {
        local phase=$1 t=0 k
        shift
        for k in "$@"; do
                t=$((t + $(val "$phase" "$k")))
        done
        echo "$t"
}

echo
echo "rotate-under-load: $CLIENTS handshake clients + $KEEPALIVE keep-alive connections, ports ${CB_PORTS[*]}"
row "" "vertex-certd reload" "restart baseline"
row "rotations done (failed)" "${R[certd,rotations]} (${R[certd,failures]})" "${R[restart,rotations]} (${R[restart,failures]})"
row "  of which bus / drop directory" "$(( (R[certd,rotations] + 1) / 2 )) / $(( R[certd,rotations] / 2 ))" "-"
row "rotating for (s)" "${R[certd,seconds]}" "${R[restart,seconds]}"
row "one rotation, p50 / max (ms)" "${R[certd,p50]} / ${R[certd,max]}" "${R[restart,p50]} / ${R[restart,max]}"
row "handshakes completed" "$(val certd hs_ok)" "$(val restart hs_ok)"
row "failed handshakes" "$(val certd hs_failed)" "$(val restart hs_failed)"
for k in refused reset eof timeout tls; do
        row "  $k" "$(val certd fail_$k)" "$(val restart fail_$k)"
done
row "requests failed after a handshake" "$(val certd req_failed)" "$(val restart req_failed)"
row "keep-alive requests answered" "$(val certd ka_req_ok)" "$(val restart ka_req_ok)"
row "dropped established connections" "$(val certd ka_dropped)" "$(val restart ka_dropped)"
row "wrong certificate: handshakes" "$(sum certd wrong_handshake wrong_after_done)" "$(sum restart wrong_handshake wrong_after_done)"
row "  of which after the rotation completed" "$(val certd wrong_after_done)" "$(val restart wrong_after_done)"
row "wrong certificate: answers" "$(val certd wrong_answer)" "$(val restart wrong_answer)"

bad=$(( $(val certd hs_failed) + $(val certd req_failed) + $(val certd ka_dropped) +
        $(sum certd wrong_handshake wrong_after_done wrong_answer) + R[certd,failures] ))
if [ "${R[certd,rotations]}" -ge 100 ] && [ "$bad" -eq 0 ]; then
        echo "vertex-certd: 0 failed handshakes, 0 dropped connections, 0 wrong certificates over ${R[certd,rotations]} rotations: target met"
        exit 0
fi
echo "vertex-certd: target NOT met ($bad failures of any kind, ${R[certd,rotations]} rotations)"
exit 1
