# DHCP, pipework-style: `attach TARGET NETWORK dhcp` runs busybox udhcpc inside the container's
# namespace, against a real dnsmasq in another namespace on the bridge. The client keeps renewing
# while the container lives, goes away with it or with detach, and writes nothing into /etc.
container srv; container c1; container c2
marker=$(mktemp); touch "$marker"
etc_files() { for f in /etc/resolv.conf /etc/hosts /etc/hostname; do [ -e "$f" ] && stat -c '%n %s %Y' "$f" && sha256sum "$f"; done; }
etc_before=$(etc_files)
ok "a network" swnet network create lan --subnet 10.70.0.0/24
ok "the DHCP server's interface" swnet attach srv lan 10.70.0.2/24
# A second LAN on a host interface that is not a bridge (a veth into srv): macvlan + DHCP.
ip link add dhcpup type veth peer name dhcpup-peer && ip link set dhcpup up && ip link set dhcpup-peer netns srv
ip -n srv link set dhcpup-peer up && ip -n srv addr add 10.72.0.2/24 dev dhcpup-peer
# dnsmasq's shortest lease is 2 minutes: udhcpc renews at half of it. --no-ping: no ICMP check of an
# address before offering it (it holds the first OFFER back a few seconds).
ip netns exec srv dnsmasq --keep-in-foreground --no-ping --port=0 --conf-file=/dev/null --leasefile-ro --pid-file= \
    --dhcp-range=10.70.0.100,10.70.0.150,2m --dhcp-option=option:router,10.70.0.1 --log-dhcp --log-facility=- \
    --dhcp-range=10.72.0.100,10.72.0.150,2m \
    >"$SWNET_ROOT/dnsmasq.log" 2>&1 &
wait_for grep -q 'DHCP, IP range' "$SWNET_ROOT/dnsmasq.log"

container c5
ok "dhcp on a macvlan child of a host interface" swnet attach c5 dhcpup dhcp
eq "... leased from the second range" "$(ip -n c5 -4 -o addr show dev eth0 | awk '{print $4}' | cut -d. -f1-3)" "10.72.0"
eq "... on a macvlan" "$(ip -n c5 -d -o link show eth0 | grep -o 'macvlan mode bridge')" "macvlan mode bridge"
ok "c5 reaches the server" ip netns exec c5 ping -c1 -W2 10.72.0.2
ok "detach c5" swnet detach c5
eq "c5's macvlan is gone" "$(ip -n c5 -o link show | grep -vc ': lo:')" "0"
ip netns del c5

# Failures before c1's lease: a leased address counts its lifetime down in every snapshot.
fails "dhcp and an address" swnet attach srv lan dhcp 10.70.0.9/24
fails "dhclient (its hooks write the host's /etc)" swnet attach srv lan dhclient
ok "a quiet network" swnet network create quiet --subnet 10.71.0.0/24
container c3
fails "no DHCP server answers (udhcpc -n gives up)" swnet attach c3 quiet "dhcp:-n -t 1 -T 1"
fails "options udhcpc refuses" swnet attach c3 quiet "dhcp:-x"
eq "...named by udhcpc's own complaint, not the end of its usage text" "$error_line" \
    "swnet: no DHCP lease for eth0 in netns c3: the client gave up (udhcpc: option requires an argument -- 'x')"
# run --network NET:dhcp: a start without a lease is undone whole (container, veth, record, files).
fails "run --network quiet:dhcp with no server" swnet run --rm --network "quiet:dhcp:-n -t 1 -T 1" -- true
[[ $error_line == *"no DHCP lease for eth0 in container "*"the client gave up"* ]] && pass "... says so" || fail "... says so: $error_line"
fails "run -d --network quiet:dhcp with no server" swnet run -d --name nolease --network "quiet:dhcp:-n -t 1 -T 1" -- sleep 60
fails "run --network with dhcp on no network or interface" swnet run --rm --network nowhere:dhcp -- true
fails "publishing on a dhcp network" swnet run --rm --network lan:dhcp -p 8080:80 -- true
eq "no container, interface record or client file left" \
    "$(swnet ps -aq | wc -l) $(state_sql 'SELECT count(*) FROM link_attachments') $(ls "$SWNET_ROOT/run/dhcp" 2>/dev/null | wc -l)" "0 0 0"

