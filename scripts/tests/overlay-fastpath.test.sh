# The eBPF fast path across hosts (overlay-lab.sh: hosts are namespaces on one underlay bridge,
# etcd here, an agent per host). On each overlay, a pair of containers on the fast path and a
# pair attached with --no-fast-path. To prove which path packets take, both hosts drop every
# packet their forward hook sees (an nftables table of the test's own): routed through the host,
# nothing passes; the fast path routes in its program and never reaches the forward hook.
# In vxlan mode the program also encapsulates and decapsulates itself: the VXLAN devices'
# packet counters stay still while the fast pair talks, and move for the bridge pair; a fast
# container and a --no-fast-path one on the other host (kernel VXLAN there) talk both ways.
source "$(dirname "${BASH_SOURCE[0]}")/overlay-lab.sh"
ok_here() { local d=$1; shift; if "$@" >/dev/null 2>&1; then pass "$d"; else fail "$d"; fi; }
counter() { lab_swnet "$1" network inspect "$2" --json | json "d['fastPath']['$3']"; }
unreachable() { ! ip netns exec "$1" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1; }
# vxlan_packets N: packets host N's VXLAN device sent and received so far.
vxlan_packets() {
    ip -n "host$1" -s -j link show "$(lab_vxlan_dev "$1")" |
        json 'd[0]["stats64"]["tx"]["packets"] + d[0]["stats64"]["rx"]["packets"]'
}
# tcp_message FROM TO-ADDRESS TO-NAMESPACE: a line over TCP; prints what arrived.
tcp_message() {
    local file=$LAB_DIR/$1-$3.received server
    ip netns exec "$3" timeout 10 socat -u TCP-LISTEN:7001,reuseaddr OPEN:"$file",creat &
    server=$!
    wait_for ip netns exec "$3" ss -Htln sport = 7001
    echo "from $1" | ip netns exec "$1" socat -u - "TCP:$2:7001"
    wait "$server"
    cat "$file"
}
drop_forwarding() {
    local n
    for n in "$@"; do ip netns exec "host$n" nft -f - <<'NFT'
table inet fptest {
    chain forward {
        type filter hook forward priority -500; policy drop;
    }
}
NFT
    done
}

