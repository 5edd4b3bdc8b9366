# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# A throwaway systemd booted with systemd-nspawn, for the system tests
# (tests/system/run.sh) and for bootstrap.sh when the host has no systemd.
#
# The container's root is a directory holding the merged-/usr symlinks, an
# overlay of the host's /usr (writes land in $VX_DIR/usr-upper, the host's
# /usr stays untouched) and a copy of the host's /etc with its own machine id
# and without the host's services. There is no machined on these hosts, so
# commands run inside with nsenter into the container's PID 1.
#
# This file only defines functions and VX_* variables; it starts nothing
# when sourced. Callers set VX_DIR (a directory they own) first.

VX_DIR=${VX_DIR:-}
VX_ROOT=
VX_UPPER=
VX_NSPAWN_PID=
VX_LEADER=

vx_log() {
        printf '# %s\n' "$*" >&2
}

# For scenario scripts: diagnostics on stdin shown as TAP comments, and a
# failure's reason (returns 1, so that `check || fail "why" || return 1` reads).
diag() {
        sed 's/^/#   /' >&2
}

fail() {
        echo "# FAIL: $*" >&2
        return 1
}

# TAP for a suite that cannot run here: no case, one line saying why.
vx_skip_all() {
        echo "1..0 # SKIP $*"
        exit 0
}

# What every suite that boots a container needs from the host.
vx_require_host() {
        [ "$(id -u)" = 0 ] || vx_skip_all "needs root (systemd-nspawn)"
        command -v systemd-nspawn >/dev/null || vx_skip_all "needs systemd-nspawn (package systemd-container)"
        command -v openssl >/dev/null || vx_skip_all "needs the openssl command"
}

# Root directory, /etc copy, machine id. $1: the work directory (created).
vx_container_create() {
        VX_DIR=$1
        VX_ROOT=$VX_DIR/root
        VX_UPPER=$VX_DIR/usr-upper
        mkdir -p "$VX_ROOT" "$VX_UPPER"
        chmod 0755 "$VX_DIR" "$VX_ROOT"

        mkdir -p "$VX_ROOT"/{usr,etc,var,var/lib,var/log,var/tmp,tmp,root,home,run,proc,sys,dev,srv,opt,mnt}
        chmod 1777 "$VX_ROOT/tmp" "$VX_ROOT/var/tmp"
        chmod 0700 "$VX_ROOT/root"
        ln -sfn usr/bin "$VX_ROOT/bin"
        ln -sfn usr/sbin "$VX_ROOT/sbin"
        ln -sfn usr/lib "$VX_ROOT/lib"
        [ -e /usr/lib64 ] && ln -sfn usr/lib64 "$VX_ROOT/lib64"

        # The host's /etc minus what must be the container's own.
        cp -a /etc/. "$VX_ROOT/etc/"
        rm -f "$VX_ROOT/etc/machine-id" "$VX_ROOT/etc/hostname" \
              "$VX_ROOT/etc/resolv.conf" "$VX_ROOT/etc/mtab"
        ln -sfn ../proc/self/mounts "$VX_ROOT/etc/mtab"
        : >"$VX_ROOT/etc/fstab"
        # nspawn looks for os-release before /usr is mounted: a copy, not the link.
        cp --remove-destination -L /etc/os-release "$VX_ROOT/etc/os-release"
        echo vertex-test >"$VX_ROOT/etc/hostname"
        # Host services (databases, timers, gettys) have no business here.
        rm -rf "$VX_ROOT/etc/systemd/system/multi-user.target.wants" \
               "$VX_ROOT/etc/systemd/system/timers.target.wants" \
               "$VX_ROOT/etc/systemd/system/getty.target.wants" \
               "$VX_ROOT/etc/systemd/system/sysinit.target.wants"
        mkdir -p "$VX_ROOT/etc/systemd/system/multi-user.target.wants"
        local u
        for u in systemd-timesyncd.service systemd-pstore.service e2scrub_reap.service \
                 postgresql.service apt-daily.timer apt-daily-upgrade.timer \
                 man-db.timer fstrim.timer e2scrub_all.timer dpkg-db-backup.timer \
                 getty@tty1.service console-getty.service systemd-firstboot.service \
                 cron.service ssh.service systemd-networkd.service; do
                ln -sfn /dev/null "$VX_ROOT/etc/systemd/system/$u"
        done
        # Without a machine id the first-boot wizard waits for a key press.
        systemd-machine-id-setup --root="$VX_ROOT" >/dev/null
}

