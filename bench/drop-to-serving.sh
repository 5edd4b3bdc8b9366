#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/drop-to-serving: how long from the final rename of a bundle into a
# drop directory until all three endpoints serve the new certificate, in the
# system container (a real systemd booted with systemd-nspawn,
# tests/system/lib.sh), measured for
#
#   1. vertex-certd: tls.key, ca.crt, then tls.crt renamed into
#      /var/lib/vertex-certd/drop (inotify, validation, stage, commit,
#      reload of the three units, handshake checks);
#   2. what an administrator would otherwise build: a systemd .path unit
#      (PathChanged= on /srv/admin-drop) starting a oneshot script that runs
#      the openssl checks (verify with purpose sslserver, checkhost, public
#      key of certificate and key compared), copies the files into the
#      endpoints' directory and `systemctl reload`s the three units.
#
# The stopwatch is bench-drop-probe (bench/drop-to-serving.c) inside the
# container: it does the renames itself, starts the clock when the last
# rename() returns, and handshakes with 8443, 8444, 8445 in a tight loop until
# each serves the new leaf; the figure is when the last of the three did.
# BENCH_ROTATIONS (default 100) rotations for each, in the same container
# run; p50 and p99 (nearest rank) are printed side by side.
#
# Exit status: 0 when vertex-certd's p50 <= 100 ms and it is >= 5x faster than
# the .path script at p50 (the target), 1 when not, 2 when the bench
# could not run. The container is stopped on every path; a watchdog ends the
# run after BENCH_MAX_SECONDS (570).
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
CB_MAX_SECONDS=${BENCH_MAX_SECONDS:-570}
PKI=/root/bench-pki
DROP=/var/lib/vertex-certd/drop
STAGE=/var/lib/vertex-bench-stage
ADMIN_DROP=/srv/admin-drop
ADMIN_STAGE=/srv/admin-stage
ADMIN_LIVE=/srv/admin-tls

[ "$(id -u)" = 0 ] || { echo "drop-to-serving: needs root (systemd-nspawn)" >&2; exit 2; }
command -v systemd-nspawn >/dev/null || { echo "drop-to-serving: needs systemd-nspawn" >&2; exit 2; }

trap cb_cleanup EXIT
trap 'exit 2' INT TERM

cb_setup "$SRC" "$BUILD" vertex-bench-drop bench/bench-drop-probe || { echo "drop-to-serving: setup failed" >&2; exit 2; }
cb_log "making $((2 * ROTATIONS + 1)) certificates"
cb_make_pkis $((2 * ROTATIONS + 1)) "$PKI" || exit 2
declare -a FP
for ((i = 0; i <= 2 * ROTATIONS; i++)); do
        FP[$i]=$(cb_file_fp "$VX_ROOT$PKI/$i/leaf.pem") || exit 2
done

# Probes the drop of PKI $1 from stage dir $2 into drop dir $3; prints the probe's line.
probe_drop() {
        local i=$1 stage=$2 drop=$3
        vx_exec "$CB_TOOLS/bench-drop-probe" --expect "${FP[$i]}" --server-name "$CB_SERVER_NAME" \
                --rename "$stage/tls.key" "$drop/tls.key" \
                --rename "$stage/ca.crt" "$drop/ca.crt" \
                --rename "$stage/tls.crt" "$drop/tls.crt"
}

# Waits until $1 (a shell condition run inside the container) holds, up to $2 s.
wait_in() {
        local deadline=$((SECONDS + $2))
        until vx_exec sh -c "$1" 2>/dev/null; do
                [ $SECONDS -lt "$deadline" ] || return 1
                sleep 0.01
        done
}

declare -a T_CERTD T_PATH
failures_certd=0
failures_path=0

# ------------------------------------------------- 1. vertex-certd's drop directory

