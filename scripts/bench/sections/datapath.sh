# shellcheck shell=bash
# Data path: what the eBPF fast path gives container traffic.
# - Same host: against a bare veth pair between two namespaces (the floor: one veth crossing)
#   and against the bridge path (attach --no-fast-path: veth, bridge, veth, with swnet's
#   nftables table loaded so the kernel tracks connections, as on any swnet host).
# - Across hosts (overlay-lab.sh: host1 and host2 are namespaces on one bridge, etcd here): a
#   VXLAN and a host-gw overlay, container on host1 to container on host2, with and without the
#   fast path (two pairs of containers on the same overlay), against the underlay host1 → host2.
#   DATAPATH_IPV6=1: the VXLAN overlay is dual stack and its pairs are measured over IPv6 too.
# TCP throughput with iperf3, one stream and four, CONN_SECONDS s per run, DATAPATH_ROUNDS
# rounds with the paths interleaved in each (the machine is shared and noisy: compare within
# one run); RTT from 20 pings 20 ms apart.
# Section contract: scripts/bench/lib.sh (sample, target); runs inside the driver's throwaway
# namespace, uses $SWNET and $BENCH_WORK.

datapath_rounds=${DATAPATH_ROUNDS:-3}
datapath_seconds=${CONN_SECONDS:-3}

# datapath_iperf FROM_NS TO_ADDRESS STREAMS: receiver Gbit/s, or "-" when the run failed.
datapath_iperf() {
    ip netns exec "$1" iperf3 -J -c "$2" -t "$datapath_seconds" -P "$3" 2>/dev/null |
        python3 -c 'import json, sys
try: print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9, 3))
except Exception: print("-")'
}

# datapath_rtt FROM_NS TO_ADDRESS TOOL METRIC: one sample per ping reply, in µs.
datapath_rtt() {
    local tool=$3 metric=$4
    ip netns exec "$1" ping -c 20 -i 0.02 "$2" 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' |
        while read -r ms; do sample datapath "$metric" "$tool" us "$(python3 -c "print(round($ms * 1000, 1))")"; done
}

# datapath_measure SECTION-PREFIX TOOL...: the rounds over the tools named in the associative
# arrays client, server address (set by the caller), then RTT; servers must run.
datapath_measure() {
    local prefix=$1 round streams tool
    shift
    for ((round = 1; round <= datapath_rounds; round++)); do
        for streams in 1 4; do
            for tool in "$@"; do
                log "datapath: round $round, $tool, $streams stream(s)"
                sample datapath "${prefix}tcp_${streams}stream" "$tool" Gbit/s "$(datapath_iperf "${client[$tool]}" "${address[$tool]}" "$streams")"
            done
        done
    done
    for tool in "$@"; do datapath_rtt "${client[$tool]}" "${address[$tool]}" "$tool" "${prefix}rtt"; done
}

