#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Points Cockpit's own https (port 9090) at the certificate vertex-certd
# serves. Run by vertex-cockpit-certificate.service before every start of
# cockpit.service, so cockpit-certificate-ensure picks it up.
#
# The links name the files of the served generation itself, not current/,
# so that a rotation while Cockpit reads them cannot pair one generation's
# certificate with another's key. Without a served generation (a first
# boot before vertex-certd ran, or vertex-certd removed) the links are
# removed: Cockpit falls back to its own certificate. A dangling link in
# ws-certs.d would stop Cockpit from starting, so none is ever left behind.
#
#   vertex-cockpit-certificate [STORE_DIRECTORY]   (default /var/lib/vertex-certd)
set -eu

store=${1:-/var/lib/vertex-certd}
dir=/etc/cockpit/ws-certs.d
# Cockpit uses the last .cert in ws-certs.d in sort order: ours sorts after
# its own 0-self-signed.cert.
name=90-vertex-certd

generation=$(readlink -e "$store/current" 2>/dev/null || true)
if [ -n "$generation" ] && [ -s "$generation/fullchain.pem" ] && [ -s "$generation/key.pem" ]; then
        mkdir -p "$dir"
        ln -sfn "$generation/fullchain.pem" "$dir/$name.cert"
        ln -sfn "$generation/key.pem" "$dir/$name.key"
        echo "Cockpit serves $generation"
else
        rm -f "$dir/$name.cert" "$dir/$name.key"
        echo "vertex-certd serves no generation yet; Cockpit keeps its own certificate"
fi