vx_exec install -d -m 0700 "$STAGE" || exit 2
cb_wait_all_serve "$(cb_prop Fingerprint)" 20 || { cb_log "the endpoints do not serve the first certificate"; exit 2; }
cb_log "vertex-certd: $ROTATIONS drops"
for ((i = 1; i <= ROTATIONS; i++)); do
        # Readable by the daemon (it has no capabilities), as an operator must make them.
        vx_exec sh -c "install -o vertex-certd -g vertex-tls -m 0640 $PKI/$i/ca.pem $STAGE/ca.crt &&
                       install -o vertex-certd -g vertex-tls -m 0640 $PKI/$i/key.pem $STAGE/tls.key &&
                       install -o vertex-certd -g vertex-tls -m 0640 $PKI/$i/fullchain.pem $STAGE/tls.crt" || exit 2
        if out=$(probe_drop "$i" "$STAGE" "$DROP"); then
                T_CERTD+=("$(echo "$out" | sed -E 's/^ms=([0-9.]+).*/\1/')")
        else
                failures_certd=$((failures_certd + 1))
        fi
        # The daemon is done (Installed sent, files removed) before the next drop.
        deadline=$((SECONDS + 30))
        until [ "$(cb_prop Fingerprint | cb_norm_fp)" = "${FP[$i]}" ] && [ "$(cb_prop State)" = serving ] &&
              wait_in "[ -z \"\$(find $DROP -maxdepth 1 -type f)\" ]" 5; do
                [ $SECONDS -lt "$deadline" ] || { cb_log "drop $i: the daemon did not settle"; exit 2; }
                sleep 0.01
        done
done

cb_log "vertex-certd: p50 $(printf '%s\n' "${T_CERTD[@]}" | cb_percentile 50) ms, p99 $(printf '%s\n' "${T_CERTD[@]}" | cb_percentile 99) ms"
if [ "${BENCH_VERBOSE:-0}" = 1 ]; then
        cb_log "the last drop, as the journal saw it:"
        vx_exec journalctl --no-pager -o short-precise -n 40 -u vertex-certd.service -u vertex-console.service \
                -u vertex-grpc.service -u vertex-api.service | sed 's/^/#   /' >&2
fi

# ------------------------------------------------- 2. the .path unit and its script

vx_exec sh -c "install -d -m 0700 $ADMIN_DROP $ADMIN_STAGE &&
               install -d -m 0750 -g vertex-tls $ADMIN_LIVE &&
               install -g vertex-tls -m 0640 $PKI/0/fullchain.pem $PKI/0/key.pem $ADMIN_LIVE/" || exit 2
# /usr is an overlay in the container: written from inside.
vx_exec sh -c 'mkdir -p /usr/local/sbin && cat >/usr/local/sbin/vertex-admin-deploy && chmod 0755 /usr/local/sbin/vertex-admin-deploy' <<EOF || exit 2
#!/bin/sh
# What an administrator would write without vertex-certd: started by
# vertex-admin-deploy.path when $ADMIN_DROP changes; checks the bundle with
# the openssl CLI, copies it where the endpoints read it, reloads them.
# Loops while a complete bundle is there: a change made while it runs does
# not start it again.
set -eu
drop=$ADMIN_DROP
live=$ADMIN_LIVE
name=$CB_SERVER_NAME
while [ -e "\$drop/tls.crt" ] && [ -e "\$drop/tls.key" ] && [ -e "\$drop/ca.crt" ]; do
        work=\$(mktemp -d)
        mv "\$drop/tls.crt" "\$drop/tls.key" "\$drop/ca.crt" "\$work/"
        cd "\$work"
        openssl x509 -in tls.crt -out leaf.pem
        if ! openssl verify -purpose sslserver -CAfile ca.crt -untrusted tls.crt leaf.pem >/dev/null; then
                echo "refused: the chain does not verify" >&2; cd /; rm -rf "\$work"; continue
        fi
        case \$(openssl x509 -in leaf.pem -noout -checkhost "\$name") in
        *"does match"*) ;;
        *) echo "refused: not for \$name" >&2; cd /; rm -rf "\$work"; continue ;;
        esac
        if [ "\$(openssl x509 -in leaf.pem -noout -pubkey)" != "\$(openssl pkey -in tls.key -pubout)" ]; then
                echo "refused: the key does not belong to the certificate" >&2; cd /; rm -rf "\$work"; continue
        fi
        install -g vertex-tls -m 0640 tls.crt "\$live/.fullchain.pem.new"
        install -g vertex-tls -m 0640 tls.key "\$live/.key.pem.new"
        mv "\$live/.key.pem.new" "\$live/key.pem"
        mv "\$live/.fullchain.pem.new" "\$live/fullchain.pem"
        systemctl reload ${CB_UNITS[*]}
        cd /
        rm -rf "\$work"