datapath_same_host() {
    # The floor: two namespaces on one veth pair.
    ip netns add dpva && ip netns add dpvb
    ip link add veth0 netns dpva type veth peer name veth0 netns dpvb
    ip -n dpva addr add 10.199.0.1/24 dev veth0 && ip -n dpva link set veth0 up && ip -n dpva link set lo up
    ip -n dpvb addr add 10.199.0.2/24 dev veth0 && ip -n dpvb link set veth0 up && ip -n dpvb link set lo up

    # Containers on swnet networks: two on the fast path, two on the bridge.
    "$SWNET" network create dpfast --subnet 10.198.0.0/24 >/dev/null
    "$SWNET" network create dpbridge --subnet 10.197.0.0/24 >/dev/null
    local name
    for name in dpf1 dpf2 dpb1 dpb2; do ip netns add "$name" && ip -n "$name" link set lo up; done
    "$SWNET" attach dpf1 dpfast 10.198.0.2/24 >/dev/null
    "$SWNET" attach dpf2 dpfast 10.198.0.3/24 >/dev/null
    "$SWNET" attach --no-fast-path dpb1 dpbridge 10.197.0.2/24 >/dev/null
    "$SWNET" attach --no-fast-path dpb2 dpbridge 10.197.0.3/24 >/dev/null
    local path
    path=$("$SWNET" network inspect dpfast --json | python3 -c 'import json, sys; print(" ".join(a["dataPath"] for a in json.load(sys.stdin)["attachments"]))')
    log "datapath: dpfast attachments take: $path"
    [[ $path == "fast-path fast-path" ]] || log "datapath: the fast path is not in use; the fast-path rows measure the bridge"

    local -A server=([veth]=dpvb [fast-path]=dpf2 [bridge]=dpb2)
    local -A client=([veth]=dpva [fast-path]=dpf1 [bridge]=dpb1)
    local -A address=([veth]=10.199.0.2 [fast-path]=10.198.0.3 [bridge]=10.197.0.3)
    local pids=() tool
    for tool in veth fast-path bridge; do
        ip netns exec "${server[$tool]}" iperf3 -s >/dev/null 2>&1 &
        pids+=($!)
    done
    sleep 0.5
    datapath_measure "" veth fast-path bridge
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    local redirected
    redirected=$("$SWNET" network inspect dpfast --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["fastPath"]["redirectedPackets"])')
    log "datapath: the fast path redirected $redirected packets"

    "$SWNET" network rm --force dpfast dpbridge >/dev/null
    for name in dpva dpvb dpf1 dpf2 dpb1 dpb2; do ip netns del "$name"; done

    # Throughput: higher is better, so the targets are floor / fast path <= 1/0.95.
    target datapath "bare veth / same-host fast path, TCP 1 stream (fast path >= 0.95 of veth)" tcp_1stream veth tcp_1stream fast-path 1.053
    target datapath "bare veth / same-host fast path, TCP 4 streams (fast path >= 0.95 of veth)" tcp_4stream veth tcp_4stream fast-path 1.053
    target datapath "bridge / fast path, TCP 1 stream" tcp_1stream bridge tcp_1stream fast-path -
    target datapath "bridge / fast path, TCP 4 streams" tcp_4stream bridge tcp_4stream fast-path -
    target datapath "RTT fast path / bare veth" rtt fast-path rtt veth -
    target datapath "RTT bridge / bare veth" rtt bridge rtt veth -
}

