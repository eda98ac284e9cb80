# swnet-cni in chains with Debian's reference plugins (Go, containernetworking-plugins 1.1.1),
# run by scripts/tests/cni-tool.py as libcni runs a conflist: first in the chain followed by
# portmap, firewall and tuning (they parse swnet-cni's result); after bridge + host-local with a
# prevResult, as a drop-in portmap replacement (it parses theirs); and with host-local as its
# delegated IPAM. All of it in this scenario's namespaces; CNI's files in temporary directories.
work=$(mktemp -d /tmp/swnet-cni-chain.XXXXXX)
mkdir -p "$work/bin" "$work/cache" && ln -s "$(dirname "$SWNET")/swnet-cni" "$work/bin/swnet-cni"
export CNI_PATH=$work/bin:/usr/lib/cni CNI_CACHE_DIR=$work/cache
tool=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cni-tool.py
cni_tool() { python3 "$tool" "$@"; }
ports_of() { CNI_RUNTIME_CONFIG="{\"portMappings\":[{\"hostPort\":$1,\"containerPort\":80,\"protocol\":\"tcp\"}]}"; export CNI_RUNTIME_CONFIG; }
# web NAME: a container namespace whose port 80 answers with its name.
web() {
    container "$1"
    local dir; dir=$(mktemp -d -p "$work"); echo "$1" >"$dir/index.html"
    ip netns exec "$1" python3 -m http.server 80 --directory "$dir" >/dev/null 2>&1 &
    web_pid=$!
}
from_outside() { ip netns exec outside curl -s --max-time 2 "http://192.0.2.1:$1/" || echo unreachable; }
# answers PORT NAME: the container NAME answers on host port PORT (its server may still be starting).
answers() { wait_for sh -c "[ \"\$(ip netns exec outside curl -s --max-time 1 http://192.0.2.1:$1/)\" = $2 ]"; }

ip netns add outside && ip -n outside link set lo up
ip link add uplink type veth peer name eth0 netns outside
ip addr add 192.0.2.1/24 dev uplink && ip link set uplink up
ip -n outside addr add 192.0.2.2/24 dev eth0 && ip -n outside link set eth0 up

# 1. swnet-cni first; portmap, firewall and tuning after it.
cat >"$work/first.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "first", "plugins": [
  {"type": "swnet-cni", "bridge": "swfirst", "subnet": "10.95.0.0/24", "swnetRoot": "$SWNET_ROOT"},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "firewall", "backend": "iptables"},
  {"type": "tuning", "sysctl": {"net.core.somaxconn": "777"}}]}
JSON
web c1; ports_of 8181
ok "ADD through swnet-cni, portmap, firewall, tuning" cni_tool ADD "$work/first.conflist" c1 /run/netns/c1
ok "another machine reaches the port portmap published to swnet-cni's address" answers 8181 c1
eq "tuning set its sysctl inside" "$(ip netns exec c1 cat /proc/sys/net/core/somaxconn)" "777"
eq "firewall added its rules for the address" "$(iptables -S CNI-FORWARD | grep -c 10.95.0.2)" "2"
eq "the port is portmap's, not swnet's" "$(swnet port /run/netns/c1 --json)" "[]"
# Debian's portmap 1.1.1 fails every CHECK on a host without its ip6tables chains (with bridge
# first too: "could not check ipv6 dnat"), so CHECK runs the chain without it.
grep -v '"portmap"' "$work/first.conflist" >"$work/first-check.conflist"
ok "CHECK through swnet-cni, firewall and tuning" cni_tool CHECK "$work/first-check.conflist" c1 /run/netns/c1
ok "DEL through the whole chain" cni_tool DEL "$work/first.conflist" c1 /run/netns/c1
eq "DEL removed portmap's and firewall's rules and swnet's attachment" \
    "$(iptables -t nat -S | grep -c 'CNI-DN'):$(iptables -S CNI-FORWARD 2>/dev/null | grep -c 10.95.0.2):$(swnet network inspect first --json | json 'len(d["attachments"])')" "0:0:0"
eq "the port is closed" "$(from_outside 8181)" "unreachable"

# 2. bridge + host-local first; swnet-cni publishes the ports (a portmap replacement).
cat >"$work/second.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "second", "plugins": [
  {"type": "bridge", "bridge": "cnisecond", "isGateway": true, "isDefaultGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "subnet": "10.96.0.0/24", "dataDir": "$work/host-local"}},
  {"type": "swnet-cni", "swnetRoot": "$SWNET_ROOT", "capabilities": {"portMappings": true}}]}
