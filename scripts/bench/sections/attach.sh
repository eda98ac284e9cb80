# shellcheck shell=bash
# Attach and detach, N each, the tools interleaved round by round so that a noisy moment of the
# machine hits all of them alike: swnet, the CNI reference plugins (bridge + host-local), the 8 ip
# commands of pipework-style scripts and the fewest-processes 3 ip commands; then the kernel's
# floor for a detach, one RTM_DELLINK per bridged veth in one process (swnet-bench delete-links).

# What pipework-style scripts do: 8 ip commands.
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

bench_namespaces $((4 * N))
log "attach/detach: swnet, CNI bridge+host-local, 8 ip commands, 3 ip commands ($N rounds)"
"$SWNET" network create bench --subnet 10.77.0.0/16 >/dev/null
cni_conf benchcni cni0 10.88.0.0/16
bridge_with_gateway ipbr8 10.66.0.1/16
ip3_bridge
# Warm-up (untimed): one of each, so that no tool pays for a cold page cache or for creating
# its bridge inside the timed region.
"$SWNET" attach b1 bench >/dev/null && "$SWNET" detach b1 bench >/dev/null
cni ADD benchcni b2 >/dev/null && cni DEL benchcni b2 >/dev/null
ip8_attach b3 w8 "$(address 10.66 0)" && ip link del w8
ip3_attach b4 w3 "$(address 10.67 0)" && ip link del w3
for ((i = 1; i <= N; i++)); do
    timed attach attach swnet "$SWNET" attach "b$i" bench
    timed attach attach cni-bridge cni ADD benchcni "b$((N + i))"
    timed attach attach ip-8 ip8_attach "b$((2 * N + i))" "i8h$i" "$(address 10.66 "$i")"
    timed attach attach ip-3 ip3_attach "b$((3 * N + i))" "i3h$i" "$(address 10.67 "$i")"
    progress "$i" "$N" "attached with each tool"
done
# A sanity check that everybody did the same work: an address and a default route inside.
for ns in b1 "b$((N + 1))" "b$((2 * N + 1))" "b$((3 * N + 1))"; do
    ip -n "$ns" -4 -o addr show dev eth0 | grep -q inet || { log "no address in $ns"; exit 1; }
    ip -n "$ns" route show default | grep -q via || { log "no default route in $ns"; exit 1; }
done
for ((i = 1; i <= N; i++)); do
    timed attach detach swnet "$SWNET" detach "b$i" bench
    timed attach detach cni-bridge cni DEL benchcni "b$((N + i))"
    timed attach detach ip-link-del ip link del "i8h$i"
    progress "$i" "$N" "detached with each tool"
done
# The kernel floor without any process start: one RTM_DELLINK per bridged veth, in one process.
links=()
for ((i = 1; i <= N; i++)); do links+=("i3h$i"); done
"$SWNET_BENCH" delete-links "${links[@]}" >"$BENCH_WORK/dellink.out"
sample_library attach "$BENCH_WORK/dellink.out" dellink=rtm-dellink
"$SWNET" network rm bench >/dev/null

target attach "swnet attach / CNI ADD (medians)" attach swnet attach cni-bridge 0.33
target attach "swnet detach / \`ip link del\` (medians)" detach swnet detach ip-link-del 1.2
target attach "swnet detach (CLI) / one RTM_DELLINK" detach swnet dellink rtm-dellink -
