# shellcheck shell=bash
# An overlay's control plane at scale, simulated: OVERLAY_PEERS (5,000) hosts registered in etcd
# by swnet-bench (as agents register, each with a subnet, an underlay address in 198.18.0.0/15
# and a VTEP MAC; nothing is ever sent to them), then in the lab of scripts/tests/overlay-lab.sh
# (host1, host2: namespaces on one bridge, etcd here):
# - host1's agent starts: the time until its kernel holds a route to every peer (polled every
#   10 ms with `ip route show proto 83`), and until it says ready;
# - host2's agent starts (one new peer): the time until host1's kernel routes to host2's subnet
#   (host2's own start-up to ready, with its 5,000 peers, is in it: lab_agent waits for that);
# - one more simulated peer registers: the time until host1's and host2's kernels route to it;
# - host1's agent's resident memory with all of them.
# OVERLAY_IPV6=1: the overlay is dual stack (fd5c::/48, a /64 per host), every peer has an IPv6
# share too, and "programmed" waits for both routes of every peer.
# Section contract: scripts/bench/lib.sh; uses $SWNET, $SWNET_BENCH, $BENCH_LIB.
# shellcheck source=../../tests/overlay-lab.sh
source "$BENCH_LIB/../tests/overlay-lab.sh"
peers=${OVERLAY_PEERS:-5000}
LAB_AGENT_TIMEOUT=120   # the first agent programs every peer before it says ready

# HOST: the overlay's routes there, per peer (both families' when dual stack).
if [[ ${OVERLAY_IPV6:-} == 1 ]]; then
    routes_in() { echo $(( ($(ip -n "host$1" route show proto 83 | wc -l) + $(ip -n "host$1" -6 route show proto 83 | wc -l)) / 2 )); }
    dual_stack=(--subnet fd5c::/48)
else
    routes_in() { ip -n "host$1" route show proto 83 | wc -l; }
    dual_stack=()
fi

lab_underlay
lab_host 1
lab_host 2
lab_etcd
ov=scale
# A /8 cut in /24s: room for 65,536 hosts.
lab_swnet 1 overlay create "$ov" --subnet 10.0.0.0/8 --host-prefix 24 "${dual_stack[@]}" >/dev/null
log "overlayscale: registering $peers simulated peers in etcd"
lease=$("$SWNET_BENCH" register-peers --etcd "$SWNET_ETCD" --overlay "$ov" --count "$peers" --ttl 900)

log "overlayscale: host1's agent starts"
t0=$(lab_ms)
lab_agent 1 "$ov"
until (($(routes_in 1) >= peers)); do
    (($(lab_ms) - t0 < 60000)) || { log "overlayscale: host1 has $(routes_in 1) of $peers routes after 60 s"; break; }
    sleep 0.01
done
sample overlayscale programmed "$peers peers" ms $(($(lab_ms) - t0))
sample overlayscale agent_ready "$peers peers" ms "${LAB_AGENT_READY_MS[1]}"

log "overlayscale: host2's agent starts (a new peer)"
t0=$(lab_ms)
lab_agent 2 "$ov"
host2_subnet=$(lab_swnet 2 network inspect "$ov" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["subnet"])')
until ip -n host1 route show proto 83 | grep -q "^$host2_subnet "; do
    (($(lab_ms) - t0 < 60000)) || { log "overlayscale: host1 has no route to $host2_subnet after 60 s"; break; }
    sleep 0.01
done
sample overlayscale new_peer_reached "$peers peers" ms $(($(lab_ms) - t0))
# One more simulated peer registers (swnet-bench's start included): the time until both hosts'
# kernels route to it. Unlike host2's start above, no host's own start-up is in this figure.
late=$((peers + 1000))
late_subnet=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_network("10.0.0.0/8").network_address + int(sys.argv[1]) * 256)' "$late")
t0=$(lab_ms)
late_lease=$("$SWNET_BENCH" register-peers --etcd "$SWNET_ETCD" --overlay "$ov" --first "$late" --count 1 --ttl 900)
until ip -n host1 route show proto 83 | grep -q "^$late_subnet/24 " && ip -n host2 route show proto 83 | grep -q "^$late_subnet/24 "; do
    (($(lab_ms) - t0 < 60000)) || { log "overlayscale: $late_subnet/24 is not in both hosts' kernels after 60 s"; break; }
    sleep 0.01
done
sample overlayscale registered_peer_reached "$peers peers" ms $(($(lab_ms) - t0))
sleep 1   # settled before its memory is read
sample overlayscale agent_rss "$peers peers" KiB "$(awk '/^VmRSS:/ { print $2 }' "/proc/$(lab_agent_pid 1)/status")"

# The budgets of issue 13, as samples, so the targets are ratios of this run's figures.
sample overlayscale budget "1 s" ms 1000
sample overlayscale budget "50 MB" KiB 51200
target overlayscale "$peers peers programmed after agent start / 1 s" programmed "$peers peers" budget "1 s" 1
target overlayscale "a new peer in host1's kernel after its agent starts / 1 s" new_peer_reached "$peers peers" budget "1 s" 1
target overlayscale "a registered peer in both hosts' kernels / 1 s" registered_peer_reached "$peers peers" budget "1 s" 1
target overlayscale "agent RSS with $peers peers / 50 MB" agent_rss "$peers peers" budget "50 MB" 1

for n in 2 1; do
    lab_swnet "$n" overlay leave "$ov" >/dev/null || true
    lab_agent_wait "$n" 10 || lab_agent_stop "$n" || true
done
lab_etcdctl lease revoke "$lease" >/dev/null || true
lab_etcdctl lease revoke "$late_lease" >/dev/null || true
lab_cleanup
