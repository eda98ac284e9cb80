# IPv6 and dual stack: networks with an IPv4 and/or an IPv6 subnet, both addresses and both
# default routes on attach and run, no DAD delay, isolation, masquerade and --internal for IPv6,
# and every way of taking it apart again. Real traffic between namespaces throughout.

# An "outside" namespace behind a veth from here (the test's host namespace): global
# addresses, and no route back to the networks' subnets except where a test adds one.
ip netns add outside
ip link add out0 type veth peer name eth0 netns outside
ip addr add 2001:db8:ff::1/64 dev out0 nodad
ip link set out0 up
ip -n outside addr add 2001:db8:ff::2/64 dev eth0 nodad
ip -n outside link set eth0 up
# Tells each client the address it came from: masquerade shows as the host's address.
ip netns exec outside socat TCP6-LISTEN:9000,reuseaddr,fork SYSTEM:'echo $SOCAT_PEERADDR' >/dev/null 2>&1 &
wait_for ip netns exec outside bash -c 'ss -ltn | grep -q ":9000"'
# blocked DESCRIPTION COMMAND...: the command fails (a connection that must not get through).
blocked() { local description=$1; shift; if "$@" >/dev/null 2>&1; then fail "$description"; else pass "$description"; fi; }
peer_of() {
    ip netns exec "$1" socat -T3 - "TCP6:[2001:db8:ff::2]:9000" </dev/null 2>/dev/null | tr -d '[]' \
        | python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.stdin.read().strip()))' 2>/dev/null
}

# --- networks ---
ok "create a dual-stack network" swnet network create dual --subnet 10.61.0.0/24 --subnet fd00:61::/64
eq "the bridge holds both gateways, the IPv6 one without DAD" \
    "$(ip -o addr show dev dual scope global | awk '{print $4, ($0 ~ /nodad/ ? "nodad" : "")}' | tr '\n' ' ')" \
    "10.61.0.1/24  fd00:61::1/64 nodad "
eq "IPv6 forwarding is on in the namespace swnet manages" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "1"
eq "inspect --json lists both subnets and gateways, IPv4 first" \
    "$(swnet network inspect dual --json | json '(d["subnets"], d["gateways"], d["subnet"], d["gateway"])')" \
    "(['10.61.0.0/24', 'fd00:61::/64'], ['10.61.0.1', 'fd00:61::1'], '10.61.0.0/24', '10.61.0.1')"
eq "ls shows both" "$(swnet network ls | awk '$1 == "dual" {print $2, $3}')" "10.61.0.0/24,fd00:61::/64 10.61.0.1,fd00:61::1"

ok "--ipv6 adds a unique local /64 derived from the name" swnet network create auto --subnet 10.62.0.0/24 --ipv6
auto_subnet=$(swnet network inspect auto --json | json 'd["subnets"][1]')
eq "it is an fd00::/8 /64" "$(python3 -c 'import ipaddress,sys; n=ipaddress.ip_network(sys.argv[1]); print(n.prefixlen, n.subnet_of(ipaddress.ip_network("fd00::/8")))' "$auto_subnet")" "64 True"
swnet network rm auto >/dev/null
ok "created again" swnet network create auto --subnet 10.62.0.0/24 --ipv6
eq "the same name gives the same subnet" "$(swnet network inspect auto --json | json 'd["subnets"][1]')" "$auto_subnet"
ok "an IPv6-only network" swnet network create only6 --ipv6
eq "it has one subnet" "$(swnet network inspect only6 --json | json 'len(d["subnets"]), d["subnets"][0].endswith("::/64")')" "(1, True)"

fails "two IPv6 subnets" swnet network create two6 --subnet fd00:70::/64 --subnet fd00:71::/64
fails "an IPv6 gateway without an IPv6 subnet" swnet network create gw6 --subnet 10.72.0.0/24 --gateway fd00:72::1
fails "an IPv6 gateway outside the IPv6 subnet" swnet network create gw6 --subnet fd00:72::/64 --gateway fd00:73::1
fails "an IPv6 subnet overlapping another network's" swnet network create over6 --subnet fd00:61::/48
fails "no subnet and no --ipv6" swnet network create none
fails "a malformed IPv6 subnet" swnet network create bad6 --subnet fd00::1::/64

