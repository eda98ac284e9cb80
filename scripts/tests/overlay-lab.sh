# shellcheck shell=bash
# A multi-host lab for overlays, built inside the current throwaway network namespace (the one
# scripts/tests/run.sh, scripts/demo.sh and scripts/bench.sh make with
# `unshare --net --mount --propagation private` and a tmpfs on /run):
#
#   under0     a bridge standing in for the physical L2 network, 192.168.200.254/24 (this namespace)
#   hostN      a network namespace per "host", joined to under0 by a veth (eth0 inside, lab-hN
#              outside), 192.168.200.N/24 by default; swnet runs there with its own state root
#   etcd       in this namespace, on 192.168.200.254:2379 and 127.0.0.1:2379, data kept across
#              restarts; plain HTTP, or TLS with client certificates (--client-cert-auth)
#   agents     `swnet overlay agent` in hostN, in the background, stdout/stderr in log files
#
# Sourced by scripts/tests/overlay.test.sh, scripts/tests/lab.test.sh, scripts/demo.sh and
# scripts/bench.sh. Needs root, iproute2, etcd and etcdctl (etcd-server, etcd-client), openssl
# (lab_ca) and python3 (lab_http, JSON). $SWNET is the swnet binary (lab_swnet, lab_agent).
# Works under `set -euo pipefail` as well as without it.
#
# Helpers that start background processes or set variables (lab_host, lab_etcd*, lab_agent*,
# lab_http, lab_container, lab_cleanup) must run in the calling shell itself: not in $(...), and
# not through lib.sh's ok/fails, which run their command in a subshell.
#
# Everything is removed by lab_cleanup, which the first helper called installs on EXIT (keeping
# an EXIT trap set before): agents, swnet containers, servers, etcd, namespaces, links, files.
# The helpers refuse to run in the machine's own network namespace or with the machine's /run.

source "$(dirname "${BASH_SOURCE[0]}")/state-snapshot.sh"   # state_snapshot, for lab_snapshot

LAB_NET=${LAB_NET:-192.168.200}                     # the underlay's /24
LAB_UNDERLAY_IP=${LAB_UNDERLAY_IP:-$LAB_NET.254}    # this namespace's address on it: etcd listens there
LAB_BRIDGE=${LAB_BRIDGE:-under0}
LAB_ETCD_PORT=${LAB_ETCD_PORT:-2379}
declare -ga LAB_HOSTS=() LAB_NETNS=() LAB_PIDS=() LAB_TLS_ARGS=() LAB_ETCDCTL_TLS=()
declare -gA LAB_AGENT_PID=() LAB_AGENT_STATUS=() LAB_AGENT_READY_MS=()
LAB_DIR=${LAB_DIR:-}
LAB_ETCD=${LAB_ETCD:-}
LAB_ETCD_PID=
LAB_ETCD_TLS=

lab_log() { [[ -z ${LAB_VERBOSE:-} ]] || echo "lab: $*" >&2; }
lab_error() { echo "lab: $*" >&2; return 1; }
lab_ms() { echo $(($(date +%s%N) / 1000000)); }   # wall clock in milliseconds

# lab_guard: fails unless this is a throwaway network namespace with a /run of its own. The
# machine's are init's, or what LAB_MACHINE_NETNS and LAB_MACHINE_RUN say (run.sh sets them: in
# its PID namespace, PID 1 is the scenario's own shell).
lab_guard() {
    if [[ $(readlink /proc/self/ns/net) == "${LAB_MACHINE_NETNS:-$(readlink /proc/1/ns/net)}" ]]; then
        lab_error "refusing: this is the machine's own network namespace (run inside unshare --net --mount --propagation private)"
        return 1
    fi
    if [[ $(stat -c %d:%i /run) == "${LAB_MACHINE_RUN:-$(stat -c %d:%i /proc/1/root/run 2>/dev/null)}" ]]; then
        lab_error "refusing: /run is the machine's; mount a tmpfs on /run in this mount namespace first"
        return 1
    fi
}

