#!/usr/bin/env bash
# Benchmarks swnet attach/detach against the CNI reference plugins (bridge + host-local) and
# plain iproute2, plus the kernel's own cost of deleting a bridged veth, and `swnet run` against
# unshare(1) and runc, and overlays across hosts (VXLAN, host-gw: throughput, RTT, convergence,
# agent memory), all in one run inside a throwaway network and mount namespace. See
# docs/benchmarks.md for what each row means.
#
# Usage: sudo [N=100] [SCALE=1000] [CNI_SCALE=1000] [PORTS=10000] [CONN_SECONDS=3] [SECTIONS=all] scripts/bench.sh
#   N          sequential operations per tool for the attach/detach, run and attach+publish medians
#   SCALE      sequential swnet attaches on one /16 network for the scaling rows (CLI and library)
#   CNI_SCALE  the same for CNI ADD (0 skips it)
#   PORTS      the largest number of other published ports for the connection-rate rows (1, PORTS/10, PORTS)
#   CONN_SECONDS  one-second connection-rate runs per cell, and seconds per iperf3 run
#   SECTIONS   all, publish (only the publishing rows) or overlay (only the overlay rows)
#   SWNET, SWNET_BENCH  prebuilt binaries to use instead of building them
# Progress goes to stderr, the markdown table to stdout.
set -Eeuo pipefail
export LC_ALL=C