lab_underlay; lab_host 1; lab_host 2; lab_host 3; lab_host 4; lab_etcd
for mode in vxlan host-gw; do
    echo "# --- $mode"
    ov=fp-$mode first=$([[ $mode == vxlan ]] && echo 1 || echo 3)
    second=$((first + 1))
    ok "create $ov" lab_swnet "$first" overlay create "$ov" --subnet "10.$([[ $mode == vxlan ]] && echo 171 || echo 172).0.0/16" --mode "$mode"
    ok_here "agents on host$first and host$second" eval "lab_agent $first $ov && lab_agent $second $ov"
    for c in f1 f2 b1 b2; do lab_container "$mode$c"; done
    fast2=$(lab_attach "$second" "${mode}f2" "$ov"); lab_attach "$first" "${mode}f1" "$ov" >/dev/null
    bridge2=$(lab_attach "$second" "${mode}b2" "$ov" --no-fast-path); lab_attach "$first" "${mode}b1" "$ov" --no-fast-path >/dev/null
    ok "the fast pair talks across hosts" lab_reach "${mode}f1" "$fast2" 10
    ok "the bridge pair too" lab_reach "${mode}b1" "$bridge2" 10

    to_before=$(counter "$first" "$ov" toTunnelPackets) from_before=$(counter "$second" "$ov" fromTunnelPackets)
    encap_before=$(counter "$first" "$ov" encapsulatedPackets) decap_before=$(counter "$second" "$ov" decapsulatedPackets)
    drop_forwarding "$first" "$second"
    ok "with forwarding dropped on both hosts, the fast pair still talks" ip netns exec "${mode}f1" ping -n -c 3 -i 0.2 -W 2 "$fast2"
    ip netns exec "${mode}f2" timeout 10 socat -u TCP-LISTEN:7000,reuseaddr OPEN:"$LAB_DIR/$mode.received",creat &
    server=$!
    wait_for ip netns exec "${mode}f2" ss -Htln sport = 7000
    echo "over the fast path" | ip netns exec "${mode}f1" socat -u - "TCP:$fast2:7000"
    wait "$server"
    eq "and TCP across hosts" "$(cat "$LAB_DIR/$mode.received")" "over the fast path"
    ok "the bridge pair does not: it is routed through the forward hook" unreachable "${mode}b1" "$bridge2"
    if [[ $mode == host-gw ]]; then
        eq "host$first's program sent the packets to the tunnel device" "$(($(counter "$first" "$ov" toTunnelPackets) - to_before >= 3))" "1"
        eq "host$second's program took them from it into the container" "$(($(counter "$second" "$ov" fromTunnelPackets) - from_before >= 3))" "1"
    else
        eq "host$first's program encapsulated the packets itself" "$(($(counter "$first" "$ov" encapsulatedPackets) - encap_before >= 3))" "1"
        eq "host$second's program decapsulated them on the underlay interface" "$(($(counter "$second" "$ov" decapsulatedPackets) - decap_before >= 3))" "1"
        eq "and none went through the VXLAN devices" "$(counter "$first" "$ov" toTunnelPackets) $(counter "$second" "$ov" fromTunnelPackets)" "$to_before $from_before"
        devices_before="$(vxlan_packets "$first") $(vxlan_packets "$second")"
        ok "100 pings over the fast pair" ip netns exec "${mode}f1" ping -n -q -c 100 -i 0.002 -W 2 "$fast2"
        eq "leave both VXLAN devices' packet counters as they were" "$(vxlan_packets "$first") $(vxlan_packets "$second")" "$devices_before"
    fi
    for n in "$first" "$second"; do ip netns exec "host$n" nft delete table inet fptest; done
    ok "forwarding back: the bridge pair talks again" lab_reach "${mode}b1" "$bridge2" 10
    if [[ $mode == vxlan ]]; then
        devices_before=$(vxlan_packets "$first")
        ok "100 pings over the bridge pair" ip netns exec "${mode}b1" ping -n -q -c 100 -i 0.002 -W 2 "$bridge2"
        eq "go through host$first's VXLAN device" "$(($(vxlan_packets "$first") - devices_before >= 200))" "1"
        # Mixed: the program on one side, the kernel's VXLAN device on the other, both ways.
        encap_before=$(counter "$first" "$ov" encapsulatedPackets) decap_before=$(counter "$first" "$ov" decapsulatedPackets)
        ok "a fast container reaches a --no-fast-path one on the other host" ip netns exec "${mode}f1" ping -n -c 3 -i 0.2 -W 2 "$bridge2"
        eq "and TCP" "$(tcp_message "${mode}f1" "$bridge2" "${mode}b2")" "from ${mode}f1"
        eq "host$first encapsulated its side" "$(($(counter "$first" "$ov" encapsulatedPackets) - encap_before >= 3))" "1"
        eq "and decapsulated what host$second's VXLAN device sent" "$(($(counter "$first" "$ov" decapsulatedPackets) - decap_before >= 3))" "1"
        ok "a --no-fast-path container reaches a fast one on the other host" ip netns exec "${mode}b1" ping -n -c 3 -i 0.2 -W 2 "$fast2"
        eq "and TCP" "$(tcp_message "${mode}b1" "$fast2" "${mode}f2")" "from ${mode}b1"
    fi
    ok "the fast pair reaches host$second's gateway (normal path)" lab_reach "${mode}f1" "$(lab_swnet "$second" network inspect "$ov" --json | json 'd["gateway"]')" 5
    for n in "$first" "$second"; do ok "host$n leaves $ov" lab_swnet "$n" overlay leave "$ov" --force; done
    for n in "$first" "$second"; do lab_agent_wait "$n" 10 || lab_agent_stop "$n" || true; done
    ok "rm $ov" lab_swnet "$first" overlay rm "$ov"
done
