# Dual-stack overlays (issue 10): each host leases an IPv6 share of the overlay's IPv6 range with
# its IPv4 one, containers get an address and a default route of each family, and IPv6 crosses
# hosts like IPv4 (real HTTP over TCP, pings) in vxlan and host-gw mode, on the fast path and with
# SWNET_FAST_PATH=off. A host leaving takes its IPv6 routes with it everywhere; an agent restart
# keeps the shares and changes nothing; gc releases a dead container's addresses of both families;
# the one overlap rule covers the IPv6 range; inspect and ls show it (text and --json).
# Hosts are namespaces on one underlay bridge with etcd here (overlay-lab.sh).
source "$(dirname "${BASH_SOURCE[0]}")/overlay-lab.sh"

# `fails` also checks that no host's swnet state and nothing in etcd changed.
eval "lib_$(declare -f snapshot_all)"
snapshot_all() { lib_snapshot_all; lab_snapshot; }
exit_status() { "$@" >/dev/null 2>&1; echo $?; }
ok_here() { local description=$1; shift; if "$@"; then pass "$description"; else fail "$description"; fi; }
inspect() { lab_swnet "$1" overlay inspect "$2" --json; }
# v6_of NAMESPACE: the container's global IPv6 address on eth0.
v6_of() { ip -n "$1" -6 -o addr show dev eth0 scope global | awk '{ split($4, a, "/"); print a[1]; exit }'; }
# v6_routes N PREFIX: host N's IPv6 routes to peers (protocol 83, the overlays') inside PREFIX, sorted, one line.
v6_routes() {
    ip -n "host$1" -j -6 route show proto 83 | python3 -c '
import ipaddress, json, sys
prefix = ipaddress.ip_network(sys.argv[1])
print(" ".join(sorted(r["dst"] for r in json.load(sys.stdin)
                      if "/" in r["dst"] and ipaddress.ip_network(r["dst"]).subnet_of(prefix))))' "$2"
}
# peer_subnets6 N OVERLAY: the IPv6 shares of host N's peers as etcd has them, sorted, one line.
peer_subnets6() {
    inspect "$1" "$2" | json '" ".join(sorted(h["subnet6"] for h in d["hosts"] if h["subnet"] != d["local"]["subnet"]))'
}
# routes_match N OVERLAY PREFIX: host N has an IPv6 route to every peer's share and no other.
routes_match() { [[ $(v6_routes "$1" "$3") == "$(peer_subnets6 "$1" "$2")" ]]; }
in_sync() { [[ $(inspect "$1" "$2" | json 'd["local"]["inSync"]') == True ]]; }
# Fails on timeout; bounded polls, never a fixed sleep.
until_true() { local deadline=$(($(lab_ms) + $1 * 1000)); shift; until "$@"; do (($(lab_ms) < deadline)) || return 1; sleep 0.1; done; }

get() { ip netns exec "$1" curl -sS -g --max-time 5 "http://$2:8080/"; }
bracket() { [[ $1 == *:* ]] && echo "[$1]" || echo "$1"; }

lab_underlay; lab_host 1; lab_host 2; lab_host 3; lab_etcd

echo "# --- create"
ok "create a dual-stack overlay" lab_swnet 1 overlay create ov6 --subnet 10.61.0.0/16 --subnet fd61::/48
eq "ls shows both subnets" "$(lab_swnet 1 overlay ls --format '{{.Name}} {{.Subnet}}')" "ov6 10.61.0.0/16,fd61::/48"
eq "ls --json has the IPv6 range and host prefix" \
    "$(lab_swnet 1 overlay ls --json | json 'd[0]["subnet6"] + " " + str(d[0]["hostPrefix6"])')" "fd61::/48 64"
eq "--ipv6 derives a unique local /48 from the name" \
    "$(lab_swnet 1 overlay create ula6 --subnet 10.62.0.0/16 --ipv6 --json | json 'd["subnet6"]' | grep -cE '^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::/48$')" "1"
