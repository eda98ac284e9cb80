# pipework's other networks: a host interface that is not a bridge gets a macvlan child into the
# container (or, with --direct, goes in itself); @VID needs 802.1Q, which this kernel lacks.
# Then iproute2 inside a target (route/rule/tc), swnet wait, and --rate measured with iperf3.
container lanpeer; container c1; container c2; container c3
# The "physical" NICs are veths whose other end is in lanpeer: a virtual device that dies with
# its namespace, never one the kernel would hand back to the machine's namespace.
ip link add uplink type veth peer name uplink-peer && ip link set uplink up
ip link set uplink-peer netns lanpeer && ip -n lanpeer link set uplink-peer up
ip -n lanpeer addr add 10.80.0.1/24 dev uplink-peer
ip link add phys0 type veth peer name phys0-peer && ip link set phys0-peer netns lanpeer
ip -n lanpeer link set phys0-peer up && ip -n lanpeer addr add 10.81.0.1/24 dev phys0-peer

ok "a macvlan child of a host interface" swnet attach c1 uplink 10.80.0.5/24@10.80.0.1
eq "bridge mode by default" "$(ip -n c1 -d -o link show eth0 | grep -o 'macvlan mode [a-z]*')" "macvlan mode bridge"
eq "the default route via @GATEWAY" "$(ip -n c1 route show default | cut -d' ' -f1-5)" "default via 10.80.0.1 dev eth0"
ok "c1 reaches the LAN through it" ip netns exec c1 ping -c1 -W2 10.80.0.1
ok "--macvlan-mode private, -i" swnet attach c2 uplink 10.80.0.6/24 --macvlan-mode private -i lan1
eq "private mode" "$(ip -n c2 -d -o link show lan1 | grep -o 'macvlan mode [a-z]*')" "macvlan mode private"
eq "a record per interface" "$(swnet attach c3 uplink 10.80.0.7/24 --json | json 'd["kind"], d["parent"], d["dhcp"]')" "('macvlan', 'uplink', False)"
ok "detach c3's macvlan" swnet detach c3 uplink

fails "@VID: this kernel has no 802.1Q" swnet attach c3 uplink 10.82.0.5/24 @10
eq "... says so" "$error_line" "swnet: VLAN 10 on uplink: this kernel has no 802.1Q VLAN support (module 8021q)"
fails "MAC@VID likewise" swnet attach c3 uplink 10.82.0.5/24 02:11:22:33:44:55@10
fails "an invalid VID" swnet attach c3 uplink 10.82.0.5/24 @4095
fails "a host interface without IP/LEN" swnet attach c3 uplink
fails "an unknown macvlan mode" swnet attach c3 uplink 10.80.0.8/24 --macvlan-mode source
fails "--direct with --macvlan-mode" swnet attach c3 phys0 10.81.0.5/24 --direct --macvlan-mode bridge
fails "an interface that is nowhere" swnet attach c3 nosuchif 10.81.0.5/24 --direct
fails "the loopback interface (no macvlan on it, and it cannot move)" swnet attach c3 lo 10.81.0.5/24
fails "the loopback interface with --direct" swnet attach c3 lo 10.81.0.5/24 --direct
eq "... names the problem" "$error_line" "swnet: lo is not an Ethernet interface: a macvlan or --direct needs one (or name a bridge or swnet network)"
ok "a network" swnet network create net1 --subnet 10.83.0.0/24
fails "--direct on a swnet network's bridge" swnet attach c3 net1 10.83.0.5/24 --direct

ok "--direct moves the interface in" swnet attach c3 phys0 10.81.0.5/24 --direct
eq "phys0 left the host" "$(ip -o link show phys0 2>/dev/null | wc -l)" "0"
eq "it is c3's eth0, up, with the address" "$(ip -n c3 -o -4 addr show dev eth0 | awk '{print $4}')" "10.81.0.5/24"
ok "c3 reaches the LAN through it" ip netns exec c3 ping -c1 -W2 10.81.0.1
# inspect: every interface of a target, of every kind, whatever the target is.
ok "c3 on net1 too" swnet attach c3 net1
eq "inspect c3 --json: its network and its moved-in interface" \
    "$(swnet inspect c3 --json | json '[(x["target"], list(x["networkSettings"]["networks"]), [(i["kind"], i["parent"], i["containerInterface"], i["address"]) for i in x["networkSettings"]["interfaces"]]) for x in d]')" \
    "[('netns c3', ['net1'], [('direct', 'phys0', 'eth0', '10.81.0.5/24')])]"
eq "... and for people" "$(swnet inspect c3 | grep -c -e '^target: *netns c3$' -e '^address: *10.83.0.[0-9]*/24 on net1 (eth1,' -e '^interface: eth0 10.81.0.5/24, direct on phys0, MAC ')" "3"
eq "inspect c1 c2: their macvlans" \
    "$(swnet inspect c1 c2 --json | json '[(x["target"], [(i["kind"], i["parent"], i["containerInterface"]) for i in x["networkSettings"]["interfaces"]]) for x in d]')" \
    "[('netns c1', [('macvlan', 'uplink', 'eth0')]), ('netns c2', [('macvlan', 'uplink', 'lan1')])]"
eq "-f over the same object" "$(swnet inspect c2 -f '{{.target}}: {{json .networkSettings.interfaces}}' | cut -d: -f1)" "netns c2"
fails "inspect an unknown target" swnet inspect nosuchns
ok "detach c3 from net1" swnet detach c3 net1
ok "detach moves it back" swnet detach c3 phys0
eq "phys0 is on the host again, under its name" "$(ip -o link show phys0 | grep -c 'phys0@')" "1"
eq "and gone from c3" "$(ip -n c3 -o link show | grep -vc ': lo:')" "0"