# --- attach: both families, both default routes, usable at once ---
container c1; container c2
ip netns exec c1 python3 -c '
import http.server, socket
class Server(http.server.ThreadingHTTPServer): address_family = socket.AF_INET6
Server(("::", 8000), http.server.SimpleHTTPRequestHandler).serve_forever()' >/dev/null 2>&1 &
ok "attach c1 to the dual-stack network" swnet attach c1 dual
wait_for ip netns exec c1 bash -c 'ss -ltn | grep -q ":8000"'
# No sleep between attach and the connection: without NODAD the address would be tentative
# for about a second and the connection would fail.
attach_then_connect() {
    swnet attach c2 dual >/dev/null && ip netns exec c2 curl -s -o /dev/null -w '%{http_code}' --max-time 3 'http://[fd00:61::2]:8000/'
}
eq "c2 connects over IPv6 right after its attach returns" "$(attach_then_connect)" "200"
eq "c2 has one address of each family, none tentative" \
    "$(ip -n c2 -o addr show dev eth0 scope global | awk '{print $4}' | tr '\n' ' ') $(ip -n c2 addr show | grep -c tentative)" \
    "10.61.0.3/24 fd00:61::3/64  0"
eq "and a default route of each family" \
    "$(ip -n c2 route show default | awk '{print $3}') $(ip -n c2 -6 route show default | awk '{print $3}')" "10.61.0.1 fd00:61::1"
