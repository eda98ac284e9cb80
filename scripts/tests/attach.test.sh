# Attach two containers, real traffic both ways, then detach.
container c1; container c2
ok "network" swnet network create net1 --subnet 10.1.0.0/24
c1_host=$(swnet attach c1 net1 10.1.0.5/24 --json | json 'd["hostInterface"]')
eq "attach c1 with a static address" "$(ip -n c1 -o -4 addr show dev eth0 | awk '{print $4}')" "10.1.0.5/24"
out=$(swnet attach c2 net1 --json)
eq "attach c2 allocates the first free address" "$(echo "$out" | json 'd["addresses"][0]')" "10.1.0.2/24"
eq "attach --json names what it made" "$(echo "$out" | json '(d["containerInterface"], d["network"], d["bridge"], d["routes"][0]["gateway"], len(d["mac"]))')" \
    "('eth0', 'net1', 'net1', '10.1.0.1', 17)"
eq "c1's eth0 is up with its address" "$(ip -n c1 -o -4 addr show dev eth0 | awk '{print $4}')" "10.1.0.5/24"
eq "c1 has a default route via the gateway" "$(ip -n c1 route show default | cut -d' ' -f1-5)" "default via 10.1.0.1 dev eth0"
ok "host reaches c1" ping -c1 -W2 10.1.0.5
ok "c1 reaches its gateway" ip netns exec c1 ping -c1 -W2 10.1.0.1
ok "c1 reaches c2" ip netns exec c1 ping -c1 -W2 10.1.0.2
ok "c2 reaches c1" ip netns exec c2 ping -c1 -W2 10.1.0.5
http_server c1 8080
eq "HTTP from c2 to c1" "$(ip netns exec c2 curl -s --max-time 5 http://10.1.0.5:8080/)" "hello from c1"
eq "HTTP from the host to c1" "$(curl -s --max-time 5 http://10.1.0.5:8080/)" "hello from c1"
host_side=$(echo "$out" | json 'd["hostInterface"]')
eq "host side is enslaved to the bridge" "$(ip -o link show "$host_side" | grep -o 'master [a-z0-9]*')" "master net1"
eq "the host side name fits IFNAMSIZ" "$((${#host_side} <= 15))" "1"

container c3
fails "attaching c1 twice to one network" swnet attach c1 net1
fails "an address already in use" swnet attach c3 net1 10.1.0.2/24
fails "an address outside the subnet" swnet attach c3 net1 10.2.0.5/24
fails "a prefix that does not match the subnet" swnet attach c3 net1 10.1.0.9/16
fails "the gateway address" swnet attach c3 net1 10.1.0.1/24
fails "the network address" swnet attach c3 net1 10.1.0.0/24
fails "the broadcast address" swnet attach c3 net1 10.1.0.255/24
fails "a malformed address" swnet attach c3 net1 10.1.0.300/24
fails "a malformed CIDR" swnet attach c3 net1 10.1.0.7/
fails "an unknown target name" swnet attach nosuchns net1
fails "an unknown PID" swnet attach 4000000 net1
fails "a path that is not a namespace" swnet attach /etc/hostname net1
fails "a container interface name over 15 bytes" swnet attach c3 net1 -i abcdefghijklmnop
fails "a container interface name with a slash" swnet attach c3 net1 -i a/b
fails "a host interface name with a blank" swnet attach c3 net1 -l "a b"
fails "an existing host interface name" swnet attach c3 net1 -l net1
fails "an unknown network without IP/LEN" swnet attach c3 nonet
fails "dhclient (its hooks write the host's /etc)" swnet attach c3 net1 dhclient
fails "a multicast MAC" swnet attach c3 net1 01:00:5e:00:00:01
fails "a bad MTU" swnet attach c3 net1 --mtu 70000
fails "a gateway outside the subnet" swnet attach c3 net1 10.1.0.9/24@10.9.9.9

ok "detach c1" swnet detach c1 net1
eq "c1's interface is gone" "$(ip -n c1 -o link show | grep -c eth0)" "0"
eq "its host side is gone" "$(ip -o link show "$c1_host" 2>/dev/null | wc -l)" "0"
eq "one attachment left" "$(swnet network inspect net1 --json | json 'len(d["attachments"])')" "1"
ok "the released address can be taken again" swnet attach c3 net1 10.1.0.5/24
fails "detaching what is not attached" swnet detach c1 net1
ok "detach c2 from every network" swnet detach c2
fails "removing a network with attachments" swnet network rm net1
ok "network rm --force" swnet network rm --force net1
eq "no veth or bridge left" "$(ip -o link show | grep -vc ': lo:')" "0"
eq "no leases left" "$(state_sql 'SELECT count(*) FROM leases')" "0"

# An address somebody held before is announced with one gratuitous ARP, which gets through the
# bridge; a fresh one is not (nobody can have it cached), sparing every port a broadcast.
ok "network" swnet network create arpnet --subnet 10.3.0.0/24
garps_while() { # COMMAND...: gratuitous ARPs for 10.3.0.7 seen on the bridge while it runs
    local capture dump
    capture=$(mktemp)
    timeout 5 tcpdump -l -eni arpnet arp >"$capture" 2>/dev/null & dump=$!
    sleep 0.5
    "$@" >/dev/null
    sleep 0.5; kill $dump 2>/dev/null; wait $dump 2>/dev/null
    grep -c 'who-has 10.3.0.7 tell 10.3.0.7' "$capture"
    rm -f "$capture"
}
container a1
eq "a fresh address is not announced" "$(garps_while swnet attach a1 arpnet 10.3.0.7/24)" "0"
ok "detach a1" swnet detach a1 arpnet
container a2
eq "the same address on another container: exactly one gratuitous ARP crossed the bridge" "$(garps_while swnet attach a2 arpnet 10.3.0.7/24)" "1"
