# shellcheck shell=bash
# IPv6 and dual stack at scale: SCALE sequential swnet attaches on an IPv4 /16 network, then
# SCALE on a dual-stack network (the same /16 and a /64: two leases, two addresses, two default
# routes each); the two series side by side, and each one's drift (mean of the last 10 against
# the first 10). A watcher namespace attached first counts the packets every later attach makes
# it receive through the bridge (DAD, router solicitations, MLD reports and announcements that
# the bridge floods): per attach, on each kind of network.
bench_namespaces "$SCALE"
ip netns add watcher
ip -n watcher link set lo up
received() { ip netns exec watcher cat /sys/class/net/eth0/statistics/rx_packets; }

# series NETWORK TOOL: SCALE timed attaches to NETWORK with the watcher on it, then all removed
# again (network rm --force: one bulk request), leaving b1..bSCALE empty.
series() {
    local network=$1 tool=$2 i before
    "$SWNET" attach watcher "$network" >/dev/null
    before=$(received)
    for ((i = 1; i <= SCALE; i++)); do
        timed ipv6 attach "$tool" "$SWNET" attach "b$i" "$network"
        progress "$i" "$SCALE" "attaches on $network"
    done
    sample ipv6 flooded_per_attach "$tool" packets "$(awk -v n=$(($(received) - before)) -v s="$SCALE" 'BEGIN { printf "%.3f", n / s }')"
    # A sanity check that the work was done: the last one has an address of each family it should.
    ip -n "b$SCALE" -o addr show dev eth0 scope global | awk '{print $4}' | tr '\n' ' ' >&2; echo >&2
    "$SWNET" network rm --force "$network" >/dev/null
}

log "ipv6: $SCALE sequential swnet attaches on an IPv4 /16, then on a dual-stack /16 + /64"
"$SWNET" network create four --subnet 10.79.0.0/16 >/dev/null
series four swnet-ipv4
"$SWNET" network create dual --subnet 10.79.0.0/16 --subnet fd00:79::/64 >/dev/null
series dual swnet-dual
ip netns del watcher

target ipv6 "dual-stack attach / IPv4 attach at $SCALE on one network (medians)" attach swnet-dual attach swnet-ipv4 1.3
target ipv6 "dual-stack attach last 10 / first 10 at $SCALE (means)" "attach[last10]" swnet-dual "attach[first10]" swnet-dual 1.15
target ipv6 "IPv4 attach last 10 / first 10 at $SCALE (means)" "attach[last10]" swnet-ipv4 "attach[first10]" swnet-ipv4 -
