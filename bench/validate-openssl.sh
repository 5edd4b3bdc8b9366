#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The checks of one bundle validation done the way an operator's script
# would do them with the openssl CLI, N times over: chain (verify against the
# root with the intermediate as untrusted, purpose sslserver), host name
# (x509 -checkhost), and key match (public key of the certificate equals the
# public key derived from the private key). The baseline for bench/validate.
# Fails (exit 1) when a check fails, so a broken PKI cannot give a fast time.
#
#   validate-openssl.sh DIR SERVER_NAME [N]
# DIR holds leaf.pem, chain.pem, ca.pem and key.pem (vertex-testpki's names).

set -eu

dir=$1
name=$2
n=${3:-50}

i=0
while [ "$i" -lt "$n" ]; do
        openssl verify -purpose sslserver -CAfile "$dir/ca.pem" -untrusted "$dir/chain.pem" \
                "$dir/leaf.pem" >/dev/null
        case $(openssl x509 -in "$dir/leaf.pem" -noout -checkhost "$name") in
        *"does match"*) ;;
        *) echo "validate-openssl.sh: '$name' does not match the certificate" >&2; exit 1 ;;
        esac
        cert_pub=$(openssl x509 -in "$dir/leaf.pem" -noout -pubkey)
        key_pub=$(openssl pkey -in "$dir/key.pem" -pubout)
        if [ "$cert_pub" != "$key_pub" ]; then
                echo "validate-openssl.sh: the key does not belong to the certificate" >&2
                exit 1
        fi
        i=$((i + 1))
done
