#!/bin/bash
# The built vertex-certd under valgrind memcheck, on a private dbus-daemon
# playing the system bus, driven over D-Bus through every path of its life:
# start (first boot: self-signed), install, install from fds, reject,
# rollback, drop directory, regenerate, expiry (warning, then expired, both
# seen on the bus), stop (SIGTERM). Passes only when the daemon exits 0 and
# valgrind reports no error and no definite or indirect leak.
#
# Speaks TAP. Environment: VERTEX_BUILD_DIR (the build, default "build");
# MEMCHECK_KEEP=1 keeps the temporary directory (logs, store, drop directory).
# Everything lives in one temporary directory; every process is stopped by
# its PID.
set -uo pipefail

build_dir=${VERTEX_BUILD_DIR:-build}
certd=$build_dir/src/vertex-certd
certctl=$build_dir/src/vertex-certctl
testpki=$build_dir/tests/vertex-testpki
short_lived=$build_dir/tests/short-lived-pki
server_name=console.example.com
name=org.vertex.Certificates
path=/org/vertex/Certificates
# How long the expiry step's leaf lives after it is made: enough for one
# install under valgrind (~1-3 s here, more on a loaded CI machine), short
# enough not to stretch the test.
expiry_seconds=${MEMCHECK_EXPIRY_SECONDS:-20}

for tool in valgrind dbus-daemon gdbus busctl stdbuf; do
        if ! command -v "$tool" >/dev/null; then
                echo "1..0 # SKIP $tool is not installed"
                exit 0
        fi
done
if ldd "$certd" 2>/dev/null | grep -q 'libasan\|libubsan'; then
        echo "1..0 # SKIP $certd is built with sanitizers; valgrind cannot run it"
        exit 0
fi

T=$(mktemp -d /tmp/vertex-memcheck-XXXXXX)
bus_pid=
daemon_pid=
monitor_pid=
n=0

cleanup() {
        for pid in $monitor_pid $daemon_pid $bus_pid; do
                kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        done
        if [ -n "${MEMCHECK_KEEP:-}" ]; then
                echo "# kept $T"
        else
                rm -rf "$T"
        fi
}
trap cleanup EXIT
# meson's timeout sends SIGTERM: clean up then too.
trap 'exit 1' TERM INT

# Prints a file's last lines as TAP comments.
show() {
        [ -f "$1" ] || return 0
        echo "# --- $1 (last ${2:-40} lines)"
        tail -n "${2:-40}" "$1" | sed 's/^/# /'
}

ok() {
        n=$((n + 1))
        echo "ok $n - $1"
}

# Fails the step, shows why, and stops: later steps would only fail for the same reason.
bail() {
        n=$((n + 1))
        echo "not ok $n - ${1%%$'\n'*}"
        [[ $1 != *$'\n'* ]] || sed 's/^/# /' <<< "$1"
        show "$T/daemon.log"
        show "$T/valgrind.log" 60
        show "$T/monitor.log" 20
        echo "Bail out! ${1%%$'\n'*}"
        exit 1
}

call() {
        # "--": PEM arguments begin with dashes.
        busctl --system --timeout=120 -- call "$name" $path "$name" "$@"
}

property() {
        busctl --system get-property "$name" $path "$name" "$1"
}

# Waits (without polling) until the monitor has logged a line matching a regex.
wait_monitor() {
        # tail exits by itself once grep has gone (coreutils checks its output); timeout bounds the wait.
        grep -q -m1 -E "$1" < <(timeout "${2:-60}" tail -n +1 -f "$T/monitor.log")
}

# The count of lines in the monitor log matching a regex.
monitor_count() {
        grep -c -E "$1" "$T/monitor.log"
}

mkdir -p "$T/store" "$T/drop"
cat > "$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
  <limit name="reply_timeout">120000</limit>
</busconfig>
EOF
cat > "$T/certd.conf" <<EOF
[Certificates]
StoreDirectory=$T/store
DropDirectory=$T/drop
Units=
ServerName=$server_name
SettleSec=1
EOF

echo "1..12"

# --------------------------------------------------------------- start
dbus-daemon --config-file="$T/bus.conf" --nofork --print-address=3 3>"$T/bus.address" 2>"$T/bus.log" &
bus_pid=$!
# The address is written once the bus listens; a fifo would do too, but this is one short wait.
for _ in $(seq 100); do
        [ -s "$T/bus.address" ] && break
        sleep 0.05
done
[ -s "$T/bus.address" ] || bail "dbus-daemon did not start"
DBUS_SYSTEM_BUS_ADDRESS=$(head -n1 "$T/bus.address")
export DBUS_SYSTEM_BUS_ADDRESS
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM

# Every signal of the daemon, line-buffered, to wait on instead of sleeping.
stdbuf -oL gdbus monitor --system --dest "$name" --object-path "$path" > "$T/monitor.log" 2>&1 &
monitor_pid=$!