fails "an overlay without an IPv4 subnet is refused" lab_swnet 1 overlay create v6only --subnet fd63::/48
fails "two IPv6 subnets are refused" lab_swnet 1 overlay create two6 --subnet 10.63.0.0/16 --subnet fd63::/48 --subnet fd64::/48
fails "--host-prefix6 without an IPv6 subnet is refused" lab_swnet 1 overlay create hp6 --subnet 10.63.0.0/16 --host-prefix6 64
eq "all three as usage errors" "$(exit_status lab_swnet 1 overlay create v6only --subnet fd63::/48) $(exit_status lab_swnet 1 overlay create two6 --subnet 10.63.0.0/16 --subnet fd63::/48 --subnet fd64::/48) $(exit_status lab_swnet 1 overlay create hp6 --subnet 10.63.0.0/16 --host-prefix6 64)" "64 64 64"
fails "too few IPv6 shares for the IPv4 ones" lab_swnet 1 overlay create few6 --subnet 10.0.0.0/8 --subnet fd63::/48 --host-prefix6 56
ok "rm ula6" lab_swnet 1 overlay rm ula6

echo "# --- join"
for n in 1 2 3; do ok_here "agent on host$n" lab_agent "$n" ov6; done
eq "each host leased the IPv6 share paired with its IPv4 one" \
    "$(inspect 1 ov6 | json '" ".join(sorted(h["subnet"] + "=" + h["subnet6"] for h in d["hosts"]))')" \
    "10.61.0.0/24=fd61::/64 10.61.1.0/24=fd61:0:0:1::/64 10.61.2.0/24=fd61:0:0:2::/64"
eq "inspect --json shows this host's subnets" "$(inspect 2 ov6 | json '" ".join(d["local"]["subnets"])')" "$(inspect 2 ov6 | json 'd["local"]["subnet"]') $(inspect 2 ov6 | json 'next(h["subnet6"] for h in d["hosts"] if h["subnet"] == d["local"]["subnet"])')"
text=$(lab_swnet 1 overlay inspect ov6)
eq "inspect's text shows the IPv6 range and every host's IPv6 share" \
    "$(grep -c -e "fd61::/48" -e "fd61::/64" -e "fd61:0:0:1::/64" -e "fd61:0:0:2::/64" <<<"$text" | awk '{ print ($1 >= 4) }')" "1"
eq "the local network is dual stack" "$(lab_swnet 1 network inspect ov6 --json | json '" ".join(d["subnets"])')" "10.61.0.0/24 fd61::/64"
for n in 1 2 3; do ok_here "host$n routes every peer's IPv6 share" until_true 5 routes_match "$n" ov6 fd61::/48; done
for n in 1 2 3; do ok_here "host$n is in sync (both families)" until_true 5 in_sync "$n" ov6; done
ok "the firewall exempts the IPv6 cluster range from masquerade and forwards it" \
    bash -c '[[ $(ip netns exec host1 nft list table inet swnet | grep -c "fd61::/48") -ge 3 ]]'

echo "# --- traffic, fast path on and off"
for path in fast slow; do
    for n in 1 2 3; do lab_container "$path$n"; done
    for n in 1 2 3; do
        if [[ $path == slow ]]; then SWNET_FAST_PATH=off lab_attach "$n" "$path$n" ov6 >/dev/null; else lab_attach "$n" "$path$n" ov6 >/dev/null; fi
    done
    a4=$(lab_addr "${path}1") a6=$(v6_of "${path}1") b4=$(lab_addr "${path}2") b6=$(v6_of "${path}2") c6=$(v6_of "${path}3")
    eq "$path: containers got an IPv6 address of their host's share" "${a6%%::*}:: ${b6%%::*}::" "fd61:: fd61:0:0:1::"
    eq "$path: and an IPv6 default route" "$(ip -n "${path}1" -6 route show default | awk '{ print $3 }')" "fd61::1"
    ok_here "$path: ping6 to host3's container" eval "lab_reach ${path}1 $c6 10 >/dev/null"
    lab_http "${path}2" 8080
    eq "$path: HTTP over IPv6 to a container on another host, unmasqueraded" "$(get "${path}1" "$(bracket "$b6")")" "hello from ${path}2, you are $a6"
    eq "$path: and over IPv4 to the same server" "$(get "${path}1" "$b4")" "hello from ${path}2, you are $a4"
    # Both families at once: 20 requests of each in parallel.
    out=$LAB_DIR/$path.both
    requests=()
    for i in $(seq 20); do
        get "${path}1" "$(bracket "$b6")" >"$out.6.$i" & requests+=("$!")
        get "${path}1" "$b4" >"$out.4.$i" & requests+=("$!")
    done
    wait "${requests[@]}"
    eq "$path: 20 IPv6 and 20 IPv4 requests at once" "$(cat "$out".6.* | sort | uniq -c | awk '{ print $1 }') $(cat "$out".4.* | sort | uniq -c | awk '{ print $1 }')" "20 20"
