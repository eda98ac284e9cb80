# shellcheck shell=bash
# IPv6 and dual stack at scale: SCALE sequential swnet attaches on an IPv4 /16 network and SCALE
# on a dual-stack one (a /16 and a /64: two leases, two addresses, two default routes each),
# interleaved one by one so that both series see the same machine and the same growth; each
# series' drift is the mean of its last 10 against its first 10. A watcher namespace attached
# first to each network counts the packets the later attaches make it receive through the
# bridge (DAD, router solicitations, MLD reports, announcements: whatever the bridge floods).
bench_namespaces $((2 * SCALE))
received() { ip netns exec "$1" cat /sys/class/net/eth0/statistics/rx_packets; }

log "ipv6: $SCALE sequential swnet attaches on an IPv4 /16 and on a dual-stack /16 + /64, interleaved"
"$SWNET" network create four --subnet 10.79.0.0/16 >/dev/null
"$SWNET" network create dual --subnet 10.80.0.0/16 --subnet fd00:80::/64 >/dev/null
for network in four dual; do
    ip netns add "watch-$network"
    ip -n "watch-$network" link set lo up
    "$SWNET" attach "watch-$network" "$network" >/dev/null
done
before_four=$(received watch-four) before_dual=$(received watch-dual)
for ((i = 1; i <= SCALE; i++)); do
    timed ipv6 attach swnet-ipv4 "$SWNET" attach "b$i" four
    timed ipv6 attach swnet-dual "$SWNET" attach "b$((SCALE + i))" dual
    progress "$i" "$SCALE" "attaches on each network"
done
per_attach() { awk -v n="$1" -v s="$SCALE" 'BEGIN { printf "%.3f", n / s }'; }
sample ipv6 flooded_per_attach swnet-ipv4 packets "$(per_attach $(($(received watch-four) - before_four)))"
sample ipv6 flooded_per_attach swnet-dual packets "$(per_attach $(($(received watch-dual) - before_dual)))"
# The work was done: the last dual-stack container has an address of each family.
[[ $(ip -n "b$((2 * SCALE))" -o addr show dev eth0 scope global | wc -l) == 2 ]] || { log "b$((2 * SCALE)) lacks an address"; exit 1; }
"$SWNET" network rm --force four dual >/dev/null
ip netns del watch-four
ip netns del watch-dual

target ipv6 "dual-stack attach / IPv4 attach at $SCALE each, interleaved (medians)" attach swnet-dual attach swnet-ipv4 1.3
target ipv6 "dual-stack attach last 10 / first 10 at $SCALE (means)" "attach[last10]" swnet-dual "attach[first10]" swnet-dual 1.15
target ipv6 "IPv4 attach last 10 / first 10 at $SCALE, the same run (means)" "attach[last10]" swnet-ipv4 "attach[first10]" swnet-ipv4 -