c2_mac=$(ip -n c2 -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
eq "its link-local address is the one the kernel would make from its MAC, usable at once" \
    "$(ip -n c2 -6 -o addr show dev eth0 scope link | awk '{print $4, ($0 ~ /tentative/ ? "tentative" : "ok")}')" \
    "$(python3 -c 'import sys; b=bytes.fromhex(sys.argv[1].replace(":", "")); import ipaddress; print(ipaddress.IPv6Address(bytes([0xfe,0x80]+[0]*6+[b[0]^2,b[1],b[2],0xff,0xfe,b[3],b[4],b[5]])), end="")' "$c2_mac")/64 ok"
host_side=$(swnet network inspect dual --json | json '[a["hostInterface"] for a in d["attachments"] if a["target"] == "netns c2"][0]')
eq "the host side of its veth has no IPv6" "$(cat /proc/sys/net/ipv6/conf/$host_side/disable_ipv6) $(ip -6 -o addr show dev $host_side | wc -l)" "1 0"
ok "IPv4 works beside it" ip netns exec c2 curl -s -o /dev/null --max-time 3 http://10.61.0.2:8000/
eq "the attachment's record has both addresses and gateways" \
    "$(swnet network inspect dual --json | json '[(a["addresses"], a["gateways"]) for a in d["attachments"] if a["target"] == "netns c2"][0]')" \
    "(['10.61.0.3/24', 'fd00:61::3/64'], ['10.61.0.1', 'fd00:61::1'])"
eq "leases of both families, cursors per family" \
    "$(state_sql "SELECT count(*) FROM leases WHERE network = 'dual'; SELECT family || ':' || address FROM cursors WHERE network = 'dual' ORDER BY family" | tr '\n' ' ')" \
    "4 4:10.61.0.3 6:fd00:61::3 "

# pipework's #124: an IPv4 and an IPv6 address with their gateways in one attach, neither
# default route clobbering the other; the network (and bridge) is created from them.
container c3
ok "attach with IPv4 and IPv6 addresses and gateways creates the network" \
    swnet attach c3 br63 10.63.0.5/24@10.63.0.1 fd00:63::5/64@fd00:63::1
eq "both default routes" \
    "$(ip -n c3 route show default | awk '{print $3}') $(ip -n c3 -6 route show default | awk '{print $3}')" "10.63.0.1 fd00:63::1"
eq "the new network has both subnets" "$(swnet network inspect br63 --json | json 'd["subnets"]')" "['10.63.0.0/24', 'fd00:63::/64']"
ok "c3 reaches its IPv6 gateway" ip netns exec c3 ping -c1 -W2 fd00:63::1

# An off-link IPv6 gateway gets a route onto the interface first, then the default route.
ip addr add fd00:99::1/128 dev dual nodad
container c4
ok "attach with an off-link IPv6 gateway" swnet attach c4 dual fd00:61::50/64@fd00:99::1
eq "the gateway is on-link, the default route goes through it" \
    "$(ip -n c4 -6 route show fd00:99::1 | awk '{print $1, $2, $3}') / $(ip -n c4 -6 route show default | awk '{print $3}')" \
    "fd00:99::1 dev eth0 / fd00:99::1"
ok "traffic leaves through the off-link gateway" ip netns exec c4 ping -c1 -W2 fd00:99::1
ip addr del fd00:99::1/128 dev dual

fails "an IPv6 address outside the subnet" swnet attach c1 dual fd00:62::5/64
swnet network create four --subnet 10.74.0.0/24 >/dev/null
container c5
fails "an IPv6 address on an IPv4-only network" swnet attach c5 four fd00:74::5/64
swnet network rm four >/dev/null
fails "the subnet-router anycast address" swnet attach c5 dual fd00:61::/64
fails "an IPv6 address in use" swnet attach c5 dual fd00:61::2/64
fails "two IPv6 addresses" swnet attach c5 dual fd00:61::7/64 fd00:61::8/64
fails "an IPv4 gateway for an IPv6 address" swnet attach c5 dual fd00:61::7/64@10.61.0.1

# Nothing an attach does reaches the other containers of the bridge: no DAD, and the router
# solicitations and MLD reports (which the bridge would flood to every port) are dropped
# between container ports, told by swnet's link group, not their names: the receiver's host
# side is named with -l. It counts every packet on its interface.
ok "a network for counting floods" swnet network create quiet --subnet fd00:67::/64
container w1
swnet attach w1 quiet -l w1port >/dev/null
eq "a host side named with -l is in swnet's link group" "$(ip -d -o link show w1port | grep -o 'group [0-9a-fx]*')" "group 1937178625"
sleep 4   # w1's and the bridge's own reports (the bridge goes up with its first port, then does DAD) are over
rx_before=$(ip netns exec w1 cat /sys/class/net/eth0/statistics/rx_packets)
for name in q1 q2 q3; do container "$name"; swnet attach "$name" quiet >/dev/null; done
sleep 2   # the reports are sent again within a second of the first
eq "three attaches flood no packet to a neighbour" "$(( $(ip netns exec w1 cat /sys/class/net/eth0/statistics/rx_packets) - rx_before ))" "0"
eq "the rules that stop router solicitations and MLD reports between container ports" \
    "$(nft list table bridge swnet | grep -c 'iifgroup 1937178625 oifgroup 1937178625 icmpv6 type \(nd-router-solicit\|mld2-listener-report\) drop')" "2"
ok "the neighbours still find each other" ip netns exec q3 ping -c1 -W2 fd00:67::2

# --- firewall: masquerade, global subnets routed, isolation, --internal ---
eq "a unique local subnet is masqueraded on its way out" "$(peer_of c2)" "2001:db8:ff::1"
ok "a network with a global IPv6 subnet" swnet network create glob --subnet 2001:db8:66::/64
ip -n outside -6 route add 2001:db8:66::/64 via 2001:db8:ff::1
container g1
swnet attach g1 glob >/dev/null
eq "a global subnet is routed as it is" "$(peer_of g1)" "2001:db8:66::2"
container v1
swnet attach v1 only6 >/dev/null
only6_address=$(swnet network inspect only6 --json | json 'd["attachments"][0]["addresses"][0].split("/")[0]')
eq "the IPv6-only container has just an IPv6 address" "$(ip -n v1 -4 -o addr show dev eth0 | wc -l) $(ip -n v1 -6 -o addr show dev eth0 scope global | wc -l)" "0 1"
ok "an IPv6-only container reaches outside" bash -c "[ -n \"\$(ip netns exec v1 socat -T3 - TCP6:[2001:db8:ff::2]:9000 </dev/null)\" ]"
blocked "networks are isolated over IPv6 too" ip netns exec v1 curl -s --max-time 2 'http://[fd00:61::2]:8000/'
ok "but a network's own containers talk" ip netns exec c2 curl -s -o /dev/null --max-time 3 'http://[fd00:61::2]:8000/'
ok "an internal dual-stack network" swnet network create inner --subnet 10.65.0.0/24 --subnet fd00:65::/64 --internal
container i1
swnet attach i1 inner >/dev/null
blocked "no IPv6 traffic leaves an internal network" ip netns exec i1 socat -T2 - 'TCP6:[2001:db8:ff::2]:9000'
ok "the gateway still answers on it" ip netns exec i1 ping -c1 -W2 fd00:65::1

# --- run ---
eq "run --network on a dual-stack network gives both addresses" \
    "$(swnet run --rm --network dual -- ip -o addr show dev eth0 scope global | awk '{print $4}' | tr '\n' ' ')" "10.61.0.5/24 fd00:61::4/64 "
eq "run --network NET:IP/LEN,IP/LEN" \
    "$(swnet run --rm --network dual:10.61.0.40/24,fd00:61::40/64 -- sh -c 'ip -o addr show dev eth0 scope global | awk "{print \$4}"; ip -6 route show default | cut -d" " -f3' | tr '\n' ' ')" \
    "10.61.0.40/24 fd00:61::40/64 fd00:61::1 "
fails "run with two IPv6 addresses on one network" swnet run --rm --network dual:fd00:61::41/64,fd00:61::42/64 -- true

# --- detach, gc, network rm take the IPv6 side too ---
ok "detach c2" swnet detach c2
eq "both of its leases are free" "$(state_sql "SELECT count(*) FROM leases WHERE network = 'dual' AND address IN ('10.61.0.3', 'fd00:61::3')")" "0"
c4_host_side=$(swnet network inspect dual --json | json '[a["hostInterface"] for a in d["attachments"] if a["target"] == "netns c4"][0]')
ip netns del c4
ok "the kernel removed the dead namespace's veth" wait_for sh -c "! ip link show $c4_host_side"
gc_report=$(swnet gc --json)
eq "gc releases both leases of a namespace that died" \
    "$(state_sql "SELECT count(*) FROM leases WHERE network = 'dual' AND address IN ('10.61.0.4', 'fd00:61::50')") $(echo "$gc_report" | json 'len(d["attachments"])')" "0 1"
ok "network rm --force" swnet network rm -f dual br63 glob only6 inner auto quiet
eq "no lease, cursor or bridge left" \
    "$(state_sql 'SELECT count(*) FROM leases; SELECT count(*) FROM cursors' | tr '\n' ' ')$(ip -o link show type bridge | wc -l)" "0 0 0"
eq "no nft table left" "$(nft list tables | grep -c swnet)" "0"

# State written before dual stack (schema 4: one allocation cursor per network) still reads:
# its cursors carry over, keyed by family.
old_root=$(mktemp -d)
SWNET_ROOT=$old_root swnet network ls >/dev/null
sqlite3 "$old_root/run/state.db" "DROP TABLE cursors; CREATE TABLE cursors (network TEXT PRIMARY KEY, address TEXT NOT NULL) WITHOUT ROWID;
    INSERT INTO cursors VALUES ('old', '10.80.0.7'); PRAGMA user_version = 4"
ok "a schema 4 state opens" env SWNET_ROOT="$old_root" "$SWNET" network ls
eq "its cursor is kept, as the IPv4 one" "$(sqlite3 "$old_root/run/state.db" 'SELECT network, family, address FROM cursors')" "old|4|10.80.0.7"
rm -rf "$old_root"
