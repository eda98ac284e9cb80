# shellcheck shell=bash
# Data path: what the eBPF fast path gives same-host container-to-container traffic, against a
# bare veth pair between two namespaces (the floor: one veth crossing) and against the bridge
# path (swnet --no-fast-path: veth, bridge, veth, with swnet's nftables table loaded so the
# kernel tracks connections, as on any swnet host). TCP throughput with iperf3, one stream and
# four, CONN_SECONDS s per run, DATAPATH_ROUNDS rounds with the three paths interleaved in each
# (the machine is shared and noisy: compare within one run); RTT from 20 pings 20 ms apart.
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

# datapath_rtt FROM_NS TO_ADDRESS: one sample per ping reply, in µs.
datapath_rtt() {
    local tool=$3
    ip netns exec "$1" ping -c 20 -i 0.02 "$2" 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' |
        while read -r ms; do sample datapath rtt "$tool" us "$(python3 -c "print(round($ms * 1000, 1))")"; done
}

datapath_section() {
    "$BENCH_LIB/../setup.sh" iperf3 >/dev/null
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
    local round streams
    for ((round = 1; round <= datapath_rounds; round++)); do
        for streams in 1 4; do
            for tool in veth fast-path bridge; do
                log "datapath: round $round, $tool, $streams stream(s)"
                sample datapath "tcp_${streams}stream" "$tool" Gbit/s "$(datapath_iperf "${client[$tool]}" "${address[$tool]}" "$streams")"
            done
        done
    done
    for tool in veth fast-path bridge; do datapath_rtt "${client[$tool]}" "${address[$tool]}" "$tool"; done
    kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
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
