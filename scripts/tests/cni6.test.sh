# swnet-cni with IPv6: dual-stack range sets (host-local's shape: one set per family), results
# listing both ips with their gateways and both default routes in every cniVersion,
# portMappings on both families with real traffic, an IPv6-only network, the `ips`
# capability, and Debian's bridge + host-local dual stack followed by swnet-cni as the portmap.
cni_plugin=$(dirname "$SWNET")/swnet-cni
versions=(0.3.0 0.3.1 0.4.0 1.0.0 1.1.0)
work=$(mktemp -d /tmp/swnet-cni6.XXXXXX)
mkdir -p "$work/bin" "$work/cache" && ln -s "$cni_plugin" "$work/bin/swnet-cni"
tool=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cni-tool.py

# config VERSION [EXTRA_JSON_MEMBERS]: the dual-stack network "cdual".
config() {
    printf '{"cniVersion":"%s","name":"cdual","type":"swnet-cni","bridge":"cdual0","swnetRoot":"%s","ipam":{"type":"swnet-cni","ranges":[[{"subnet":"10.92.0.0/24"}],[{"subnet":"fd00:92::/64"}]]}%s}' \
        "$1" "$SWNET_ROOT" "${2:-}"
}
cni() { printf '%s' "$4" | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$cni_plugin"; }
ports() { echo "$(nft -j list map inet swnet publish_any 2>/dev/null | json 'len(d["nftables"][1]["map"].get("elem", []))' 2>/dev/null || echo 0)" \
               "$(nft -j list map inet swnet publish_any6 2>/dev/null | json 'len(d["nftables"][1]["map"].get("elem", []))' 2>/dev/null || echo 0)"; }
leases() { state_sql "SELECT count(*) FROM leases WHERE network = '$1'" 2>/dev/null || echo 0; }
mappings() { printf ',"runtimeConfig":{"portMappings":[%s]}' "$1"; }
web6() {
    local dir; dir=$(mktemp -d -p "$work"); echo "$1" >"$dir/index.html"
    ip netns exec "$1" python3 -c '
import functools, http.server, socket, sys
class Server(http.server.ThreadingHTTPServer): address_family = socket.AF_INET6
Server(("::", 80), functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])).serve_forever()' "$dir" >/dev/null 2>&1 &
    wait_for ip netns exec "$1" bash -c "ss -Hltn 'sport = :80' | grep -q ."
}

ip netns add outside && ip -n outside link set lo up
ip link add uplink type veth peer name eth0 netns outside
ip addr add 192.0.2.1/24 dev uplink && ip addr add 2001:db8:ff::1/64 dev uplink nodad && ip link set uplink up
ip -n outside addr add 192.0.2.2/24 dev eth0 && ip -n outside addr add 2001:db8:ff::2/64 dev eth0 nodad
ip -n outside link set eth0 up
outside() { ip netns exec outside curl -sg --max-time 3 "$1" || echo unreachable; }

for version in "${versions[@]}"; do
    container "v$version"
    ns=/run/netns/v$version
    result=$(cni ADD "id-$version" "$ns" "$(config "$version" "$(mappings '{"hostPort":9200,"containerPort":80,"protocol":"tcp"}')")")
    four=$([[ $version == 0.* ]] && echo "'4'" || echo None)
    six=$([[ $version == 0.* ]] && echo "'6'" || echo None)
    eq "$version: ips lists both families with their gateways, in $version's shape" \
        "$(echo "$result" | json '[(i.get("version"), i["interface"], i["gateway"], i["address"].split("/")[1]) for i in d["ips"]]')" \
        "[($four, 2, '10.92.0.1', '24'), ($six, 2, 'fd00:92::1', '64')]"
    eq "$version: a default route of each family" "$(echo "$result" | json '[(r["dst"], r["gw"]) for r in d["routes"]]')" \
        "[('0.0.0.0/0', '10.92.0.1'), ('::/0', 'fd00:92::1')]"
    address6=$(echo "$result" | json 'd["ips"][1]["address"]')
    eq "$version: the IPv6 address is in the container" "$(ip -n "v$version" -o -6 addr show dev eth0 scope global | awk '{print $4}')" "$address6"
    eq "$version: with its default route" "$(ip -n "v$version" -6 route show default | awk '{print $3}')" "fd00:92::1"
    eq "$version: the port is published on both families" "$(ports)" "1 1"
    if [[ $version == 1.0.0 ]]; then
        web6 "v$version"
        eq "$version: another machine reaches it on the host's IPv6 address" "$(outside 'http://[2001:db8:ff::1]:9200/')" "v$version"
        eq "$version: and on its IPv4 address" "$(outside 'http://192.0.2.1:9200/')" "v$version"
    fi
    if [[ $version != 0.3.* ]]; then
        ok "$version: CHECK passes" cni CHECK "id-$version" "$ns" "$(config "$version")"
    fi
    ok "$version: DEL" cni DEL "id-$version" "$ns" "$(config "$version")"
    ok "$version: DEL again" cni DEL "id-$version" "$ns" "$(config "$version")"
    eq "$version: DEL left no interface, lease or port of either family" "$(ip -n "v$version" -o link show | grep -c eth0) $(leases cdual) $(ports)" "0 0 0 0"
    ip netns del "v$version"