# meson install into a staging directory. $1: build dir, $2: stage dir.
vx_stage() {
        rm -rf "$2"
        meson install -C "$1" --no-rebuild --quiet --destdir "$2" >&2
}

# Copies a staged install into the (not yet booted) container. $1: stage dir.
vx_container_install() {
        local stage=$1
        if [ -d "$stage/usr" ]; then
                cp -a "$stage/usr/." "$VX_UPPER/"
        fi
        if [ -d "$stage/etc" ]; then
                cp -a "$stage/etc/." "$VX_ROOT/etc/"
        fi
        if [ -d "$stage/var" ]; then
                cp -a "$stage/var/." "$VX_ROOT/var/"
        fi
}

# The PID (host view) of the container's PID 1 among the descendants of $1.
vx_find_leader() {
        local queue=("$1") p c
        while [ ${#queue[@]} -gt 0 ]; do
                p=${queue[0]}
                queue=("${queue[@]:1}")
                if [ "$p" != "$1" ] && grep -Eq '^NSpid:.*[[:space:]]1$' "/proc/$p/status" 2>/dev/null; then
                        echo "$p"
                        return 0
                fi
                for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
                        queue+=("$c")
                done
        done
        return 1
}

# Boots the container in the background and waits for multi-user.
# Extra arguments go to systemd-nspawn. Sets VX_NSPAWN_PID, VX_LEADER.
vx_container_boot() {
        local log=$VX_DIR/nspawn.log i state detach=() usr=(--bind-ro=/usr --overlay="/usr:$VX_UPPER:/usr")
        # VX_OWN_ROOT=1: $VX_ROOT is a complete system of its own (tests/package/),
        # booted as it is, without the host's /usr.
        [ "${VX_OWN_ROOT:-0}" = 1 ] && usr=()
        # VX_NSPAWN_SETSID=1: a session of its own, so it outlives its caller's terminal.
        [ "${VX_NSPAWN_SETSID:-0}" = 1 ] && detach=(setsid)
        # A pure cgroup2 hierarchy inside: on these hybrid hosts the default
        # gives the container legacy cgroups, where systemd is not told when
        # a service's cgroup empties (stop jobs then wait for their timeout,
        # and poweroff hangs), and where IPAddressAllow=/Deny= (BPF) cannot work.
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 "${detach[@]}" systemd-nspawn -D "$VX_ROOT" --boot --register=no --keep-unit \
                --private-network \
                --machine=vertex-test \
                "${usr[@]}" \
                --console=pipe \
                "$@" >"$log" 2>&1 </dev/null &
        VX_NSPAWN_PID=$!
        echo "$VX_NSPAWN_PID" >"$VX_DIR/nspawn.pid"

        for ((i = 0; i < 300; i++)); do
                if ! vx_alive "$VX_NSPAWN_PID"; then
                        vx_log "systemd-nspawn exited early:"
                        sed 's/^/#   /' "$log" >&2
                        return 1
                fi
                VX_LEADER=$(vx_find_leader "$VX_NSPAWN_PID") && break
                sleep 0.1
        done
        if [ -z "$VX_LEADER" ]; then
                vx_log "no PID 1 found under systemd-nspawn ($VX_NSPAWN_PID)"
                return 1
        fi
        echo "$VX_LEADER" >"$VX_DIR/leader.pid"

        # is-system-running --wait needs the container's bus; retry until it is up.
        for ((i = 0; i < 120; i++)); do
                state=$(vx_exec systemctl is-system-running --wait 2>/dev/null) && break
                case $state in
                        degraded) break ;;
                esac
                sleep 0.5
        done
        vx_log "container up: nspawn $VX_NSPAWN_PID, leader $VX_LEADER, state ${state:-unknown}"
        if [ "$state" = degraded ]; then
                vx_exec systemctl --failed --no-legend --plain >&2 || true
        fi
        [ "$state" = running ] || [ "$state" = degraded ]
}

# Runs a command inside the container (all its namespaces, its root).
vx_exec() {
        nsenter -t "$VX_LEADER" -a -- "$@"
}

# Same as a given user, with a login-like environment.
vx_exec_as() {
        local user=$1
        shift
        nsenter -t "$VX_LEADER" -a -- setpriv --reuid="$user" --regid="$user" --init-groups \
                --reset-env -- "$@"
}

# Whether PID $1 is alive (a zombie not yet reaped by bash does not count).
vx_alive() {
        local stat
        stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
        stat=${stat##*) }
        [ "${stat%% *}" != Z ]
}

# Makes a TCP port of the container reachable from the host: connections to
# $1 (ADDR:PORT on the host) reach 127.0.0.1:$2 inside. The listening socket
# is made in the host's network namespace by systemd-socket-activate, which
# on the first connection execs systemd-socket-proxyd inside the container's
# network namespace (nsenter -n does not fork, so the socket is handed on);
# the proxy then accepts on it for as long as it runs. PIDs go to
# $VX_DIR/forward.pids; vx_container_stop stops them.
vx_forward() {
        local listen=$1 port=$2 detach=()
        [ "${VX_NSPAWN_SETSID:-0}" = 1 ] && detach=(setsid)
        "${detach[@]}" systemd-socket-activate -l "$listen" -- \
                nsenter -t "$VX_LEADER" -n -- /usr/lib/systemd/systemd-socket-proxyd "127.0.0.1:$port" \
                </dev/null >>"$VX_DIR/forward.log" 2>&1 &
        echo $! >>"$VX_DIR/forward.pids"
}

vx_forward_stop() {
        local pid
        [ -n "$VX_DIR" ] && [ -f "$VX_DIR/forward.pids" ] || return 0
        while read -r pid; do
                kill -TERM "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done <"$VX_DIR/forward.pids"
        rm -f "$VX_DIR/forward.pids"
}

# Powers the container off; kills systemd-nspawn by its PID if that hangs.
vx_container_stop() {
        vx_forward_stop
        local pid=${VX_NSPAWN_PID:-}
        if [ -z "$pid" ] && [ -n "$VX_DIR" ] && [ -f "$VX_DIR/nspawn.pid" ]; then
                pid=$(cat "$VX_DIR/nspawn.pid")
                VX_LEADER=$(cat "$VX_DIR/leader.pid" 2>/dev/null || true)
        fi
        [ -n "$pid" ] || return 0
        if vx_alive "$pid"; then
                if [ -n "$VX_LEADER" ] && vx_alive "$VX_LEADER"; then
                        timeout 10 nsenter -t "$VX_LEADER" -a -- systemctl poweroff --no-block >&2 || \
                                vx_log "systemctl poweroff failed"
                fi
                local i
                for ((i = 0; i < 150; i++)); do
                        vx_alive "$pid" || break
                        sleep 0.2
                done
                if vx_alive "$pid"; then
                        vx_log "poweroff hung, killing systemd-nspawn $pid; its last words:"
                        tail -n 8 "$VX_DIR/nspawn.log" | sed 's/^/#   /' >&2 || true
                        if [ -n "$VX_LEADER" ]; then
                                timeout 5 nsenter -t "$VX_LEADER" -a -- systemctl list-jobs --no-pager >&2 || true
                        fi
                        kill -TERM "$pid" 2>/dev/null || true
                        sleep 2
                        kill -KILL "$pid" 2>/dev/null || true
                fi
                wait "$pid" 2>/dev/null || true
        fi
        VX_NSPAWN_PID=
        VX_LEADER=
        rm -f "$VX_DIR/nspawn.pid" "$VX_DIR/leader.pid"
}

# Removes the work directory (the container must be stopped).
vx_container_remove() {
        [ -n "$VX_DIR" ] && [ -d "$VX_DIR" ] || return 0
        rm -rf --one-file-system "$VX_DIR"
}

# A build directory of this project configured with prefix /usr (the paths
# the units and the bus expect): $1 itself when it is one, else
# $1/system-prefix-usr, configured and built on demand. $2: source dir.
vx_build_for_usr() {
        local build=$1 src=$2 prefix sub
        prefix=$(meson introspect "$build" --buildoptions |
                 python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))') || return 1
        if [ "$prefix" = /usr ]; then
                echo "$build"
                return 0
        fi
        sub=$build/system-prefix-usr
        if [ ! -f "$sub/build.ninja" ]; then
                meson setup "$sub" "$src" -Dprefix=/usr -Dsystem-tests=false >&2 || return 1
        fi
        ninja -C "$sub" >&2 || return 1
        echo "$sub"
}

# Stages a build and copies it into the (not yet booted) container.
vx_install_build() {
        vx_stage "$1" "$VX_DIR/stage" || return 1
        vx_container_install "$VX_DIR/stage"
}

# After boot: users, directories, units, then the three sockets and the
# daemon, as a package's postinst would. Returns when vertex-certd is ready
# (Type=notify: systemctl start waits for READY=1).
vx_start_project() {
        vx_exec systemd-sysusers || return 1
        vx_exec systemd-tmpfiles --create --prefix=/var/lib/vertex-certd || return 1
        vx_exec systemctl daemon-reload || return 1
        vx_exec busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig || return 1
        vx_exec systemctl enable --now --quiet \
                vertex-console.socket vertex-grpc.socket vertex-api.socket vertex-certd.service
}

# ---------------------------------------------------------------- TAP scenario scripts

# The EXIT trap of a scenario script: the container stopped, its directory
# removed unless VERTEX_SYSTEM_KEEP=1; exits with the status it was given.
vx_tap_cleanup() {
        local rc=$?
        vx_container_stop
        if [ "${VERTEX_SYSTEM_KEEP:-0}" = 1 ]; then
                echo "# kept $VX_DIR" >&2
        else
                vx_container_remove
        fi
        exit "$rc"
}

# Runs the scenarios "description:function" in the array named $1, one TAP
# line each (a function returning 77 is a skip: a package it needs is
# missing), calling function $2 after a failure to show the state. The plan
# line ("1..N") is the caller's, printed before its setup.
# VERTEX_SYSTEM_ONLY=REGEX skips the scenarios whose function does not match,
# but for the first VX_TAP_ALWAYS (default 0) ones.
vx_tap_run() {
        local -n scenarios=$1
        local dump=$2 n=0 failed=0 s name fn t0 rc
        for s in "${scenarios[@]}"; do
                n=$((n + 1))
                name=${s%:*}
                fn=${s##*:}
                if [ -n "${VERTEX_SYSTEM_ONLY:-}" ] && [ $n -gt "${VX_TAP_ALWAYS:-0}" ] &&
                   ! [[ $fn =~ $VERTEX_SYSTEM_ONLY ]]; then
                        echo "ok $n - $name # SKIP not in VERTEX_SYSTEM_ONLY"
                        continue
                fi
                t0=$SECONDS
                "$fn"
                rc=$?
                if [ $rc = 0 ]; then
                        echo "ok $n - $name"
                elif [ $rc = 77 ]; then
                        echo "ok $n - $name # SKIP a package it needs is not installed"
                else
                        "$dump"
                        echo "not ok $n - $name"
                        failed=$((failed + 1))
                fi
                echo "#   ($((SECONDS - t0)) s)" >&2
        done
        echo "# $failed of ${#scenarios[@]} scenarios failed" >&2
}
