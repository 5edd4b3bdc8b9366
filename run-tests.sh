#!/bin/bash
# Builds the project (when needed) and runs every test tier: unit, bus and,
# as root with systemd-nspawn available, system. Ends with "N passed, N failed".
#
#   ./run-tests.sh                 all suites
#   ./run-tests.sh --suite unit    any `meson test` arguments pass through
#
# BUILD_DIR (default: build) and MESON_OPTIONS (e.g. -Dwerror=true) adjust the build.
set -uo pipefail

cd "$(dirname "$0")"
build_dir=${BUILD_DIR:-build}
read -r -a meson_options <<< "${MESON_OPTIONS:-}"

summary() {
        if [ -n "${3:-}" ] && [ "$3" -gt 0 ]; then
                echo "$1 passed, $2 failed, $3 skipped"
        else
                echo "$1 passed, $2 failed"
        fi
}

if [ "$(id -u)" -ne 0 ] || ! command -v systemd-nspawn >/dev/null; then
        echo "note: the system suite needs root and systemd-nspawn; it is left out" >&2
        meson_options+=(-Dsystem-tests=false)
fi

if [ -d "$build_dir" ]; then
        meson configure "$build_dir" "${meson_options[@]}" >/dev/null || { summary 0 1; exit 1; }
else
        meson setup --prefix=/usr "$build_dir" "${meson_options[@]}" || { summary 0 1; exit 1; }
fi
if ! ninja -C "$build_dir"; then
        echo "build failed" >&2
        summary 0 1
        exit 1
fi

meson test -C "$build_dir" --print-errorlogs --num-processes 2 "$@"
status=$?

# Count test cases (each TAP line), not just test programs.
log="$build_dir/meson-logs/testlog.json"
passed=0
failed=0
skipped=0
if [ -f "$log" ]; then
        read -r passed failed skipped < <(python3 tests/count-results.py "$log")
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
        echo "no test ran" >&2
        failed=1
fi
summary "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
