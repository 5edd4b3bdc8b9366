#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The README's first command: installs what the build needs (Debian 12),
# builds, and runs vertex-certd with its three TLS endpoints.
#
#   ./bootstrap.sh           build and run
#   ./bootstrap.sh --shell   a shell inside the running container
#   ./bootstrap.sh --stop    stop and remove the container
#
# On a host booted with systemd it installs into /usr and starts the units
# there. Otherwise (a build container, a CI runner) it boots a throwaway
# systemd with systemd-nspawn in /var/tmp/vertex-certd-demo, with the project
# installed and its own network namespace, forwards its ports (9090 for
# Cockpit, 8443-8445) to the host's 127.0.0.1, and leaves it running.
#
# BUILD_DIR (default: build) is the meson build directory.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD_DIR:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
DEMO_DIR=/var/tmp/vertex-certd-demo
# One package list for the build, the tests and CI.
mapfile -t PACKAGES < <(grep -v '^#' "$SRC/.ci/packages")
BUS=(org.vertex.Certificates /org/vertex/Certificates org.vertex.Certificates)

say() {
        printf '\033[1m==> %s\033[0m\n' "$*"
}

die() {
        echo "bootstrap: $*" >&2
        exit 1
}

if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "run me as root (installing packages and units needs it)"
        exec sudo BUILD_DIR="$BUILD" "$0" "$@"
fi

# shellcheck source=tests/system/lib.sh
. "$SRC/tests/system/lib.sh"

demo_running() {
        [ -f "$DEMO_DIR/nspawn.pid" ] && vx_alive "$(cat "$DEMO_DIR/nspawn.pid")"
}

demo_stop() {
        VX_DIR=$DEMO_DIR
        if demo_running; then
                say "Stopping the container (systemd-nspawn $(cat "$DEMO_DIR/nspawn.pid"))"
        fi
        vx_container_stop
        vx_container_remove
}

case ${1:-} in
        --stop)
                demo_stop
                exit 0
                ;;
        --shell)
                demo_running || die "no container is running; start one with $0"
                VX_LEADER=$(cat "$DEMO_DIR/leader.pid")
                exec nsenter -t "$VX_LEADER" -a -- /bin/bash -l
                ;;
        -h | --help)
                sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//'
                exit 0
                ;;
        "") ;;
        *)
                die "unknown argument '$1' (try --help)"
                ;;
esac

# ---------------------------------------------------------------- packages

missing=()
for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        say "Installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        # Without starting the services they ship (nginx, haproxy: for the tests' containers).
        "$SRC/.ci/apt-install" "${missing[@]}"
fi

# ---------------------------------------------------------------- build

say "Building in $BUILD"
if [ -f "$BUILD/build.ninja" ]; then
        meson configure "$BUILD" -Dprefix=/usr >/dev/null
else
        meson setup "$BUILD" "$SRC" -Dprefix=/usr
fi
ninja -C "$BUILD"

# ---------------------------------------------------------------- run

# $1: how to run a command where the daemon is (shown); $2: its fingerprint.
print_usage() {
        local run=$1 fp=$2
        cat <<EOF

vertex-certd is running; serving certificate $fp.

The three endpoints (each started by its socket on the first connection):
  $run openssl s_client -connect 127.0.0.1:8443 -brief </dev/null     # vertex-console
  $run openssl s_client -connect 127.0.0.1:8444 -brief </dev/null     # vertex-grpc
  $run openssl s_client -connect 127.0.0.1:8445 -brief </dev/null     # vertex-api
  $run curl -k https://127.0.0.1:8443/            # JSON: endpoint and fingerprint (needs curl)

The bus:
  $run busctl get-property ${BUS[*]} Fingerprint Generation State
  $run busctl introspect org.vertex.Certificates /org/vertex/Certificates
  $run vertex-certctl status
  $run systemctl status vertex-certd vertex-console vertex-grpc vertex-api

Install a certificate: vertex-certctl install --cert fullchain.pem --key key.pem --ca ca.pem,
or put tls.crt + tls.key (readable by user vertex-certd) into /var/lib/vertex-certd/drop/.
EOF
}

if [ -d /run/systemd/system ]; then
        say "Installing into /usr and starting the units on this host"
        meson install -C "$BUILD" --no-rebuild --quiet
        systemd-sysusers
        systemd-tmpfiles --create --prefix=/var/lib/vertex-certd
        systemctl daemon-reload
        # dbus-daemon learns about the new policy (and the new user) on reload.
        busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
        systemctl enable --now vertex-console.socket vertex-grpc.socket vertex-api.socket vertex-certd.service
        if [ -x /usr/lib/cockpit/cockpit-tls ]; then
                systemctl enable --now cockpit.socket
        fi
        for port in 8443 8444 8445; do
                openssl s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 || true
        done
        print_usage sudo "$(busctl get-property "${BUS[@]}" Fingerprint | sed -E 's/^s "(.*)"$/\1/')"
        echo
        echo "The Certificates page: https://localhost:9090/vertex-certificates (log in as an administrator)."
        exit 0
fi

say "This host is not booted with systemd: booting a throwaway one with systemd-nspawn"
demo_stop
VX_DIR=$DEMO_DIR
vx_container_create "$DEMO_DIR"
vx_install_build "$BUILD"
# sudo (Cockpit's administrative access) must resolve the container's name.
printf '127.0.0.1 localhost vertex-test\n::1 localhost\n' >"$VX_ROOT/etc/hosts"
# Detached from this terminal: the container outlives this script.
VX_NSPAWN_SETSID=1
t0=$SECONDS
if ! vx_container_boot || ! vx_start_project; then
        vx_container_stop
        die "the container did not come up; its console log is in $DEMO_DIR/nspawn.log"
fi
say "Up in $((SECONDS - t0)) s (systemd-nspawn PID $VX_NSPAWN_PID, its systemd is PID $VX_LEADER)"
for port in 8443 8444 8445; do
        vx_exec openssl s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1 || true
done

# The web console: Cockpit in the container, and an administrator who
# exists only there (in group sudo, for Cockpit's administrative access).
web_console=
if [ -x /usr/lib/cockpit/cockpit-tls ]; then
        vx_exec systemctl enable --now --quiet cockpit.socket
        demo_password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
        vx_exec useradd -m -s /bin/bash -G sudo admin
        printf 'admin:%s\n' "$demo_password" | vx_exec chpasswd
        web_console=yes
fi

# The container has its own network namespace: its ports appear on the
# host's loopback through one forwarder each (vx_forward in tests/system/lib.sh).
forwarded=()
for port in 9090 8443 8444 8445; do
        if ss -Hltn "sport = :$port" | grep -q .; then
                echo "bootstrap: port $port is taken on this host; the container's $port stays inside" >&2
                continue
        fi
        vx_forward "127.0.0.1:$port" "$port"
        forwarded+=("$port")
done

print_usage "sudo nsenter -t $VX_LEADER -a" \
        "$(vx_exec busctl get-property "${BUS[@]}" Fingerprint | sed -E 's/^s "(.*)"$/\1/')"
if [ -n "$web_console" ]; then
        cat <<EOF

The Certificates page in the web console (Cockpit), from a browser on this machine:
  https://localhost:9090/vertex-certificates
  user admin, password $demo_password (this user exists only in the container)
  Accept Cockpit's certificate warning; to replace the certificate, turn on
  "Administrative access" in the top bar (the same password).
EOF
fi
cat <<EOF

Forwarded from this host's 127.0.0.1 into the container: ports ${forwarded[*]:-none}.
A shell inside: $0 --shell
Stop and remove it: $0 --stop
EOF
