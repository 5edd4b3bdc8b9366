#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The browser suite: the Certificates page in the real Cockpit, driven by
# headless Chromium. The project is installed in a throwaway systemd booted
# with systemd-nspawn (tests/system/lib.sh) together with Cockpit, polkitd
# and the three endpoints; Cockpit's port and the endpoints' ports are
# forwarded to a loopback address of the host, where Chromium (through
# chromedriver and Selenium) opens them. The cases are in test_page.py; this
# script sets the stage: the container, two users, the test bundles.
#
# Environment: VERTEX_BUILD_DIR (a configured build), VERTEX_SOURCE_DIR.
# Screenshots go to $VERTEX_BUILD_DIR/browser-screenshots/.
# VERTEX_SYSTEM_KEEP=1 leaves the container's directory for a post-mortem.

set -u -o pipefail

SRC=${VERTEX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${VERTEX_BUILD_DIR:-$SRC/build}
# shellcheck source=tests/system/lib.sh
. "$SRC/tests/system/lib.sh"

SERVER_NAME=appliance.vertex.test
# A loopback address of the host that nothing else uses: the container's
# ports appear there under their own numbers.
HOST_ADDR=127.77.0.1

vx_require_host
command -v chromium >/dev/null || vx_skip_all "needs Chromium (package chromium)"
command -v chromedriver >/dev/null || vx_skip_all "needs chromedriver (package chromium-driver)"
/usr/bin/python3 -c 'import selenium' 2>/dev/null || vx_skip_all "needs Selenium (package python3-selenium)"
command -v certutil >/dev/null || vx_skip_all "needs certutil (package libnss3-tools)"
[ -x /usr/lib/cockpit/cockpit-tls ] || vx_skip_all "needs Cockpit (packages cockpit-ws, cockpit-bridge, cockpit-system)"
command -v sudo >/dev/null || vx_skip_all "needs sudo (Cockpit's administrative access)"

UBUILD=$(vx_build_for_usr "$BUILD" "$SRC") || { echo "Bail out! could not build with prefix /usr"; exit 1; }
TESTPKI=$(find "$UBUILD" -name vertex-testpki -type f -perm -u+x | head -n 1)
[ -x "$TESTPKI" ] || { echo "Bail out! vertex-testpki was not built"; exit 1; }

WORK=$(mktemp -d /var/tmp/vertex-browser.XXXXXX) || exit 1
trap vx_tap_cleanup EXIT
trap 'exit 130' INT TERM

# The bundles the cases hand over: two good ones from two authorities, and
# one for each refusal the page must place at its field.
make_pki() {
        local dir=$WORK/pki/$1
        shift
        mkdir -p "$dir"
        "$TESTPKI" "$dir" "$@" >/dev/null
}

setup() {
        make_pki good-a --server-name "$SERVER_NAME" --ip 127.0.0.1 || return 1
        make_pki good-b --server-name "$SERVER_NAME" --key-type ec256 || return 1
        make_pki good-c --server-name "$SERVER_NAME" --key-type ec384 || return 1
        make_pki wrong-name --server-name other.example.com || return 1
        make_pki with-ipv6 --server-name "$SERVER_NAME" --ip 2001:db8::10 || return 1
        make_pki expired --server-name "$SERVER_NAME" --expired || return 1

        vx_container_create "$WORK" || return 1
        vx_install_build "$UBUILD" || return 1
        mkdir -p "$VX_ROOT/etc/vertex-certd/certd.conf.d"
        cat >"$VX_ROOT/etc/vertex-certd/certd.conf.d/50-browser-test.conf" <<CONF
[Certificates]
ServerName=$SERVER_NAME
ReloadTimeoutSec=20s
CONF
        # sudo (Cockpit's administrative access) resolves the host name.
        printf '127.0.0.1 localhost vertex-test %s\n::1 localhost\n' "$SERVER_NAME" >"$VX_ROOT/etc/hosts"
        vx_container_boot || return 1
        vx_start_project || return 1
        vx_exec systemctl enable --now --quiet cockpit.socket || return 1

        ADMIN_PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
        VIEWER_PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
        vx_exec useradd -m -s /bin/bash -G sudo vxadmin || return 1
        vx_exec useradd -m -s /bin/bash vxviewer || return 1
        printf 'vxadmin:%s\nvxviewer:%s\n' "$ADMIN_PASSWORD" "$VIEWER_PASSWORD" | vx_exec chpasswd || return 1

        local port
        for port in 9090 8443 8444 8445; do
                vx_forward "$HOST_ADDR:$port" "$port"
        done
}

if ! setup; then
        echo "Bail out! could not boot the container with the project and Cockpit"
        exit 1
fi

mkdir -p "$BUILD/browser-screenshots"
VX_LEADER=$VX_LEADER VX_WORK=$WORK VX_HOST_ADDR=$HOST_ADDR VX_SERVER_NAME=$SERVER_NAME \
VX_ADMIN_PASSWORD=$ADMIN_PASSWORD VX_VIEWER_PASSWORD=$VIEWER_PASSWORD \
VX_SCREENSHOTS=$BUILD/browser-screenshots \
        /usr/bin/python3 "$SRC/tests/browser/test_page.py"