done
fast_v4=$(lab_swnet 1 network inspect ov6 --json | json 'd["fastPath"]["encapsulatedPackets"]')
devices_before=$(ip -n host1 -s -j link show swvx1 | json 'd[0]["stats64"]["tx"]["packets"]')
ok "fast: ping6 across hosts 20 times" ip netns exec fast1 ping -n -q -c 20 -i 0.01 -W 2 "$(v6_of fast2)"
eq "IPv6 takes the kernel's VXLAN device (the fast path encapsulates IPv4 inner packets only)" \
    "$(($(ip -n host1 -s -j link show swvx1 | json 'd[0]["stats64"]["tx"]["packets"]') - devices_before >= 20))" "1"
ok "fast: ping over IPv4 across hosts" ip netns exec fast1 ping -n -q -c 5 -i 0.01 -W 2 "$(lab_addr fast2)"
eq "while IPv4 is encapsulated by the program" "$(($(lab_swnet 1 network inspect ov6 --json | json 'd["fastPath"]["encapsulatedPackets"]') - fast_v4 >= 5))" "1"

echo "# --- gc, restart, leave"
ip netns del slow3
LAB_NETNS=("${LAB_NETNS[@]/slow3/}")
ok "gc on host3" lab_swnet 3 gc
eq "released the dead container's addresses of both families" \
    "$(lab_swnet 3 network inspect ov6 --json | json 'd["attachments"] if isinstance(d["attachments"], int) else len(d["attachments"])')" "1"
before=$(v6_routes 1 fd61::/48)
ok_here "agent on host2 stops" lab_agent_stop 2
ok_here "and starts again" lab_agent 2 ov6
eq "host2 kept its shares" "$(inspect 2 ov6 | json 'd["local"]["subnets"][1]')" "fd61:0:0:1::/64"
eq "host1's IPv6 routes did not change" "$(v6_routes 1 fd61::/48)" "$before"
ok_here "host2 in sync after the restart" until_true 5 in_sync 2 ov6
eq "IPv6 across hosts still works" "$(get fast1 "$(bracket "$(v6_of fast2)")")" "hello from fast2, you are $(v6_of fast1)"
ok "host3 leaves" lab_swnet 3 overlay leave ov6 --force
lab_agent_wait 3 10 || lab_agent_stop 3 || true
for n in 1 2; do ok_here "host$n dropped host3's IPv6 route" until_true 5 eval "[[ \$(v6_routes $n fd61::/48) != *fd61:0:0:2::/64* ]]"; done
eq "host1 keeps host2's" "$(v6_routes 1 fd61::/48)" "fd61:0:0:1::/64"
eq "and has no neighbour for host3's IPv6 gateway" "$(ip -n host1 -6 neigh show dev swvx1 | grep -c 'fd61:0:0:2::1')" "0"

echo "# --- one overlap rule"
fails "network create inside the IPv6 cluster range" lab_swnet 1 network create inside6 --subnet fd61:0:0:9::/64
fails "attach's implicit network inside it" lab_swnet 1 attach fast1 br-in6 fd61:0:0:9::5/64

echo "# --- host-gw"
ok "create a dual-stack host-gw overlay" lab_swnet 1 overlay create gw6 --subnet 10.65.0.0/16 --subnet fd65::/48 --mode host-gw
for n in 1 2; do ok_here "ov6's agent on host$n stops (one agent per host in the lab)" lab_agent_stop "$n"; done
for n in 1 2; do ok_here "host-gw agent on host$n" lab_agent "$n" gw6; done
for n in 1 2; do lab_container "gw$n"; lab_attach "$n" "gw$n" gw6 >/dev/null; done
for n in 1 2; do ok_here "host$n routes the peer's IPv6 share via its gateway, resolved to its underlay MAC" until_true 5 routes_match "$n" gw6 fd65::/48; done
lab_http gw2 8080
eq "host-gw: HTTP over IPv6 across hosts" "$(get gw1 "$(bracket "$(v6_of gw2)")")" "hello from gw2, you are $(v6_of gw1)"
eq "host-gw: and over IPv4" "$(get gw1 "$(lab_addr gw2)")" "hello from gw2, you are $(lab_addr gw1)"
for n in 1 2; do ok_here "host$n in sync" until_true 5 in_sync "$n" gw6; done
for n in 1 2; do ok "host$n leaves gw6" lab_swnet "$n" overlay leave gw6 --force; done
eq "host1's IPv6 routes and neighbours of gw6 are gone" "$(v6_routes 1 fd65::/48)$(ip -n host1 -6 neigh show | grep -c 'fd65:' | grep -v '^0$')" ""

