#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The system tier: the built project installed in a real systemd booted with
# systemd-nspawn (see lib.sh), with real dbus, polkitd and socket
# activation. Each scenario is checked from outside the daemon, the way an
# operator would: openssl s_client, busctl, systemctl, journalctl, run
# inside the container with nsenter. TAP output, one line per scenario.
#
# The container has its own network namespace (only lo), so ports 8443-8445
# cannot clash with anything on the host. It is stopped on every path.
#
# Environment: VERTEX_BUILD_DIR (a configured build), VERTEX_SOURCE_DIR.
# VERTEX_SYSTEM_KEEP=1 leaves the container's directory for a post-mortem.
# VERTEX_SYSTEM_ONLY=REGEX runs only the scenarios whose function matches
# (the first two always run: they are what the others start from).

set -u -o pipefail

SRC=${VERTEX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${VERTEX_BUILD_DIR:-$SRC/build}
# shellcheck source=tests/system/lib.sh
. "$SRC/tests/system/lib.sh"

SERVER_NAME=appliance.vertex.test
PORTS=(8443 8444 8445)
UNITS=(vertex-console.service vertex-grpc.service vertex-api.service)
BUS_OBJ=(org.vertex.Certificates /org/vertex/Certificates org.vertex.Certificates)

vx_require_host

# ---------------------------------------------------------------- helpers

norm_fp() {
        tr 'A-F' 'a-f'
}

# SHA-256 fingerprint of the first certificate in a PEM file on the host.
file_fp() {
        openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//' | norm_fp
}

# The leaf served on 127.0.0.1:PORT inside the container, as PEM.
served_cert() {
        vx_exec timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$SERVER_NAME" \
                </dev/null 2>/dev/null | openssl x509 2>/dev/null
}

served_fp() {
        served_cert "$1" | openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/^.*=//' | norm_fp
}

# GET PATH over HTTPS on 127.0.0.1:PORT inside the container; more
# s_client options (verification) may follow. Prints the response.
https_get() {
        local port=$1 path=$2
        shift 2
        printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$SERVER_NAME" |
                vx_exec timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" \
                        -servername "$SERVER_NAME" "$@" 2>/dev/null
}

# A property of org.vertex.Certificates, its value only (strings unquoted).
prop() {
        vx_exec busctl get-property "${BUS_OBJ[@]}" "$1" | sed -E 's/^[a-z(){}]+ //; s/^"(.*)"$/\1/'
}

# Every endpoint serves fingerprint $1 (case-insensitive), within $2 seconds.
all_serve() {
        local want i port got deadline=$((SECONDS + ${2:-10}))
        want=$(echo "$1" | norm_fp)
        while :; do
                local bad=()
                for i in "${!PORTS[@]}"; do
                        port=${PORTS[$i]}
                        got=$(served_fp "$port")
                        [ "$got" = "$want" ] || bad+=("${UNITS[$i]} (port $port) serves '${got:-nothing}'")
                done
                [ ${#bad[@]} -eq 0 ] && return 0
                if [ $SECONDS -ge "$deadline" ]; then
                        printf '%s\n' "${bad[@]}" | diag
                        return 1
                fi
                sleep 0.5
        done
}

# Waits until a property equals a value.
wait_prop() {
        local name=$1 want=$2 deadline=$((SECONDS + ${3:-30})) got
        while :; do
                got=$(prop "$name" | norm_fp)
                [ "$got" = "$(echo "$want" | norm_fp)" ] && return 0
                if [ $SECONDS -ge "$deadline" ]; then
                        echo "$name is '$got', expected '$want'" | diag
                        return 1
                fi
                sleep 0.5
        done
}

# A fresh root -> intermediate -> leaf PKI for SERVER_NAME, written into the
# container's /root/pki/NAME (visible from the host under $VX_ROOT).
PKI_HOST=
PKI_IN=
make_pki() {
        PKI_HOST=$VX_ROOT/root/pki/$1
        PKI_IN=/root/pki/$1
        mkdir -p "$VX_ROOT/root/pki"
        shift
        "$TESTPKI" "$PKI_HOST" --server-name "$SERVER_NAME" "$@" >/dev/null
}

# Installs the files of a PKI directory (its path on the host) as an operator
# would: vertex-certctl install passes them as file descriptors, so the key is
# never on a command line. Whatever comes before runs it (vx_exec, vx_exec_as).
bus_install() {
        local dir=${1#"$VX_ROOT"}
        shift
        "$@" vertex-certctl install --no-ask-password \
                --cert "$dir/fullchain.pem" --key "$dir/key.pem" --ca "$dir/ca.pem"
}

journal_of() {
        vx_exec journalctl --no-pager -o cat -u "$1" "${@:2}"
}

dump_state() {
        {
                echo "--- vertex-certd journal (last 25)"
                journal_of vertex-certd.service -n 25
                echo "--- endpoints"
                vx_exec systemctl --no-pager --lines=3 status "${UNITS[@]}" 2>&1 | head -40
                echo "--- Endpoints property"
                prop Endpoints
        } 2>&1 | diag
}

# ---------------------------------------------------------------- scenarios

# The installed units load without complaint and nothing failed on the way up.
t_units_verify() {
        local out failed_units
        out=$(vx_exec systemd-analyze verify --man=no vertex-certd.service vertex-tls.target \
                vertex-console.socket vertex-grpc.socket vertex-api.socket "${UNITS[@]}" 2>&1) ||
                { echo "$out" | diag; fail "systemd-analyze verify failed"; } || return 1
        [ -z "$out" ] || { echo "$out" | diag; fail "systemd-analyze verify complained"; } || return 1
        failed_units=$(vx_exec systemctl --failed --no-legend --plain)
        [ -z "$failed_units" ] || fail "failed units: $failed_units"
}

# The self-signed certificate made on first boot is served by all three
# endpoints (socket activation starts them on the first connection), it is
# for ServerName=, GET / says which endpoint and which fingerprint, and
# `systemctl status` shows the daemon's STATUS= line.
t_first_boot() {
        local fp status body
        fp=$(prop Fingerprint)
        [ -n "$fp" ] || fail "no Fingerprint property" || return 1
        [ "$(prop Source)" = self-signed ] || fail "Source is '$(prop Source)', expected self-signed" || return 1
        all_serve "$fp" 20 || fail "not every endpoint serves the self-signed certificate $fp" || return 1
        served_cert 8443 | openssl x509 -noout -ext subjectAltName | grep -q "DNS:$SERVER_NAME" ||
                fail "the served certificate does not name $SERVER_NAME" || return 1
        body=$(https_get 8444 /)
        echo "$body" | grep -q '^HTTP/1.1 200' || fail "GET / on 8444 answered '$body'" || return 1
        echo "$body" | grep -q '"endpoint":"grpc"' || fail "GET / answered '$body'" || return 1
        echo "$body" | norm_fp | grep -q "$(echo "$fp" | norm_fp)" || fail "GET / does not name $fp: '$body'" || return 1
        status=$(vx_exec systemctl status --no-pager vertex-certd.service)
        echo "$status" | grep -Eq "Status: \"Serving CN=$SERVER_NAME .*generation 1" ||
                { echo "$status" | diag; fail "no STATUS= line in systemctl status"; }
}

# Install over the bus (as root) with a real chain: every endpoint serves
# it, and a client verifying the chain against the new root, and the name,
# accepts it (so the intermediate is served too).
t_bus_install() {
        local fp out gen_before
        make_pki bus || return 1
        fp=$(file_fp "$PKI_HOST/leaf.pem")
        gen_before=$(prop Generation)
        out=$(bus_install "$PKI_HOST" vx_exec 2>&1) || fail "Install failed: $out" || return 1
        echo "$out" | norm_fp | grep -q "$fp" || fail "Install answered '$out', expected $fp" || return 1
        [ "$(prop Generation)" -gt "$gen_before" ] || fail "Generation did not grow" || return 1
        [ "$(prop Source)" = bus ] || fail "Source is '$(prop Source)'" || return 1
        all_serve "$fp" 5 || fail "not every endpoint serves $fp after Install returned" || return 1
        out=$(https_get 8445 /healthz -verify_return_error -CAfile "$PKI_IN/root.pem" \
                -verify_hostname "$SERVER_NAME")
        echo "$out" | grep -q '^HTTP/1.1 200' ||
                fail "a client verifying chain and name against the new root failed: '$out'"
}

# A tls.crt/tls.key pair moved into the drop directory goes live by itself;
# the dropped files are removed.
t_drop_directory() {
        local fp left
        make_pki drop || return 1
        fp=$(file_fp "$PKI_HOST/leaf.pem")
        # As an operator would: written aside, made readable by the daemon
        # (it has no capabilities; a root-only file is not readable to it),
        # renamed into place.
        vx_exec sh -c "cd /var/lib/vertex-certd/drop &&
                       install -o vertex-certd -g vertex-tls -m 0640 $PKI_IN/ca.pem .ca.tmp &&
                       install -o vertex-certd -g vertex-tls -m 0640 $PKI_IN/key.pem .key.tmp &&
                       install -o vertex-certd -g vertex-tls -m 0640 $PKI_IN/fullchain.pem .crt.tmp &&
                       mv .ca.tmp ca.crt && mv .key.tmp tls.key && mv .crt.tmp tls.crt" ||
                fail "could not drop the bundle" || return 1
        wait_prop Fingerprint "$fp" 30 || fail "the dropped bundle was not installed" || return 1
        [ "$(prop Source)" = drop-directory ] || fail "Source is '$(prop Source)'" || return 1
        all_serve "$fp" 10 || fail "not every endpoint serves the dropped certificate" || return 1
        left=$(vx_exec find /var/lib/vertex-certd/drop -maxdepth 1 -name 'tls.*' -o -maxdepth 1 -name ca.crt)
        [ -z "$left" ] || fail "dropped files left behind: $left"
}

# A bundle dropped as root with mode 0600 cannot be read by the daemon (it
# runs as vertex-certd): it is refused with a reason in rejected/, never left
# lying there unexplained, and the served certificate does not change.
t_drop_unreadable() {
        local fp_before i err
        fp_before=$(prop Fingerprint)
        make_pki unreadable || return 1
        vx_exec sh -c "cd /var/lib/vertex-certd/drop &&
                       install -m 0600 $PKI_IN/key.pem .key.tmp &&
                       install -m 0600 $PKI_IN/fullchain.pem .crt.tmp &&
                       mv .key.tmp private.key && mv .crt.tmp private.crt" ||
                fail "could not drop the bundle" || return 1
        for ((i = 0; i < 40; i++)); do
                err=$(vx_exec sh -c 'cat /var/lib/vertex-certd/drop/rejected/private*.error 2>/dev/null')
                [ -n "$err" ] && break
                sleep 0.25
        done
        echo "$err" | grep -q 'not readable by the daemon' ||
                { vx_exec ls -la /var/lib/vertex-certd/drop /var/lib/vertex-certd/drop/rejected 2>&1 | diag;
                  fail "no rejection saying the file is unreadable: '$err'"; } || return 1
        [ "$(prop Fingerprint | norm_fp)" = "$(echo "$fp_before" | norm_fp)" ] || fail "Fingerprint changed" || return 1
        echo "$(prop LastError)" | grep -q 'not readable' || fail "LastError is '$(prop LastError)'"
}

# A bundle whose key belongs to another certificate is refused with
# KeyMismatch; the old certificate keeps serving; LastError and the journal
# say why.
t_bad_bundle() {
        local fp_before out last since
        fp_before=$(prop Fingerprint)
        make_pki bad-a || return 1
        local a=$PKI_HOST
        make_pki bad-b || return 1
        cp "$PKI_HOST/key.pem" "$a/key.pem"
        since=$(vx_exec date '+%Y-%m-%d %H:%M:%S')
        if out=$(bus_install "$a" vx_exec 2>&1); then
                fail "a mismatched key was accepted: $out"
                return 1
        fi
        # busctl shows the message; the journal names the error too.
        echo "$out" | grep -Eqi 'belong|match' ||
                fail "the error does not say the key does not match: '$out'" || return 1
        last=$(prop LastError)
        echo "$last" | grep -Eqi 'belong|match' || fail "LastError is '$last'" || return 1
        journal_of vertex-certd.service --since "$since" | grep -q 'KeyMismatch' ||
                { journal_of vertex-certd.service --since "$since" | diag; fail "the journal does not say why"; } || return 1
        [ "$(prop Fingerprint | norm_fp)" = "$(echo "$fp_before" | norm_fp)" ] || fail "Fingerprint changed" || return 1
        all_serve "$fp_before" 2 || fail "the old certificate is no longer served"
}

# A user who is not root is refused by the real polkitd (no session, no
# rule); once a rule grants their group org.vertex.certificates.manage the
# same call goes through.
t_polkit_non_root() {
        local fp_before fp out i
        vx_exec getent group certadmins >/dev/null || vx_exec groupadd certadmins || return 1
        vx_exec id alice >/dev/null 2>&1 || vx_exec useradd -U -G certadmins alice || return 1
        fp_before=$(prop Fingerprint)
        make_pki alice || return 1
        fp=$(file_fp "$PKI_HOST/leaf.pem")
        # vertex-certctl opens the files as alice: a copy she may read.
        vx_exec sh -c "rm -rf /var/tmp/alice-pki && install -d -o alice -m 0700 /var/tmp/alice-pki &&
                       install -o alice -m 0600 $PKI_IN/fullchain.pem $PKI_IN/key.pem $PKI_IN/ca.pem /var/tmp/alice-pki/" ||
                return 1
        PKI_HOST=$VX_ROOT/var/tmp/alice-pki
        if out=$(bus_install "$PKI_HOST" vx_exec_as alice 2>&1); then
                fail "alice was allowed without a rule: $out"
                return 1
        fi
        echo "$out" | grep -Eqi 'denied|authori[sz]|authenticat|not allowed' ||
                fail "refused, but not by authorization: '$out'" || return 1
        # Refused by polkitd's answer, not because polkitd would not answer.
        if journal_of vertex-certd.service | grep -q 'Only trusted callers'; then
                fail "polkitd does not answer vertex-certd about other users: the action needs" \
                     "<annotate key=\"org.freedesktop.policykit.owner\">unix-user:vertex-certd</annotate>"
                return 1
        fi
        [ "$(prop Fingerprint | norm_fp)" = "$(echo "$fp_before" | norm_fp)" ] ||
                fail "the refused call changed the certificate" || return 1

        vx_exec sh -c 'cat >/etc/polkit-1/rules.d/60-vertex-test.rules' <<'RULE' || return 1
polkit.addRule(function(action, subject) {
        if (action.id == "org.vertex.certificates.manage" && subject.isInGroup("certadmins"))
                return polkit.Result.YES;
});
RULE
        # polkitd notices new rules by itself, a moment later.
        for ((i = 0; i < 20; i++)); do
                out=$(bus_install "$PKI_HOST" vx_exec_as alice 2>&1) && break
                sleep 0.5
        done
        vx_exec rm -f /etc/polkit-1/rules.d/60-vertex-test.rules
        vx_exec rm -rf /var/tmp/alice-pki
        echo "$out" | norm_fp | grep -q "$fp" || fail "alice's Install with the rule answered '$out'" || return 1
        all_serve "$fp" 5 || fail "alice's certificate is not served"
}

# A TLS connection made before a rotation goes on working after it: it was
# handshaked with the old certificate, and answers a request sent after the
# new one is live.
t_connection_survives() {
        local fifo=$VX_DIR/sclient.fifo out=$VX_DIR/sclient.out fp_old fp_new pid i held
        fp_old=$(prop Fingerprint)
        rm -f "$fifo" "$out"
        mkfifo "$fifo"
        # The client leaves when its input ends: fd 7 stays open until the answers are in.
        vx_exec timeout 120 openssl s_client -connect 127.0.0.1:8443 -servername "$SERVER_NAME" \
                <"$fifo" >"$out" 2>&1 &
        pid=$!
        exec 7>"$fifo"
        printf 'GET / HTTP/1.1\r\nHost: %s\r\n\r\n' "$SERVER_NAME" >&7
        for ((i = 0; i < 50; i++)); do
                grep -q '"fingerprint"' "$out" 2>/dev/null && break
                sleep 0.1
        done
        held=$(openssl x509 -in "$out" -noout -fingerprint -sha256 2>/dev/null | sed 's/^.*=//' | norm_fp)
        if [ "$held" != "$(echo "$fp_old" | norm_fp)" ] || ! grep -q '"fingerprint"' "$out"; then
                exec 7>&-
                wait "$pid"
                diag <"$out"
                fail "the first request on the held connection failed (handshake with '$held')"
                return 1
        fi

        make_pki rotate || { exec 7>&-; wait "$pid"; return 1; }
        fp_new=$(file_fp "$PKI_HOST/leaf.pem")
        if ! bus_install "$PKI_HOST" vx_exec >/dev/null || ! all_serve "$fp_new" 5; then
                exec 7>&-
                wait "$pid"
                fail "the rotation itself failed"
                return 1
        fi

        printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n' "$SERVER_NAME" >&7
        for ((i = 0; i < 50; i++)); do
                [ "$(grep -c '^HTTP/1.1 200' "$out")" -ge 2 ] && break
                sleep 0.1
        done
        exec 7>&-
        wait "$pid"
        [ "$(grep -c '^HTTP/1.1 200' "$out")" -eq 2 ] ||
                { tail -n 20 "$out" | diag; fail "the held connection did not answer after the rotation"; }
}

# Arms one of vertex-endpoint's test switches in vertex-grpc.service for a
# single reload: a drop-in $1 sets environment variable $2 to
# /run/vertex-test/$4, and an ExecReload=+ step before the real one turns the
# file $3 (touched by the scenario) into $4 for one reload, then clears it.
grpc_switch_for_one_reload() {
        local dropin=$1 variable=$2 armed=$3 active=$4 reload_line
        reload_line=$(grep '^ExecReload=' "$VX_UPPER/lib/systemd/system/vertex-grpc.service" | head -n 1)
        [ -n "$reload_line" ] || fail "no ExecReload= in vertex-grpc.service" || return 1
        vx_exec mkdir -p /run/vertex-test /run/systemd/system/vertex-grpc.service.d || return 1
        vx_exec sh -c "cat >/run/systemd/system/vertex-grpc.service.d/$dropin.conf" <<EOF || return 1
[Service]
Environment=$variable=/run/vertex-test/$active
ExecReload=
ExecReload=+/bin/sh -c 'cd /run/vertex-test && if [ -e $active ]; then rm $active; elif [ -e $armed ]; then mv $armed $active; fi'
$reload_line
EOF
        vx_exec systemctl daemon-reload || return 1
        vx_exec systemctl restart vertex-grpc.service
}

# vertex-grpc refuses its next reload (the endpoint's own test switch, set
# for one reload by an ExecReload=+ step): vertex-certd puts the previous
# generation back, reloads again, answers ReloadFailed, and all three
# serve the old certificate.
t_reload_failure_rollback() {
        local fp_old gen_old fp_new out
        # fail-once becomes failing for one reload (the endpoint refuses it),
        # and the reload after that clears it.
        grpc_switch_for_one_reload 50-fail-once VERTEX_ENDPOINT_FAIL_RELOAD_IF_EXISTS grpc-fail-once grpc-failing ||
                return 1

        fp_old=$(prop Fingerprint)
        gen_old=$(prop Generation)
        all_serve "$fp_old" 10 || fail "not serving $fp_old before the test" || return 1
        vx_exec touch /run/vertex-test/grpc-fail-once
        make_pki rollback || return 1
        fp_new=$(file_fp "$PKI_HOST/leaf.pem")
        local rc=0
        out=$(bus_install "$PKI_HOST" vx_exec 2>&1) || rc=$?

        vx_exec rm -rf /run/systemd/system/vertex-grpc.service.d /run/vertex-test
        vx_exec systemctl daemon-reload

        [ $rc -ne 0 ] || fail "Install succeeded although vertex-grpc failed its reload: $out" || return 1
        echo "$out" | grep -q ReloadFailed || echo "$out" | grep -qi reload ||
                fail "the error does not say the reload failed: '$out'" || return 1
        [ "$(prop Generation)" = "$gen_old" ] || fail "Generation is $(prop Generation), expected $gen_old" || return 1
        [ "$(prop Fingerprint | norm_fp)" = "$(echo "$fp_old" | norm_fp)" ] || fail "Fingerprint is not the old one" || return 1
        [ "$(prop State)" = serving ] || fail "State is '$(prop State)' after a successful rollback" || return 1
        all_serve "$fp_old" 10 || fail "not every endpoint serves the old certificate again" || return 1
        journal_of vertex-grpc.service -n 50 | grep -q 'test switch' ||
                fail "vertex-grpc never refused a reload (was the switch used?)" || return 1
        [ "$(served_fp 8444)" != "$(echo "$fp_new" | norm_fp)" ]
}

# Handshakes with 127.0.0.1:$1 back to back until file $2 exists, as new
# clients with OpenSSL's default limits make them; one line per attempt:
# start end ok(1/0) fingerprint, CLOCK_MONOTONIC seconds.
CLIENT_LOOP='
import hashlib, os, socket, ssl, sys, time
port, stop, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
while not os.path.exists(stop):
    t0, fp, ok = time.monotonic(), "", 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            with ctx.wrap_socket(s, server_hostname=name) as t:
                fp = hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()
                ok = 1
    except Exception:
        pass
    print("%.6f %.6f %d %s" % (t0, time.monotonic(), ok, fp), flush=True)
'

# vertex-grpc reloads "successfully" but serves without its certificate (the
# endpoint's test switch, set for one reload): it answers, and every
# handshake fails. vertex-certd tells that from "unreachable", gives up at
# once instead of retrying until ReloadTimeoutSec=, puts the previous
# generation back, and says so. Prints how long new clients failed: from the
# start of the first failed handshake to the end of the last one; the target
# is 1 s or less.
t_broken_serve_rollback() {
        local fp_old gen_old out rc=0 log t0 t1 last took cursor
        local window_ms n_failed n_total
        # break-once becomes broken for one reload (the endpoint serves without its
        # certificate), and the reload after that clears it.
        grpc_switch_for_one_reload 50-break-once VERTEX_ENDPOINT_BREAK_SERVING_IF_EXISTS grpc-break-once grpc-broken ||
                return 1

        fp_old=$(prop Fingerprint)
        gen_old=$(prop Generation)
        all_serve "$fp_old" 10 || fail "not serving $fp_old before the test" || return 1
        make_pki broken || return 1

        cursor=$(journal_cursor)
        log=$VX_DIR/broken-clients.log
        vx_exec python3 -c "$CLIENT_LOOP" 8444 /run/vertex-test/stop-clients "$SERVER_NAME" >"$log" 2>&1 &
        local clients=$!
        sleep 0.5
        vx_exec touch /run/vertex-test/grpc-break-once
        t0=$EPOCHREALTIME
        out=$(bus_install "$PKI_HOST" vx_exec 2>&1) || rc=$?
        t1=$EPOCHREALTIME
        sleep 0.5
        vx_exec touch /run/vertex-test/stop-clients
        wait "$clients"

        vx_exec rm -rf /run/systemd/system/vertex-grpc.service.d /run/vertex-test
        vx_exec systemctl daemon-reload

        read -r window_ms n_failed n_total < <(awk '
                $3 == 0 { if (!n) first = $1; last = $2; n++ }
                NF >= 3 { total++ }
                END { if (n) printf "%.0f %d %d\n", (last - first) * 1000, n, total; else printf "0 0 %d\n", total }' "$log")
        took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
        echo "# new clients failed for $window_ms ms ($n_failed of $n_total handshakes on 8444; the Install call took $took ms); target: 1000 ms or less"
        echo "# new clients failed for $window_ms ms ($n_failed of $n_total handshakes); target: 1000 ms or less" >&2

        [ $rc -ne 0 ] || fail "Install succeeded although vertex-grpc served no certificate: $out" || return 1
        echo "$out" | grep -q '^ReloadFailed: ' || fail "the error is not ReloadFailed: '$out'" || return 1
        echo "$out" | grep -q 'vertex-grpc.service answers on .*, but the TLS handshake failed: ' ||
                fail "the error does not say the handshake failed: '$out'" || return 1
        if echo "$out" | grep -q unreachable; then
                fail "the error calls a failing handshake unreachable: '$out'"
                return 1
        fi
        echo "$out" | grep -q "generation $gen_old was put back and is serving" ||
                fail "the error does not say generation $gen_old is back: '$out'" || return 1
        last=$(prop LastError)
        echo "$last" | grep -q 'TLS handshake failed' || fail "LastError is '$last'" || return 1
        journal_of vertex-certd.service -n 30 | grep -q 'TLS handshake failed' ||
                { journal_of vertex-certd.service -n 30 | diag; fail "the journal does not say the handshake failed"; } ||
                return 1
        # What happened when, for whoever wants to shorten the window.
        vx_exec journalctl --no-pager -o short-monotonic --after-cursor="$cursor" \
                -u vertex-certd.service -u vertex-grpc.service -u vertex-tls.target |
                grep -v 'handshake' | grep -Ev 'GET|HTTP' | head -n 40 | diag
        vx_exec journalctl --no-pager -o cat --after-cursor="$cursor" -u vertex-grpc.service |
                grep -q 'without its certificate' ||
                fail "vertex-grpc never broke its serving (was the switch used?)" || return 1
        [ "$(prop Generation)" = "$gen_old" ] || fail "Generation is $(prop Generation), expected $gen_old" || return 1
        [ "$(prop State)" = serving ] || fail "State is '$(prop State)'" || return 1
        all_serve "$fp_old" 5 || fail "not every endpoint serves the old certificate again" || return 1
        [ "$n_failed" -gt 0 ] || fail "no client ever failed: the switch did not break serving" || return 1
        # After the last failure, new clients get the previous certificate.
        tail -n 1 "$log" | grep -q " 1 $(echo "$fp_old" | tr -d ':' | norm_fp)\$" ||
                fail "the last client did not get the previous certificate: $(tail -n 1 "$log")" || return 1
        [ "$window_ms" -le 1000 ] || fail "new clients failed for $window_ms ms, more than 1 s"
}

# Restarting vertex-certd changes nothing: the same generation, the same
# certificate, served by all three.
t_restart_same_generation() {
        local gen fp n_before n_after
        gen=$(prop Generation)
        fp=$(prop Fingerprint)
        n_before=$(vx_exec busctl call "${BUS_OBJ[@]}" ListGenerations | awk '{print $2}')
        vx_exec systemctl restart vertex-certd.service || fail "restart failed" || return 1
        [ "$(prop Generation)" = "$gen" ] || fail "Generation is $(prop Generation) after restart, was $gen" || return 1
        [ "$(prop Fingerprint | norm_fp)" = "$(echo "$fp" | norm_fp)" ] || fail "Fingerprint changed on restart" || return 1
        n_after=$(vx_exec busctl call "${BUS_OBJ[@]}" ListGenerations | awk '{print $2}')
        [ "$n_after" = "$n_before" ] || fail "generations: $n_before before, $n_after after" || return 1
        all_serve "$fp" 5 || fail "not serving the same certificate after the restart"
}

# vertex-certd stopped between committing a generation and seeing it served
# (here: stopped, and `current` pointed by hand at an older generation, the
# state a SIGKILL at that moment leaves), and the endpoints refuse that
# generation: at start it checks it as an install would, and goes back to
# the generation last seen served instead of leaving clients without one.
t_resume_back_to_served() {
        local store=/var/lib/vertex-certd gen_other fp_served gen_served since out last
        gen_other=$(prop Generation)
        make_pki resume || return 1
        bus_install "$PKI_HOST" vx_exec >/dev/null || fail "Install failed" || return 1
        gen_served=$(prop Generation)
        fp_served=$(prop Fingerprint)
        [ "$gen_served" != "$gen_other" ] || fail "the install made no new generation" || return 1
        [ "$(vx_exec cat $store/last-served)" = "$gen_served" ] ||
                fail "last-served is '$(vx_exec cat $store/last-served)', expected $gen_served" || return 1

        grpc_switch_for_one_reload 50-break-once VERTEX_ENDPOINT_BREAK_SERVING_IF_EXISTS grpc-break-once grpc-broken ||
                return 1
        vx_exec systemctl stop vertex-certd.service || return 1
        vx_exec sh -c "cd $store && ln -s generations/$gen_other current.resume-test && mv -T current.resume-test current" ||
                fail "could not point current at generation $gen_other" || return 1
        vx_exec touch /run/vertex-test/grpc-break-once
        since=$(vx_exec date '+%Y-%m-%d %H:%M:%S')
        vx_exec systemctl start vertex-certd.service || fail "vertex-certd did not start" || return 1

        wait_prop Generation "$gen_served" 30 || fail "generation $gen_served did not come back" || return 1
        wait_prop State serving 30 || return 1
        out=$(journal_of vertex-certd.service --since "$since")
        vx_exec rm -rf /run/systemd/system/vertex-grpc.service.d /run/vertex-test
        vx_exec systemctl daemon-reload
        grep -q "Generation $gen_other became current but was never seen served" <<<"$out" ||
                { echo "$out" | diag; fail "the journal does not say generation $gen_other was never served"; } || return 1
        vx_exec journalctl --no-pager -o cat --since "$since" -u vertex-grpc.service | grep -q 'without its certificate' ||
                fail "vertex-grpc never broke its serving (was the switch used?)" || return 1
        last=$(prop LastError)
        grep -q "TLS handshake failed: .*; generation $gen_served was put back and is serving" <<<"$last" ||
                fail "LastError is '$last'" || return 1
        all_serve "$fp_served" 10 || fail "not every endpoint serves generation $gen_served again" || return 1
        [ "$(vx_exec cat $store/last-served)" = "$gen_served" ] || fail "last-served changed" || return 1

        # Without a failure, a generation never seen served is simply checked and kept.
        vx_exec systemctl stop vertex-certd.service || return 1
        vx_exec sh -c "cd $store && ln -s generations/$gen_other current.resume-test && mv -T current.resume-test current" ||
                return 1
        vx_exec systemctl start vertex-certd.service || fail "vertex-certd did not start" || return 1
        wait_prop State serving 30 || return 1
        [ "$(prop Generation)" = "$gen_other" ] || fail "Generation is $(prop Generation), expected $gen_other" || return 1
        all_serve "$(prop Fingerprint)" 10 || return 1
        [ "$(vx_exec cat $store/last-served)" = "$gen_other" ] || fail "last-served is not $gen_other" || return 1
}

# A drop-in moves vertex-api to another port: it serves there, and
# vertex-certd (which reads listen addresses from systemd) checks it there.
t_port_dropin() {
        local fp endpoints
        fp=$(prop Fingerprint)
        vx_exec mkdir -p /etc/systemd/system/vertex-api.socket.d || return 1
        printf '[Socket]\nListenStream=\nListenStream=9445\n' |
                vx_exec sh -c 'cat >/etc/systemd/system/vertex-api.socket.d/50-port.conf' || return 1
        vx_exec systemctl daemon-reload || return 1
        # A socket is not restarted under its running service.
        vx_exec systemctl stop vertex-api.service vertex-api.socket || return 1
        vx_exec systemctl start vertex-api.socket || return 1
        local rc=0
        [ "$(served_fp 9445)" = "$(echo "$fp" | norm_fp)" ] || { fail "nothing serves $fp on 9445"; rc=1; }
        [ -z "$(served_fp 8445)" ] || { fail "8445 still answers"; rc=1; }
        if [ $rc = 0 ]; then
                vx_exec busctl call --timeout=60 "${BUS_OBJ[@]}" ReloadEndpoints >/dev/null ||
                        { fail "ReloadEndpoints failed"; rc=1; }
                endpoints=$(prop Endpoints)
                echo "$endpoints" | grep -q '"vertex-api.service" "[^"]*:9445" "serving"' ||
                        { fail "Endpoints does not show vertex-api serving on 9445: $endpoints"; rc=1; }
        fi

        vx_exec rm -rf /etc/systemd/system/vertex-api.socket.d
        vx_exec systemctl daemon-reload
        vx_exec systemctl stop vertex-api.service vertex-api.socket
        vx_exec systemctl start vertex-api.socket
        [ $rc = 0 ] && all_serve "$fp" 5
}

# Restarts vertex-certd with drop-in $1 of certd.conf.d holding the lines
# that follow (none: removes it).
certd_conf_dropin() {
        local name=$1
        shift
        if [ $# -gt 0 ]; then
                printf '[Certificates]\n%s\n' "$@" >"$VX_ROOT/etc/vertex-certd/certd.conf.d/$name.conf"
        else
                rm -f "$VX_ROOT/etc/vertex-certd/certd.conf.d/$name.conf"
        fi
        vx_exec systemctl restart vertex-certd.service || fail "vertex-certd did not restart"
}

journal_cursor() {
        vx_exec journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'
}

# How many times systemd logged "Reloaded UNIT" for unit $1 since journal
# cursor $2. (Not with a _PID=1 match: after the daemon-reload of the
# scenario below, PID 1's lines stopped matching it; why was not found.)
reloads_since() {
        vx_exec journalctl --no-pager -o cat --after-cursor="$2" | grep -c "^Reloaded $1[ .]" || true
}

# Waits up to 5 s for unit $1 to have logged "Reloaded" since cursor $2:
# PID 1 logs through journald, which may write the line a moment later.
wait_reloaded_since() {
        local deadline=$((SECONDS + 5))
        until [ "$(reloads_since "$1" "$2")" -ge 1 ]; do
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.2
        done
}

# Installs a fresh PKI $1 over the bus and checks that every endpoint serves
# it; INSTALL_CURSOR is the journal just before, for what systemd reloaded.
# $2 says which install it is, for the messages.
install_served() {
        local fp out
        INSTALL_CURSOR=$(journal_cursor)
        make_pki "$1" "${@:3}" || return 1
        fp=$(file_fp "$PKI_HOST/leaf.pem")
        out=$(bus_install "$PKI_HOST" vx_exec 2>&1) || fail "Install $2 failed: $out" || return 1
        all_serve "$fp" 5 || fail "not served after Install $2"
}

# By default the three consumers are reloaded through vertex-tls.target, one
# job (and one polkit check) for all; a consumer the target does not reach
# gets a job of its own; ReloadThrough= empty reloads each unit by a job of
# its own.
t_reload_through() {
        local reached rc=0
        reached=$(vx_exec systemctl show -p PropagatesReloadTo --value vertex-tls.target)
        for u in "${UNITS[@]}"; do
                echo "$reached" | grep -qw "$u" || fail "vertex-tls.target does not reach $u: '$reached'" || return 1
        done

        install_served through "through the target" || return 1
        wait_reloaded_since vertex-tls.target "$INSTALL_CURSOR" ||
                fail "vertex-tls.target was not reloaded for the install" || return 1

        # A consumer of the operator's without ReloadPropagatedFrom=: reloaded by a
        # job of its own (which a polkit rule of theirs allows), the others still
        # through the target.
        printf '[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/true\n' |
                vx_exec sh -c 'cat >/run/systemd/system/vertex-extra.service' || return 1
        vx_exec sh -c 'cat >/etc/polkit-1/rules.d/60-vertex-extra.rules' <<'RULE' || return 1
polkit.addRule(function(action, subject) {
        if (action.id == "org.freedesktop.systemd1.manage-units" && subject.user == "vertex-certd" &&
            action.lookup("unit") == "vertex-extra.service" && action.lookup("verb") == "reload-or-try-restart")
                return polkit.Result.YES;
});
RULE
        vx_exec systemctl daemon-reload && vx_exec systemctl start vertex-extra.service || return 1
        certd_conf_dropin 60-extra \
                "Units=vertex-console.service vertex-grpc.service vertex-api.service vertex-extra.service" &&
                wait_prop State serving 20 || return 1
        if ! install_served through-extra "with a consumer of its own"; then
                rc=1
        elif ! wait_reloaded_since vertex-extra.service "$INSTALL_CURSOR"; then
                fail "vertex-extra.service was not reloaded"
                rc=1
        elif ! wait_reloaded_since vertex-tls.target "$INSTALL_CURSOR"; then
                fail "vertex-tls.target was not reloaded for the three endpoints"
                rc=1
        fi
        vx_exec systemctl stop vertex-extra.service
        vx_exec rm -f /run/systemd/system/vertex-extra.service /etc/polkit-1/rules.d/60-vertex-extra.rules
        vx_exec systemctl daemon-reload
        certd_conf_dropin 60-extra && wait_prop State serving 20 || return 1
        [ $rc = 0 ] || return 1

        # No carrier: a job per unit, the target left alone.
        certd_conf_dropin 60-per-unit "ReloadThrough=" && wait_prop State serving 20 || return 1
        if ! install_served per-unit "without a carrier"; then
                rc=1
        elif ! wait_reloaded_since vertex-console.service "$INSTALL_CURSOR"; then
                fail "vertex-console.service was not reloaded"
                rc=1
        elif [ "$(reloads_since vertex-tls.target "$INSTALL_CURSOR")" != 0 ]; then
                fail "vertex-tls.target was reloaded although ReloadThrough= is empty"
                rc=1
        fi
        certd_conf_dropin 60-per-unit && wait_prop State serving 20 || return 1
        return $rc
}

# One sample from node_exporter's /metrics inside the container, scraped over
# HTTP on loopback: "NAME" or "NAME{labels}" prints its value as a whole number.
scrape() {
        vx_exec python3 - "$1" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen('http://127.0.0.1:9100/metrics', timeout=10).read().decode()
for line in body.splitlines():
    name, _, value = line.rpartition(' ')
    if name == sys.argv[1]:
        print(int(float(value)))
PY
}

# Waits until a scraped sample has a value. $1: sample, $2: value, $3: seconds.
wait_scrape() {
        local deadline=$((SECONDS + $3)) got
        while :; do
                got=$(scrape "$1" 2>/dev/null)
                [ "$got" = "$2" ] && return 0
                if [ $SECONDS -ge "$deadline" ]; then
                        echo "$1 scraped as '$got', expected '$2'" | diag
                        return 1
                fi
                sleep 0.5
        done
}

# The scraped days_left is the whole days from the scrape to NotAfter ($1,
# seconds): the clock is read before and after, since a day may end between.
days_left_scraped_right() {
        local before after got
        before=$(date +%s)
        got=$(scrape vertex_certd_certificate_days_left)
        after=$(date +%s)
        [ -n "$got" ] && [ "$got" -le $(( ($1 - before + 2) / 86400 )) ] && [ "$got" -ge $(( ($1 - after - 2) / 86400 )) ] && return 0
        echo "days_left scraped as '$got' between $before and $after, NotAfter $1" | diag
        return 1
}

# MetricsFile= read by Debian's real prometheus-node-exporter through its
# textfile collector, set up exactly as certd.conf(5) tells an operator to.
t_metrics_node_exporter() {
        [ -x /usr/bin/prometheus-node-exporter ] || return 77
        local dir=/var/lib/prometheus/node-exporter fp not_after
        vx_exec sh -c "mkdir -p $dir &&
                echo 'a+ $dir - - - - u:vertex-certd:rwx' >/etc/tmpfiles.d/vertex-certd-metrics.conf &&
                systemd-tmpfiles --create /etc/tmpfiles.d/vertex-certd-metrics.conf &&
                mkdir -p /etc/systemd/system/vertex-certd.service.d &&
                printf '[Service]\nReadWritePaths=$dir\n' >/etc/systemd/system/vertex-certd.service.d/metrics.conf &&
                printf '[Certificates]\nMetricsFile=$dir/vertex-certd.prom\n' >/etc/vertex-certd/certd.conf.d/60-metrics.conf &&
                systemctl daemon-reload && systemctl restart vertex-certd.service prometheus-node-exporter.service" ||
                fail "could not configure MetricsFile= and the node exporter" || return 1
        not_after=$(( $(prop NotAfter) / 1000000 ))
        wait_scrape vertex_certd_certificate_not_after_seconds "$not_after" 20 || return 1
        [ "$(scrape node_textfile_scrape_error)" = 0 ] || fail "the textfile collector reports an error" || return 1
        [ "$(scrape vertex_certd_certificate_generation)" = "$(prop Generation)" ] ||
                fail "generation differs from the bus" || return 1
        [ "$(scrape vertex_certd_certificate_not_before_seconds)" = $(( $(prop NotBefore) / 1000000 )) ] ||
                fail "not-before differs from the bus" || return 1
        days_left_scraped_right "$not_after" || fail "days left is not what NotAfter says" || return 1

        # An upload shows at the next scrape: its expiry, no longer self-signed, its install time.
        make_pki metrics || return 1
        fp=$(file_fp "$PKI_HOST/leaf.pem")
        bus_install "$PKI_HOST" vx_exec >/dev/null || fail "Install failed" || return 1
        wait_prop Fingerprint "$fp" 10 || return 1
        wait_scrape vertex_certd_certificate_not_after_seconds $(( $(prop NotAfter) / 1000000 )) 10 || return 1
        days_left_scraped_right $(( $(prop NotAfter) / 1000000 )) ||
                fail "days left is not what the new NotAfter says" || return 1
        [ "$(scrape vertex_certd_certificate_self_signed)" = 0 ] || fail "still reported as self-signed" || return 1
        [ "$(scrape vertex_certd_last_install_timestamp_seconds)" = $(( $(prop InstalledAt) / 1000000 )) ] ||
                fail "install time differs from InstalledAt" || return 1
        [ "$(scrape 'vertex_certd_certificate_info{fingerprint="'"$(prop Fingerprint)"'",issuer="'"$(prop Issuer)"'",server_name="'"$SERVER_NAME"'",source="bus",subject="'"$(prop Subject)"'"}')" = 1 ] ||
                fail "the info sample does not describe the served certificate" || return 1

        # A refusal: its name and time.
        vx_exec busctl call -- "${BUS_OBJ[@]}" Install sss "$(cat "$PKI_HOST/leaf.pem")" \
                "$(cat "$PKI_HOST/key.pem")" "$(cat "$PKI_HOST/ca.pem")" >/dev/null 2>&1 &&
                fail "an incomplete chain was accepted" && return 1
        wait_scrape 'vertex_certd_last_refusal_info{error="ChainIncomplete"}' 1 10 || return 1
        [ "$(scrape vertex_certd_last_refusal_timestamp_seconds)" -ge $(( $(date +%s) - 60 )) ] ||
                fail "the refusal time is not recent"
}

# A CA made here with openssl, as the README shows it: /root/csr/ca.{pem,key} in the container.
make_csr_ca() {
        CSR_HOST=$VX_ROOT/root/csr
        CSR_IN=/root/csr
        mkdir -p "$CSR_HOST"
        [ -f "$CSR_HOST/ca.pem" ] && return 0
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout "$CSR_HOST/ca.key" -out "$CSR_HOST/ca.pem" -subj "/CN=System Test CA" -days 2 \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
                >/dev/null 2>&1 && chmod 0644 "$CSR_HOST/ca.pem"
}

# vertex-certctl request > NAME.csr in the container, signed on the host by the test CA into NAME.pem.
request_and_sign() {
        local name=$1 out
        out=$(vx_exec vertex-certctl request 2>&1 >"$CSR_HOST/$name.csr") ||
                { echo "$out" | diag; fail "vertex-certctl request failed"; } || return 1
        grep -q "PRIVATE KEY" "$CSR_HOST/$name.csr" && { fail "the request output holds a private key"; return 1; }
        openssl x509 -req -in "$CSR_HOST/$name.csr" -CA "$CSR_HOST/ca.pem" -CAkey "$CSR_HOST/ca.key" \
                -CAcreateserial -days 1 -copy_extensions copy -out "$CSR_HOST/$name.pem" >/dev/null 2>&1 ||
                fail "openssl x509 -req failed" || return 1
        chmod 0644 "$CSR_HOST/$name.pem"
}

# No line of the served key's base64 appears anywhere in the journal.
key_not_in_journal() {
        local line
        line=$(sed -n 2p "$VX_ROOT/var/lib/vertex-certd/current/key.pem")
        [ -n "$line" ] || fail "no key in current/" || return 1
        if vx_exec journalctl --no-pager -o cat | grep -qF -- "$line"; then
                fail "key material in the journal"
                return 1
        fi
}

# request -> signed by a CA made here -> install with cert + CA only: all three endpoints serve it,
# the request is consumed, and the key was never anywhere but the store.
t_signing_request() {
        local fp mode
        make_csr_ca || fail "could not make a CA" || return 1
        request_and_sign csr1 || return 1
        [ "$(vx_exec vertex-certctl requests --json | grep -o '"id"' | wc -l)" = 1 ] ||
                fail "not one pending request" || return 1
        mode=$(vx_exec sh -c 'stat -c "%a %U" /var/lib/vertex-certd/pending/*/key.pem')
        [ "$mode" = "600 vertex-certd" ] || fail "the pending key is '$mode', expected 600 vertex-certd" || return 1
        fp=$(file_fp "$CSR_HOST/csr1.pem")
        out=$(vx_exec vertex-certctl install --cert "$CSR_IN/csr1.pem" --ca "$CSR_IN/ca.pem" 2>&1) ||
                { echo "$out" | diag; fail "install without --key failed"; } || return 1
        all_serve "$fp" 10 || fail "not every endpoint serves the signed certificate" || return 1
        [ "$(vx_exec vertex-certctl requests)" = "No pending signing requests." ] ||
                fail "the request was not consumed" || return 1
        key_not_in_journal
}

# The same answer through the drop directory: tls.crt + ca.crt, no key.
t_signing_request_drop() {
        local fp
        make_csr_ca || fail "could not make a CA" || return 1
        request_and_sign csr2 || return 1
        fp=$(file_fp "$CSR_HOST/csr2.pem")
        vx_exec sh -c "cd /var/lib/vertex-certd/drop &&
                       install -o vertex-certd -g vertex-tls -m 0640 $CSR_IN/ca.pem .ca.tmp &&
                       install -o vertex-certd -g vertex-tls -m 0640 $CSR_IN/csr2.pem .crt.tmp &&
                       mv .ca.tmp ca.crt && mv .crt.tmp tls.crt" || fail "could not drop the files" || return 1
        wait_prop Fingerprint "$fp" 30 || fail "the dropped certificate was not installed" || return 1
        all_serve "$fp" 10 || fail "not every endpoint serves the dropped certificate" || return 1
        key_not_in_journal
}

# A PKCS#12 file from openssl pkcs12 -export: a wrong password is refused by name, the right one
# installs it everywhere; the password is nowhere in the journal.
t_pkcs12() {
        local fp out pw=pkcs12-system-test-password
        make_pki p12 || return 1
        fp=$(file_fp "$PKI_HOST/leaf.pem")
        cat "$PKI_HOST/chain.pem" "$PKI_HOST/ca.pem" >"$PKI_HOST/certfile.pem"
        openssl pkcs12 -export -in "$PKI_HOST/leaf.pem" -inkey "$PKI_HOST/key.pem" \
                -certfile "$PKI_HOST/certfile.pem" -out "$PKI_HOST/bundle.p12" -passout "pass:$pw" ||
                fail "openssl pkcs12 -export failed" || return 1
        echo wrong >"$PKI_HOST/wrong.pw"
        echo "$pw" >"$PKI_HOST/right.pw"
        out=$(vx_exec vertex-certctl install --pkcs12 "$PKI_IN/bundle.p12" --password-file "$PKI_IN/wrong.pw" 2>&1)
        [ "$out" = "EncryptedKey: the PKCS#12 password is wrong" ] ||
                fail "a wrong password answered '$out'" || return 1
        out=$(vx_exec env VERTEX_CERTCTL_PKCS12_PASSWORD="$pw" \
                vertex-certctl install --pkcs12 "$PKI_IN/bundle.p12" 2>&1) ||
                { echo "$out" | diag; fail "install --pkcs12 failed"; } || return 1
        all_serve "$fp" 10 || fail "not every endpoint serves the PKCS#12 certificate" || return 1
        if vx_exec journalctl --no-pager -o cat | grep -qF -- "$pw"; then
                fail "the PKCS#12 password is in the journal"
                return 1
        fi
        key_not_in_journal
}

# Writes drop-in $1 of certd.conf.d with the lines that follow (none: removes
# it) and reloads vertex-certd, which must keep its process and bus name.
certd_conf_reload() {
        local name=$1 pid
        shift
        if [ $# -gt 0 ]; then
                printf '[Certificates]\n%s\n' "$@" >"$VX_ROOT/etc/vertex-certd/certd.conf.d/$name.conf"
        else
                rm -f "$VX_ROOT/etc/vertex-certd/certd.conf.d/$name.conf"
        fi
        pid=$(vx_exec systemctl show -p MainPID --value vertex-certd.service)
        vx_exec systemctl reload vertex-certd.service || fail "systemctl reload vertex-certd failed" || return 1
        [ "$(vx_exec systemctl show -p MainPID --value vertex-certd.service)" = "$pid" ] ||
                fail "vertex-certd restarted instead of reloading"
}

# Waits until Generation is above $1 and State is serving.
wait_new_generation() {
        local deadline=$((SECONDS + 30))
        until [ "$(prop Generation)" -gt "$1" ] && [ "$(prop State)" = serving ]; do
                [ $SECONDS -lt $deadline ] ||
                        fail "Generation stayed $(prop Generation) (State $(prop State)), expected above $1" ||
                        return 1
                sleep 0.5
        done
}

# A client that trusts the served self-signed certificate and checks it for
# host name or IP $2 on port $1: the handshake must verify.
verify_served_for() {
        local port=$1 name=$2 check out
        served_cert "$port" | vx_exec sh -c 'cat >/run/served.pem' || return 1
        case $name in
        *:* | [0-9]*.[0-9]*.[0-9]*.[0-9]*) check=(-verify_ip "$name") ;;
        *) check=(-verify_hostname "$name") ;;
        esac
        out=$(vx_exec timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername "$SERVER_NAME" \
                -CAfile /run/served.pem -partial_chain -verify_return_error "${check[@]}" </dev/null 2>&1)
        # A here-string, not a pipe: grep -q stopping early must not fail the pipeline (pipefail).
        grep -q 'Verify return code: 0 (ok)' <<<"$out" ||
                { echo "$out" | tail -5 | diag; fail "a client checking for '$name' on $port does not verify"; }
}

# New names for the self-signed default: a restart or a reload makes a new
# generation for them (source self-signed), served and verifying by the new
# names on every endpoint.
t_names_self_signed() {
        local rc=0
        names_self_signed_steps || rc=1
        # Back to the names the other scenarios use, whatever happened.
        certd_conf_reload 70-names && wait_prop State serving 30 || return 1
        [ $rc = 0 ] && verify_served_for 8443 "$SERVER_NAME"
}

names_self_signed_steps() {
        local gen fp rc=0
        vx_exec busctl call --timeout=90 "${BUS_OBJ[@]}" RegenerateSelfSigned >/dev/null ||
                fail "RegenerateSelfSigned failed" || return 1
        wait_prop State serving 20 || return 1
        gen=$(prop Generation)

        certd_conf_dropin 70-names "AccessNames=192.0.2.10" || return 1
        wait_new_generation "$gen" || return 1
        [ "$(prop Source)" = self-signed ] || fail "Source is '$(prop Source)' after the restart" || return 1
        fp=$(prop Fingerprint)
        all_serve "$fp" 10 || fail "the new self-signed certificate is not served everywhere" || return 1
        verify_served_for 8443 192.0.2.10 && verify_served_for 8445 "$SERVER_NAME" || return 1
        prop RequiredNames | grep -q "\"$SERVER_NAME\" \"192.0.2.10\"" ||
                fail "RequiredNames is '$(prop RequiredNames)'" || return 1

        gen=$(prop Generation)
        certd_conf_reload 70-names "ServerName=vertex-new.example.net" "AccessNames=192.0.2.10 2001:db8::10" ||
                return 1
        wait_new_generation "$gen" || return 1
        fp=$(prop Fingerprint)
        all_serve "$fp" 10 || fail "the self-signed certificate for the reloaded names is not served" || return 1
        verify_served_for 8444 vertex-new.example.net && verify_served_for 8443 2001:db8::10 || rc=1
        [ "$(prop Subject)" = "CN=vertex-new.example.net" ] || { fail "Subject is '$(prop Subject)'"; rc=1; }

        gen=$(prop Generation)
        certd_conf_reload 70-names && wait_new_generation "$gen" || return 1
        return $rc
}

MISMATCH_ID=46cd3b225d884f7384ffdc34a640cb63

# Prints the journal entries matching $2... since time $1, waiting up to 5 s
# for one: journald may write an entry a moment after the daemon sent it.
# (Not --after-cursor: with a field match, journalctl 252 finds nothing after
# a cursor whose entry does not match.)
wait_journal() {
        local since=$1 out deadline=$((SECONDS + 5))
        shift
        while :; do
                out=$(vx_exec journalctl --no-pager -o cat --since="$since" "$@")
                if [ -n "$out" ] || [ $SECONDS -ge $deadline ]; then
                        echo "$out"
                        return 0
                fi
                sleep 0.2
        done
}

# An uploaded certificate is never replaced for new names: it keeps
# serving, State, LastError, STATUS= and the journal say which name it
# lacks; the names changing back, or a covering certificate, clear it.
t_names_uploaded() {
        local gen fp since out rc=0
        install_served names-up "of a certificate for $SERVER_NAME only" || return 1
        gen=$(prop Generation)
        fp=$(prop Fingerprint)

        since=$(vx_exec date '+%Y-%m-%d %H:%M:%S')
        certd_conf_reload 70-names "AccessNames=192.0.2.10" && wait_prop State name-mismatch 20 || return 1
        [ "$(prop Generation)" = "$gen" ] || fail "the uploaded certificate was replaced" || return 1
        all_serve "$fp" 5 || fail "the uploaded certificate is no longer served" || return 1
        # (busctl shows ' as \')
        prop LastError | grep -q "^NameMismatch: .*192.0.2.10.* (an address clients use in AccessNames=)" ||
                { fail "LastError is '$(prop LastError)'"; rc=1; }
        wait_journal "$since" MESSAGE_ID=$MISMATCH_ID | grep -q "not '192.0.2.10'" ||
                { fail "no name-mismatch journal entry naming 192.0.2.10"; rc=1; }
        vx_exec journalctl --update-catalog || { fail "journalctl --update-catalog failed"; rc=1; }
        out=$(vx_exec journalctl --no-pager -x --since="$since" MESSAGE_ID=$MISMATCH_ID)
        grep -q "does not cover every name in ServerName=" <<<"$out" ||
                { echo "$out" | diag; fail "the catalog entry is not shown"; rc=1; }
        vx_exec systemctl status --no-pager vertex-certd.service | grep -q "NAME MISMATCH, serving.*192.0.2.10" ||
                { fail "systemctl status does not show the mismatch"; rc=1; }
        vx_exec vertex-certctl status | grep -q "name-mismatch" ||
                { fail "vertex-certctl status does not show the mismatch"; rc=1; }
        # On the host, validate --offline takes the names from the configuration.
        out=$(vx_exec vertex-certctl validate --offline --cert "$PKI_IN/fullchain.pem" --key "$PKI_IN/key.pem" \
                --ca "$PKI_IN/ca.pem" 2>&1)
        grep -q "^NameMismatch: .*not '192.0.2.10' (an address clients use in AccessNames=)" <<<"$out" ||
                { echo "$out" | diag; fail "validate --offline did not use the configured names"; rc=1; }
        if [ $rc != 0 ]; then
                certd_conf_reload 70-names
                return 1
        fi

        # The names change back: the mark goes.
        certd_conf_reload 70-names && wait_prop State serving 20 || return 1
        [ -z "$(prop LastError)" ] || fail "LastError is still '$(prop LastError)'" || return 1

        # Again, then a covering certificate clears it.
        certd_conf_reload 70-names "AccessNames=192.0.2.10" && wait_prop State name-mismatch 20 || return 1
        install_served names-cover "of a certificate covering 192.0.2.10" --ip 192.0.2.10 || rc=1
        [ $rc = 0 ] && wait_prop State serving 20 || rc=1
        [ -z "$(prop LastError)" ] || { fail "LastError is still '$(prop LastError)'"; rc=1; }
        certd_conf_reload 70-names && wait_prop State serving 20 || return 1
        return $rc
}

SCENARIOS=(
        "the installed units verify cleanly, no unit failed:t_units_verify"
        "first boot: the self-signed certificate on all three endpoints, STATUS= shown:t_first_boot"
        "busctl Install with a real chain is served everywhere:t_bus_install"
        "a bundle dropped into the drop directory is served everywhere:t_drop_directory"
        "a root-only file in the drop directory is refused with a reason, not ignored:t_drop_unreadable"
        "a bad bundle is refused, the old certificate keeps serving, LastError and journal say why:t_bad_bundle"
        "a non-root user is refused by polkitd, then allowed by a rule for their group:t_polkit_non_root"
        "a TLS connection opened before a rotation still works after it:t_connection_survives"
        "an endpoint failing its reload: automatic rollback, old certificate on all three:t_reload_failure_rollback"
        "an endpoint serving a broken handshake: told from unreachable, rolled back within 1 s:t_broken_serve_rollback"
        "restart of vertex-certd: the same generation keeps serving:t_restart_same_generation"
        "a start after a stop between commit and serving: refused by an endpoint, the last served comes back:t_resume_back_to_served"
        "a drop-in moves an endpoint's port; it serves and is checked there:t_port_dropin"
        "consumers reload through vertex-tls.target; one it does not reach by a job of its own:t_reload_through"
        "new names on restart and on reload: a new self-signed default, verifying for them:t_names_self_signed"
        "new names with an uploaded certificate: name-mismatch, journal entry, cleared by a covering one:t_names_uploaded"
        "MetricsFile= scraped from Debian's prometheus-node-exporter over HTTP: expiry, install, refusal:t_metrics_node_exporter"
        "request, sign with openssl x509 -req, install with cert + CA only: served everywhere:t_signing_request"
        "a signed certificate + CA without key in the drop directory answers its request:t_signing_request_drop"
        "install --pkcs12: wrong password named, right one served everywhere, password not logged:t_pkcs12"
)

# ---------------------------------------------------------------- setup

cleanup() {
        local rc=$?
        exec 7>&- 2>/dev/null
        (exit $rc)
        vx_tap_cleanup
}

echo "1..${#SCENARIOS[@]}"

UBUILD=$(vx_build_for_usr "$BUILD" "$SRC") || { echo "Bail out! could not build with prefix /usr"; exit 1; }
TESTPKI=$UBUILD/tests/vertex-testpki
for f in "$UBUILD/src/vertex-certd" "$UBUILD/src/vertex-endpoint" "$TESTPKI"; do
        [ -x "$f" ] || { echo "Bail out! $f was not built"; exit 1; }
done

WORK=$(mktemp -d /var/tmp/vertex-system.XXXXXX) || exit 1
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
        vx_container_create "$WORK" || return 1
        vx_install_build "$UBUILD" || return 1
        mkdir -p "$VX_ROOT/etc/vertex-certd/certd.conf.d"
        cat >"$VX_ROOT/etc/vertex-certd/certd.conf.d/50-system-test.conf" <<EOF
[Certificates]
ServerName=$SERVER_NAME
ReloadTimeoutSec=20s
SettleSec=2s
EOF
        local t0=$EPOCHREALTIME
        vx_container_boot || return 1
        # multi-user reached, as systemctl is-system-running --wait sees it
        echo "# booted in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s" >&2
        vx_start_project || return 1
}

if ! setup; then
        [ -n "$VX_LEADER" ] && dump_state
        echo "Bail out! could not boot the container with the project installed"
        exit 1
fi

# The first two scenarios always run: the others build on what they check.
VX_TAP_ALWAYS=2 vx_tap_run SCENARIOS dump_state
# The TAP lines carry the verdict (a non-zero exit would make meson call it an ERROR).
exit 0
