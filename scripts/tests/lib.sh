# Helpers for CLI scenarios. Sourced inside a private network and mount namespace (see run.sh):
# the "host" here is that throwaway namespace and containers are namespaces made with `ip netns`.
set -u
SWNET_ROOT=$(mktemp -d /tmp/swnet-test.XXXXXX)
export SWNET_ROOT
trap 'rm -rf "$SWNET_ROOT"' EXIT
swnet() { "$SWNET" "$@"; }
source "$(dirname "${BASH_SOURCE[0]}")/state-snapshot.sh"
failures=0

pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; failures=$((failures + 1)); }

# ok DESCRIPTION COMMAND...: the command succeeds.
ok() {
    local description=$1; shift
    local output
    if output=$("$@" 2>&1); then pass "$description"; else fail "$description"; echo "$output" | sed 's/^/    /'; fi
}

# fails DESCRIPTION COMMAND...: the command fails with a non-zero status and exactly one line
# on stderr, and nothing changes: neither swnet's state nor the namespace's links, addresses
# and routes. The error line is kept in $error_line for further checks.
fails() {
    local description=$1; shift
    local before after stderr_file status
    before=$(snapshot)
    stderr_file=$(mktemp)
    "$@" >/dev/null 2>"$stderr_file"; status=$?
    error_line=$(cat "$stderr_file"); rm -f "$stderr_file"
    after=$(snapshot)
    if ((status == 0)); then fail "$description (exit status 0)"; return; fi
    if [[ $(printf '%s' "$error_line" | grep -c '') != 1 ]]; then
        fail "$description (stderr is not one line)"; echo "$error_line" | sed 's/^/    /'; return
    fi
    if [[ "$before" != "$after" ]]; then
        fail "$description (something changed)"; diff <(echo "$before") <(echo "$after") | sed 's/^/    /'; return
    fi
    pass "$description: $error_line"
}

# eq DESCRIPTION ACTUAL EXPECTED
eq() {
    if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1"; echo "    expected: $3"; echo "    actual:   $2"; fi
}

# What a failed command must leave as it was: state files and the kernel's view (without the
# IPv6 link-local addresses and routes the kernel itself adds and finishes DAD on meanwhile).
# `snapshot_ignore=PATTERN fails ...` also leaves out lines matching PATTERN.
snapshot() {
    snapshot_all | grep -v -e 'fe80:' -e 'ff00::/8' ${snapshot_ignore:+-e "$snapshot_ignore"} | sed -e 's/NO-CARRIER,//' -e 's/ state [A-Z]* / /' -e 's/ linkdown//'
}
snapshot_all() {
    state_snapshot "$SWNET_ROOT"
    ip -o link show | sed 's/^[0-9]*: //' | sort
    ip -o addr show | sed 's/^[0-9]*: //' | sort
    ip route show table all
    for ns in $(ip netns list | awk '{print $1}'); do
        ip -n "$ns" -o link show | sed 's/^[0-9]*: //' | sort
        ip -n "$ns" -o addr show | sed 's/^[0-9]*: //' | sort
        ip -n "$ns" route show table all
    done
}

# state_sql SQL: runs SQL on swnet's runtime database (attachments, leases, publications, ...).
state_sql() { sqlite3 "$SWNET_ROOT/run/state.db" "$@"; }

# container NAME: an empty network namespace with loopback up, standing in for a container.
container() { ip netns add "$1" && ip -n "$1" link set lo up; }

# A python3 HTTP server inside namespace $1 on port $2; its PID in $server_pid.
http_server() {
    local dir; dir=$(mktemp -d); echo "hello from $1" >"$dir/index.html"
    ip netns exec "$1" python3 -m http.server "$2" --directory "$dir" >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do ip netns exec "$1" bash -c "echo >/dev/tcp/127.0.0.1/$2" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

finish() {
    jobs -p | xargs -r kill 2>/dev/null
    wait 2>/dev/null
    return 0
}

# busybox_rootfs DIR: a minimal root filesystem from busybox-static.
# Relative links, so that they resolve inside the root too.
busybox_rootfs() {
    mkdir -p "$1/bin" "$1/tmp" "$1/etc" && cp /bin/busybox "$1/bin/busybox" || return 1
    for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$1/bin/$applet"; done
}

# wait_for COMMAND...: retries for up to 10 s.
wait_for() { for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
