# shellcheck shell=bash
# Overlays across hosts, in the lab of scripts/tests/overlay-lab.sh: hosts host1..host4 are
# namespaces on one bridge (under0, veths, MTU 1500), etcd runs in the section's namespace.
# Throughput and RTT container to container across hosts for VXLAN and host-gw, and host to host
# on the underlay itself; the time until a new host's container is reached by every peer; an
# agent's memory and start with 100 simulated peers registered in etcd.
# shellcheck source=../../tests/overlay-lab.sh
source "$BENCH_LIB/../tests/overlay-lab.sh"
OV_ROUNDS=3   # join/leave rounds per mode for the convergence rows

ov_iperf() { # FROM-NAMESPACE SERVER-IP → receiver Mbit/s of a CONN_SECONDS run (one retry), or "-"
    local try
    for try in 1 2; do
        ip netns exec "$1" timeout $((CONN_SECONDS + 20)) iperf3 -c "$2" -p 5201 -t "$CONN_SECONDS" -J >"$BENCH_WORK/ov-iperf.json" 2>&1 || true
        python3 -c 'import json,sys; print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
            "$BENCH_WORK/ov-iperf.json" 2>/dev/null && return 0
        log "iperf3 $1 -> $2 failed (try $try): $(grep -o '"error":.*' "$BENCH_WORK/ov-iperf.json" | head -c 200)"
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
ov_rtt() { # TOOL FROM-NAMESPACE IP: 20 pings 50 ms apart, each reply's time a sample
    local time
    for time in $(ip netns exec "$2" timeout 20 ping -n -c 20 -i 0.05 -W 1 "$3" 2>/dev/null | awk -F'time=' '/time=/ { split($2, a, " "); print a[1] }'); do
        sample overlay rtt "$1" ms "$time"
    done
}
ov_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
ov_mtu() { ip -n "$1" -o link show eth0 | grep -o 'mtu [0-9]*' | cut -d' ' -f2; }   # NAMESPACE

log "overlay: lab of 4 hosts on one bridge, etcd $(etcd --version 2>/dev/null | awk '/etcd Version/ { print $3 }')"
lab_underlay
for n in 1 2 3 4; do lab_host "$n"; done
lab_etcd

log "overlay: underlay host1 -> host2, iperf3 ${CONN_SECONDS} s and 20 pings"
ov_iperf_server host2
sample overlay throughput underlay Mbit/s "$(ov_iperf host1 "$(lab_host_ip 2)")"
ov_rtt underlay host1 "$(lab_host_ip 2)"
sample overlay mtu underlay bytes "$(ov_mtu host1)"

for mode in vxlan host-gw; do
    ov=bench-$mode subnet=10.$([[ $mode == vxlan ]] && echo 151 || echo 152).0.0/16
    log "overlay: $mode ($ov, $subnet): agents on host1-3, a container on each"
    lab_swnet 1 overlay create "$ov" --subnet "$subnet" --mode "$mode" >/dev/null
    for n in 1 2 3; do lab_agent "$n" "$ov"; done
    sample overlay agent_rss "$mode, 3 hosts" KiB "$(ov_rss_kib "$(lab_agent_pid 1)")"
    for n in 1 2 3 4; do lab_container "o$mode$n"; done
    for n in 1 2 3; do lab_attach "$n" "o$mode$n" "$ov" >/dev/null; done
    server=$(lab_addr "o${mode}2")
    lab_reach "o${mode}1" "$server" 10 >/dev/null || log "overlay $mode: o${mode}1 does not reach $server"
    ov_iperf_server "o${mode}2"
    sample overlay throughput "$mode" Mbit/s "$(ov_iperf "o${mode}1" "$server")"
    ov_rtt "$mode" "o${mode}1" "$server"
    sample overlay mtu "$mode" bytes "$(ov_mtu "o${mode}1")"
    # What connection tracking costs (swnet's NAT table makes the kernel track every flow):
    # the same path with the hosts' rulesets flushed, then gc puts swnet's table back.
    for n in 1 2 3; do ip netns exec "host$n" nft flush ruleset; done
    sample overlay throughput "$mode, no conntrack" Mbit/s "$(ov_iperf "o${mode}1" "$server")"
    for n in 1 2 3; do lab_swnet "$n" gc >/dev/null; done

    log "overlay: $mode convergence, $OV_ROUNDS rounds of host4 joining (agent start -> every peer's container reaches host4's)"
    for ((round = 1; round <= OV_ROUNDS; round++)); do
        t0=$(lab_ms)
        if ! lab_agent 4 "$ov"; then log "overlay $mode: host4's agent did not start"; break; fi
        sample overlay agent_ready "$mode" ms "${LAB_AGENT_READY_MS[4]}"
        joined=$(lab_attach 4 "o${mode}4" "$ov")
        ok_all=1
        for peer in 1 2 3; do
            # Single pings with a 0.1 s timeout, until one is answered (bounded: 10 s).
            deadline=$(($(lab_ms) + 10000))
            until ip netns exec "o$mode$peer" ping -n -q -c 1 -W 0.1 "$joined" >/dev/null 2>&1; do
                (($(lab_ms) < deadline)) || { ok_all=0; break; }
            done
        done
        if ((ok_all)); then
            sample overlay reached_by_every_peer "$mode" ms $(($(lab_ms) - t0))
        else
            log "overlay $mode: round $round: a peer never reached $joined"
        fi
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
# Registered by swnet-bench through SwnetCore's own OverlayHost, as an agent writes them: peer I
# has subnet 10.150.I.0/24, underlay address 198.18.0.I (nothing is sent there unless a
# container talks to that subnet, and none does), VTEP MAC 02:5e:00:00:00:II.
lease=$("$SWNET_BENCH" register-peers --etcd "$SWNET_ETCD" --overlay "$ov" --count 100 --ttl 600)
lab_agent 1 "$ov"
sample overlay agent_ready "100 simulated peers" ms "${LAB_AGENT_READY_MS[1]}"
sleep 1   # let it settle before reading its memory
sample overlay agent_rss "vxlan, 100 simulated peers" KiB "$(ov_rss_kib "$(lab_agent_pid 1)")"
vx=$(lab_vxlan_dev 1)
fdb=0
[[ -z $vx ]] || fdb=$(bridge -n host1 fdb show dev "$vx" | awk '/ dst / { n++ } END { print n + 0 }')
sample overlay fdb_entries "vxlan, 100 simulated peers" entries "$fdb"
sample overlay hosts_seen "vxlan, 100 simulated peers" hosts \
    "$(lab_swnet 1 overlay inspect "$ov" --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["hosts"]))' 2>/dev/null || echo '-')"
lab_swnet 1 overlay leave "$ov" >/dev/null
lab_agent_wait 1 10 || lab_agent_stop 1 || true
lab_etcdctl lease revoke "$lease" >/dev/null
lab_swnet 1 overlay rm "$ov" >/dev/null || log "overlay rm $ov failed"
lab_cleanup

target overlay "VXLAN / underlay throughput" throughput vxlan throughput underlay -
target overlay "host-gw / underlay throughput" throughput host-gw throughput underlay -
target overlay "VXLAN / underlay RTT" rtt vxlan rtt underlay -