# iproute2 inside a target, resolved as attach resolves it; the tool's exit status is ours.
ok "swnet route adds a route in c1" swnet route c1 add 10.200.0.0/16 via 10.80.0.1
eq "... in c1's table" "$(ip -n c1 route show 10.200.0.0/16)" "10.200.0.0/16 via 10.80.0.1 dev eth0 "
eq "not in the host's" "$(ip route show 10.200.0.0/16 | wc -l)" "0"
ok "swnet rule" swnet rule c1 add from 10.80.0.5 table 100
eq "... in c1" "$(ip -n c1 rule show | grep -c 'from 10.80.0.5 lookup 100')" "1"
ok "options go before the object: ip -4 rule show" swnet rule c1 -- -4 show
ok "swnet tc" swnet tc c1 qdisc add dev eth0 root tbf rate 1mbit burst 32kb latency 50ms
eq "... in c1" "$(ip netns exec c1 tc qdisc show dev eth0 | grep -c 'qdisc tbf [0-9a-f]*: root .*rate 1Mbit')" "1"
swnet route c1 del 10.201.0.0/16 2>/dev/null; status=$?
eq "iproute2's exit status comes back" "$status" "2"
fails "an unknown target" swnet route nosuchns show
ok "detach c1 and c2" swnet detach c1
ok "..." swnet detach c2
container c4
ok "a macvlan into c4" swnet attach c4 uplink 10.80.0.9/24
ip netns del c4
eq "gc forgets it once c4's namespace is gone" "$(swnet gc)" "removed macvlan attachment of netns c4 (eth0 on uplink)"
eq "no interface records left" "$(state_sql 'SELECT count(*) FROM link_attachments')" "0"
eq "uplink is still there" "$(ip -o link show uplink | wc -l)" "1"

# swnet wait: up, carrier and an address, not just existence (pipework#243).
container w1
wait_status() { ip netns exec w1 "$SWNET" wait "$@" 2>&1; echo "status $?"; }
eq "a missing interface times out" "$(wait_status -i eth0 --timeout 0.2)" "swnet: interface eth0 not ready after 0.2 s: it does not exist
status 1"
ip -n w1 link add eth0 type veth peer name peer0
eq "a down one" "$(wait_status --timeout 0.2 | head -1)" "swnet: interface eth0 not ready after 0.2 s: it is down"
ip -n w1 link set eth0 up
eq "up without carrier" "$(wait_status --timeout 0.2 | head -1)" "swnet: interface eth0 not ready after 0.2 s: it has no carrier"
ip -n w1 link set peer0 up
eq "carrier without an address" "$(wait_status --timeout 0.2 | head -1)" "swnet: interface eth0 not ready after 0.2 s: it has no address"
ip -n w1 link del eth0
ip netns exec w1 "$SWNET" wait --timeout 20 & waiter=$!
sleep 0.3
eq "a waiter blocks until attach" "$(kill -0 $waiter 2>/dev/null && echo waiting)" "waiting"
ok "attach w1" swnet attach w1 net1
wait $waiter; status=$?
eq "then it returns 0" "$status" "0"

# --rate: a tbf both ways, measured with iperf3 (loosely: the machine is shared).
ok "attach with --rate 20mbit" swnet attach c2 net1 10.83.0.9/24 --rate 20mbit
host_side=$(swnet network inspect net1 --json | json '[a["hostInterface"] for a in d["attachments"] if a["address"] == "10.83.0.9/24"][0]')
eq "tbf on the host side (into the container)" "$(tc qdisc show dev "$host_side" | grep -c 'tbf 1: root .* rate 20Mbit')" "1"
eq "tbf on the container side (out of it)" "$(ip netns exec c2 tc qdisc show dev eth0 | grep -c 'tbf 1: root .* rate 20Mbit')" "1"
iperf3 -s -1 -B 10.83.0.1 >/dev/null 2>&1 & sleep 0.3
out=$(ip netns exec c2 iperf3 -c 10.83.0.1 -t 2 -J | json 'round(d["end"]["sum_received"]["bits_per_second"] / 1e6, 1)')
iperf3 -s -1 -B 10.83.0.1 >/dev/null 2>&1 & sleep 0.3
in=$(ip netns exec c2 iperf3 -c 10.83.0.1 -t 2 -R -J | json 'round(d["end"]["sum_received"]["bits_per_second"] / 1e6, 1)')
echo "# --rate 20mbit: out of the container $out Mbit/s, into it $in Mbit/s"
ok "out of the container: 14 to 22 Mbit/s (measured $out)" python3 -c "import sys; sys.exit(not 14 <= $out <= 22)"
ok "into the container: 14 to 22 Mbit/s (measured $in)" python3 -c "import sys; sys.exit(not 14 <= $in <= 22)"
fails "a rate without a unit swnet knows" swnet attach c3 net1 --rate 10mbitz
fails "a bad burst" swnet attach c3 net1 --rate 10mbit/lots
eq "swnet run --rate limits the container's interface" "$(swnet run --rm --network net1 --rate 5mbit -- tc qdisc show dev eth0 | grep -c 'tbf 1: root .*rate 5Mbit')" "1"
ok "run -d --rate" swnet run -d --name rated --network net1 --rate 5mbit/40kb -- sleep 600
eq "... reaches its monitor, which limits the interface too" "$(swnet exec rated -- tc qdisc show dev eth0 | grep -c 'tbf 1: root .*rate 5Mbit burst 40Kb')" "1"
ok "rm -f rated" swnet rm -f rated
ok "network rm --force" swnet network rm --force net1