# ---------------------------------------------------------------------------------------------
# Outside: check, install, build, then run the rest in a private network and mount namespace.
# ---------------------------------------------------------------------------------------------
if [[ ${1:-} != --inside ]]; then
    cd "$(dirname "$0")/.."
    ((EUID == 0)) || { echo "bench: run as root (sudo scripts/bench.sh)" >&2; exit 1; }
    N=${N:-100} SCALE=${SCALE:-1000} CNI_SCALE=${CNI_SCALE:-$SCALE}
    PORTS=${PORTS:-10000} CONN_SECONDS=${CONN_SECONDS:-3} SECTIONS=${SECTIONS:-all}
    [[ $SECTIONS == all || $SECTIONS == publish || $SECTIONS == overlay ]] || { echo "bench: SECTIONS must be all, publish or overlay" >&2; exit 1; }
    for knob in N SCALE CNI_SCALE PORTS CONN_SECONDS; do
        [[ ${!knob} =~ ^[0-9]+$ ]] || { echo "bench: $knob must be a number" >&2; exit 1; }
    done
    ((N >= 10 && SCALE >= 20)) || { echo "bench: need N >= 10 and SCALE >= 20" >&2; exit 1; }
    ((PORTS >= 10 && PORTS <= 20000 && CONN_SECONDS >= 1)) || { echo "bench: need 10 <= PORTS <= 20000 and CONN_SECONDS >= 1" >&2; exit 1; }
    scripts/setup.sh containernetworking-plugins hyperfine iproute2 runc busybox-static iptables iperf3 nftables ethtool >&2
    for plugin in bridge host-local; do
        [[ -x /usr/lib/cni/$plugin ]] || { echo "bench: /usr/lib/cni/$plugin is missing" >&2; exit 1; }
    done
    runc --version >/dev/null || { echo "bench: runc --version failed" >&2; exit 1; }
    [[ -x /bin/busybox ]] || { echo "bench: /bin/busybox (busybox-static) is missing" >&2; exit 1; }
    if [[ -z ${SWNET:-} ]]; then
        echo "bench: building swnet (scripts/build.sh)" >&2
        SWNET=$(scripts/build.sh)
    fi
    if [[ -z ${SWNET_BENCH:-} ]]; then
        echo "bench: building swnet-bench" >&2
        swift build -c release --static-swift-stdlib --product swnet-bench >&2
        SWNET_BENCH="$(swift build -c release --static-swift-stdlib --show-bin-path)/swnet-bench"
    fi
    [[ -x $SWNET && -x $SWNET_BENCH ]] || { echo "bench: missing binaries: $SWNET $SWNET_BENCH" >&2; exit 1; }

    real_links() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
    links_before=$(real_links)
    netns_before=$(ls -A /run/netns 2>/dev/null || true)
    work=$(mktemp -d /tmp/swnet-bench.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    export N SCALE CNI_SCALE PORTS CONN_SECONDS SECTIONS SWNET SWNET_BENCH BENCH_WORK=$work
    status=0
    unshare --net --mount --propagation private -- bash "$PWD/scripts/bench.sh" --inside || status=$?

    # The machine's own namespace must look exactly as before.
    if [[ $(real_links) != "$links_before" || $(ls -A /run/netns 2>/dev/null || true) != "$netns_before" ]]; then
        echo "bench: WARNING: the real network namespace changed during the run:" >&2
        diff <(echo "$links_before") <(real_links) >&2 || true
        status=1
    else
        echo "bench: real network namespace unchanged ($(real_links | tr '\n' ' '))" >&2
    fi
    exit "$status"
fi

# ---------------------------------------------------------------------------------------------
# Inside the throwaway namespace: /run is a private tmpfs, so `ip netns` names and all links
# vanish with it whatever happens. State goes under $BENCH_WORK (removed by the outer trap).
# ---------------------------------------------------------------------------------------------
mount -t tmpfs -o mode=755 swnet-bench-run /run
ip link set lo up
work=$BENCH_WORK
mkdir -p "$work/t"
# swnet keeps leases and attachments under /run (a tmpfs) by default; so does the bench.
export SWNET_ROOT=/run/swnet-bench
log() { echo "bench: $*" >&2; }
trap 'log "failed at line $LINENO (exit $?); everything made here goes with the namespace"' ERR
# runc's containers are the one thing that outlives the namespace (their cgroups are the
# machine's): whatever happens, delete every container left in the bench's runc state dir.
runc_root=$work/runc
delete_runc_leftovers() {
    [[ -d $runc_root ]] || return 0
    local id
    for id in $(runc --root "$runc_root" list -q 2>/dev/null); do
        runc --root "$runc_root" delete --force "$id" >/dev/null 2>&1 || log "could not delete runc container $id"
    done
}
trap delete_runc_leftovers EXIT

# clock FILE COMMAND...: runs COMMAND once, appends its wall time in µs to FILE.
# Bash's $EPOCHREALTIME around the single call, as in docs/benchmarks.md.
clock() {
    local file=$1; shift
    local t0=$EPOCHREALTIME
    "$@" >/dev/null
    local t1=$EPOCHREALTIME
    echo $((10#${t1/./} - 10#${t0/./})) >>"$file"
}

# stats FILE [FIRST LAST]: "median p90 mean first10 last10 count", in ms, from µs values.
stats() {
    sort -n "$1" | awk -v f="$1" '
        { v[NR] = $1; s += $1 }
        END {
            if (NR == 0) { print "- - - - - 0"; exit }
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            p90 = v[int(0.9 * (NR - 1)) + 1]
            while ((getline line < f) > 0) { n++; o[n] = line }
            k = (n >= 10) ? 10 : n
            for (i = 1; i <= k; i++) { a += o[i]; b += o[n - k + i] }
            printf "%.2f %.2f %.2f %.2f %.2f %d\n", med / 1000, p90 / 1000, s / NR / 1000, a / k / 1000, b / k / 1000, NR
        }'
}
field() { stats "$1" | awk -v i="$2" '{print $i}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "met" : "**missed**" }'; }

# The library driver prints "OPERATION INDEX µs" lines; split them into files per operation.
split_library() {
    awk -v dir="$2" '{ printf "%d\n", $3 + 0.5 >> (dir "/lib-" $1 ".us") }' "$1"
}

# --- 7. overlays across hosts (run last with SECTIONS=all, or alone with SECTIONS=overlay) ------
# The lab of scripts/tests/overlay-lab.sh: hosts host1..host4 are namespaces on one bridge
# (under0, veths, MTU 1500), etcd runs in this namespace. Throughput and RTT container to
# container across hosts for VXLAN and host-gw, and host to host on the underlay itself; the
# time until a new host's container is reached by every peer; an agent's memory and start time
# with 100 peers registered in etcd.
OV_ROUNDS=3   # join/leave rounds per mode for the convergence rows

# PLACEHOLDER, to be filled in by whoever lands `swnet overlay`: the etcd key and the JSON value
# with which an agent registers its host, exactly as `swnet overlay agent` writes them, for
# simulated peer I (1..100) of OVERLAY: subnet 10.150.I.0/24, underlay address 192.168.200.(100+I)
# (free addresses on the lab's own bridge: nothing is sent there unless a container talks to that
# subnet, and none does), VTEP MAC 02:5e:00:00:00:II. Until they match the agent's format, the
# "100 simulated peers" row measures an agent that sees no peer (its FDB column says so).
# A peer registration as the agent writes it (docs/overlays.md): its key and value.
simulated_peer_key() { # OVERLAY I
    echo "/swnet/overlays/$1/hosts/10.150.$2.0-24"
}
simulated_peer_json() { # OVERLAY I
    printf '{"subnet":"10.150.%d.0/24","underlayIP":"192.168.201.%d","vtepMAC":"02:5e:00:00:00:%02x","hostID":"simulated-%d","hostname":"sim%d"}' \
        "$2" "$2" "$2" "$2" "$2"
}

ov_median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ov_iperf() { # FROM-NAMESPACE SERVER-IP → receiver Mbit/s of a CONN_SECONDS run (one retry), or "-"
    local try
    for try in 1 2; do
        ip netns exec "$1" timeout $((CONN_SECONDS + 20)) iperf3 -c "$2" -p 5201 -t "$CONN_SECONDS" -J >"$work/ov-iperf.json" 2>&1 || true
        python3 -c 'import json,sys; print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
            "$work/ov-iperf.json" 2>/dev/null && return 0
        log "iperf3 $1 -> $2 failed (try $try): $(grep -o '"error":.*' "$work/ov-iperf.json" | head -c 200)"
        sleep 1
    done
    echo "-"
}
ov_iperf_server() { # NAMESPACE
    ip netns exec "$1" iperf3 -s -p 5201 </dev/null >/dev/null 2>&1 &
    LAB_PIDS+=($!)
    local _
    for _ in $(seq 50); do ip netns exec "$1" ss -Htln sport = 5201 | grep -q . && return 0; sleep 0.1; done
    log "iperf3 server in $1 did not start"
}
ov_rtt() { # FROM-NAMESPACE IP → "median avg" in ms of 20 pings 50 ms apart, or "- -"
    ip netns exec "$1" timeout 20 ping -n -c 20 -i 0.05 -W 1 "$2" 2>/dev/null |
        awk -F'time=' '/time=/ { split($2, a, " "); print a[1] }' | sort -n |
        awk '{ v[NR] = $1; s += $1 } END { if (NR == 0) print "- -"; else printf "%.3f %.3f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, s / NR }'
}
ov_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
ov_mib() { awk -v k="$1" 'BEGIN { if (k ~ /^[0-9]+$/) printf "%.1f", k / 1024; else print "-" }'; }

overlay_section() {
    # shellcheck source=tests/overlay-lab.sh
    source "$(dirname "$0")/tests/overlay-lab.sh"
    local mode n round ov subnet t0 peer ok_all
    log "overlay: lab of 4 hosts on one bridge, etcd $(etcd --version 2>/dev/null | awk '/etcd Version/ { print $3 }')"
    lab_underlay
    for n in 1 2 3 4; do lab_host "$n"; done
    lab_etcd
    ov_results=$work/ov-results
    : >"$ov_results"

    log "overlay: underlay host1 -> host2, iperf3 ${CONN_SECONDS} s and 20 pings"
    ov_iperf_server host2
    echo "underlay tput $(ov_iperf host1 "$(lab_host_ip 2)")" >>"$ov_results"
    echo "underlay rtt $(ov_rtt host1 "$(lab_host_ip 2)")" >>"$ov_results"
    echo "underlay mtu $(ip -n host1 -o link show eth0 | grep -o 'mtu [0-9]*' | cut -d' ' -f2)" >>"$ov_results"

    for mode in vxlan host-gw; do
        ov=bench-$mode subnet=10.$([[ $mode == vxlan ]] && echo 151 || echo 152).0.0/16
        log "overlay: $mode ($ov, $subnet): agents on host1-3, a container on each"
        lab_swnet 1 overlay create "$ov" --subnet "$subnet" --mode "$mode" >/dev/null
        for n in 1 2 3; do lab_agent "$n" "$ov"; done
        echo "$mode agent-rss $(ov_rss_kib "$(lab_agent_pid 1)")" >>"$ov_results"
        for n in 1 2 3 4; do lab_container "o$mode$n"; done
        for n in 1 2 3; do lab_attach "$n" "o$mode$n" "$ov" >/dev/null; done
        local server
        server=$(lab_addr "o${mode}2")
        lab_reach "o${mode}1" "$server" 10 >/dev/null || log "overlay $mode: o${mode}1 does not reach $server"
        ov_iperf_server "o${mode}2"
        echo "$mode tput $(ov_iperf "o${mode}1" "$server")" >>"$ov_results"
        echo "$mode rtt $(ov_rtt "o${mode}1" "$server")" >>"$ov_results"
        echo "$mode mtu $(ip -n "o${mode}1" -o link show eth0 | grep -o 'mtu [0-9]*' | cut -d' ' -f2)" >>"$ov_results"
        # What connection tracking costs (swnet's NAT table makes the kernel track every flow):
        # the same path with the hosts' rulesets flushed, then gc puts swnet's table back.
        for n in 1 2 3; do ip netns exec "host$n" nft flush ruleset; done
        echo "$mode tput-untracked $(ov_iperf "o${mode}1" "$server")" >>"$ov_results"
        for n in 1 2 3; do lab_swnet "$n" gc >/dev/null; done

        log "overlay: $mode convergence, $OV_ROUNDS rounds of host4 joining (agent start -> every peer's container reaches host4's)"
        for ((round = 1; round <= OV_ROUNDS; round++)); do
            t0=$(lab_ms)
            if ! lab_agent 4 "$ov"; then log "overlay $mode: host4's agent did not start"; break; fi
            echo "${LAB_AGENT_READY_MS[4]}" >>"$work/ov-$mode-ready"
            local target
            target=$(lab_attach 4 "o${mode}4" "$ov")
            ok_all=1
            for peer in 1 2 3; do
                # Single pings with a 0.1 s timeout, until one is answered (bounded: 10 s).
                local deadline=$(($(lab_ms) + 10000))
                until ip netns exec "o$mode$peer" ping -n -q -c 1 -W 0.1 "$target" >/dev/null 2>&1; do
                    (($(lab_ms) < deadline)) || { ok_all=0; break; }
                done
            done
            if ((ok_all)); then echo $(($(lab_ms) - t0)) >>"$work/ov-$mode-reached"; else log "overlay $mode: round $round: a peer never reached $target"; fi
            lab_swnet 4 detach "o${mode}4" "$ov" >/dev/null
            lab_swnet 4 overlay leave "$ov" >/dev/null
            lab_agent_wait 4 10 || lab_agent_stop 4 || true
            sleep 0.5   # the peers forget host4 before it joins again
        done
        for n in 1 2 3; do lab_swnet "$n" detach "o$mode$n" "$ov" >/dev/null; done
        for n in 1 2 3; do
            lab_swnet "$n" overlay leave "$ov" >/dev/null
            lab_agent_wait "$n" 10 || lab_agent_stop "$n" || true
        done
        lab_swnet 1 overlay rm "$ov" >/dev/null
    done

    log "overlay: an agent's memory and start with 100 simulated peers in etcd"
    ov=bench-mem
    lab_swnet 1 overlay create "$ov" --subnet 10.150.0.0/16 >/dev/null
    local lease
    lease=$(lab_etcdctl lease grant 600 | awk '{ print $2 }')
    for ((n = 1; n <= 100; n++)); do
        lab_etcdctl put --lease="$lease" "$(simulated_peer_key "$ov" "$n")" "$(simulated_peer_json "$ov" "$n")" >/dev/null
    done
    lab_agent 1 "$ov"
    echo "mem ready ${LAB_AGENT_READY_MS[1]}" >>"$ov_results"
    sleep 1   # let it settle before reading its memory
    echo "mem rss $(ov_rss_kib "$(lab_agent_pid 1)")" >>"$ov_results"
    local vx fdb=0
    vx=$(lab_vxlan_dev 1)
    [[ -z $vx ]] || fdb=$(bridge -n host1 fdb show dev "$vx" | awk '/ dst / { n++ } END { print n + 0 }')
    echo "mem fdb $fdb" >>"$ov_results"
    echo "mem hosts $(lab_swnet 1 overlay inspect "$ov" --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["hosts"]))' 2>/dev/null || echo '-')" >>"$ov_results"
    lab_swnet 1 overlay leave "$ov" >/dev/null
    lab_agent_wait 1 10 || lab_agent_stop 1 || true
    lab_etcdctl lease revoke "$lease" >/dev/null
    lab_swnet 1 overlay rm "$ov" >/dev/null || log "overlay rm $ov failed"
    lab_cleanup
}

overlay_markdown() {
    ov_get() { awk -v k="$1 $2" -v i="${3:-1}" 'index($0, k " ") == 1 { n = split(substr($0, length(k) + 2), f, " "); print (i <= n) ? f[i] : "-"; exit }' "$ov_results"; }
    ov_conv() { # MODE KIND → "median (min-max)" of the rounds
        local f=$work/ov-$1-$2
        [[ -s $f ]] || { echo "-"; return; }
        echo "$(ov_median <"$f") ($(sort -n "$f" | head -1)–$(sort -n "$f" | tail -1))"
    }
    cat <<EOF

### Overlays across hosts

Hosts are network namespaces on one Linux bridge (veths, MTU $(ov_get underlay mtu)), etcd in the
bench's namespace; one container (namespace) per host. Throughput: iperf3, $CONN_SECONDS s, receiver
Mbit/s; RTT: 20 pings 50 ms apart, milliseconds.

| path | Mbit/s | RTT median | RTT mean | MTU inside |
|---|---|---|---|---|
| underlay, host1 → host2 (no overlay) | $(ov_get underlay tput) | $(ov_get underlay rtt 1) | $(ov_get underlay rtt 2) | $(ov_get underlay mtu) |
| **VXLAN overlay**, container on host1 → container on host2 | $(ov_get vxlan tput) | $(ov_get vxlan rtt 1) | $(ov_get vxlan rtt 2) | $(ov_get vxlan mtu) |
| **host-gw overlay**, container on host1 → container on host2 | $(ov_get host-gw tput) | $(ov_get host-gw rtt 1) | $(ov_get host-gw rtt 2) | $(ov_get host-gw mtu) |
| VXLAN, hosts' nftables flushed (no connection tracking) | $(ov_get vxlan tput-untracked) | | | |
| host-gw, hosts' nftables flushed (no connection tracking) | $(ov_get host-gw tput-untracked) | | | |

Convergence: host4's agent starts; as soon as it prints "ready" a container is attached on host4;
the containers on host1-3 then ping it (single pings, 0.1 s timeout, in turn) until each got an
answer. Milliseconds from the agent's start, median (min–max) of $OV_ROUNDS join/leave rounds.

| mode | agent start → ready | agent start → reached by every peer |
|---|---|---|
| VXLAN | $(ov_conv vxlan ready) | $(ov_conv vxlan reached) |
| host-gw | $(ov_conv host-gw ready) | $(ov_conv host-gw reached) |

| agent | hosts it sees | VXLAN FDB entries | VmRSS (MiB) | start → ready (ms) |
|---|---|---|---|---|
| 3-host VXLAN overlay (host1) | 3 | 2 | $(ov_mib "$(ov_get vxlan agent-rss)") | |
| 3-host host-gw overlay (host1) | 3 | | $(ov_mib "$(ov_get host-gw agent-rss)") | |
| 100 simulated peers in etcd (\`simulated_peer_json\`) | $(ov_get mem hosts) | $(ov_get mem fdb) | $(ov_mib "$(ov_get mem rss)") | $(ov_get mem ready) |
EOF
}
if [[ $SECTIONS == overlay ]]; then
    overlay_section
    echo "## swnet benchmark, overlays only — $(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) CPUs"
    overlay_markdown
    log "done"
    exit 0
fi

pool=$((4 * N > SCALE ? 4 * N : SCALE))
((CNI_SCALE > pool)) && pool=$CNI_SCALE
log "kernel $(uname -r), $(nproc) CPUs; $("$SWNET" --version 2>&1 | head -1); CNI plugins $(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || echo '?')"
log "N=$N SCALE=$SCALE CNI_SCALE=$CNI_SCALE; creating $pool namespaces (untimed)"
# Namespaces b1..bPOOL, created once before any timing. Every phase leaves the ones it used
# empty again (only lo), so each attach goes into a namespace with nothing else in it.
for ((i = 1; i <= pool; i++)); do
    ip netns add "b$i"
    ip -n "b$i" link set lo up
done

# --- what each tool does -------------------------------------------------------------------
address() { echo "$1.$(($2 / 250)).$(($2 % 250 + 2))/16"; }   # PREFIX INDEX → a host address

cni_conf() { # NAME BRIDGE SUBNET
    cat >"$work/$1.conf" <<EOF
{"cniVersion": "1.0.0", "name": "$1", "type": "bridge", "bridge": "$2",
 "isGateway": true, "ipMasq": false, "hairpinMode": false,
 "ipam": {"type": "host-local", "subnet": "$3", "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$work/cni-$1"}}
EOF
}
cni() { # COMMAND CONF NAMESPACE
    CNI_COMMAND=$1 CNI_CONTAINERID="bench-$3" CNI_NETNS="/run/netns/$3" CNI_IFNAME=eth0 \
        CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <"$work/$2.conf"
}

# The way pipework-style scripts do it: 8 ip commands.
ip8_attach() { # NAMESPACE HOSTIF ADDRESS
    ip link add "$2" type veth peer name "p$2"
    ip link set "p$2" netns "$1"
    ip link set "$2" master ipbr8
    ip link set "$2" up
    ip -n "$1" link set "p$2" name eth0
    ip -n "$1" addr add "$3" dev eth0
    ip -n "$1" link set eth0 up
    ip -n "$1" route add default via 10.66.0.1
}
# The fewest-processes variant: 3 ip commands (the peer is made inside the namespace).
printf 'link set eth0 up\nroute add default via 10.67.0.1\n' >"$work/ip3.batch"
ip3_attach() { # NAMESPACE HOSTIF ADDRESS
    ip link add "$2" up master ipbr3 type veth peer name eth0 netns "$1"
    ip -n "$1" addr add "$3" dev eth0
    ip -n "$1" -batch "$work/ip3.batch"
}
bridge_with_gateway() { # NAME GATEWAY/LEN
    ip link add "$1" type bridge
    ip addr add "$2" dev "$1"
    ip link set "$1" up
}

t=$work/t
# --- 6. publishing (defined here, run after section 5, or alone with SECTIONS=publish) ----------
# attach + 1 published port against CNI bridge + host-local + portmap; then the new-connection
# rate to a published port with 1, PORTS/10 and PORTS other ports published, swnet's maps
# against the same number of linear DNAT rules; then throughput, published vs routed vs socat.
# "Outside" is a namespace po1 on a veth to the bench namespace (192.0.2.0/24), which plays the host.
cni_portmap() { # COMMAND NAMESPACE HOSTPORT [PREVRESULT]
    local prev=${4:+,\"prevResult\":$4}
    printf '{"cniVersion":"1.0.0","name":"pubcni","type":"portmap","snat":true,"capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":%d,"containerPort":80,"protocol":"tcp"}]}%s}' "$3" "$prev" |
        CNI_COMMAND=$1 CNI_CONTAINERID="bench-$2" CNI_NETNS="/run/netns/$2" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/portmap
}
cni_attach_publish() { # NAMESPACE HOSTPORT: bridge + host-local ADD, then portmap ADD with its result
    local result
    result=$(cni ADD pubcni "$1") && cni_portmap ADD "$1" "$2" "$result"
}
swnet_attach_publish() { "$SWNET" attach "$1" pubnet && "$SWNET" publish "$1" "$2:80"; }   # NAMESPACE HOSTPORT
# A sequential TCP client in po1: connect, wait for the server's close, close; prints connections/s.
# It closes with a reset (SO_LINGER 0), so that no TIME_WAIT socket, and no conntrack entry in
# TIME_WAIT for 120 s, piles up from one cell to the next and slows the later ones.
cat >"$work/conn.py" <<'PY'
import socket, struct, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
n, t0 = 0, time.monotonic()
end = t0 + seconds
while True:
    s = socket.create_connection((host, port), timeout=2)
    s.recv(1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    n += 1
    if time.monotonic() >= end:
        break
print("%.0f" % (n / (time.monotonic() - t0)))
PY
conn_rate() { ip netns exec po1 python3 "$work/conn.py" 192.0.2.1 "$1" "$2"; }   # PORT SECONDS
median_of() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
linear_table() { # COUNT: writes the table: COUNT other rules (dport 40000+), the measured one (dport 30000) last
    {
        echo "table ip linear"
        echo "delete table ip linear"
        echo "table ip linear {"
        echo "  chain pre {"
        echo "    type nat hook prerouting priority -110;"
        for ((k = 0; k < $1; k++)); do echo "    tcp dport $((40000 + k)) dnat to $c2addr:80"; done
        echo "    tcp dport 30000 dnat to $c1addr:80"
        echo "  }"
        echo "}"
    } >"$work/linear.nft"
}
# The linear table is loaded only around its own runs: its chain comes first in prerouting, so
# while loaded it would also be walked by every new connection to swnet's port.
linear_rate() { # SECONDS
    nft -f "$work/linear.nft"
    conn_rate 30000 "$1"
    nft delete table ip linear
}
publish_others() { # FROM TO: swnet publish pc2 P:80 for P in 20000+FROM .. 20000+TO-1, 500 specs a call
    local k specs=()
    for ((k = $1; k < $2; k++)); do
        specs+=("$((20000 + k)):80")
        if ((${#specs[@]} == 500 || k == $2 - 1)); then "$SWNET" publish pc2 "${specs[@]}" >/dev/null; specs=(); fi
    done
}
iperf_mbps() { # HOST PORT → receiver Mbit/s of a CONN_SECONDS iperf3 run from po1 (one retry)
    local try
    for try in 1 2; do
        ip netns exec po1 iperf3 -c "$1" -p "$2" -t "$CONN_SECONDS" -J >"$work/iperf.json" 2>&1 || true
        python3 -c 'import json,sys; print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
            "$work/iperf.json" 2>/dev/null && return 0
        log "iperf3 to $1:$2 failed (try $try): $(grep -o '"error":.*' "$work/iperf.json" | head -c 200)"
        sleep 1
    done
    echo "-"
}

publish_section() {
    local i k
    pub_pids=()
    log "publish: swnet attach + publish vs CNI bridge+host-local ADD + portmap ADD ($N rounds)"
    "$SWNET" network create pubnet --subnet 10.81.0.0/16 >/dev/null
    cni_conf pubcni cni2 10.90.0.0/16
    sysctl -qw net.ipv4.ip_forward=1   # in the bench namespace only
    portmap_why=
    if ! iptables --version >/dev/null 2>&1 || ! iptables -t nat -S >/dev/null 2>"$work/portmap.err"; then
        portmap_why="iptables does not work here: $(head -c 200 "$work/portmap.err" | tr '\n' ' ')"
    fi
    # Warm-up (untimed), which also tells whether portmap works here.
    swnet_attach_publish b1 9999 >/dev/null && "$SWNET" detach b1 pubnet >/dev/null
    if [[ -z $portmap_why ]] && ! cni_attach_publish b2 9999 >"$work/portmap.out" 2>&1; then
        portmap_why="portmap ADD failed: $(head -c 300 "$work/portmap.out" | tr '\n' ' ')"
    fi
    if [[ -z $portmap_why ]]; then
        cni_portmap DEL b2 9999 >/dev/null && cni DEL pubcni b2 >/dev/null
    else
        log "portmap: $portmap_why (its row is n/a)"
        cni DEL pubcni b2 >/dev/null 2>&1 || true
    fi
    for ((i = 1; i <= N; i++)); do
        clock "$t/pub-swnet.us" swnet_attach_publish "b$i" "$((10000 + i))"
        [[ -z $portmap_why ]] && clock "$t/pub-cni.us" cni_attach_publish "b$((N + i))" "$((10000 + N + i))"
        ((i % 25 == 0)) && log "  $i/$N attached and published with each tool"
    done
    # Sanity (untimed): swnet lists the port; portmap made its DNAT rules.
    "$SWNET" port b1 | grep -q ":10001$" || { log "swnet port b1 does not show 10001"; exit 1; }
    if [[ -z $portmap_why ]]; then
        pub_cni_rules=$(iptables -t nat -S | grep -c -- '--dport 1[0-9]* .*DNAT' || true)
        log "portmap made $pub_cni_rules DNAT rules for $N containers"
    fi
    for ((i = 1; i <= N; i++)); do
        "$SWNET" detach "b$i" pubnet >/dev/null
        if [[ -z $portmap_why ]]; then
            cni_portmap DEL "b$((N + i))" "$((10000 + N + i))" >/dev/null
            cni DEL pubcni "b$((N + i))" >/dev/null
        fi
    done
    ip link del cni2 2>/dev/null || true
    # Nothing of portmap's may stay in the path of the connection-rate rows.
    for table in "ip nat" "ip filter" "ip mangle"; do nft delete table $table 2>/dev/null || true; done

    log "publish: new connections/s to a published port, swnet maps vs linear DNAT rules (${PUB_SIZES[*]} other ports)"
    ip netns add po1
    ip -n po1 link set lo up
    ip link add pho0 type veth peer name eth0 netns po1
    ip addr add 192.0.2.1/24 dev pho0
    ip link set pho0 up
    ip -n po1 addr add 192.0.2.2/24 dev eth0
    ip -n po1 link set eth0 up
    ip netns exec po1 sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
    # Closed connections leave the (per-namespace) conntrack table after 1 s, not 10 s.
    sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close=1 2>/dev/null || log "could not shorten nf_conntrack_tcp_timeout_close"
    for ns in pc1 pc2; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        "$SWNET" attach "$ns" pubnet >/dev/null
    done
    c1addr=$(ip -n pc1 -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')
    c2addr=$(ip -n pc2 -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')
    ip -n po1 route add 10.81.0.0/16 via 192.0.2.1   # for the routed throughput row only
    ip netns exec pc1 python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 80))
s.listen(4096)
while True:
    c, _ = s.accept()
    c.close()' &
    pub_pids+=($!)
    "$SWNET" publish pc1 8080:80 >/dev/null
    local have=0
    for size in "${PUB_SIZES[@]}"; do
        publish_others "$have" "$size"
        have=$size
        linear_table "$size"
        local published
        published=$("$SWNET" port pc2 | wc -l)
        ((published == size)) || { log "swnet port pc2 lists $published ports, expected $size"; exit 1; }
        # Reachability (untimed): both paths answer before anything is measured.
        conn_rate 8080 0.2 >/dev/null || { log "no connection through swnet's published port 8080"; exit 1; }
        linear_rate 0.2 >/dev/null || { log "no connection through the linear rule on 30000"; exit 1; }
        for ((r = 1; r <= CONN_SECONDS; r++)); do   # 1-second runs, the two interleaved
            conn_rate 8080 1 >>"$t/conn-swnet-$size"
            linear_rate 1 >>"$t/conn-linear-$size"
        done
        log "  $size other ports: swnet $(median_of <"$t/conn-swnet-$size")/s, linear $(median_of <"$t/conn-linear-$size")/s"
    done

    pub_tput=0
    if command -v iperf3 >/dev/null; then
        pub_tput=1
        log "publish: iperf3 throughput, published port vs routed vs socat proxy (${CONN_SECONDS} s each)"
        ip netns exec pc1 iperf3 -s -p 5201 >/dev/null 2>&1 &
        pub_pids+=($!)
        "$SWNET" publish pc1 15201:5201 >/dev/null
        socat TCP-LISTEN:61201,fork,reuseaddr "TCP:$c1addr:5201" 2>/dev/null &
        pub_pids+=($!)
        sleep 0.3
        for ((r = 1; r <= 2; r++)); do
            iperf_mbps 192.0.2.1 15201 >>"$t/tput-published"
            iperf_mbps "$c1addr" 5201 >>"$t/tput-routed"
            iperf_mbps 192.0.2.1 61201 >>"$t/tput-socat"
        done
    fi
    local pid
    for pid in "${pub_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait "${pub_pids[@]}" 2>/dev/null || true
    for ns in pc1 pc2; do "$SWNET" detach "$ns" pubnet >/dev/null; ip netns del "$ns"; done
    ip link del pho0
    ip netns del po1
    "$SWNET" network rm pubnet >/dev/null
}

publish_markdown() {
    local cni_med=n/a cni_p90="" cni_n=0 ratio_ap=n/a v_ap="n/a ($portmap_why)"
    if [[ -z $portmap_why ]]; then
        read -r cni_med cni_p90 _ _ _ cni_n < <(stats "$t/pub-cni.us")
        ratio_ap=$(ratio "$(field "$t/pub-swnet.us" 1)" "$cni_med")
        v_ap=$(verdict "$ratio_ap" 0.2)
    fi
    local small=${PUB_SIZES[0]} big=${PUB_SIZES[-1]} size rows="" s l
    for size in "${PUB_SIZES[@]}"; do
        s=$(median_of <"$t/conn-swnet-$size")
        l=$(median_of <"$t/conn-linear-$size")
        rows+="| $size | $s | $l | $(ratio "$s" "$l") |"$'\n'
    done
    local sw_small sw_big li_small li_big
    sw_small=$(median_of <"$t/conn-swnet-$small"); sw_big=$(median_of <"$t/conn-swnet-$big")
    li_small=$(median_of <"$t/conn-linear-$small"); li_big=$(median_of <"$t/conn-linear-$big")
    local r_sw r_li
    r_sw=$(ratio "$sw_big" "$sw_small"); r_li=$(ratio "$li_big" "$li_small")
    atleast() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "-" && r >= t) ? "met" : "**missed**" }'; }
    cat <<EOF

### Publishing

attach + 1 published port, N=$N each, interleaved round by round; milliseconds.

| operation | median | p90 | ops | notes |
|---|---|---|---|---|
$(row '**`swnet attach` + `swnet publish B HOSTPORT:80`**' "$t/pub-swnet.us" 'two processes; the port is one element in swnet'\''s maps')
| CNI bridge + host-local ADD, then portmap ADD | $cni_med | $cni_p90 | $cni_n | portmap gets the bridge's result as prevResult; snat: true; iptables ($(iptables --version 2>/dev/null | awk '{print $2, $3}')) |

New TCP connections per second from an outside namespace (veth, 192.0.2.2 → 192.0.2.1) to a
port published to a container (python3 accept-and-close server), with that many *other* ports
published; sequential connect + wait for the server's close + close, python3 client; median of
$CONN_SECONDS one-second runs per cell, the two columns interleaved.

| other ports | swnet maps (conn/s) | linear DNAT rules, measured rule last (conn/s) | swnet / linear |
|---|---|---|---|
${rows%$'\n'}
EOF
    if ((pub_tput)); then
        cat <<EOF

Throughput from the outside namespace to an iperf3 server in the container, $CONN_SECONDS s per run,
2 runs each interleaved (median = mean of the two); Mbit/s received.

| path | Mbit/s | runs |
|---|---|---|
| **published port** (192.0.2.1:15201 → container:5201, swnet DNAT) | $(median_of <"$t/tput-published") | $(paste -sd/ "$t/tput-published") |
| routed to the container address (no NAT) | $(median_of <"$t/tput-routed") | $(paste -sd/ "$t/tput-routed") |
| socat userland proxy on the host (docker-proxy stand-in) | $(median_of <"$t/tput-socat") | $(paste -sd/ "$t/tput-socat") |
EOF
    fi
    local r_tp="-" v_tp="n/a (no iperf3)"
    if ((pub_tput)); then
        r_tp=$(ratio "$(median_of <"$t/tput-published")" "$(median_of <"$t/tput-routed")")
        v_tp=$(atleast "$r_tp" 0.95)
    fi
    cat <<EOF

| ratio | value | target | |
|---|---|---|---|
| swnet attach+publish / CNI bridge+host-local+portmap (medians) | $ratio_ap | ≤ 0.20 | $v_ap |
| conn/s at $big / at $small other ports, swnet maps | $r_sw | ≥ 0.95 | $(atleast "$r_sw" 0.95) |
| conn/s at $big / at $small other ports, linear DNAT rules | $r_li | (comparison, no target) | |
| published-port throughput / routed | $r_tp | ≥ 0.95 | $v_tp |
EOF
}
PUB_SIZES=(1 $((PORTS / 10)) "$PORTS")
if [[ $SECTIONS == publish ]]; then
    publish_section
    echo "## swnet benchmark, publishing only — $(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) CPUs"
    row() { # LABEL FILE NOTE
        read -r med p90 _ _ _ count < <(stats "$2")
        echo "| $1 | $med | $p90 | $count | $3 |"
    }
    publish_markdown
    log "done"
    exit 0
fi

# --- 1. process start ------------------------------------------------------------------------
log "process start: /bin/true, swnet --version, swnet-bench noop ($N each, interleaved)"
for ((i = 1; i <= N; i++)); do
    clock "$t/true.us" /bin/true
    clock "$t/version.us" "$SWNET" --version
    clock "$t/noop.us" "$SWNET_BENCH" noop
done
hyperfine_median() { # COMMAND → median ms by hyperfine (no shell)
    hyperfine -N --style none --warmup 10 --runs "$N" --export-json "$work/hf.json" "$1" >/dev/null 2>&1 &&
        python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$work/hf.json" ||
        echo "-"
}
hf_true=$(hyperfine_median /bin/true)
hf_version=$(hyperfine_median "$SWNET --version")

# --- 2. attach and detach, N each, the tools interleaved --------------------------------------
log "attach/detach: swnet, CNI bridge+host-local, 8 ip commands, 3 ip commands ($N rounds)"
"$SWNET" network create bench --subnet 10.77.0.0/16 >/dev/null
cni_conf benchcni cni0 10.88.0.0/16
bridge_with_gateway ipbr8 10.66.0.1/16
bridge_with_gateway ipbr3 10.67.0.1/16
# Warm-up (untimed): one of each, so that no tool pays for a cold page cache or for creating
# its bridge inside the timed region.
"$SWNET" attach b1 bench >/dev/null && "$SWNET" detach b1 bench >/dev/null
cni ADD benchcni b2 >/dev/null && cni DEL benchcni b2 >/dev/null
ip8_attach b3 w8 "$(address 10.66 0)" && ip link del w8
ip3_attach b4 w3 "$(address 10.67 0)" && ip link del w3
for ((i = 1; i <= N; i++)); do
    clock "$t/swnet-attach.us" "$SWNET" attach "b$i" bench
    clock "$t/cni-add.us" cni ADD benchcni "b$((N + i))"
    clock "$t/ip8-attach.us" ip8_attach "b$((2 * N + i))" "i8h$i" "$(address 10.66 "$i")"
    clock "$t/ip3-attach.us" ip3_attach "b$((3 * N + i))" "i3h$i" "$(address 10.67 "$i")"
    ((i % 25 == 0)) && log "  $i/$N attached with each tool"
done
# A sanity check that everybody did the same work: an address and a default route inside.
for ns in b1 "b$((N + 1))" "b$((2 * N + 1))" "b$((3 * N + 1))"; do
    ip -n "$ns" -4 -o addr show dev eth0 | grep -q inet || { log "no address in $ns"; exit 1; }
    ip -n "$ns" route show default | grep -q via || { log "no default route in $ns"; exit 1; }
done
for ((i = 1; i <= N; i++)); do
    clock "$t/swnet-detach.us" "$SWNET" detach "b$i" bench
    clock "$t/cni-del.us" cni DEL benchcni "b$((N + i))"
    clock "$t/ip-link-del.us" ip link del "i8h$i"
    ((i % 25 == 0)) && log "  $i/$N detached with each tool"
done
# The kernel floor without any process start: one RTM_DELLINK per bridged veth, in one process.
links=()
for ((i = 1; i <= N; i++)); do links+=("i3h$i"); done
"$SWNET_BENCH" delete-links "${links[@]}" >"$work/dellink.out"
split_library "$work/dellink.out" "$t"
"$SWNET" network rm bench >/dev/null
ip link del ipbr8 && ip link del ipbr3 && ip link del cni0

# --- 3. scaling through the CLI ---------------------------------------------------------------
log "scaling: $SCALE sequential swnet attaches on one /16"
"$SWNET" network create scale --subnet 10.78.0.0/16 >/dev/null
for ((i = 1; i <= SCALE; i++)); do
    clock "$t/swnet-scale.us" "$SWNET" attach "b$i" scale
    ((i % (SCALE / 10 > 0 ? SCALE / 10 : 1) == 0)) && log "  $i/$SCALE"
done
((scale_links = SCALE + 1))
log "swnet network rm --force scale ($SCALE veths + bridge)"
clock "$t/swnet-rm-force.us" "$SWNET" network rm --force scale
leftover=$(ip -o link show | grep -vc ': lo:' || true)
((leftover == 0)) || { log "links left after network rm --force: $(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')"; }

if ((CNI_SCALE > 0)); then
    log "scaling: $CNI_SCALE sequential CNI ADDs on one /16 (then DEL each)"
    cni_conf scalecni cni1 10.89.0.0/16
    cni ADD scalecni "b$pool" >/dev/null && cni DEL scalecni "b$pool" >/dev/null   # warm-up
    for ((i = 1; i <= CNI_SCALE; i++)); do
        clock "$t/cni-scale.us" cni ADD scalecni "b$i"
        ((i % (CNI_SCALE / 10 > 0 ? CNI_SCALE / 10 : 1) == 0)) && log "  $i/$CNI_SCALE"
    done
    for ((i = 1; i <= CNI_SCALE; i++)); do cni DEL scalecni "b$i" >/dev/null; done
    ip link del cni1 2>/dev/null || true
fi

# The kernel's side of the same growth: the 3-command iproute2 attach, SCALE times on one /16.
log "scaling: $SCALE sequential 3-command iproute2 attaches on one /16 (the kernel's share)"
bridge_with_gateway ipbr3 10.67.0.1/16
for ((i = 1; i <= SCALE; i++)); do
    clock "$t/ip3-scale.us" ip3_attach "b$i" "s3h$i" "$(address 10.67 "$i")"
    ((i % (SCALE / 10 > 0 ? SCALE / 10 : 1) == 0)) && log "  $i/$SCALE"
done
for ((i = 1; i <= SCALE; i++)); do echo "link set dev s3h$i group 4242"; done >"$work/group.batch"
ip -batch "$work/group.batch"
ip link del group 4242
ip link del ipbr3

# --- 4. the library in one process ------------------------------------------------------------
log "library: $SCALE attaches in one process, then $N detaches, then removeNetworks(force:) of the rest"
"$SWNET_BENCH" attach --root /run/swnet-bench-library --network lib --subnet 10.79.0.0/16 --targets /run/netns/b \
    --count "$SCALE" --detach "$N" --remove >"$work/library.out"
split_library "$work/library.out" "$t"
head -n "$N" "$t/lib-attach.us" >"$t/lib-attach-first.us"
lib_remove_links=$(awk '$1 == "remove" { print $2 }' "$work/library.out")
lib_remove_us=$(awk '$1 == "remove" { print $3 }' "$work/library.out")

# --- 5. swnet run: against unshare(1) and runc, N each, interleaved -----------------------------
# Last, so that the network namespaces these runs create and drop (the kernel tears them down
# asynchronously, in a worker) cannot overlap the rows above.
log "run: swnet run --rm, unshare(1), runc run, swnet run --rm --network ($N rounds)"
# runc's minimal bundle: `runc spec` (pid, network, ipc, uts and mount namespaces, read-only
# root), a busybox-static rootfs, /bin/true as the process, no terminal.
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["process"]["terminal"] = False
config["process"]["args"] = ["/bin/true"]
json.dump(config, open(path, "w"), indent=2)
PY
mkdir -p "$runc_root"
runc_true() { runc --root "$runc_root" run --bundle "$bundle" "$1"; }   # CONTAINER-ID
unshare_true() { unshare --fork --pid --net --mount --uts --ipc --mount-proc /bin/true; }
"$SWNET" network create runnet --subnet 10.80.0.0/16 >/dev/null
# A sanity check (untimed) that the --network container sees its interface when it starts.
inside=$("$SWNET" run --rm --network runnet -- ip -4 -o addr show dev eth0)
[[ $inside == *" inet 10.80."* ]] || { log "swnet run --network: no address on eth0 inside ($inside)"; exit 1; }
# Warm-up (untimed): one of each.
"$SWNET" run --rm -- /bin/true
unshare_true
runc_true swnet-bench-warm-up
"$SWNET" run --rm --network runnet -- /bin/true
for ((i = 1; i <= N; i++)); do
    clock "$t/run-plain.us" "$SWNET" run --rm -- /bin/true
    clock "$t/unshare.us" unshare_true
    clock "$t/runc.us" runc_true "swnet-bench-$i"
    clock "$t/run-net.us" "$SWNET" run --rm --network runnet -- /bin/true
    ((i % 25 == 0)) && log "  $i/$N runs with each tool"
done
# Nothing may stay behind: no swnet container record (--rm), no runc container.
leftover_containers=$("$SWNET" ps -a -q)
[[ -z $leftover_containers ]] || { log "swnet run --rm left containers: $leftover_containers"; exit 1; }
leftover_runc=$(runc --root "$runc_root" list -q)
[[ -z $leftover_runc ]] || log "runc left containers (deleting them): $leftover_runc"
delete_runc_leftovers
"$SWNET" network rm runnet >/dev/null

# --- 6. publishing (see publish_section above) --------------------------------------------------
publish_section

# --- 7. overlays (see overlay_section above) --------------------------------------------------
overlay_section

# --- the table ---------------------------------------------------------------------------------
row() { # LABEL FILE NOTE
    read -r med p90 _ _ _ count < <(stats "$2")
    echo "| $1 | $med | $p90 | $count | $3 |"
}
scale_row() { # LABEL FILE
    read -r med _ mean first last count < <(stats "$2")
    echo "| $1 | $count | $med | $first | $last | $(awk -v a="$first" -v b="$last" 'BEGIN { printf "%+.2f", b - a }') | $(ratio "$last" "$first") |"
}
attach_ratio=$(ratio "$(field "$t/swnet-attach.us" 1)" "$(field "$t/cni-add.us" 1)")
detach_ratio=$(ratio "$(field "$t/swnet-detach.us" 1)" "$(field "$t/ip-link-del.us" 1)")
detach_ratio_nl=$(ratio "$(field "$t/swnet-detach.us" 1)" "$(field "$t/lib-dellink.us" 1)")
lib_detach_ratio=$(ratio "$(field "$t/lib-detach.us" 1)" "$(field "$t/lib-dellink.us" 1)")
scale_ratio=$(ratio "$(field "$t/swnet-scale.us" 5)" "$(field "$t/swnet-scale.us" 4)")
lib_scale_ratio=$(ratio "$(field "$t/lib-attach.us" 5)" "$(field "$t/lib-attach.us" 4)")
rm_ms=$(awk '{ printf "%.1f", $1 / 1000 }' "$t/swnet-rm-force.us")
rm_each=$(awk -v n="$scale_links" '{ printf "%.2f", $1 / 1000 / n }' "$t/swnet-rm-force.us")
lib_rm_ms=$(awk -v u="$lib_remove_us" 'BEGIN { printf "%.1f", u / 1000 }')
lib_rm_each=$(awk -v u="$lib_remove_us" -v n="$lib_remove_links" 'BEGIN { printf "%.2f", u / 1000 / n }')
run_plain=$(field "$t/run-plain.us" 1)
run_net=$(field "$t/run-net.us" 1)
attach_med=$(field "$t/swnet-attach.us" 1)
run_unshare_ratio=$(ratio "$run_plain" "$(field "$t/unshare.us" 1)")
run_runc_ratio=$(ratio "$run_plain" "$(field "$t/runc.us" 1)")
run_net_budget=$(awk -v a="$run_plain" -v b="$attach_med" 'BEGIN { printf "%.2f", a + b }')
run_net_verdict=$(awk -v v="$run_net" -v b="$run_net_budget" 'BEGIN { print (v <= b) ? "met" : "**missed**" }')
run_net_extra=$(awk -v a="$run_net" -v b="$run_plain" 'BEGIN { printf "%.2f", a - b }')

scale_rows=$(scale_row 'swnet attach (CLI)' "$t/swnet-scale.us")
((CNI_SCALE > 0)) && scale_rows+=$'\n'$(scale_row 'CNI bridge + host-local ADD' "$t/cni-scale.us")
scale_rows+=$'\n'$(scale_row 'iproute2, 3 `ip` commands' "$t/ip3-scale.us")
scale_rows+=$'\n'$(scale_row 'swnet attach (library, 1 process)' "$t/lib-attach.us")

cat <<EOF
## swnet benchmark — $(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) CPUs

N=$N sequential operations per row unless noted; wall time of one call measured with bash's
\$EPOCHREALTIME (process start included, except the library rows); milliseconds.

| operation | median | p90 | ops | notes |
|---|---|---|---|---|
$(row '`/bin/true`' "$t/true.us" "process start floor (hyperfine -N: $hf_true)")
$(row '`swnet --version`' "$t/version.us" "swnet's process start (hyperfine -N: $hf_version)")
$(row '`swnet-bench noop`' "$t/noop.us" "start of a binary linking SwnetCore")
$(row '**swnet attach** (CLI)' "$t/swnet-attach.us" 'veth, bridge port, address, default route, 1 gratuitous ARP')
$(row 'CNI bridge + host-local ADD' "$t/cni-add.us" 'isGateway, default route, dataDir under a temp dir')
$(row 'iproute2, 8 `ip` commands' "$t/ip8-attach.us" 'add veth, netns, master, up, rename, addr, up, route')
$(row 'iproute2, 3 `ip` commands' "$t/ip3-attach.us" 'peer made in the netns; addr; -batch up + route')
$(row 'swnet attach (library, 1 process)' "$t/lib-attach-first.us" "the first $N of the $SCALE library attaches")
$(row '**swnet detach** (CLI)' "$t/swnet-detach.us" 'delete the pair, release the address')
$(row 'CNI bridge + host-local DEL' "$t/cni-del.us" '')
$(row '`ip link del` one bridged veth' "$t/ip-link-del.us" 'kernel floor for detach, with a process start')
$(row 'one RTM_DELLINK (in-process)' "$t/lib-dellink.us" 'kernel floor without process start (swnet-bench delete-links)')
$(row 'swnet detach (library, 1 process)' "$t/lib-detach.us" "first $N of the $SCALE library attaches")
| \`swnet network rm --force\`, $SCALE attachments | $rm_ms | | 1 | $scale_links links in one request: $rm_each per link |
| \`removeNetworks(force: true)\` (library) | $lib_rm_ms | | 1 | $lib_remove_links links in one request: $lib_rm_each per link |

### swnet run: a container running \`/bin/true\`, N=$N each, interleaved round by round

| operation | median | p90 | ops | notes |
|---|---|---|---|---|
$(row '**`swnet run --rm -- /bin/true`**' "$t/run-plain.us" 'new net, pid, mount, uts, ipc namespaces; init mounts /proc, lo up; record removed')
$(row '`unshare --fork --pid --net --mount --uts --ipc --mount-proc /bin/true`' "$t/unshare.us" 'util-linux unshare(1), the same namespaces')
$(row '`runc run`, busybox-static bundle' "$t/runc.us" '`runc spec` defaults (pid, network, ipc, uts, mount), args /bin/true, no terminal')
$(row '**`swnet run --rm --network N -- /bin/true`**' "$t/run-net.us" 'plus an attach to a /16 network before the command starts')
$(row 'swnet attach (CLI), from the attach rows' "$t/swnet-attach.us" 'for the run --network target')

### Scaling: sequential attaches on one /16 network (mean of the first 10 vs the last 10)

| what | attaches | median | first 10 | last 10 | last − first | last/first |
|---|---|---|---|---|---|---|
$scale_rows

### Targets

| ratio | value | target | |
|---|---|---|---|
| swnet attach / CNI ADD (medians) | $attach_ratio | ≤ 0.33 | $(verdict "$attach_ratio" 0.33) |
| swnet detach / \`ip link del\` (medians) | $detach_ratio | ≤ 1.2 | $(verdict "$detach_ratio" 1.2) |
| swnet attach last 10 / first 10 at $SCALE (CLI) | $scale_ratio | ≤ 1.15 | $(verdict "$scale_ratio" 1.15) |
| swnet attach last 10 / first 10 at $SCALE (library) | $lib_scale_ratio | ≤ 1.15 | $(verdict "$lib_scale_ratio" 1.15) |
| swnet run / unshare(1) (medians) | $run_unshare_ratio | ≤ 1.5 | $(verdict "$run_unshare_ratio" 1.5) |
| swnet run --network vs swnet run + swnet attach (medians) | $run_net vs $run_plain + $attach_med = $run_net_budget | ≤ run + attach | $run_net_verdict |
| swnet run / runc run (medians) | $run_runc_ratio | (information) | |
| swnet run --network − swnet run (medians) | $run_net_extra | (information) | |
| swnet detach (CLI) / one RTM_DELLINK | $detach_ratio_nl | (information) | |
| swnet detach (library) / one RTM_DELLINK | $lib_detach_ratio | (information) | |
EOF
publish_markdown
overlay_markdown
log "done"