attached_at=$SECONDS attached_epoch=$(date +%s)
ok "attach c1 with dhcp" swnet attach c1 lan dhcp
echo "# attach with dhcp took $(($(date +%s) - attached_epoch)) s"
address=$(ip -n c1 -4 -o addr show dev eth0 | awk '{print $4}')
eq "c1 got a lease from the server's range" "$(python3 -c "import ipaddress,sys; a=ipaddress.ip_interface('$address'); sys.exit(0) if ipaddress.ip_address('10.70.0.100') <= a.ip <= ipaddress.ip_address('10.70.0.150') and a.network.prefixlen == 24 else sys.exit(1)" && echo yes)" "yes"
eq "the lease time is the address's lifetime" "$(ip -n c1 -4 -o addr show dev eth0 | grep -o 'valid_lft [0-9]*sec' | grep -c 'valid_lft 1[0-2][0-9]sec')" "1"
eq "the default route from the lease" "$(ip -n c1 route show default | cut -d' ' -f1-5)" "default via 10.70.0.1 dev eth0"
ok "c1 reaches the server" ip netns exec c1 ping -c1 -W2 10.70.0.2
eq "the server acknowledged it" "$(grep -c "DHCPACK(eth0) ${address%/*}" "$SWNET_ROOT/dnsmasq.log")" "1"
record=$(state_sql "SELECT record FROM link_attachments WHERE interface = 'eth0'")
client=$(echo "$record" | json 'd["clientPID"]')
ok "the client runs" kill -0 "$client"
eq "network inspect lists the DHCP interface" \
    "$(swnet network inspect lan --json | json '[(i["target"], i["containerInterface"], i["dhcp"]) for i in d["interfaces"]]')" "[('netns c1', 'eth0', True)]"
eq "also for people" "$(swnet network inspect lan | grep -c "^netns c1 .*eth0 .*${address} (dhcp)")" "1"
eq "inside c1's namespace" "$(readlink /proc/$(pgrep -P "$client")/ns/net)" "$(ip netns exec c1 readlink /proc/self/ns/net)"

# Gone with the container: a namespace name removed, a process that exits.
ok "attach c2 with dhcp" swnet attach c2 lan dhcp -i lan0
client2=$(state_sql "SELECT record FROM link_attachments WHERE interface = 'lan0'" | json 'd["clientPID"]')
host2=$(state_sql "SELECT record FROM link_attachments WHERE interface = 'lan0'" | json 'd["hostInterface"]')
ip netns del c2
ok "the client stops when c2's namespace is deleted" wait_for bash -c "! kill -0 $client2"
ok "and the namespace with its veth goes" wait_for bash -c "! ip link show $host2"
unshare --net sleep 600 & sleeper=$!
wait_for test "$(readlink /proc/$sleeper/ns/net)" != "$(readlink /proc/self/ns/net)"
ok "attach a PID with dhcp" swnet attach "$sleeper" lan dhcp
client3=$(state_sql "SELECT record FROM link_attachments WHERE record LIKE '%\"target\":\"pid $sleeper\"%'" | json 'd["clientPID"]')
kill "$sleeper"; wait "$sleeper" 2>/dev/null
ok "the client stops when the process exits" wait_for bash -c "! kill -0 $client3"
ok "gc forgets both" swnet gc
eq "only c1's record is left" "$(state_sql 'SELECT count(*) FROM link_attachments')" "1"

# run --network NET:dhcp: the lease is taken before the command starts, the client lives as long
# as the container, and stop or rm take it away.
in_range() { python3 -c "import ipaddress,sys; a=ipaddress.ip_interface(sys.argv[1]); sys.exit(0 if ipaddress.ip_address('10.70.0.100') <= a.ip <= ipaddress.ip_address('10.70.0.150') else 1)" "$1" && echo yes; }
lan_address=$(swnet run --rm --network lan:dhcp --network quiet -- ip -4 -o addr show | awk '$2 != "lo" {print $2, $4}' | tr '\n' ' ')
eq "run --rm --network lan:dhcp --network quiet: eth0 leased" "$(in_range "$(echo "$lan_address" | awk '{print $2}')")" "yes"
eq "... eth1 on quiet, in the order given" "$(echo "$lan_address" | awk '{print $3, $4}' | cut -d. -f1-3)" "eth1 10.71.0"
eq "... and nothing is left once it exited" "$(state_sql 'SELECT count(*) FROM link_attachments') $(swnet ps -aq | wc -l)" "1 0"
macvlan_run=$(swnet run --rm --network dhcpup:dhcp -- sh -c 'ip -d -o link show eth0 | grep -o "macvlan mode bridge"; ip -4 -o addr show dev eth0 | tr -s " " | cut -d" " -f4')
eq "run --rm --network dhcpup:dhcp: a macvlan of a host interface" "$(echo "$macvlan_run" | head -1)" "macvlan mode bridge"
eq "... leased from that LAN" "$(echo "$macvlan_run" | tail -1 | cut -d. -f1-3)" "10.72.0"
ok "... released when the command exited" wait_for grep -q "DHCPRELEASE(dhcpup-peer) $(echo "$macvlan_run" | tail -1 | cut -d/ -f1)" "$SWNET_ROOT/dnsmasq.log"
eq "... and forgotten" "$(state_sql 'SELECT count(*) FROM link_attachments')" "1"
ok "run -d --name dh --network lan:dhcp" swnet run -d --name dh --network lan:dhcp -- sleep 600
dh_address=$(swnet exec dh -- ip -4 -o addr show dev eth0 | awk '{print $4}')
eq "dh got a lease" "$(in_range "$dh_address")" "yes"
dh_record() { state_sql "SELECT record FROM link_attachments WHERE record LIKE '%\"target\":\"container $1\"%'"; }
dh_client=$(dh_record dh | json 'd["clientPID"]')
ok "its client runs" kill -0 "$dh_client"
eq "inspect dh lists the DHCP interface" \
    "$(swnet inspect dh --json | json '[(i["kind"], i["parent"], i["containerInterface"], i["dhcp"], i["address"]) for i in d[0]["networkSettings"]["interfaces"]]')" \
    "[('veth', 'lan', 'eth0', True, '$dh_address')]"
eq "in dh's namespace" "$(readlink /proc/$(pgrep -P "$dh_client")/ns/net)" "$(readlink /proc/$(swnet inspect dh -f '{{.pid}}')/ns/net)"
ok "stop dh" swnet stop -t 1 dh
ok "... stops the client" wait_for bash -c "! kill -0 $dh_client"
ok "... which released the lease" wait_for grep -q "DHCPRELEASE(eth0) ${dh_address%/*}" "$SWNET_ROOT/dnsmasq.log"
eq "... and forgets the interface" "$(dh_record dh | wc -l) $(ls "$SWNET_ROOT"/run/dhcp | wc -l)" "0 2"
ok "rm dh" swnet rm dh
ok "run -d --name dh2 --network lan:dhcp" swnet run -d --name dh2 --network lan:dhcp -- sleep 600
dh_client=$(dh_record dh2 | json 'd["clientPID"]')
ok "rm -f dh2" swnet rm -f dh2
ok "... stops its client" wait_for bash -c "! kill -0 $dh_client"
eq "... and leaves only c1's record" "$(state_sql 'SELECT count(*) FROM link_attachments')" "1"

# Renewal: from half the 2-minute lease on, before it expires, while c1 lives (under load the
# first answer can be missed; udhcpc asks again before the lease runs out).
remaining=$((115 - (SECONDS - attached_at)))
ok "the client renewed the lease (waited up to ${remaining} s more)" bash -c "for _ in \$(seq $((remaining * 2))); do grep -q 'swnet-dhcp: renew ${address%/*}' '$SWNET_ROOT'/run/dhcp/*.eth0.log && exit 0; sleep 0.5; done; cat '$SWNET_ROOT'/run/dhcp/*.eth0.log; exit 1"
echo "# lease events (event, seconds since attach): $(grep -h '^swnet-dhcp:' "$SWNET_ROOT"/run/dhcp/*.eth0.log | awk -v t0="$attached_epoch" '{print $2, $NF - t0}' | tr '\n' ' ')"
ok "the server acknowledged it again" test "$(grep -c "DHCPACK(eth0) ${address%/*}" "$SWNET_ROOT/dnsmasq.log")" -ge 2
eq "the address is still c1's" "$(ip -n c1 -4 -o addr show dev eth0 | awk '{print $4}')" "$address"

ok "detach c1" swnet detach c1
ok "the client is gone" wait_for bash -c "! kill -0 $client"
ok "it released the lease" wait_for grep -q "DHCPRELEASE(eth0) ${address%/*}" "$SWNET_ROOT/dnsmasq.log"
ok "attach c1 again" swnet attach c1 lan dhcp
client=$(state_sql "SELECT record FROM link_attachments WHERE interface = 'eth0'" | json 'd["clientPID"]')
eq "network rm refuses while it is attached" "$(swnet network rm lan 2>&1)" "swnet: network lan has 2 attachments; detach them or use --force"
ok "network rm --force" swnet network rm --force lan
ok "... stops the client" wait_for bash -c "! kill -0 $client"
eq "... and removes c1's interface" "$(ip -n c1 -o link show | grep -vc ': lo:')" "0"
eq "no record, script or log left" "$(state_sql 'SELECT count(*) FROM link_attachments') $(ls "$SWNET_ROOT/run/dhcp" | grep -c -e log -e sh)" "0 0"
eq "the host's resolv.conf, hosts and hostname are untouched" "$(etc_files)" "$etc_before"
eq "nothing under /etc changed by a DHCP client" "$(find /etc -newer "$marker" \( -path '*dhc*' -o -name 'resolv*' \) 2>/dev/null | wc -l)" "0"
rm -f "$marker"
