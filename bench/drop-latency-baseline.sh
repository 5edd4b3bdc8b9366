#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The baseline for bench/drop-latency: what an administrator would write
# without vertex-certd. Watches a drop directory with inotifywait; when
# NAME.key arrives beside NAME.crt and NAME.ca.crt it checks the chain, the
# host name and that key and certificate match with the openssl CLI, copies
# the files into place (temp + rename) and removes the dropped ones. Prints
# "installed" or "rejected" per bundle, which the benchmark timestamps.
#
# usage: drop-latency-baseline.sh DROP_DIR TARGET_DIR SERVER_NAME

set -u
drop=$1 target=$2 name=$3

inotifywait -m -e moved_to -e close_write --format '%f' "$drop" | while read -r f; do
        case "$f" in
        *.key) base=${f%.key} ;;
        *) continue ;;
        esac
        crt="$drop/$base.crt" key="$drop/$base.key" ca="$drop/$base.ca.crt"
        [ -f "$crt" ] && [ -f "$key" ] && [ -f "$ca" ] || continue

        if ! openssl verify -CAfile "$ca" -untrusted "$crt" "$crt" >/dev/null 2>&1; then
                echo rejected; continue
        fi
        if ! openssl x509 -in "$crt" -noout -checkhost "$name" 2>/dev/null | grep -q "does match"; then
                echo rejected; continue
        fi
        if [ "$(openssl x509 -in "$crt" -noout -pubkey)" != "$(openssl pkey -in "$key" -pubout)" ]; then
                echo rejected; continue
        fi
        cp "$crt" "$target/fullchain.pem.tmp" && cp "$key" "$target/key.pem.tmp" && cp "$ca" "$target/ca.pem.tmp" &&
        mv "$target/fullchain.pem.tmp" "$target/fullchain.pem" &&
        mv "$target/key.pem.tmp" "$target/key.pem" &&
        mv "$target/ca.pem.tmp" "$target/ca.pem"
        rm -f "$crt" "$key" "$ca"
        echo installed
done
