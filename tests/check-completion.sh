#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion of vertex-certctl (shell-completion/), loaded by the real
# bash-completion and asked as bash would ask it, against the built program:
# every verb of --help, the options of a verb, file names after a FILE
# option and for inspect, the words of --policy. TAP.
set -uo pipefail

src=${VERTEX_SOURCE_DIR:-$(dirname "$0")/..}
build=${VERTEX_BUILD_DIR:-$src/build}
bc=/usr/share/bash-completion/bash_completion
if [ ! -r "$bc" ]; then
        echo "1..0 # SKIP bash-completion is not installed"
        exit 0
fi

export PATH=$build/src:$PATH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" && touch chain.pem key.pem notes.txt && mkdir bundle.d

# shellcheck source=/dev/null
. "$bc"
# shellcheck source=shell-completion/vertex-certctl.bash
. "$src/shell-completion/vertex-certctl.bash"

n=0
failed=0
complete_words() {
        COMP_WORDS=("$@")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _vertex_certctl
        printf '%s\n' "${COMPREPLY[@]}" | sort
}
# expect WHAT EXPECTED-LINES WORDS...: the completions are exactly EXPECTED-LINES.
expect() {
        local what=$1 want=$2 got
        shift 2
        got=$(complete_words "$@")
        n=$((n + 1))
        if [ "$got" = "$want" ]; then
                echo "ok $n - $what"
        else
                echo "not ok $n - $what"
                echo "# [$*] gave: $(echo "$got" | tr '\n' ' ')"
                echo "# expected:  $(echo "$want" | tr '\n' ' ')"
                failed=1
        fi
}
lines() { printf '%s\n' "$@" | sort; }

# The verbs, from the program's own command list, which vertex-certctl(1) documents as well.
verbs=$(vertex-certctl --help | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' | sort -u)
for v in install status validate inspect rollback generations; do
        n=$((n + 1))
        if grep -qx "$v" <<< "$verbs"; then echo "ok $n - --help lists the verb $v"; else echo "not ok $n - --help lists the verb $v"; failed=1; fi
done
expect "every verb at the start" "$verbs" vertex-certctl ""
expect "verbs by prefix" "$(lines inspect install)" vertex-certctl in
expect "a verb after a global option" "$(lines status)" vertex-certctl --json st
expect "global options" "$(lines --help --version --json --no-ask-password)" vertex-certctl --
expect "install's options" "$(lines --cert --key --ca --help --version --json --no-ask-password)" \
        vertex-certctl install --
expect "validate's offline options" "$(lines --server-name)" vertex-certctl validate --offline --s
expect "file names after --cert" "$(lines chain.pem key.pem notes.txt bundle.d)" vertex-certctl install --cert ""
expect "file names by prefix after --key" "$(lines key.pem)" vertex-certctl install --cert chain.pem --key k
expect "file names after --cert before the verb" "$(lines chain.pem)" vertex-certctl --cert ch
expect "the words of --policy" "$(lines fips strict)" vertex-certctl validate --offline --policy ""
expect "file names for inspect" "$(lines chain.pem key.pem notes.txt bundle.d)" vertex-certctl inspect ""
expect "nothing after --server-name" "" vertex-certctl validate --offline --server-name ""

echo "1..$n"
exit $failed