JSON
web c2; ports_of 8282
result=$(cni_tool ADD "$work/second.conflist" c2 /run/netns/c2)
eq "ADD through bridge and swnet-cni passes bridge's result on" "$(echo "$result" | json '[i["name"] for i in d["interfaces"]][0]')" "cnisecond"
c2_address=$(echo "$result" | json 'd["ips"][0]["address"].split("/")[0]')
ok "another machine reaches the port swnet-cni published" answers 8282 c2
eq "swnet port lists it" "$(swnet port /run/netns/c2 --json | json '[(p["hostPort"], p["containerAddress"]) for p in d]')" "[(8282, '$c2_address')]"
eq "swnet network inspect shows the container on bridge's network" \
    "$(swnet network inspect second --json | json '(d["bridge"], d["managesBridge"], [a["address"] for a in d["attachments"]])')" \
    "('cnisecond', False, ['$c2_address/24'])"
ok "CHECK" cni_tool CHECK "$work/second.conflist" c2 /run/netns/c2

# plugins#1139: a container's address handed to another before the first one's DEL; the late
# DEL of the first must not take the second's port. c3 dies without DEL; c4 gets its address.
web c3; ports_of 8283
c3_address=$(cni_tool ADD "$work/second.conflist" c3 /run/netns/c3 | json 'd["ips"][0]["address"]')
kill "$web_pid"; wait "$web_pid" 2>/dev/null; ip netns del c3
sed "s|\"ipam\": {[^}]*}|\"ipam\": {\"type\": \"static\", \"addresses\": [{\"address\": \"$c3_address\", \"gateway\": \"10.96.0.1\"}]}|" \
    "$work/second.conflist" >"$work/second-static.conflist"
web c4; ports_of 8284
ok "c4 gets c3's address ($c3_address)" cni_tool ADD "$work/second-static.conflist" c4 /run/netns/c4
# The host still has c3's MAC for the address (bridge sends no gratuitous ARP): forget it.
ip neigh flush to "${c3_address%/*}" dev cnisecond
ok "c4 answers on its port" answers 8284 c4
ok "the late DEL of c3, its namespace gone" cni_tool DEL "$work/second.conflist" c3 ""
eq "c4's port survives c3's DEL" "$(from_outside 8284)" "c4"
eq "c3's port is gone" "$(swnet port /run/netns/c4 --json | json '[p["hostPort"] for p in d]') $(nft list map inet swnet publish_any | grep -c 8283)" "[8284] 0"
ok "DEL c4" cni_tool DEL "$work/second-static.conflist" c4 /run/netns/c4
ok "DEL c2" cni_tool DEL "$work/second.conflist" c2 /run/netns/c2
ok "DEL c2 again" cni_tool DEL "$work/second.conflist" c2 /run/netns/c2
eq "nothing is left: no port, attachment or host-local lease" \
    "$(nft list map inet swnet publish_any | grep -cE ': [0-9.]+ \.') $(swnet network inspect second --json | json 'len(d["attachments"])') $(ls "$work/host-local/second" | grep -c '^10\.')" "0 0 0"
# c3's veth goes with its namespace, which the kernel tears down in the background.
ok "nor a veth on the bridge" wait_for sh -c '[ -z "$(ip -o link show master cnisecond)" ]'

# 3. host-local as swnet-cni's delegated IPAM.
cat >"$work/delegated.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "delegated", "plugins": [
  {"type": "swnet-cni", "bridge": "swdeleg", "swnetRoot": "$SWNET_ROOT",
   "ipam": {"type": "host-local", "subnet": "10.97.0.0/24", "dataDir": "$work/host-local"}}]}
JSON
container c5; unset CNI_RUNTIME_CONFIG
address=$(cni_tool ADD "$work/delegated.conflist" c5 /run/netns/c5 | json 'd["ips"][0]["address"]')
eq "the address comes from host-local" "$(ls "$work/host-local/delegated" | grep -c "^${address%/*}$")" "1"
eq "and is on the container's interface" "$(ip -n c5 -o -4 addr show dev eth0 | awk '{print $4}')" "$address"
eq "on a swnet network of host-local's subnet" "$(swnet network inspect delegated --json | json 'd["subnet"]')" "10.97.0.0/24"
ok "the container reaches its gateway" ip netns exec c5 ping -c1 -W2 10.97.0.1
ok "DEL" cni_tool DEL "$work/delegated.conflist" c5 /run/netns/c5
eq "released the host-local lease and the swnet attachment" \
    "$(ls "$work/host-local/delegated" | grep -c '^10\.') $(swnet network inspect delegated --json | json 'len(d["attachments"])')" "0 0"

for ns in c1 c2 c4 c5; do ip netns del "$ns"; done
rm -rf "$work"