# lab_init: the lab's directory ($LAB_DIR: per-host swnet roots, logs, etcd data) and the EXIT
# trap. Called by the other helpers; safe to call again.
lab_init() {
    [[ -n $LAB_DIR && -d $LAB_DIR ]] && return 0
    lab_guard || return 1
    # On the private tmpfs /run (lab_guard checks it): etcd fsyncs every write, and a slow disk
    # stalls it for seconds under a loaded test run.
    LAB_DIR=$(mktemp -d /run/swnet-lab.XXXXXX) || return 1
    mkdir -p "$LAB_DIR/roots"
    # Run lab_cleanup on exit, then whatever EXIT trap was there before (lib.sh's, the demo's).
    local current
    current=$(trap -p EXIT)
    LAB_PREVIOUS_EXIT_TRAP=
    if [[ -n $current ]]; then
        eval "set -- $current"   # trap -- 'COMMAND' EXIT
        LAB_PREVIOUS_EXIT_TRAP=$3
    fi
    trap 'lab_cleanup; eval "$LAB_PREVIOUS_EXIT_TRAP"' EXIT
    # Without a handler, bash killed by a signal runs no EXIT trap.
    [[ -n $(trap -p TERM) ]] || trap 'exit 143' TERM
    [[ -n $(trap -p INT) ]] || trap 'exit 130' INT
    [[ -n $(trap -p HUP) ]] || trap 'exit 129' HUP
    lab_log "lab directory $LAB_DIR"
}

