#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The system tier with real consumers: Debian's nginx (the web console on
# 8443, and TLS for a gRPC server on 8444) and HAProxy (the API on 8445, in
# front of an HTTP server), set up from examples/ and the shipped drop-ins
# exactly as the README tells an operator, in a real systemd booted with
# systemd-nspawn (lib.sh). The reference endpoints are not started here.
#
# Every install is made while clients work: fresh handshakes in a loop, a
# keep-alive connection asking every 100 ms, and a slow response (a large
# file at a limited rate, or a gRPC call that takes 5 s) in flight. The
# clients are tests/system/consumers-tool.py (Python, python3-grpcio).
# TAP output, one line per scenario; what was measured goes to the log as
# "# ..." lines.
#
# Environment: VERTEX_BUILD_DIR, VERTEX_SOURCE_DIR; VERTEX_SYSTEM_KEEP=1
# leaves the container's directory for a post-mortem.

set -u -o pipefail

SRC=${VERTEX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${VERTEX_BUILD_DIR:-$SRC/build}
# shellcheck source=tests/system/lib.sh
. "$SRC/tests/system/lib.sh"

SERVER_NAME=appliance.vertex.test
BUS_OBJ=(org.vertex.Certificates /org/vertex/Certificates org.vertex.Certificates)
TOOL=/root/consumers-tool.py
PY=/usr/bin/python3
CONSOLE=8443
GRPC=8444
API=8445
# The slow responses: 3 MiB at 512 KiB/s, about 6 s, so that an install (about 1 s) happens within.
LARGE_BYTES=$((3 * 1024 * 1024))
LARGE_RATE=$((512 * 1024))

vx_require_host
for p in /usr/sbin/nginx /usr/sbin/haproxy /usr/lib/python3/dist-packages/grpc/__init__.py; do
        [ -e "$p" ] || vx_skip_all "needs $p (packages nginx, haproxy, python3-grpcio in .ci/packages)"
done

# ---------------------------------------------------------------- helpers

norm_fp() {
        tr -d ':' | tr 'A-F' 'a-f'
}

file_fp() {
        openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//' | norm_fp
}

# The leaf one fresh handshake with 127.0.0.1:PORT gets, as a fingerprint (no retry).
served_fp() {
        vx_exec timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$SERVER_NAME" </dev/null 2>/dev/null |
                openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/^.*=//' | norm_fp
}

prop() {
        vx_exec busctl get-property "${BUS_OBJ[@]}" "$1" | sed -E 's/^[a-z(){}]+ //; s/^"(.*)"$/\1/'
}

# A fresh root -> intermediate -> leaf PKI: $VX_ROOT/root/pki/NAME, /root/pki/NAME inside.
make_pki() {
        PKI_HOST=$VX_ROOT/root/pki/$1
        PKI_IN=/root/pki/$1
        mkdir -p "$VX_ROOT/root/pki"
        "$TESTPKI" "$PKI_HOST" --server-name "$SERVER_NAME" >/dev/null
        chmod 0644 "$PKI_HOST"/*.pem
}

# Install over the bus as root, with the files of PKI directory $1 (host path).
bus_install() {
        vx_exec busctl call --timeout=90 -- "${BUS_OBJ[@]}" Install sss \
                "$(cat "$1/fullchain.pem")" "$(cat "$1/key.pem")" "$(cat "$1/ca.pem")"
}

tool() {
        vx_exec env VX_SERVER_NAME="$SERVER_NAME" "$PY" "$TOOL" "$@"
}

# One field of a JSON object in file $1, by a Python expression on `d`.
json() {
        "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

journal_cursor() {
        vx_exec journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'
}

# The PIDs of unit $1's processes, sorted: a reload of nginx or HAProxy starts new workers.
unit_pids() {
        vx_exec sh -c "cat /sys/fs/cgroup/system.slice/$1/cgroup.procs" | sort -n | tr '\n' ' '
}

# Whether unit $1 has no process that is not in the list $2.
no_new_pids() {
        local p
        for p in $(unit_pids "$1"); do
                [[ " $2 " == *" $p "* ]] || return 1
        done
}

dump_state() {
        {
                echo "--- vertex-certd journal (last 20)"
                vx_exec journalctl --no-pager -o cat -u vertex-certd.service -n 20
                echo "--- nginx and haproxy"
                vx_exec systemctl --no-pager --lines=5 status nginx.service haproxy.service 2>&1 | head -40
                echo "--- Endpoints: $(prop Endpoints)"
                echo "--- LastError: $(prop LastError)"
        } 2>&1 | diag
}

# The authority clients trust: the last one installed (CURRENT_ROOT, a path inside).
CURRENT_PKI_HOST=
CURRENT_PKI_IN=

# Installs PKI $1 and checks that the next handshake on every port serves it.
install_served() {
        local fp out port got
        make_pki "$1" || return 1
        fp=$(file_fp "$PKI_HOST/leaf.pem")
        out=$(bus_install "$PKI_HOST" 2>&1) || fail "Install of $1 failed: $out" || return 1
        for port in $CONSOLE $GRPC $API; do
                got=$(served_fp $port)
                [ "$got" = "$fp" ] || fail "the first handshake on $port after Install returned got '$got', not $fp" ||
                        return 1
        done
        CURRENT_PKI_HOST=$PKI_HOST
        CURRENT_PKI_IN=$PKI_IN
}

# ---------------------------------------------------------------- install under load

# Installs a new PKI on consumer port $2 (kind $1: http, grpc) while the
# three clients work, and checks what each saw. $3: the slow request's path
# (http). Sets LOAD_KEEPALIVE to the keep-alive client's JSON file.
install_under_load() {
        local kind=$1 port=$2 path=${3:-} old_in=$CURRENT_PKI_IN both out fp t0 t1 got rc=0
        local dir=$VX_DIR/load-$port stop=/root/stop-$port
        local h_pid k_pid s_pid
        rm -rf "$dir" && mkdir -p "$dir"
        vx_exec rm -f "$stop"

        make_pki "load-$port" || return 1
        fp=$(file_fp "$PKI_HOST/leaf.pem")
        both=/root/pki/both-$port.pem
        cat "$VX_ROOT$old_in/root.pem" "$PKI_HOST/root.pem" >"$VX_ROOT$both"

        tool handshakes "$kind" "$port" "$both" "$stop" >"$dir/handshakes.json" 2>"$dir/handshakes.err" &
        h_pid=$!
        if [ "$kind" = grpc ]; then
                tool grpc-channel "$port" "$both" "$stop" >"$dir/keepalive.json" 2>"$dir/keepalive.err" &
                k_pid=$!
                tool grpc-slow "$port" "$both" >"$dir/slow.json" 2>"$dir/slow.err" &
                s_pid=$!
        else
                tool keepalive "$port" "$both" "$stop" >"$dir/keepalive.json" 2>"$dir/keepalive.err" &
                k_pid=$!
                tool slow "$port" "$both" "$path" >"$dir/slow.json" 2>"$dir/slow.err" &
                s_pid=$!
        fi
        # Let the clients get going: connections made, the slow response under way.
        sleep 1.5

        t0=$EPOCHREALTIME
        out=$(bus_install "$PKI_HOST" 2>&1) || { fail "Install under load failed: $out"; rc=1; }
        t1=$EPOCHREALTIME
        got=$(served_fp "$port")
        [ "$got" = "$fp" ] || { fail "the first handshake after Install returned got '$got', not $fp"; rc=1; }

        # A little more load on the new certificate, then the clients stop.
        sleep 1
        vx_exec touch "$stop"
        wait "$h_pid" "$k_pid" "$s_pid"
        for f in handshakes keepalive slow; do
                [ -s "$dir/$f.json" ] || { cat "$dir/$f.err" | diag; fail "the $f client printed nothing"; rc=1; }
        done
        [ $rc = 0 ] || return 1
        LOAD_KEEPALIVE=$dir/keepalive.json

        printf 'install on %s took %.2f s; handshakes %s, keep-alive %s, slow %s\n' "$port" \
                "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
                "$(cat "$dir/handshakes.json")" "$(cat "$dir/keepalive.json")" "$(cat "$dir/slow.json")" | diag

        # Fresh handshakes: not one failed, and once Install returned, every one got the new
        # certificate (during the reload they may alternate: nginx's old workers accept for 100 ms).
        [ "$(json "$dir/handshakes.json" 'd["failures"]')" = 0 ] || { fail "handshakes failed during the install"; rc=1; }
        [ "$(json "$dir/handshakes.json" 'd["attempts"]')" -ge 10 ] || { fail "too few handshakes to tell"; rc=1; }
        if [ "$kind" = http ]; then
                [ "$(json "$dir/handshakes.json" 'd["fingerprints"][-1][1]')" = "$fp" ] ||
                        { fail "the last handshakes did not get the new certificate"; rc=1; }
                awk -v last="$(json "$dir/handshakes.json" 'd["fingerprints"][-1][2]')" -v b="$t1" \
                        'BEGIN { exit !(last < b) }' ||
                        { fail "a handshake got the old certificate after Install returned"; rc=1; }
                echo "the served leaf changed $(( $(json "$dir/handshakes.json" 'len(d["fingerprints"])') - 1 )) time(s)" \
                     "during the install" | diag
        fi
        # The slow response began before the install, ended after it, and is complete.
        [ "$(json "$dir/slow.json" 'd["ok"]')" = True ] || { fail "the slow response failed"; rc=1; }
        awk -v s="$(json "$dir/slow.json" 'd["start"]')" -v e="$(json "$dir/slow.json" 'd["end"]')" \
            -v a="$t0" -v b="$t1" 'BEGIN { exit !(s < a && e > b) }' ||
                { fail "the slow response was not in flight during the install"; rc=1; }
        if [ "$kind" = http ]; then
                [ "$(json "$dir/slow.json" 'd["bytes"]')" = "$LARGE_BYTES" ] || { fail "the slow response is short"; rc=1; }
        fi
        # The kept-alive connection: every request answered, or the connection closed between two; never cut.
        [ "$(json "$dir/keepalive.json" 'd["failures"]')" = 0 ] ||
                { fail "a request on the kept-alive connection failed"; rc=1; }
        CURRENT_PKI_HOST=$PKI_HOST
        CURRENT_PKI_IN=$PKI_IN
        return $rc
}

# ---------------------------------------------------------------- scenarios

# The drop-ins put both behind vertex-tls.target and in group vertex-tls; they
# serve the store's files, which consumers can read and nobody else.
t_setup_served() {
        local reached fp port
        reached=$(vx_exec systemctl show -p PropagatesReloadTo --value vertex-tls.target)
        for u in nginx.service haproxy.service; do
                echo "$reached" | grep -qw "$u" || fail "vertex-tls.target does not reach $u: '$reached'" || return 1
                vx_exec systemctl show -p SupplementaryGroups --value "$u" | grep -qw vertex-tls ||
                        fail "$u is not in group vertex-tls" || return 1
        done
        fp=$(prop Fingerprint | norm_fp)
        for port in $CONSOLE $GRPC $API; do
                [ "$(served_fp $port)" = "$fp" ] || fail "port $port does not serve the self-signed default $fp" || return 1
        done
        local modes
        modes=$(vx_exec stat -L -c '%n %a %U %G' /var/lib/vertex-certd/current/key.pem \
                /var/lib/vertex-certd/current/combined.pem /var/lib/vertex-certd/current/fullchain.pem)
        echo "$modes" | diag
        grep -q 'key.pem 640 vertex-certd vertex-tls' <<<"$modes" &&
                grep -q 'combined.pem 640 vertex-certd vertex-tls' <<<"$modes" ||
                fail "key and combined file are not 0640 vertex-certd:vertex-tls" || return 1
        # An ordinary user reads none of it.
        vx_exec id nobody >/dev/null && ! vx_exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
                cat /var/lib/vertex-certd/current/combined.pem >/dev/null 2>&1 ||
                fail "user nobody can read combined.pem" || return 1
        install_served first || return 1
        # Endpoints names the configured addresses, each serving.
        local endpoints
        endpoints=$(prop Endpoints)
        for a in "nginx.service\" \"127.0.0.1:$CONSOLE" "nginx.service\" \"127.0.0.1:$GRPC" \
                 "haproxy.service\" \"127.0.0.1:$API"; do
                grep -qF "\"$a\" \"serving\"" <<<"$endpoints" || fail "Endpoints lacks $a serving: $endpoints" || return 1
        done
}

t_nginx_console() {
        install_under_load http $CONSOLE /downloads/large.bin || return 1
        # nginx's graceful reload closes idle keep-alive connections (docs/design.md).
        [ "$(json "$LOAD_KEEPALIVE" 'd["closed_between"]')" -ge 1 ] ||
                fail "nginx kept the idle connection across its reload: docs/design.md says otherwise"
}

t_haproxy_api() {
        install_under_load http $API "/large?bytes=$LARGE_BYTES&rate=$LARGE_RATE" || return 1
        # The old process answers the next request with "Connection: close" (option
        # idle-close-on-response in the example, docs/design.md) rather than closing under it.
        [ "$(json "$LOAD_KEEPALIVE" 'd["close_announced"]')" -ge 1 ] ||
                fail "HAProxy did not announce the close of the kept-alive connection: docs/design.md says it does"
}

# gRPC through nginx: Health/Check trusting only the uploaded authority, before and after.
t_nginx_grpc() {
        local before=$CURRENT_PKI_IN out
        out=$(tool grpc-check $GRPC "$before/root.pem")
        [ "$(json <(echo "$out") 'd["ok"]')" = True ] || fail "Health/Check before the install: $out" || return 1
        install_under_load grpc $GRPC || return 1
        out=$(tool grpc-check $GRPC "$CURRENT_PKI_IN/root.pem")
        [ "$(json <(echo "$out") 'd["ok"]')" = True ] || fail "Health/Check after the install: $out" || return 1
        # Trusting only the old authority now fails: the new certificate is what is served.
        out=$(tool grpc-check $GRPC "$before/root.pem")
        [ "$(json <(echo "$out") 'd["ok"]')" = False ] || fail "the old authority still verifies: $out"
}

# A refused upload reloads nobody: the same processes serve the same certificate.
t_refused_untouched() {
        local fp gen pids_n pids_h cursor out
        fp=$(prop Fingerprint | norm_fp)
        gen=$(prop Generation)
        pids_n=$(unit_pids nginx.service)
        pids_h=$(unit_pids haproxy.service)
        cursor=$(journal_cursor)
        make_pki refused-a && local a=$PKI_HOST && make_pki refused-b || return 1
        cp "$PKI_HOST/key.pem" "$a/key.pem"
        if out=$(bus_install "$a" 2>&1); then
                fail "a mismatched key was accepted: $out"
                return 1
        fi
        grep -q "^KeyMismatch: " <<<"$(prop LastError)" || fail "LastError is '$(prop LastError)'" || return 1
        [ "$(prop Generation)" = "$gen" ] || fail "Generation changed" || return 1
        # A reload starts new workers; an old one of an earlier reload may exit meanwhile.
        no_new_pids nginx.service "$pids_n" || fail "nginx has new processes: reloaded" || return 1
        no_new_pids haproxy.service "$pids_h" || fail "haproxy has new processes: reloaded" || return 1
        if vx_exec journalctl --no-pager -o cat --after-cursor="$cursor" | grep -Eq '^Reload(ing|ed) '; then
                fail "something was reloaded for a refused upload"
                return 1
        fi
        for port in $CONSOLE $GRPC $API; do
                [ "$(served_fp $port)" = "$fp" ] || fail "port $port no longer serves $fp" || return 1
        done
}

# Consumer $1 (nginx, haproxy) cannot reload (a configuration broken by $2, a
# shell command inside): the install fails with ReloadFailed, the previous
# generation is put back, LastError says which unit and why, and every port
# serves the previous certificate. Mended, ReloadEndpoints brings State back.
broken_reload() {
        local unit=$1.service break=$2 mend=$3 fp gen out last rc=0
        fp=$(prop Fingerprint | norm_fp)
        gen=$(prop Generation)
        vx_exec sh -c "$break" || return 1
        make_pki "broken-$1" || return 1
        if out=$(bus_install "$PKI_HOST" 2>&1); then
                fail "the install succeeded although $unit cannot reload: $out"
                rc=1
        fi
        last=$(prop LastError)
        echo "answer: $out" | diag
        echo "LastError: $last" | diag
        grep -q "Reloading $unit failed" <<<"$out" || { fail "the answer does not say that $unit failed"; rc=1; }
        # (busctl shows ' as \')
        grep -q "^Reloading $unit failed: job result .*'failed.*'; generation $gen was put back" <<<"$last" ||
                { fail "LastError does not say that $unit failed and generation $gen is back"; rc=1; }
        [ "$(prop Generation)" = "$gen" ] || { fail "Generation is $(prop Generation), expected $gen"; rc=1; }
        for port in $CONSOLE $GRPC $API; do
                [ "$(served_fp $port)" = "$fp" ] || { fail "port $port does not serve the previous certificate"; rc=1; }
        done
        vx_exec systemctl is-active --quiet "$unit" || { fail "$unit stopped"; rc=1; }

        vx_exec sh -c "$mend" || return 1
        vx_exec busctl call --timeout=90 "${BUS_OBJ[@]}" ReloadEndpoints >/dev/null ||
                { fail "ReloadEndpoints after mending failed"; rc=1; }
        [ "$(prop State)" = serving ] || { fail "State is '$(prop State)' after mending"; rc=1; }
        [ -z "$(prop LastError)" ] || { fail "LastError is still '$(prop LastError)'"; rc=1; }
        return $rc
}

t_nginx_broken() {
        broken_reload nginx 'echo "this is not nginx;" >/etc/nginx/conf.d/broken.conf' \
                'rm /etc/nginx/conf.d/broken.conf'
}

t_haproxy_broken() {
        broken_reload haproxy 'cp /etc/haproxy/haproxy.cfg /root/haproxy.cfg.good &&
                               echo "this-is-not-haproxy" >>/etc/haproxy/haproxy.cfg' \
                'cp /root/haproxy.cfg.good /etc/haproxy/haproxy.cfg'
}

SCENARIOS=(
        "nginx and HAProxy behind vertex-tls.target in group vertex-tls serve the store's files; an install is served on the next handshake:t_setup_served"
        "nginx console: install under load, 0 failed handshakes, slow download completes, keep-alive closed only between requests:t_nginx_console"
        "nginx gRPC: Health/Check trusting only the uploaded authority before and after; install under load, 0 failed calls:t_nginx_grpc"
        "HAProxy: install under load (seamless reload), 0 failed handshakes, slow response completes, keep-alive closed only between requests:t_haproxy_api"
        "a refused upload reloads neither nginx nor HAProxy; the same processes serve the same certificate:t_refused_untouched"
        "nginx with a broken configuration: ReloadFailed, previous generation back, LastError names nginx:t_nginx_broken"
        "HAProxy with a broken configuration: ReloadFailed, previous generation back, LastError names haproxy:t_haproxy_broken"
)

# ---------------------------------------------------------------- setup

echo "1..${#SCENARIOS[@]}"

UBUILD=$(vx_build_for_usr "$BUILD" "$SRC") || { echo "Bail out! could not build with prefix /usr"; exit 1; }
TESTPKI=$UBUILD/tests/vertex-testpki
for f in "$UBUILD/src/vertex-certd" "$TESTPKI"; do
        [ -x "$f" ] || { echo "Bail out! $f was not built"; exit 1; }
done

WORK=$(mktemp -d /var/tmp/vertex-consumers.XXXXXX) || exit 1
trap vx_tap_cleanup EXIT
trap 'exit 130' INT TERM

# As the README tells an operator: the examples, the drop-ins linked, the
# reference endpoints not started (the consumers take their ports).
setup_consumers() {
        local share=/usr/share/vertex-certd
        vx_exec sh -c "
                set -e
                # What the packages put under /var, which the container has empty.
                mkdir -p /var/lib/nginx /var/log/nginx /var/lib/haproxy/dev /var/www
                systemd-tmpfiles --create haproxy.conf
                rm -f /etc/nginx/sites-enabled/default
                cp $share/examples/nginx/vertex-console.conf $share/examples/nginx/vertex-grpc.conf /etc/nginx/sites-available/
                ln -sf ../sites-available/vertex-console.conf /etc/nginx/sites-enabled/vertex-console.conf
                ln -sf ../sites-available/vertex-grpc.conf /etc/nginx/sites-enabled/vertex-grpc.conf
                cat $share/examples/haproxy/vertex-api.cfg >>/etc/haproxy/haproxy.cfg
                mkdir -p /etc/systemd/system/nginx.service.d /etc/systemd/system/haproxy.service.d
                ln -sf $share/systemd/nginx.conf /etc/systemd/system/nginx.service.d/vertex-certd.conf
                ln -sf $share/systemd/haproxy.conf /etc/systemd/system/haproxy.service.d/vertex-certd.conf
                cp $share/examples/certd.conf.d/60-consumers.conf /etc/vertex-certd/certd.conf.d/
                mkdir -p /var/www/vertex-console/downloads
                echo ok >/var/www/vertex-console/healthz
                head -c $LARGE_BYTES /dev/urandom >/var/www/vertex-console/downloads/large.bin
        " || return 1
        cp "$SRC/tests/system/consumers-tool.py" "$VX_ROOT$TOOL"
        vx_exec systemd-run --quiet --unit=vertex-test-api-backend "$PY" "$TOOL" api-backend 8080 || return 1
        vx_exec systemd-run --quiet --unit=vertex-test-grpc-backend "$PY" "$TOOL" grpc-backend 50051 || return 1
}

setup() {
        vx_container_create "$WORK" || return 1
        vx_install_build "$UBUILD" || return 1
        mkdir -p "$VX_ROOT/etc/vertex-certd/certd.conf.d"
        printf '[Certificates]\nServerName=%s\nReloadTimeoutSec=20s\n' "$SERVER_NAME" \
                >"$VX_ROOT/etc/vertex-certd/certd.conf.d/50-system-test.conf"
        vx_container_boot || return 1
        vx_exec systemd-sysusers || return 1
        vx_exec systemd-tmpfiles --create --prefix=/var/lib/vertex-certd || return 1
        vx_exec systemctl daemon-reload || return 1
        vx_exec busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig || return 1
        setup_consumers || return 1
        vx_exec systemctl daemon-reload || return 1
        # nginx and haproxy want vertex-certd and start after it: its certificate exists by then.
        vx_exec systemctl start nginx.service haproxy.service || return 1
        vx_exec systemctl is-active --quiet vertex-certd.service || fail "vertex-certd was not started with them"
}

if ! setup; then
        [ -n "$VX_LEADER" ] && dump_state
        echo "Bail out! could not boot the container with nginx and HAProxy set up"
        exit 1
fi

vx_tap_run SCENARIOS dump_state
# The TAP lines carry the verdict (a non-zero exit would make meson call it an ERROR).
exit 0
