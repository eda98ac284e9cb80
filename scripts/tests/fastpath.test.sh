# The eBPF fast path: containers of one network on this host reach each other through the tcx
# program's bpf_redirect_peer, not the bridge; everything else keeps the normal path.
# To prove which path a packet took, a bridge-family nftables table drops every IP frame the
# bridge would forward (ARP still passes): then only the fast path can carry IP between them.
container c1; container c2; container c3; container c4
unreachable() { ! ip netns exec "$1" ping -c1 -W1 "$2"; }
ok "network" swnet network create fp1 --subnet 10.70.0.0/24
ok "another network" swnet network create fp2 --subnet 10.71.0.0/24
eq "attach c1: on the fast path" "$(swnet attach c1 fp1 10.70.0.2/24 --json | json 'd["dataPath"]')" "fast-path"
eq "attach c2: on the fast path" "$(swnet attach c2 fp1 10.70.0.3/24 --json | json 'd["dataPath"]')" "fast-path"
eq "attach c4 with --no-fast-path: on the bridge" "$(swnet attach --no-fast-path c4 fp1 10.70.0.4/24 --json | json 'd["dataPath"]')" "bridge"
ok "attach c3 to the other network" swnet attach c3 fp2 10.71.0.2/24
eq "the programs are loaded, nothing is pinned" "$(swnet network inspect fp1 --json | json 'd["fastPath"]["loaded"]') $(findmnt -n -t bpf | wc -l)" "True 0"

ok "c1 reaches c2" ip netns exec c1 ping -c1 -W2 10.70.0.3
ok "c1 reaches c4 (one side on the bridge)" ip netns exec c1 ping -c1 -W2 10.70.0.4
ok "the bridge forwards no IP any more" nft -f - <<'NFT'
table bridge fptest {
    chain forward { type filter hook forward priority 0; meta protocol { ip, ip6 } drop; }
}
NFT
before=$(swnet network inspect fp1 --json | json 'd["fastPath"]["redirectedPackets"]')
ok "c1 still reaches c2: the fast path carries it" ip netns exec c1 ping -c3 -i0.2 -W2 10.70.0.3
ok "c2 reaches c1" ip netns exec c2 ping -c1 -W2 10.70.0.2
http_server c1 8080
eq "HTTP from c2 to c1 on the fast path" "$(ip netns exec c2 curl -s --max-time 5 http://10.70.0.2:8080/)" "hello from c1"
after=$(swnet network inspect fp1 --json | json 'd["fastPath"]["redirectedPackets"]')
eq "the program counted the redirected packets (>= 8)" "$((after - before >= 8))" "1"
ok "c1 cannot reach c4, whose side is on the bridge" unreachable c1 10.70.0.4
ok "nor c3 on another network" unreachable c1 10.71.0.2
ok "the bridge forwards again" nft delete table bridge fptest
ok "c1 reaches the gateway (the normal path)" ip netns exec c1 ping -c1 -W2 10.70.0.1
ok "networks stay isolated with the fast path" unreachable c1 10.71.0.2
ok "publish c1's 8080" swnet publish c1 18080:8080
eq "c2 reaches c1's published port through the gateway (hairpin NAT)" \
    "$(ip netns exec c2 curl -s --max-time 5 http://10.70.0.1:18080/)" "hello from c1"
eq "network inspect says the path" "$(swnet network inspect fp1 | grep -c 'fast-path')" "2"

ok "detach c2" swnet detach c2 fp1
ok "c1 and c4 still talk" ip netns exec c1 ping -c1 -W2 10.70.0.4
ok "reattach c2" swnet attach c2 fp1 10.70.0.3/24
ok "c1 reaches c2 again" ip netns exec c1 ping -c1 -W2 10.70.0.3

# A record lost by a crash: gc removes what no attachment owns.
c2_record=$(swnet network inspect fp1 --json | json '[(a["namespace"], a["hostInterface"]) for a in d["attachments"] if a["address"] == "10.70.0.3/24"][0]')
read -r c2_namespace c2_host < <(echo "$c2_record" | tr -d "(),'")
state_sql "DELETE FROM attachments WHERE network = 'fp1' AND namespace = '$c2_namespace'"
eq "gc removes the orphan endpoint, port and link" \
    "$(swnet gc --json | json 'sorted(e.split()[0] for e in d["fastPathEntries"])')" "['endpoint', 'port']"
ok "remove c2's orphan veth" ip link del "$c2_host"

ok "network rm --force fp1" swnet network rm --force fp1
ok "detach c3" swnet detach c3
eq "fp2's bridge still holds the program" "$(swnet network inspect fp2 --json | json 'd["fastPath"]["loaded"]')" "True"
ok "network rm fp2" swnet network rm fp2
ok "gc" swnet gc
eq "with the last network gone, the kernel freed program and maps, and their ids are forgotten" \
    "$(ls "$SWNET_ROOT/run/fastpath-ids" 2>/dev/null | wc -l)" "0"
ok "network fp2 again" swnet network create fp2 --subnet 10.71.0.0/24

SWNET_FAST_PATH=off
export SWNET_FAST_PATH
eq "SWNET_FAST_PATH=off: attach takes the bridge" "$(swnet attach c1 fp2 --json | json 'd["dataPath"]')" "bridge"
eq "and loads nothing" "$(ls "$SWNET_ROOT/run/fastpath-ids" 2>/dev/null | wc -l)" "0"
unset SWNET_FAST_PATH
