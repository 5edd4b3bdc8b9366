#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Debian package, as an operator gets it: dpkg-buildpackage -us -uc -b on
# a copy of the source tree, lintian, then `apt-get install ./vertex-certd_*.deb`
# in a clean Debian 12 booted with systemd-nspawn (a root made by mmdebstrap
# from the archive, with nothing of the host's /usr and nothing of this
# project but the package), the self-signed default served, a bundle
# installed with vertex-certctl, then remove and purge. TAP, one line per step.
#
# Needs root, systemd-nspawn, dpkg-buildpackage with debhelper, lintian and
# mmdebstrap (with access to the Debian archive); skips itself without them.
# The clean root is cached in $VERTEX_BUILD_DIR/package-test-root-*.tar (one
# per package list).
# VERTEX_SYSTEM_KEEP=1 leaves the work directory for a post-mortem.

set -u -o pipefail

SRC=${VERTEX_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${VERTEX_BUILD_DIR:-$SRC/build}
# shellcheck source=tests/system/lib.sh
. "$SRC/tests/system/lib.sh"

SERVER_NAME=appliance.vertex.test
# What the clean root holds besides minbase: systemd as init, the bus and
# polkit the package depends on, openssl to look at what is served. The
# package's own library dependencies come from the archive the same way.
ROOT_PACKAGES=systemd,systemd-sysv,dbus,polkitd,openssl,libinih1,libssl3

skip_all() {
        echo "1..0 # SKIP $*"
        exit 0
}
[ "$(id -u)" = 0 ] || skip_all "needs root (systemd-nspawn)"
for tool in systemd-nspawn dpkg-buildpackage dh lintian mmdebstrap; do
        command -v "$tool" >/dev/null || skip_all "needs $tool"
done

WORK=$(mktemp -d /var/tmp/vertex-package.XXXXXX) || exit 1
VX_DIR=$WORK
VX_ROOT=$WORK/root
VX_OWN_ROOT=1
trap vx_tap_cleanup EXIT
trap 'exit 130' INT TERM

# The fingerprint of what 127.0.0.1:PORT serves inside the container.
served_fp() {
        vx_exec sh -c "openssl s_client -connect 127.0.0.1:$1 -servername $SERVER_NAME </dev/null 2>/dev/null |
                openssl x509 -noout -fingerprint -sha256" | sed 's/^.*=//'
}

# ---------------------------------------------------------------- steps

t_build() {
        local t0=$SECONDS
        mkdir -p "$WORK/src"
        # The tracked files only: what a clean clone has (no build directories).
        if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
                (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
                        xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
                        tar --null -cf - -T -) | tar -xf - -C "$WORK/src" || return 1
        else
                cp -a "$SRC/." "$WORK/src/" && rm -rf "$WORK/src"/build*
        fi
        (cd "$WORK/src" && dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1 ||
                { tail -n 30 "$WORK/build.log" | diag; return 1; }
        echo "# dpkg-buildpackage took $((SECONDS - t0)) s" >&2
        DEB=$(ls "$WORK"/vertex-certd_*.deb) && COCKPIT_DEB=$(ls "$WORK"/cockpit-vertex-certificates_*.deb) ||
                fail "the two binary packages were not built"
}

t_lintian() {
        local out
        out=$(lintian --fail-on error --no-tag-display-limit "$WORK"/vertex-certd_*.changes 2>&1)
        local rc=$?
        [ -n "$out" ] && echo "$out" | diag
        [ $rc = 0 ] || fail "lintian reports errors"
}

t_contents() {
        local list f
        list=$(dpkg-deb -c "$DEB"; dpkg-deb -c "$COCKPIT_DEB") || return 1
        for f in usr/libexec/vertex-certd usr/bin/vertex-certctl usr/libexec/vertex-endpoint \
                 usr/libexec/vertex-endpoint-reload lib/systemd/system/vertex-certd.service \
                 lib/systemd/system/vertex-console.socket lib/systemd/system/vertex-tls.target \
                 usr/lib/sysusers.d/vertex-certd.conf usr/lib/tmpfiles.d/vertex-certd.conf \
                 usr/share/dbus-1/system.d/org.vertex.Certificates.conf \
                 usr/share/polkit-1/actions/org.vertex.certificates.policy \
                 usr/share/polkit-1/rules.d/50-vertex-certd.rules \
                 usr/share/bash-completion/completions/vertex-certctl \
                 usr/share/man/man5/org.vertex.Certificates.5.gz usr/share/man/man8/vertex-endpoint.8.gz \
                 usr/share/cockpit/vertex-certificates/manifest.json \
                 usr/libexec/vertex-cockpit-certificate; do
                grep -q " \./$f\$" <<<"$list" || fail "$f is in neither package" || return 1
        done
        # Every man page of the source tree is shipped.
        for f in "$SRC"/man/*.[1-8]; do
                grep -q "/$(basename "$f").gz\$" <<<"$list" || fail "$(basename "$f") is not shipped" || return 1
        done
}

# A clean Debian 12 root from the archive (cached: it only depends on the archive).
make_root() {
        local cache
        cache=$BUILD/package-test-root-$(echo "$ROOT_PACKAGES" | sha256sum | cut -c1-8).tar
        if [ ! -s "$cache" ]; then
                # mmdebstrap picks the output format by the name's ending: .tar
                mmdebstrap --variant=minbase --include="$ROOT_PACKAGES" bookworm "${cache%.tar}.tmp.tar" \
                        >"$WORK/mmdebstrap.log" 2>&1 || { tail -n 20 "$WORK/mmdebstrap.log" | diag; return 1; }
                mv "${cache%.tar}.tmp.tar" "$cache"
        fi
        mkdir -p "$VX_ROOT" && tar -xf "$cache" -C "$VX_ROOT" || return 1
        echo vertex-package >"$VX_ROOT/etc/hostname"
        # The first-boot wizard would wait for a key press without a machine id.
        systemd-machine-id-setup --root="$VX_ROOT" >/dev/null
}

t_install() {
        make_root || fail "could not make a clean Debian 12 root" || return 1
        [ ! -e "$VX_ROOT/usr/libexec/vertex-certd" ] || fail "the clean root already has vertex-certd" || return 1
        # Where apt's own user may read it.
        install -m 0644 "$DEB" "$VX_ROOT/srv/" || return 1
        mkdir -p "$VX_ROOT/etc/vertex-certd/certd.conf.d"
        printf '[Certificates]\nServerName=%s\n' "$SERVER_NAME" \
                >"$VX_ROOT/etc/vertex-certd/certd.conf.d/50-site.conf"
        vx_container_boot || fail "the clean root did not boot" || return 1
        # No network inside: every dependency must already be in the root.
        vx_exec env DEBIAN_FRONTEND=noninteractive apt-get install -y \
                "/srv/$(basename "$DEB")" >"$WORK/apt-install.log" 2>&1 ||
                { tail -n 20 "$WORK/apt-install.log" | diag; fail "apt-get install ./$(basename "$DEB") failed"; return 1; }
        if ! vx_exec systemctl is-active --quiet vertex-certd.service; then
                { cat "$WORK/apt-install.log"; vx_exec systemctl status --no-pager vertex-certd.service
                  vx_exec journalctl --no-pager -n 30 -u vertex-certd.service; } 2>&1 | diag
                fail "postinst did not start vertex-certd"
                return 1
        fi
        for s in vertex-console.socket vertex-grpc.socket vertex-api.socket; do
                vx_exec systemctl is-enabled --quiet "$s" && vx_exec systemctl is-active --quiet "$s" ||
                        fail "$s is not enabled and listening" || return 1
        done
        vx_exec getent passwd vertex-certd >/dev/null || fail "no user vertex-certd" || return 1
}

t_self_signed() {
        local fp status i
        for ((i = 0; i < 40; i++)); do
                status=$(vx_exec vertex-certctl status 2>&1) && grep -q 'self-signed' <<<"$status" && break
                sleep 0.5
        done
        grep -q 'self-signed' <<<"$status" || { echo "$status" | diag; fail "status does not say self-signed"; return 1; }
        fp=$(vx_exec vertex-certctl status --json | sed -n 's/.*"Fingerprint":"\([^"]*\)".*/\1/p')
        [ -n "$fp" ] && [ "$(served_fp 8443)" = "$fp" ] || fail "8443 does not serve the self-signed $fp" || return 1
        vx_exec systemctl is-active --quiet vertex-console.service || fail "the console was not socket-activated"
}

t_install_bundle() {
        local pki=$VX_ROOT/root/pki fp out
        "$BUILD/tests/vertex-testpki" "$pki" --server-name "$SERVER_NAME" >/dev/null || return 1
        fp=$(openssl x509 -in "$pki/leaf.pem" -noout -fingerprint -sha256 | sed 's/^.*=//')
        out=$(vx_exec vertex-certctl install --cert /root/pki/fullchain.pem --key /root/pki/key.pem \
                --ca /root/pki/ca.pem 2>&1) || { echo "$out" | diag; fail "vertex-certctl install failed"; return 1; }
        [ "$(served_fp 8443)" = "$fp" ] && [ "$(served_fp 8445)" = "$fp" ] ||
                fail "the installed bundle is not served"
}

t_remove() {
        vx_exec env DEBIAN_FRONTEND=noninteractive apt-get remove -y vertex-certd >"$WORK/apt-remove.log" 2>&1 ||
                { tail -n 20 "$WORK/apt-remove.log" | diag; return 1; }
        ! vx_exec systemctl is-active --quiet vertex-certd.service || fail "vertex-certd still runs" || return 1
        ! vx_exec systemctl is-active --quiet vertex-console.socket || fail "8443 still listens" || return 1
        [ -n "$(served_fp 8443)" ] && fail "8443 still serves" && return 1
        # Removal keeps configuration and store: a reinstall serves the same certificate.
        [ -e "$VX_ROOT/etc/vertex-certd/certd.conf" ] || fail "remove deleted the configuration" || return 1
        [ -L "$VX_ROOT/var/lib/vertex-certd/current" ] || fail "remove deleted the store"
}

t_purge() {
        vx_exec env DEBIAN_FRONTEND=noninteractive apt-get purge -y vertex-certd >"$WORK/apt-purge.log" 2>&1 ||
                { tail -n 20 "$WORK/apt-purge.log" | diag; return 1; }
        [ ! -e "$VX_ROOT/etc/vertex-certd" ] || fail "purge left /etc/vertex-certd" || return 1
        [ ! -e "$VX_ROOT/var/lib/vertex-certd" ] || fail "purge left the store" || return 1
        ! vx_exec dpkg -s vertex-certd >/dev/null 2>&1 || fail "dpkg still knows vertex-certd"
}

STEPS=(
        "dpkg-buildpackage -us -uc -b builds vertex-certd and cockpit-vertex-certificates:t_build"
        "lintian reports no errors:t_lintian"
        "the packages hold the programs, units, bus and polkit files, every man page and the completion:t_contents"
        "apt-get install ./vertex-certd_*.deb in a clean Debian 12: user made, daemon and sockets running:t_install"
        "the self-signed default is served on 8443 and shown by vertex-certctl status:t_self_signed"
        "vertex-certctl install of a bundle: served on the endpoints:t_install_bundle"
        "apt-get remove stops the daemon and the sockets, keeps configuration and store:t_remove"
        "apt-get purge removes configuration and store:t_purge"
)

echo "1..${#STEPS[@]}"
n=0
broken=
for s in "${STEPS[@]}"; do
        n=$((n + 1))
        name=${s%:*}
        fn=${s##*:}
        t0=$SECONDS
        # Each step needs the ones before it.
        if [ -n "$broken" ]; then
                echo "not ok $n - $name # after: $broken"
                continue
        fi
        if $fn; then
                echo "ok $n - $name"
        else
                echo "not ok $n - $name"
                broken=$name
        fi
        echo "#   ($((SECONDS - t0)) s)" >&2
done
exit 0