datapath_overlays() {
    # shellcheck source=../../tests/overlay-lab.sh
    source "$BENCH_LIB/../tests/overlay-lab.sh"
    # One agent per host: the VXLAN overlay on host1 and host2, the host-gw one on host3 and host4.
    lab_underlay && lab_host 1 && lab_host 2 && lab_host 3 && lab_host 4 && lab_etcd ||
        { log "datapath: the overlay lab did not start"; return 0; }
    local -A server=([underlay]=host2) client=([underlay]=host1) address=([underlay]=$(lab_host_ip 2))
    local mode ov n first tools=(underlay)
    for mode in vxlan host-gw; do
        ov=dp-$mode first=$([[ $mode == vxlan ]] && echo 1 || echo 3)
        local ipv6=()
        [[ $mode == vxlan && ${DATAPATH_IPV6:-} == 1 ]] && ipv6=(--subnet fd16:1::/48)
        lab_swnet "$first" overlay create "$ov" --subnet "10.$([[ $mode == vxlan ]] && echo 161 || echo 162).0.0/16" --mode "$mode" \
            "${ipv6[@]}" >/dev/null
        for n in $first $((first + 1)); do lab_agent "$n" "$ov" || return 0; done
        for n in 1 2; do lab_container "dp${mode}f$n"; lab_container "dp${mode}b$n"; done
        for n in 1 2; do
            lab_attach $((first + n - 1)) "dp${mode}f$n" "$ov" >/dev/null
            lab_attach $((first + n - 1)) "dp${mode}b$n" "$ov" --no-fast-path >/dev/null
        done
        server[$mode-fast-path]=dp${mode}f2 client[$mode-fast-path]=dp${mode}f1 address[$mode-fast-path]=$(lab_addr "dp${mode}f2")
        server[$mode-bridge]=dp${mode}b2 client[$mode-bridge]=dp${mode}b1 address[$mode-bridge]=$(lab_addr "dp${mode}b2")
        tools+=("$mode-fast-path" "$mode-bridge")
        if ((${#ipv6[@]})); then
            local kind
            for kind in fast-path bridge; do
                server[${mode}6-$kind]=${server[$mode-$kind]} client[${mode}6-$kind]=${client[$mode-$kind]}
                address[${mode}6-$kind]=$(ip -n "${server[$mode-$kind]}" -6 -o addr show dev eth0 scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
                tools+=("${mode}6-$kind")
            done
        fi
        lab_reach "dp${mode}f1" "${address[$mode-fast-path]}" 10 >/dev/null || log "datapath: $mode: the fast path pair does not reach"
        lab_reach "dp${mode}b1" "${address[$mode-bridge]}" 10 >/dev/null || log "datapath: $mode: the bridge pair does not reach"
    done
    local tool
    # One server per namespace (an IPv6 pair shares its IPv4 pair's); iperf3 -s takes both families.
    for tool in "${tools[@]}"; do
        [[ $tool != *6-* ]] || continue
        ip netns exec "${server[$tool]}" iperf3 -s >/dev/null 2>&1 &
        LAB_PIDS+=($!)
    done
    sleep 0.5
    datapath_measure overlay_ "${tools[@]}"
    for n in 1 2 3 4; do
        ov=dp-$( ((n <= 2)) && echo vxlan || echo host-gw)
        log "datapath: host$n $ov fast path: $(lab_swnet "$n" network inspect "$ov" --json |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["fastPath"])')"
    done
    # lab_cleanup (on exit) stops the agents, servers and namespaces.

    local streams
    for streams in 1 4; do
        target datapath "underlay / VXLAN fast path, TCP $streams stream(s) (>= 0.85)" "overlay_tcp_${streams}stream" underlay "overlay_tcp_${streams}stream" vxlan-fast-path 1.176
        target datapath "underlay / host-gw fast path, TCP $streams stream(s) (>= 0.95)" "overlay_tcp_${streams}stream" underlay "overlay_tcp_${streams}stream" host-gw-fast-path 1.053
        target datapath "underlay / VXLAN without fast path, TCP $streams stream(s)" "overlay_tcp_${streams}stream" underlay "overlay_tcp_${streams}stream" vxlan-bridge -
        target datapath "underlay / host-gw without fast path, TCP $streams stream(s)" "overlay_tcp_${streams}stream" underlay "overlay_tcp_${streams}stream" host-gw-bridge -
    done
    target datapath "RTT VXLAN fast path / underlay" overlay_rtt vxlan-fast-path overlay_rtt underlay -
    target datapath "RTT VXLAN without fast path / underlay" overlay_rtt vxlan-bridge overlay_rtt underlay -
    target datapath "RTT host-gw fast path / underlay" overlay_rtt host-gw-fast-path overlay_rtt underlay -
    if [[ ${DATAPATH_IPV6:-} == 1 ]]; then
        for streams in 1 4; do
            target datapath "VXLAN fast path, IPv6 / IPv4 throughput, TCP $streams stream(s)" "overlay_tcp_${streams}stream" vxlan6-fast-path "overlay_tcp_${streams}stream" vxlan-fast-path -
            target datapath "VXLAN without fast path, IPv6 / IPv4 throughput, TCP $streams stream(s)" "overlay_tcp_${streams}stream" vxlan6-bridge "overlay_tcp_${streams}stream" vxlan-bridge -
            target datapath "underlay / VXLAN IPv6 fast path, TCP $streams stream(s)" "overlay_tcp_${streams}stream" underlay "overlay_tcp_${streams}stream" vxlan6-fast-path -
        done
    fi
}

datapath_same_host
datapath_overlays