done
EOF
cat >"$VX_ROOT/etc/systemd/system/vertex-admin-deploy.path" <<EOF
[Path]
PathChanged=$ADMIN_DROP
Unit=vertex-admin-deploy.service
EOF
# Each drop starts it about twice (the renames in, its own moves out): a
# rotation every second would run into the default start rate limit.
cat >"$VX_ROOT/etc/systemd/system/vertex-admin-deploy.service" <<EOF
[Unit]
StartLimitIntervalSec=0
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/vertex-admin-deploy
EOF
cb_endpoints_serve_from "$ADMIN_LIVE" || exit 2
vx_exec systemctl start vertex-admin-deploy.path || exit 2
cb_wait_all_serve "${FP[0]}" 20 || { cb_log "the endpoints do not serve from $ADMIN_LIVE"; exit 2; }

cb_log ".path unit: $ROTATIONS drops"
for ((k = 1; k <= ROTATIONS; k++)); do
        i=$((ROTATIONS + k))
        vx_exec sh -c "install -m 0600 $PKI/$i/ca.pem $ADMIN_STAGE/ca.crt &&
                       install -m 0600 $PKI/$i/key.pem $ADMIN_STAGE/tls.key &&
                       install -m 0600 $PKI/$i/fullchain.pem $ADMIN_STAGE/tls.crt" || exit 2
        if out=$(probe_drop "$i" "$ADMIN_STAGE" "$ADMIN_DROP"); then
                T_PATH+=("$(echo "$out" | sed -E 's/^ms=([0-9.]+).*/\1/')")
        else
                failures_path=$((failures_path + 1))
                vx_exec journalctl --no-pager -o cat -n 10 -u vertex-admin-deploy.service | sed 's/^/#   /' >&2
        fi
        # Its run is over (the script's own renames may start it once more, for nothing).
        wait_in "[ -z \"\$(find $ADMIN_DROP -maxdepth 1 -type f)\" ] && ! systemctl -q is-active vertex-admin-deploy.service" 30 ||
                { cb_log "rotation $k: the .path script did not finish"; exit 2; }
done

# ------------------------------------------------------------------ report

stats() {
        printf '%s\n' "$@" | awk '{ s += $1; if (NR == 1 || $1 < mn) mn = $1; if ($1 > mx) mx = $1 }
                END { if (NR) printf "%.1f %.1f %.1f", s / NR, mn, mx; else print "nan nan nan" }'
}
row() {
        printf '%-34s %20s %20s\n' "$1" "$2" "$3"
}

c50=$(printf '%s\n' "${T_CERTD[@]}" | cb_percentile 50)
c99=$(printf '%s\n' "${T_CERTD[@]}" | cb_percentile 99)
p50=$(printf '%s\n' "${T_PATH[@]}" | cb_percentile 50)
p99=$(printf '%s\n' "${T_PATH[@]}" | cb_percentile 99)
read -r cmean cmin cmax <<<"$(stats "${T_CERTD[@]}")"
read -r pmean pmin pmax <<<"$(stats "${T_PATH[@]}")"
ratio50=$(awk -v a="$p50" -v b="$c50" 'BEGIN { printf "%.1f", a / b }')
ratio99=$(awk -v a="$p99" -v b="$c99" 'BEGIN { printf "%.1f", a / b }')

echo
echo "drop-to-serving: final rename -> all of ${CB_PORTS[*]} serve the new leaf (ms)"
row "" "vertex-certd" ".path + openssl script"
row "rotations measured (failed)" "${#T_CERTD[@]} ($failures_certd)" "${#T_PATH[@]} ($failures_path)"
row "p50" "$c50" "$p50"
row "p99" "$c99" "$p99"
row "mean" "$cmean" "$pmean"
row "min / max" "$cmin / $cmax" "$pmin / $pmax"
echo "script / vertex-certd: ${ratio50}x at p50, ${ratio99}x at p99"

if [ "$failures_certd" -eq 0 ] && [ "${#T_CERTD[@]}" -ge 100 ] &&
   awk -v c="$c50" -v r="$ratio50" 'BEGIN { exit !(c <= 100 && r >= 5) }'; then
        echo "target (p50 <= 100 ms and >= 5x faster than the .path script): met"
        exit 0
fi
echo "target (p50 <= 100 ms and >= 5x faster than the .path script): NOT met"
exit 1