valgrind --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=40 \
        --log-file="$T/valgrind.log" \
        "$certd" --config "$T/certd.conf" 2>"$T/daemon.log" &
daemon_pid=$!

gdbus wait --system --timeout 90 "$name" || bail "start: vertex-certd did not take its bus name"
[ "$(property Generation)" = "t 1" ] || bail "start: generation 1 expected, got '$(property Generation)'"
[ "$(property Source)" = 's "self-signed"' ] || bail "start: self-signed expected, got '$(property Source)'"
ok "start: first boot serves a self-signed generation 1"

# ------------------------------------------------------------- install
"$testpki" "$T/pki" --server-name "$server_name" >/dev/null || bail "vertex-testpki failed"
out=$(call Install sss "$(cat "$T/pki/fullchain.pem")" "$(cat "$T/pki/key.pem")" "$(cat "$T/pki/ca.pem")" 2>&1) ||
        bail "install: $out"
[[ $out == "ts 2 "* ]] || bail "install: generation 2 expected, got '$out'"
fp=$(openssl x509 -in "$T/pki/leaf.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
[ "$(property Fingerprint)" = "s \"$fp\"" ] || bail "install: fingerprint $fp expected, got '$(property Fingerprint)'"
ok "install: generation 2 serves the uploaded leaf"

"$testpki" "$T/pki2" --server-name "$server_name" --key-type ec256 >/dev/null || bail "vertex-testpki failed"
# vertex-certctl install passes the files as descriptors (InstallFiles, "hhh"), which busctl cannot.
out=$("$certctl" install --cert "$T/pki2/fullchain.pem" --key "$T/pki2/key.pem" --ca "$T/pki2/ca.pem" 2>&1) ||
        bail "install-files: $out"
[ "$(property Generation)" = "t 3" ] || bail "install-files: generation 3 expected, got '$(property Generation)'"
[ "$(property KeyType)" = 's "EC P-256"' ] || bail "install-files: EC P-256 expected, got '$(property KeyType)'"
ok "install-files: generation 3 from file descriptors"

out=$(call Validate sss "$(cat "$T/pki/fullchain.pem")" "$(cat "$T/pki/key.pem")" "$(cat "$T/pki/ca.pem")" 2>&1) ||
        bail "validate: $out"
[[ $out == "a{sv} "* ]] || bail "validate: a report expected, got '$out'"
out=$(call ListGenerations 2>&1) || bail "list-generations: $out"
[[ $out == "a(tssstt) 3 "* ]] || bail "list-generations: three generations expected, got '$out'"
busctl --system introspect "$name" $path >/dev/null || bail "introspection failed"
busctl --system call "$name" $path org.freedesktop.DBus.Properties GetAll s "$name" >/dev/null ||
        bail "GetAll failed"
ok "validate, list-generations, introspection, GetAll answer"

# -------------------------------------------------------------- reject
"$testpki" "$T/expired" --server-name "$server_name" --expired >/dev/null || bail "vertex-testpki failed"
rejected_before=$(monitor_count "\.Rejected \(")
if out=$(call Install sss "$(cat "$T/expired/fullchain.pem")" "$(cat "$T/expired/key.pem")" \
                "$(cat "$T/expired/ca.pem")" 2>&1); then
        bail "reject: an expired leaf was accepted: $out"
fi
"$testpki" "$T/other" --server-name "$server_name" >/dev/null || bail "vertex-testpki failed"
if out=$(call Install sss "$(cat "$T/pki/fullchain.pem")" "$(cat "$T/other/key.pem")" "$(cat "$T/pki/ca.pem")" 2>&1); then
        bail "reject: a mismatched key was accepted: $out"
fi
if out=$(call Install sss "garbage" "" "" 2>&1); then
        bail "reject: garbage was accepted: $out"
fi
wait_monitor "\.Rejected \('bus', .*'Malformed'" 30 || bail "reject: no Rejected signal for the garbage"
grep -q -E "\.Rejected \('bus', .*'Expired'" "$T/monitor.log" || bail "reject: no Rejected signal naming Expired"
grep -q -E "\.Rejected \('bus', .*'KeyMismatch'" "$T/monitor.log" || bail "reject: no Rejected signal naming KeyMismatch"
[ "$(monitor_count "\.Rejected \(")" -eq $((rejected_before + 3)) ] || bail "reject: three Rejected signals expected"
[ "$(property Generation)" = "t 3" ] || bail "reject: generation 3 must stay, got '$(property Generation)'"
ok "reject: expired leaf, key mismatch and garbage refused by name; generation 3 stays"

# ------------------------------------------------------------ rollback
out=$(call Rollback 2>&1) || bail "rollback: $out"
[[ $out == "ts 2 \"$fp\"" ]] || bail "rollback: generation 2 ($fp) expected, got '$out'"
[ "$(property Source)" = 's "rollback"' ] || bail "rollback: source rollback expected, got '$(property Source)'"
ok "rollback: generation 2 serves again"

# ------------------------------------------------------ drop directory
"$testpki" "$T/drop-pki" --server-name "$server_name" >/dev/null || bail "vertex-testpki failed"
installed_before=$(monitor_count "\.Installed \(")
# Staged beside the drop directory and renamed in, certificate last, as an operator should: each
# file appears whole. (Plain cp into it is test-dropdir's and test-bus's business.)
drop_in() {
        mkdir -p "$T/stage"
        cp "$1/ca.pem" "$T/stage/$2.ca.crt" && mv "$T/stage/$2.ca.crt" "$T/drop/"
        cp "$1/key.pem" "$T/stage/$2.key" && mv "$T/stage/$2.key" "$T/drop/"
        cp "$1/fullchain.pem" "$T/stage/$2.crt" && mv "$T/stage/$2.crt" "$T/drop/"
}
drop_in "$T/drop-pki" site
wait_monitor "\.Installed \(.*'drop-directory'\)" 60 || bail "drop directory: no Installed signal"
[ "$(monitor_count "\.Installed \(")" -eq $((installed_before + 1)) ] || bail "drop directory: one Installed expected"
# The files are removed right after the signal, in the same callback: allow for valgrind's pace.
for _ in $(seq 100); do
        ls "$T/drop"/site.* >/dev/null 2>&1 || break
        sleep 0.1
done
! ls "$T/drop"/site.* >/dev/null 2>&1 || bail "drop directory: files left behind: $(ls "$T/drop" | tr '\n' ' ')"
# A bad bundle goes to rejected/.
drop_in "$T/expired" old
wait_monitor "\.Rejected \('drop-directory', .*'Expired'" 60 || bail "drop directory: no Rejected signal"
ok "drop directory: a bundle installed, an expired one rejected"

# ---------------------------------------------------------- regenerate
out=$(call RegenerateSelfSigned 2>&1) || bail "regenerate: $out"
[ "$(property Source)" = 's "self-signed"' ] || bail "regenerate: self-signed expected, got '$(property Source)'"
out=$(call ReloadEndpoints 2>&1) || bail "reload-endpoints: $out"
ok "regenerate-self-signed and reload-endpoints"

# -------------------------------------------------------------- expiry
"$short_lived" "$T/short" "$server_name" "$expiry_seconds" || bail "short-lived-pki failed"
warnings_before=$(monitor_count "\.ExpiryWarning \(")
out=$(call Install sss "$(cat "$T/short/fullchain.pem")" "$(cat "$T/short/key.pem")" "$(cat "$T/short/ca.pem")" 2>&1) ||
        bail "expiry: install of a short-lived leaf: $out"
# Within ExpiryWarningDays= at once: warned, 0 days left.
wait_monitor "\.ExpiryWarning \(uint64 [0-9]+, uint32 0\)" 30 || bail "expiry: no ExpiryWarning signal"
[ "$(monitor_count "\.ExpiryWarning \(")" -gt "$warnings_before" ] || bail "expiry: no new ExpiryWarning"
[ "$(property State)" = 's "expiring"' ] || bail "expiry: State expiring expected, got '$(property State)'"
ok "expiry: ExpiryWarning at once, State expiring"

# At NotAfter its timer fires: State expired, announced in PropertiesChanged.
wait_monitor "'State': <'expired'>" $((expiry_seconds + 30)) || bail "expiry: State never became expired"
[ "$(property State)" = 's "expired"' ] || bail "expiry: State expired expected, got '$(property State)'"
ok "expiry: State expired at NotAfter"

# ---------------------------------------------------------------- stop
kill -TERM "$daemon_pid"
wait "$daemon_pid"
status=$?
daemon_pid=
[ "$status" -ne 99 ] || bail "stop: valgrind reported errors (exit 99)"
[ "$status" -eq 0 ] || bail "stop: vertex-certd exited with $status on SIGTERM"
ok "stop: SIGTERM, exit 0"

# ------------------------------------------------------------- verdict
# Exit status 0 already says "no error" (leaks of those kinds count as errors); the log must agree.
grep -q "ERROR SUMMARY: 0 errors from 0 contexts" "$T/valgrind.log" || bail "memcheck: no clean ERROR SUMMARY"
# The children (bundle-child.c, probe-handshake.c) log into the same file, each its own summary.
if grep -q -E "ERROR SUMMARY: [1-9]" "$T/valgrind.log"; then
        bail "memcheck: errors in a child process"
fi
echo "# $(grep -c 'ERROR SUMMARY' "$T/valgrind.log") processes checked (the daemon and the children it forked)"
if grep -q -E "definitely lost: [1-9]|indirectly lost: [1-9]" "$T/valgrind.log"; then
        bail "memcheck: definite or indirect leaks"
fi
grep -E "in use at exit|definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY" \
        "$T/valgrind.log" | sed 's/^==[0-9]*== */# /'
ok "memcheck: no error, no definite or indirect leak"