echo "# --- IPv6 underlay"
for n in 1 2; do ip -n "host$n" addr add "fd00:200::$n/64" dev eth0 nodad; done
for mode in vxlan host-gw; do
    ov=u6-$mode
    ok "create $ov" lab_swnet 1 overlay create "$ov" --subnet "10.$([[ $mode == vxlan ]] && echo 66 || echo 67).0.0/16" --ipv6 --vni 6 --mode "$mode"
    for n in 1 2; do lab_agent_stop "$n" || true; done
    for n in 1 2; do ok_here "$mode: agent on host$n with an IPv6 underlay address" lab_agent "$n" "$ov" --underlay-ip "fd00:200::$n"; done
    eq "$mode: registered with the IPv6 underlay addresses" \
        "$(inspect 1 "$ov" | json '" ".join(sorted(h["underlayIP"] for h in d["hosts"]))')" "fd00:200::1 fd00:200::2"
    if [[ $mode == vxlan ]]; then
        eq "the VXLAN device has the IPv6 local address" "$(ip -n host1 -d link show swvx6 | grep -o 'local [0-9a-f:.]*')" "local fd00:200::1"
        eq "its FDB entry goes to the peer's IPv6 address" "$(bridge -n host1 fdb show dev swvx6 | grep -c 'dst fd00:200::2 ')" "1"
        eq "the MTU leaves 70 bytes for IPv6 encapsulation" "$(lab_swnet 1 network inspect "$ov" --json | json 'd["mtu"]')" "1430"
    else
        eq "routes of both families go via the peer's IPv6 address" \
            "$(ip -n host1 route show proto 83 | grep -c 'via inet6 fd00:200::2') $(ip -n host1 -6 route show proto 83 | grep -c 'via fd00:200::2')" "1 1"
    fi
    for n in 1 2; do lab_container "u$mode$n"; lab_attach "$n" "u$mode$n" "$ov" >/dev/null; done
    lab_http "u${mode}2" 8080
    encapsulated=$(lab_swnet 1 network inspect "$ov" --json | json 'd["fastPath"]["encapsulatedPackets"]')
    eq "$mode over IPv6: HTTP over IPv6 across hosts" "$(get "u${mode}1" "$(bracket "$(v6_of "u${mode}2")")")" "hello from u${mode}2, you are $(v6_of "u${mode}1")"
    eq "$mode over IPv6: and over IPv4" "$(get "u${mode}1" "$(lab_addr "u${mode}2")")" "hello from u${mode}2, you are $(lab_addr "u${mode}1")"
    mtu=$(lab_swnet 1 network inspect "$ov" --json | json 'd["mtu"]')
    ok "$mode over IPv6: pings of the containers' full MTU ($mtu), DF set" ip netns exec "u${mode}1" ping -n -q -c 3 -i 0.2 -W 2 -M do -s $((mtu - 28)) "$(lab_addr "u${mode}2")"
    if [[ $mode == vxlan ]]; then
        eq "the fast path left IPv6-underlay encapsulation to the kernel" "$(lab_swnet 1 network inspect "$ov" --json | json 'd["fastPath"]["encapsulatedPackets"]')" "$encapsulated"
    fi
    for n in 1 2; do ok_here "host$n in sync" until_true 5 in_sync "$n" "$ov"; done
    subnets=$(lab_swnet 1 overlay ls --json | json "' '.join(o['subnet'] + ' ' + o['subnet6'] for o in d if o['name'] == '$ov')")
    for n in 1 2; do ok "host$n leaves $ov" lab_swnet "$n" overlay leave "$ov" --force; done
    for n in 1 2; do lab_agent_wait "$n" 10 || lab_agent_stop "$n" || true; done
    eq "$mode: no route of $ov is left on host1" "$(ip -n host1 route show proto 83 | grep -F "${subnets%% *}" | grep -v "^${subnets%% *}"; v6_routes 1 "${subnets##* }")" ""
done
