# pipework's grammar: a bridge that exists nowhere is created from IP/LEN; @GATEWAY; MACs; -i/-l/--mtu.
container c1; container c2
ok "attach to a new bridge creates it" swnet attach c1 br7 192.168.70.5/24
eq "br7 has the first address as gateway" "$(ip -o -4 addr show dev br7 | awk '{print $4}')" "192.168.70.1/24"
eq "br7 is a swnet network now" "$(swnet network inspect br7 --json | json '(d["subnet"], d["managesBridge"])')" "('192.168.70.0/24', True)"
ok "the host reaches c1 through br7" ping -c1 -W2 192.168.70.5

ok "@GATEWAY, -i, -l, --mtu and U:STRING" swnet attach c2 br7 192.168.70.6/24@192.168.70.254 U:web-1 -i lan0 -l hostlan0 --mtu 1400
eq "c2's default route uses the given gateway" "$(ip -n c2 route show default | cut -d' ' -f1-5)" "default via 192.168.70.254 dev lan0"
eq "c2's interface is lan0 with MTU 1400" "$(ip -n c2 -o link show lan0 | grep -o 'mtu [0-9]*')" "mtu 1400"
eq "host side is hostlan0 on br7" "$(ip -o link show hostlan0 | grep -o 'master br7')" "master br7"
mac1=$(ip -n c2 -o link show lan0 | grep -o 'link/ether [0-9a-f:]*')
ok "detach c2" swnet detach c2 br7 -i lan0
ok "attach c2 again with U:web-1" swnet attach c2 br7 192.168.70.6/24 U:web-1
eq "U:STRING gives the same MAC on every run" "$(ip -n c2 -o link show eth0 | grep -o 'link/ether [0-9a-f:]*')" "$mac1"
ok "detach c2 again" swnet detach c2
ok "an explicit MAC" swnet attach c2 br7 02:aa:bb:cc:dd:ee
eq "c2 has that MAC" "$(ip -n c2 -o link show eth0 | grep -o 'link/ether [0-9a-f:]*')" "link/ether 02:aa:bb:cc:dd:ee"
ok "c1 and c2 talk" ip netns exec c2 ping -c1 -W2 192.168.70.5

# A Linux bridge swnet did not create is used as it is.
ip link add extbr type bridge && ip link set extbr up && ip addr add 172.20.0.1/24 dev extbr
container c3
ok "attach to an existing foreign bridge" swnet attach c3 extbr 172.20.0.7/24@172.20.0.1
ok "the host reaches c3 over the foreign bridge" ping -c1 -W2 172.20.0.7
ok "remove the network record" swnet network rm --force extbr
eq "the foreign bridge is left alone" "$(ip -o link show extbr | wc -l) $(ip -o -4 addr show dev extbr | awk '{print $4}')" "1 172.20.0.1/24"
eq "c3's interface went with the network" "$(ip -n c3 -o link show | grep -c eth0)" "0"

# Targets by PID and by path.
ip netns exec c3 sleep 60 & sleeper=$!
sleep 0.2
ok "attach by PID" swnet attach "$sleeper" br7
eq "the PID's namespace got eth0" "$(ip -n c3 -o -4 addr show dev eth0 | wc -l)" "1"
ok "detach by path" swnet detach /run/netns/c3 br7
ok "attach by netns: prefix" swnet attach netns:c3 br7 192.168.70.9/24
ok "detach by pid: prefix" swnet detach "pid:$sleeper"
kill $sleeper

ok "IPv6: attach to a new v6 bridge" swnet attach c3 six fd00:77::5/64
ok "IPv6: the host reaches c3" ping -6 -c1 -W2 fd00:77::5