# lab_alive PID: the process exists and is not a zombie.
lab_alive() {
    local state
    [[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# lab_wait_exit PID SECONDS: waits (bounded) until PID has exited; reaps it when it is a child of
# this shell and sets $lab_exit_status (empty when unknown). Returns 1 on timeout.
lab_wait_exit() {
    local pid=$1 deadline=$(($(lab_ms) + ${2:-10} * 1000))
    lab_exit_status=
    while lab_alive "$pid"; do
        (($(lab_ms) < deadline)) || return 1
        sleep 0.02
    done
    if wait "$pid" 2>/dev/null; then lab_exit_status=0; else lab_exit_status=$?; fi
    # 127: not a child of this shell, its status is unknown.
    [[ $lab_exit_status != 127 ]] || lab_exit_status=
    return 0
}

# lab_terminate PID [SECONDS]: SIGTERM, a bounded wait, then SIGKILL. Returns 1 if it took SIGKILL.
lab_terminate() {
    local pid=$1
    lab_alive "$pid" || { lab_wait_exit "$pid" 0 || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    lab_wait_exit "$pid" "${2:-10}" && return 0
    kill -KILL "$pid" 2>/dev/null || true
    lab_wait_exit "$pid" 5 || true
    return 1
}

# --- the underlay and the hosts -----------------------------------------------------------------

# lab_underlay: the bridge standing in for the physical network, with this namespace's address.
lab_underlay() {
    lab_init || return 1
    ip link show "$LAB_BRIDGE" >/dev/null 2>&1 && return 0
    # A MAC of its own: a bridge otherwise takes its lowest port's, and a host joining later
    # with a lower one would change the address every other host's ARP entry points at.
    ip link add "$LAB_BRIDGE" address 02:00:00:00:00:fe type bridge forward_delay 0 &&
        ip addr add "$LAB_UNDERLAY_IP/24" dev "$LAB_BRIDGE" &&
        ip link set "$LAB_BRIDGE" up || lab_error "could not make the underlay bridge $LAB_BRIDGE"
}

# lab_host N [IP]: network namespace hostN on the underlay, eth0 with IP/24 (default
# 192.168.200.N), loopback up, and an empty swnet state root (lab_root N).
lab_host() {
    local n=$1 ip=${2:-$LAB_NET.$1}
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 253)) || { lab_error "lab_host: N must be 1..253, not '$n'"; return 1; }
    lab_underlay || return 1
    ip netns add "host$n" || return 1
    LAB_HOSTS+=("$n")
    mkdir -p "$(lab_root "$n")"
    ip -n "host$n" link set lo up &&
        ip link add "lab-h$n" type veth peer name eth0 netns "host$n" &&
        ip link set "lab-h$n" master "$LAB_BRIDGE" up &&
        ip netns exec "host$n" sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1 &&
        ip -n "host$n" addr add "$ip/24" dev eth0 &&
        ip -n "host$n" link set eth0 up || lab_error "could not make host$n"
}

lab_hosts() { echo "${LAB_HOSTS[*]}"; }   # the numbers of the hosts made so far
lab_root() { echo "$LAB_DIR/roots/host$1"; }   # host N's swnet state root (SWNET_ROOT)

# lab_host_ip N: host N's underlay address (from the kernel, so it follows lab_host_set_ip).
lab_host_ip() {
    ip -n "host$1" -4 -o addr show dev eth0 scope global | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# lab_host_set_ip N IP: moves host N to a new underlay address (the new one is added before the
# old one goes, so that routes through eth0 stay).
lab_host_set_ip() {
    local n=$1 ip=$2 old
    old=$(lab_host_ip "$n")
    [[ $old != "$ip" ]] || return 0
    ip -n "host$n" addr add "$ip/24" dev eth0 || return 1
    [[ -z $old ]] || ip -n "host$n" addr del "$old/24" dev eth0
}

# lab_in N COMMAND...: runs COMMAND in host N's network namespace with SWNET_ROOT set to its root.
lab_in() {
    local n=$1; shift
    ip netns exec "host$n" env SWNET_ROOT="$(lab_root "$n")" "$@"
}

# lab_swnet N ARGS...: swnet in host N with its state root; bounded by $LAB_SWNET_TIMEOUT (60 s).
# SWNET_ETCD (exported by lab_etcd) names the lab's etcd; TLS flags are the caller's:
# "${LAB_TLS_ARGS[@]}".
lab_swnet() {
    local n=$1; shift
    timeout -k 5 "${LAB_SWNET_TIMEOUT:-60}" ip netns exec "host$n" env SWNET_ROOT="$(lab_root "$n")" "$SWNET" "$@"
}

# lab_container NAME: an empty network namespace with loopback up (a "container"; which host it
# belongs to is decided by the swnet that attaches it: lab_attach).
lab_container() {
    ip netns add "$1" || return 1
    LAB_NETNS+=("$1")
    ip -n "$1" link set lo up
}

# lab_attach N NAMESPACE NETWORK [ATTACH-ARGS...]: swnet attach in host N; prints the address.
lab_attach() {
    local n=$1 ns=$2 network=$3; shift 3
    lab_swnet "$n" attach "$ns" "$network" "$@" --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["addresses"][0].split("/")[0])'
}

# lab_addr NAMESPACE [DEVICE]: the IPv4 address of DEVICE (eth0) in a namespace, without prefix.
lab_addr() {
    ip -n "$1" -4 -o addr show dev "${2:-eth0}" scope global | awk '{ split($4, a, "/"); print a[1]; exit }'
}

# --- TLS --------------------------------------------------------------------------------------

# lab_ca DIR: with openssl, a CA (ca.pem, ca-key.pem), a server certificate for etcd
# (server.pem, server-key.pem; SAN IP:192.168.200.254, IP:127.0.0.1, DNS:localhost) and a client
# certificate (client.pem, client-key.pem), all EC P-256, valid for 2 days.
lab_ca() {
    local dir=$1
    mkdir -p "$dir" || return 1
    (
        set -e
        cd "$dir"
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
        key ca-key.pem
        openssl req -x509 -new -key ca-key.pem -out ca.pem -days 2 -subj "/CN=swnet lab CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
        sign() { # NAME CN EXTENSIONS
            key "$1-key.pem"
            openssl req -new -key "$1-key.pem" -out "$1.csr" -subj "/CN=$2"
            printf '%s\n' "$3" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext"
            rm -f "$1.csr" "$1.ext"
        }
        sign server "swnet lab etcd" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:$LAB_UNDERLAY_IP,IP:127.0.0.1,DNS:localhost"
        sign client "swnet-lab-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
        rm -f ca.srl
        chmod 600 ./*-key.pem
    ) >"$dir/openssl.log" 2>&1 || { lab_error "lab_ca: openssl failed:"; sed 's/^/    /' "$dir/openssl.log" >&2; return 1; }
}

# --- etcd -------------------------------------------------------------------------------------

# lab_etcd [--tls DIR]: one etcd member in this namespace, client URLs on the underlay address
# and 127.0.0.1, peer URL on 127.0.0.1 only, data under $LAB_DIR/etcd (kept by lab_etcd_restart).
# With --tls DIR (made by lab_ca): HTTPS with DIR/server.pem and --client-cert-auth against
# DIR/ca.pem. Waits (bounded) until healthy. Exports LAB_ETCD and SWNET_ETCD (the URL on the
# underlay); sets LAB_TLS_ARGS (swnet's --etcd-cafile/--etcd-certfile/--etcd-keyfile with the client
# certificate) and LAB_ETCDCTL_TLS (etcdctl's), both empty without --tls.
lab_etcd() {
    local tls=
    while (($#)); do
        case $1 in
            --tls) tls=${2:?lab_etcd: --tls needs a directory}; shift 2 ;;
            *) lab_error "lab_etcd: unknown argument $1"; return 1 ;;
        esac
    done
    lab_underlay || return 1
    if lab_alive "$LAB_ETCD_PID"; then lab_error "lab_etcd: etcd already runs (pid $LAB_ETCD_PID)"; return 1; fi
    [[ -z $tls ]] || tls=$(cd "$tls" && pwd) || return 1
    LAB_ETCD_TLS=$tls
    lab_etcd_start
}

lab_etcd_start() {
    local scheme=http tls_flags=()
    LAB_TLS_ARGS=() LAB_ETCDCTL_TLS=()
    if [[ -n $LAB_ETCD_TLS ]]; then
        scheme=https
        tls_flags=(--cert-file "$LAB_ETCD_TLS/server.pem" --key-file "$LAB_ETCD_TLS/server-key.pem"
            --trusted-ca-file "$LAB_ETCD_TLS/ca.pem" --client-cert-auth)
        LAB_ETCDCTL_TLS=(--cacert "$LAB_ETCD_TLS/ca.pem" --cert "$LAB_ETCD_TLS/client.pem" --key "$LAB_ETCD_TLS/client-key.pem")
        LAB_TLS_ARGS=(--etcd-cafile "$LAB_ETCD_TLS/ca.pem" --etcd-certfile "$LAB_ETCD_TLS/client.pem"
            --etcd-keyfile "$LAB_ETCD_TLS/client-key.pem")
    fi
    LAB_ETCD=$scheme://$LAB_UNDERLAY_IP:$LAB_ETCD_PORT
    export LAB_ETCD SWNET_ETCD=$LAB_ETCD
    echo "--- $(date +%T) etcd start ($scheme)" >>"$LAB_DIR/etcd.log"
    etcd --name lab --data-dir "$LAB_DIR/etcd" \
        --listen-client-urls "$LAB_ETCD,$scheme://127.0.0.1:$LAB_ETCD_PORT" --advertise-client-urls "$LAB_ETCD" \
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster lab=http://127.0.0.1:2380 --initial-cluster-state new \
        --logger zap --log-outputs stderr "${tls_flags[@]}" </dev/null >>"$LAB_DIR/etcd.log" 2>&1 &
    LAB_ETCD_PID=$!
    local deadline=$(($(lab_ms) + ${LAB_ETCD_TIMEOUT:-20} * 1000))
    until lab_etcdctl endpoint health >/dev/null 2>&1; do
        if ! lab_alive "$LAB_ETCD_PID"; then
            lab_wait_exit "$LAB_ETCD_PID" 0 || true
            LAB_ETCD_PID=
            lab_error "etcd exited at start:"; tail -n 5 "$LAB_DIR/etcd.log" | sed 's/^/    /' >&2
            return 1
        fi
        if (($(lab_ms) > deadline)); then
            lab_error "etcd is not healthy after ${LAB_ETCD_TIMEOUT:-20} s:"; tail -n 5 "$LAB_DIR/etcd.log" | sed 's/^/    /' >&2
            return 1
        fi
        sleep 0.1
    done
    lab_log "etcd at $LAB_ETCD (pid $LAB_ETCD_PID)"
}

# lab_etcd_stop: SIGTERM (SIGKILL after 10 s), the data stays.
lab_etcd_stop() {
    [[ -n $LAB_ETCD_PID ]] || return 0
    lab_terminate "$LAB_ETCD_PID" 10 || lab_log "etcd needed SIGKILL"
    LAB_ETCD_PID=
}

# lab_etcd_restart: stop, then start again with the same data and the same TLS setting.
lab_etcd_restart() { lab_etcd_stop && lab_etcd_start; }

# lab_etcdctl ARGS...: etcdctl (v3 API) against the lab's etcd, with its TLS flags, bounded.
lab_etcdctl() {
    ETCDCTL_API=3 timeout -k 2 15 etcdctl --endpoints "$LAB_ETCD" --dial-timeout 2s --command-timeout 5s \
        "${LAB_ETCDCTL_TLS[@]}" "$@"
}

# lab_etcd_revision: the store's current revision.
lab_etcd_revision() {
    lab_etcdctl get swnet-lab-revision-probe -w json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["revision"])'
}

# lab_etcd_compact: compacts etcd's history up to the current revision (physically), so that a
# watch resuming from any earlier revision gets "required revision has been compacted".
# Prints the revision.
lab_etcd_compact() {
    local rev
    local error
    rev=$(lab_etcd_revision) || return 1
    # Compacting again at a revision already compacted (nothing written since) is no failure.
    if ! error=$(lab_etcdctl compact "$rev" --physical 2>&1 >/dev/null) && [[ $error != *"has been compacted"* ]]; then
        lab_error "lab_etcd_compact: $error"
        return 1
    fi
    echo "$rev"
}

# lab_etcd_dump: every key with its value, one per line, sorted (no revisions or leases).
lab_etcd_dump() {
    lab_etcdctl get "" --prefix -w json | python3 -c '
import base64, json, sys
d = json.load(sys.stdin)
for kv in sorted(d.get("kvs", []), key=lambda kv: kv["key"]):
    print(base64.b64decode(kv["key"]).decode(errors="replace"), base64.b64decode(kv.get("value", "")).decode(errors="replace"))'
}

# --- agents -----------------------------------------------------------------------------------

# lab_agent N OVERLAY [AGENT-ARGS...]: `swnet overlay agent OVERLAY AGENT-ARGS...` in host N, in the
# background, stdout in $LAB_DIR/hostN.agent.out, stderr appended to hostN.agent.err. Waits up to
# $LAB_AGENT_TIMEOUT (20 s) for a line containing "ready" on its stdout. Sets
# LAB_AGENT_PID[N] and LAB_AGENT_READY_MS[N] (start to ready, ms). An agent that exits or stays
# silent fails this (a silent one is killed), with the end of its stderr.
lab_agent() {
    local n=$1 overlay=$2; shift 2
    local out=$LAB_DIR/host$n.agent.out err=$LAB_DIR/host$n.agent.err
    if lab_agent_running "$n"; then lab_error "lab_agent: an agent already runs in host$n"; return 1; fi
    if [[ -s $out ]]; then { echo "--- an earlier run"; cat "$out"; } >>"$LAB_DIR/host$n.agent.history"; fi
    : >"$out"
    echo "--- $(date +%T.%N) swnet overlay agent $overlay $*" >>"$err"
    local t0 deadline
    t0=$(lab_ms)
    deadline=$((t0 + ${LAB_AGENT_TIMEOUT:-20} * 1000))
    ip netns exec "host$n" env SWNET_ROOT="$(lab_root "$n")" "$SWNET" overlay agent "$overlay" "$@" \
        </dev/null >"$out" 2>>"$err" &
    LAB_AGENT_PID[$n]=$!
    LAB_AGENT_STATUS[$n]=
    LAB_AGENT_READY_MS[$n]=
    until grep -q ready "$out"; do
        if ! lab_alive "${LAB_AGENT_PID[$n]}"; then
            lab_wait_exit "${LAB_AGENT_PID[$n]}" 0 || true
            LAB_AGENT_STATUS[$n]=$lab_exit_status
            LAB_AGENT_PID[$n]=
            lab_error "the agent in host$n exited (status $lab_exit_status) before it was ready:"
            tail -n 5 "$err" | sed 's/^/    /' >&2
            return 1
        fi
        if (($(lab_ms) > deadline)); then
            lab_error "the agent in host$n printed no ready line in ${LAB_AGENT_TIMEOUT:-20} s (killed):"
            tail -n 5 "$err" | sed 's/^/    /' >&2
            lab_agent_kill "$n"
            return 1
        fi
        sleep 0.01
    done
    LAB_AGENT_READY_MS[$n]=$(($(lab_ms) - t0))
    lab_log "agent in host$n ready after ${LAB_AGENT_READY_MS[$n]} ms (pid ${LAB_AGENT_PID[$n]})"
}

lab_agent_pid() { echo "${LAB_AGENT_PID[$1]:-}"; }
lab_agent_running() { lab_alive "${LAB_AGENT_PID[$1]:-}"; }

# lab_agent_signal N SIGNAL: sends SIGNAL to host N's agent (e.g. STOP and CONT to freeze it).
lab_agent_signal() { [[ -n ${LAB_AGENT_PID[$1]:-} ]] && kill -s "$2" "${LAB_AGENT_PID[$1]}"; }

# lab_agent_wait N [SECONDS]: waits (10 s) for host N's agent to exit by itself (after
# `overlay leave`, say); sets LAB_AGENT_STATUS[N]. Returns 1 if it still runs.
lab_agent_wait() {
    local n=$1 pid=${LAB_AGENT_PID[$1]:-}
    [[ -n $pid ]] || return 0
    lab_wait_exit "$pid" "${2:-10}" || return 1
    LAB_AGENT_STATUS[$n]=$lab_exit_status
    LAB_AGENT_PID[$n]=
}

# lab_agent_stop N [SECONDS]: SIGTERM and a bounded wait (10 s); sets LAB_AGENT_STATUS[N] (the
# agent's exit status). Returns 1 if it had to be killed with SIGKILL.
lab_agent_stop() {
    local n=$1 pid=${LAB_AGENT_PID[$1]:-} status=0
    [[ -n $pid ]] || return 0
    lab_terminate "$pid" "${2:-10}" || status=1
    LAB_AGENT_STATUS[$n]=$lab_exit_status
    LAB_AGENT_PID[$n]=
    return $status
}

# lab_agent_kill N: SIGKILL, as a crash would.
lab_agent_kill() {
    local n=$1 pid=${LAB_AGENT_PID[$1]:-}
    [[ -n $pid ]] || return 0
    kill -KILL "$pid" 2>/dev/null || true
    lab_wait_exit "$pid" 5 || true
    LAB_AGENT_STATUS[$n]=$lab_exit_status
    LAB_AGENT_PID[$n]=
}

# lab_agent_log N: what host N's agents printed (stdout of the current run, then all stderr).
lab_agent_log() {
    echo "== host$1 agent stdout"; cat "$LAB_DIR/host$1.agent.out" 2>/dev/null
    echo "== host$1 agent stderr"; cat "$LAB_DIR/host$1.agent.err" 2>/dev/null
}

# --- traffic and kernel state -----------------------------------------------------------------

# lab_http NAMESPACE PORT [NAME]: a python3 HTTP server in a namespace, in the background (its PID
# in $lab_http_pid, stopped by lab_cleanup). GET / answers "hello from NAME, you are CLIENT-IP",
# GET /ip "CLIENT-IP" (the source address as the server sees it), GET /bytes/N N bytes. Over IPv4
# and IPv6 alike where the namespace has IPv6 (one socket; IPv4 clients shown as a.b.c.d).
# Waits (5 s) until it listens.
lab_http() {
    local ns=$1 port=$2 name=${3:-$1}
    lab_init || return 1
    cat >"$LAB_DIR/lab_http_server.py" <<'PY'
import http.server, socket, sys
name = sys.argv[2]
class DualStackServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        client = self.client_address[0].removeprefix("::ffff:")
        if self.path == "/ip":
            body = (client + "\n").encode()
        elif self.path.startswith("/bytes/"):
            body = b"x" * int(self.path[len("/bytes/"):])
        else:
            body = ("hello from %s, you are %s\n" % (name, client)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
try:
    server = DualStackServer(("::", int(sys.argv[1])), Handler)
except OSError:   # IPv6 off in this namespace
    server = http.server.ThreadingHTTPServer(("", int(sys.argv[1])), Handler)
server.serve_forever()
PY
    ip netns exec "$ns" python3 "$LAB_DIR/lab_http_server.py" "$port" "$name" </dev/null >/dev/null 2>&1 &
    lab_http_pid=$!
    LAB_PIDS+=("$lab_http_pid")
    local _
    for _ in $(seq 50); do
        ip netns exec "$ns" bash -c "echo >/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
        sleep 0.1
    done
    lab_error "lab_http: nothing listens on $ns:$port"
}

# lab_reach NAMESPACE IP [SECONDS]: single pings (0.2 s each) from a namespace until one is
# answered, for at most SECONDS (5); prints the milliseconds it took. Returns 1 on timeout.
lab_reach() {
    local ns=$1 ip=$2 t0 deadline
    t0=$(lab_ms)
    deadline=$((t0 + ${3:-5} * 1000))
    until ip netns exec "$ns" ping -n -q -c 1 -W 0.2 "$ip" >/dev/null 2>&1; do
        (($(lab_ms) < deadline)) || return 1
        sleep 0.01
    done
    echo $(($(lab_ms) - t0))
}

# lab_vxlan_dev N [VNI]: the name of host N's VXLAN device (the one with that VNI).
lab_vxlan_dev() {
    ip -n "host$1" -d -o link show type vxlan |
        awk -v vni="${2:-}" '{ name = $2; sub(/:$/, "", name); sub(/@.*/, "", name)
            if (vni == "" || $0 ~ (" vxlan id " vni " ")) { print name; exit } }'
}

# lab_peer_entries N UNDERLAY-IP [VTEP-MAC] [SUBNET]: every kernel entry in host N that still
# points at a peer: neighbours and FDB entries of VXLAN devices with its MAC or its underlay
# address, routes to its subnet or via its underlay address (any table). Prints nothing when clean.
lab_peer_entries() {
    local n=$1 ip=$2 mac=${3:-} subnet=${4:-} dev
    for dev in $(ip -n "host$n" -o link show type vxlan | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
        if [[ -n $mac ]]; then
            ip -n "host$n" neigh show dev "$dev" | grep -i -F -- "$mac" | sed "s/^/neigh $dev: /" || true
        fi
        bridge -n "host$n" fdb show dev "$dev" |
            awk -v ip="$ip" -v mac="$(echo "$mac" | tr 'A-F' 'a-f')" -v dev="$dev" '
                { line = tolower($0) } (mac != "" && index(line, mac)) || index(line, "dst " ip " ") || line ~ ("dst " ip "$") { print "fdb " dev ": " $0 }'
    done
    ip -n "host$n" -4 route show table all |
        awk -v ip="$ip" -v subnet="$subnet" '(subnet != "" && $1 == subnet) || index($0, " via " ip " ") { print "route: " $0 }'
    return 0
}

# lab_snapshot: the lab's state for a before/after comparison (lib.sh's `fails`): every host's
# swnet state (state_snapshot: files and database rows) and etcd's keys and values.
lab_snapshot() {
    local n
    for n in "${LAB_HOSTS[@]}"; do
        [[ -d $(lab_root "$n") ]] || continue
        state_snapshot "$(lab_root "$n")" | sed "s/^/host$n /"
    done
    if lab_alive "$LAB_ETCD_PID"; then lab_etcd_dump 2>&1 | sed 's/^/etcd /'; fi
}

# --- clean-up ---------------------------------------------------------------------------------

# lab_cleanup: agents, swnet containers, servers, etcd, every process left in a lab namespace,
# the namespaces, the underlay and $LAB_DIR. Idempotent; installed on EXIT by lab_init.
lab_cleanup() {
    [[ -n ${LAB_DIR:-} ]] || return 0
    local - n id pid ns
    set +e   # best effort, whatever fails: this runs in EXIT traps of `set -e` scripts too
    for n in "${!LAB_AGENT_PID[@]}"; do
        if [[ -n ${LAB_AGENT_PID[$n]} ]]; then lab_terminate "${LAB_AGENT_PID[$n]}" 5; fi
        LAB_AGENT_PID[$n]=
    done
    if [[ -n ${SWNET:-} ]]; then
        for n in "${LAB_HOSTS[@]}"; do
            [[ -d $(lab_root "$n") ]] || continue
            for id in $(LAB_SWNET_TIMEOUT=10 lab_swnet "$n" ps -a -q 2>/dev/null); do
                LAB_SWNET_TIMEOUT=20 lab_swnet "$n" rm -f "$id" >/dev/null 2>&1 || true
            done
        done
    fi
    # Killed and reaped at once, so that bash prints no "Killed" notice for them.
    for pid in "${LAB_PIDS[@]}"; do { kill -KILL "$pid" && wait "$pid"; } 2>/dev/null; done
    LAB_PIDS=()
    # Whatever still runs in a lab namespace, or inside a root under $LAB_DIR (a container).
    for ns in "${LAB_HOSTS[@]/#/host}" "${LAB_NETNS[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    done
    for pid in /proc/[0-9]*; do
        if [[ $(readlink "$pid/root" 2>/dev/null) == "$LAB_DIR"/* ]]; then kill -KILL "${pid#/proc/}" 2>/dev/null; fi
    done
    lab_etcd_stop || true
    for ns in "${LAB_HOSTS[@]/#/host}" "${LAB_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    for n in "${LAB_HOSTS[@]}"; do ip link del "lab-h$n" 2>/dev/null || true; done
    ip link del "$LAB_BRIDGE" 2>/dev/null || true
    LAB_HOSTS=() LAB_NETNS=()
    if [[ -n ${LAB_KEEP:-} ]]; then echo "lab: kept $LAB_DIR" >&2; else rm -rf "$LAB_DIR"; fi
    LAB_DIR=
    return 0
}
