# shellcheck shell=bash
# swnet-cni, the CNI plugin: ADD with one published port against the reference chain that does
# the same work (bridge + host-local ADD, then portmap ADD with its result), and DEL against
# `ip link del` of a bridged veth; N rounds, the tools interleaved. Each plugin run is one
# process with its configuration on stdin, as a runtime starts it.
SWNET_CNI=$(dirname "$SWNET")/swnet-cni
[[ -x $SWNET_CNI ]] || { log "cni: $SWNET_CNI is missing (scripts/build.sh builds it)"; exit 1; }
bench_namespaces $((3 * N))
cni_conf refcni cni3 10.91.0.0/16
ip3_bridge
sysctl -qw net.ipv4.ip_forward=1   # in the section's namespace only
# One configuration file a container (written untimed): the runtime hands each ADD its ports.
for ((i = 0; i <= N; i++)); do
    printf '{"cniVersion":"1.0.0","name":"swcni","type":"swnet-cni","bridge":"swcnib","subnet":"10.78.0.0/16","runtimeConfig":{"portMappings":[{"hostPort":%d,"containerPort":80,"protocol":"tcp"}]}}' \
        "$((20000 + i))" >"$BENCH_WORK/swcni-$i.json"
done
swnet_cni() { # COMMAND NAMESPACE INDEX
    CNI_COMMAND=$1 CNI_CONTAINERID="bench-$2" CNI_NETNS="/run/netns/$2" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
        "$SWNET_CNI" <"$BENCH_WORK/swcni-$3.json"
}
ref_del() { cni_portmap DEL refcni "$1" "$2" && cni DEL refcni "$1"; }   # NAMESPACE HOSTPORT

log "cni: swnet-cni ADD (1 port) vs bridge+host-local+portmap ADD, DEL vs ip link del ($N rounds)"
# Warm-up (untimed): one of each, which also creates the bridges outside the timed region.
swnet_cni ADD b1 0 >/dev/null && swnet_cni DEL b1 0 >/dev/null
cni_attach_publish refcni b2 29999 >"$BENCH_WORK/ref.out" 2>&1 || { log "cni: the reference chain failed: $(head -c 300 "$BENCH_WORK/ref.out")"; exit 1; }
ref_del b2 29999 >/dev/null
for ((i = 1; i <= N; i++)); do
    timed cni add_1port swnet-cni swnet_cni ADD "b$i" "$i"
    timed cni add_1port cni-bridge+portmap cni_attach_publish refcni "b$((N + i))" "$((30000 + i))"
    ip3_attach "b$((2 * N + i))" "cd$i" "$(address 10.67 "$i")"
    progress "$i" "$N" "added with each tool"
done
# Sanity (untimed): both published their port, swnet-cni's is in swnet's map.
# (Captured first: with pipefail, grep -q closing the pipe early would fail the writer.)
map=$(nft list map inet swnet publish_any) rules=$(iptables -t nat -S)
[[ $map == *"20001 : 10.78."* ]] || { log "cni: swnet-cni's port 20001 is not in swnet's map"; exit 1; }
[[ $rules == *"--dport 30001 "* ]] || { log "cni: portmap made no rule for 30001"; exit 1; }
for ((i = 1; i <= N; i++)); do
    timed cni del swnet-cni swnet_cni DEL "b$i" "$i"
    timed cni del cni-bridge+portmap ref_del "b$((N + i))" "$((30000 + i))"
    timed cni del ip-link-del ip link del "cd$i"
    progress "$i" "$N" "deleted with each tool"
done
[[ -z $(ip -o link show master swcnib) ]] || { log "cni: swnet-cni DEL left veths on swcnib"; exit 1; }

target cni "swnet-cni ADD with 1 port / bridge+host-local+portmap ADD (medians)" add_1port swnet-cni add_1port cni-bridge+portmap 0.25
target cni "swnet-cni DEL / \`ip link del\` of a bridged veth (medians)" del swnet-cni del ip-link-del 1.2
target cni "swnet-cni DEL / portmap+bridge DEL (medians)" del swnet-cni del cni-bridge+portmap -