done

# One family per mapping, and the `ips` capability.
container c1
result=$(cni ADD c1 /run/netns/c1 "$(config 1.1.0 ',"capabilities":{"ips":true,"portMappings":true},"runtimeConfig":{"ips":["10.92.0.50","fd00:92::50"],"portMappings":[{"hostPort":9201,"containerPort":80,"hostIP":"::"},{"hostPort":9202,"containerPort":80,"hostIP":"0.0.0.0"}]}')")
eq "ips: both requested addresses" "$(echo "$result" | json '[i["address"] for i in d["ips"]]')" "['10.92.0.50/24', 'fd00:92::50/64']"
eq "hostIP :: publishes on IPv6 only, 0.0.0.0 on IPv4 only" "$(swnet port /run/netns/c1 --json | json '[(p["hostAddress"], p["hostPort"]) for p in d]')" \
    "[('::', 9201), ('0.0.0.0', 9202)]"
web6 c1
eq "9201 answers on IPv6" "$(outside 'http://[2001:db8:ff::1]:9201/')" "c1"
eq "9202 answers on IPv4" "$(outside 'http://192.0.2.1:9202/')" "c1"
eq "the host reaches 9201 on [::1] too" "$(curl -sg --max-time 3 'http://[::1]:9201/')" "c1"
container c2
ok "a mapping on ::1" cni ADD c2 /run/netns/c2 "$(config 1.1.0 "$(mappings '{"hostPort":9203,"containerPort":80,"hostIP":"::1"}')")"
web6 c2
eq "answers the host on [::1]" "$(curl -sg --max-time 3 'http://[::1]:9203/')" "c2"
eq "and no one on the host's address" "$(curl -sg --max-time 3 'http://[2001:db8:ff::1]:9203/' >/dev/null 2>&1; echo $?)" "7"
ok "DEL c2" cni DEL c2 /run/netns/c2 "$(config 1.1.0)"
ok "DEL c1" cni DEL c1 /run/netns/c1 "$(config 1.1.0)"
eq "STATUS of the dual-stack network" "$(cni STATUS "" "" "$(config 1.1.0)" | wc -c)" "0"
ok "remove the network" swnet network rm cdual

# An IPv6-only network.
container c3
result=$(printf '{"cniVersion":"1.0.0","name":"csix","type":"swnet-cni","subnet":"fd00:93::/64","swnetRoot":"%s","runtimeConfig":{"portMappings":[{"hostPort":9204,"containerPort":80}]}}' "$SWNET_ROOT" \
    | CNI_COMMAND=ADD CNI_CONTAINERID=c3 CNI_NETNS=/run/netns/c3 CNI_IFNAME=eth0 "$cni_plugin")
eq "an IPv6-only network gives one address and ::/0" "$(echo "$result" | json '([i["address"] for i in d["ips"]], [r["dst"] for r in d["routes"]])')" \
    "(['fd00:93::2/64'], ['::/0'])"
eq "its port is IPv6 only" "$(swnet port /run/netns/c3 --json | json '[p["hostAddress"] for p in d]')" "['::']"
web6 c3
eq "and answers" "$(outside 'http://[2001:db8:ff::1]:9204/')" "c3"
ok "DEL c3" bash -c 'printf "%s" "$1" | CNI_COMMAND=DEL CNI_CONTAINERID=c3 CNI_NETNS=/run/netns/c3 CNI_IFNAME=eth0 "$2"' _ \
    "$(printf '{"cniVersion":"1.0.0","name":"csix","type":"swnet-cni","subnet":"fd00:93::/64","swnetRoot":"%s"}' "$SWNET_ROOT")" "$cni_plugin"
ok "remove it" swnet network rm csix

# Debian's bridge + host-local with two range sets, then swnet-cni publishing their addresses.
export CNI_PATH=$work/bin:/usr/lib/cni CNI_CACHE_DIR=$work/cache
cat >"$work/chain.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "chain6", "plugins": [
  {"type": "bridge", "bridge": "chain6", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$work/ipam",
            "ranges": [[{"subnet": "10.94.0.0/24"}], [{"subnet": "fd00:94::/64"}]], "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}]}},
  {"type": "swnet-cni", "swnetRoot": "$SWNET_ROOT", "capabilities": {"portMappings": true}}]}
JSON
container c4
export CNI_RUNTIME_CONFIG='{"portMappings":[{"hostPort":9205,"containerPort":80,"protocol":"tcp"}]}'
ok "ADD through bridge (dual stack) and swnet-cni" python3 "$tool" ADD "$work/chain.conflist" c4 /run/netns/c4
eq "swnet-cni published the port on both of bridge's addresses" "$(swnet port /run/netns/c4 --json | json 'sorted(p["hostAddress"] for p in d)')" "['0.0.0.0', '::']"
web6 c4
ok "another machine reaches it on IPv6" wait_for sh -c "[ \"\$(ip netns exec outside curl -sg --max-time 1 'http://[2001:db8:ff::1]:9205/')\" = c4 ]"
ok "DEL through the chain" python3 "$tool" DEL "$work/chain.conflist" c4 /run/netns/c4
eq "no port left" "$(ports)" "0 0"
unset CNI_RUNTIME_CONFIG
ip link del chain6 2>/dev/null
rm -rf "$work"
