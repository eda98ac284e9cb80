# Multi-host overlays (`swnet overlay`), end to end. Hosts are network namespaces on one underlay
# bridge (overlay-lab.sh), etcd runs in this namespace, an agent runs per host, containers run on
# every host. The same checks for VXLAN and for host-gw: traffic between hosts without
# masquerade, joins and leaves seen by every peer's kernel within a bound, agent restarts and
# crashes, lease expiry, a changed underlay address, an etcd restart, compacted watches, MTU.
# Then TLS to etcd with client certificates, and bad input.
#
# What this expects of `swnet overlay inspect NAME --json` (as seen from any host):
#   {"config": {"subnet": CIDR, "mode": "vxlan"|"host-gw", "vni": N, "port": N, ...},
#    "hosts": [{"subnet": CIDR, "underlayIP": IP, "vtepMAC": MAC (vxlan), "ttl": SECONDS, ...}],
#    "local": {"joined": BOOL, "subnet": CIDR|null, "inSync": BOOL, ...}}
# and of `swnet overlay ls --json`: [{"name": NAME, ...}]. On a joined host the overlay is a swnet
# network of the same name (`network inspect --json`: subnet, gateway, bridge, mtu).
# The kernel state expected on a host (kernel_check below): VXLAN, one VXLAN device (VNI, port,
# local = the host's underlay address) with, for every peer, an FDB entry vtepMAC -> underlayIP,
# a permanent neighbour with lladdr vtepMAC and a route to the peer's subnet through the device;
# host-gw, a route to every peer's subnet via its underlay address; nothing for anyone else.
source "$(dirname "${BASH_SOURCE[0]}")/overlay-lab.sh"

# Without the command there is nothing to run: one clear failure, not hundreds of timeouts.
if ! swnet --help 2>&1 | grep -q '^ *overlay '; then
    fail "swnet has no 'overlay' command"
    return 0
fi

JOIN_BOUND_MS=3000   # a host that joins is reached from every peer within this (the target is ~1 s)
LEAVE_BOUND_MS=3000  # a host that leaves is gone from every peer's kernel within this
CATCH_UP_S=15        # after an etcd outage or a compacted watch, agents catch up within this

# ok_here DESCRIPTION COMMAND...: like ok, in this shell (lab helpers that start processes or set
# variables must not run in a subshell); the command's output goes to the log as it is.
ok_here() { local description=$1; shift; if "$@"; then pass "$description"; else fail "$description"; fi; }
# within DESCRIPTION MS BOUND-MS: a measured time within its bound (the time is in the line).
within() { if [[ $2 =~ ^[0-9]+$ ]] && (($2 <= $3)); then pass "$1 ($2 ms)"; else fail "$1 (${2:-never} ms, bound $3 ms)"; fi; }
# `fails` also checks that no host's swnet state and nothing in etcd changed.
eval "lib_$(declare -f snapshot_all)"
snapshot_all() { lib_snapshot_all; lab_snapshot; }

# inspect N OVERLAY [ARGS...]: `overlay inspect --json` in host N (with the TLS flags while etcd uses TLS).
inspect() { local n=$1 ov=$2; shift 2; lab_swnet "$n" overlay inspect "$ov" --json "${LAB_TLS_ARGS[@]}" "$@"; }
local_subnet() { inspect "$1" "$2" | json 'd["local"]["subnet"]'; }
# host_field N OVERLAY UNDERLAY-IP FIELD: a field of the host with that underlay address, as host N
# sees the overlay ("None" when no such host is registered).
host_field() { inspect "$1" "$2" | json "next((h.get('$4') for h in d['hosts'] if h['underlayIP'] == '$3'), None)"; }
host_links() { ip -n "host$1" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' '; }
running_agents() { local n count=0; for n in "$@"; do lab_agent_running "$n" && count=$((count + 1)); done; echo "$count"; }

# kernel_check N OVERLAY MODE: what differs between host N's kernel and the overlay's hosts as
# host N sees them in etcd (see the top of this file); nothing when they match.
kernel_check() {
    local json_file
    json_file=$(mktemp)
    inspect "$1" "$2" >"$json_file" 2>&1 || { echo "inspect failed: $(head -c 300 "$json_file")"; rm -f "$json_file"; return; }
    python3 - "host$1" "$3" "$json_file" <<'PY'
import ipaddress, json, subprocess, sys
ns, mode = sys.argv[1], sys.argv[2]
d = json.load(open(sys.argv[3]))
def run(*cmd):
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []
problems = []
local = d.get("local") or {}
if not local.get("joined"):
    problems.append("local.joined is not true")
if not local.get("inSync"):
    problems.append("local.inSync is not true")
cluster = ipaddress.ip_network(d["config"]["subnet"])
mine = local.get("subnet")
peers = [h for h in d["hosts"] if h["subnet"] != mine]
if mine not in [h["subnet"] for h in d["hosts"]]:
    problems.append("this host (%s) is not among the hosts" % mine)
def inside(dst):  # a route to part of the cluster subnet other than this host's own
    try:
        net = ipaddress.ip_network(dst, strict=False)
    except ValueError:
        return False
    return net.version == cluster.version and net.subnet_of(cluster) and net != cluster and str(net) != mine
routes = [r for r in run("ip", "-n", ns, "-j", "route", "show", "table", "main") if inside(r.get("dst", ""))]
def compare(what, got, want):
    problems.extend("stale %s: %s" % (what, x) for x in sorted(got - want))
    problems.extend("missing %s: %s" % (what, x) for x in sorted(want - got))
if mode == "vxlan":
    links = run("ip", "-n", ns, "-j", "-d", "link", "show", "type", "vxlan")
    if len(links) != 1:
        problems.append("%d VXLAN devices, not 1" % len(links))
    else:
        name, info = links[0]["ifname"], links[0]["linkinfo"]["info_data"]
        underlay = [a["local"] for l in run("ip", "-n", ns, "-j", "-4", "addr", "show", "dev", "eth0") for a in l["addr_info"]]
        for key, want in (("id", d["config"].get("vni", 1)), ("port", d["config"].get("port", 4789))):
            if info.get(key) != want:
                problems.append("VXLAN %s is %s, not %s" % (key, info.get(key), want))
        if "local" in info and info["local"] not in underlay:
            problems.append("VXLAN local address %s is not the underlay's %s" % (info["local"], underlay))
        fdb = {(e["mac"].lower(), e["dst"]) for e in run("bridge", "-n", ns, "-j", "fdb", "show", "dev", name) if "dst" in e}
        compare("FDB entry", fdb, {(p["vtepMAC"].lower(), p["underlayIP"]) for p in peers})
        neigh = {e["lladdr"].lower() for e in run("ip", "-n", ns, "-j", "neigh", "show", "dev", name)
                 if "lladdr" in e and not set(e.get("state", [])) & {"FAILED", "INCOMPLETE"}}
        compare("neighbour lladdr", neigh, {p["vtepMAC"].lower() for p in peers})
        compare("route", {r["dst"] for r in routes if r.get("dev") == name}, {p["subnet"] for p in peers})
        problems.extend("route not through %s: %s" % (name, r) for r in routes if r.get("dev") != name)
else:
    compare("route", {(r["dst"], r.get("gateway")) for r in routes}, {(p["subnet"], p["underlayIP"]) for p in peers})
print("\n".join(problems))
PY
    rm -f "$json_file"
}

# converged DESCRIPTION OVERLAY MODE SECONDS HOST...: every host's kernel matches etcd, and the
# hosts agree on the list of hosts, within SECONDS.
converged() {
    local description=$1 ov=$2 mode=$3 seconds=$4; shift 4
    local deadline=$(($(lab_ms) + seconds * 1000)) problems n lists
    while :; do
        problems=
        for n in "$@"; do
            local p; p=$(kernel_check "$n" "$ov" "$mode")
            [[ -z $p ]] || problems+="host$n: ${p//$'\n'/; }"$'\n'
        done
        lists=$(for n in "$@"; do inspect "$n" "$ov" | json 'sorted((h["subnet"], h["underlayIP"]) for h in d["hosts"])'; done | sort -u | wc -l)
        ((lists == 1)) || problems+="the hosts see different host lists"$'\n'
        [[ -n $problems && $(lab_ms) -lt $deadline ]] || break
        sleep 0.2
    done
    eq "$description" "${problems%$'\n'}" ""
}

# gone_from_peers OVERLAY UNDERLAY-IP VTEP-MAC SUBNET HOST...: milliseconds until no host lists that
# host in etcd and no host's kernel has an entry for it (bounded by LEAVE_BOUND_MS + 2 s);
# prints nothing on timeout.
gone_from_peers() {
    local ov=$1 ip=$2 mac=$3 subnet=$4; shift 4
    local t0 n left
    t0=$(lab_ms)
    while (($(lab_ms) - t0 <= LEAVE_BOUND_MS + 2000)); do
        left=
        for n in "$@"; do
            left+=$(lab_peer_entries "$n" "$ip" "$mac" "$subnet")
            [[ $(host_field "$n" "$ov" "$ip" subnet) == None ]] || left+="listed on host$n"
        done
        [[ -n $left ]] || { echo $(($(lab_ms) - t0)); return 0; }
        sleep 0.05
    done
    echo "    still there: $left" >&2
}

# reached_by IP FROM-NAMESPACE...: the milliseconds until every namespace pinged the address
# (each bounded by $LAB_REACH_S, 5 s); nothing if one never does.
reached_by() {
    local ip=$1 t0 ns; shift
    t0=$(lab_ms)
    for ns in "$@"; do lab_reach "$ns" "$ip" "${LAB_REACH_S:-5}" >/dev/null || return 0; done
    echo $(($(lab_ms) - t0))
}

lab_underlay
for n in 1 2 3 4 5; do ok_here "host$n on the underlay" lab_host "$n"; done
ok_here "etcd" lab_etcd
command -v ethtool >/dev/null || fail "ethtool is missing (scripts/setup.sh should install it): the MTU checks need it"
rootfs=$LAB_DIR/rootfs
busybox_rootfs "$rootfs" && mkdir -p "$rootfs/www" && echo "busybox on the overlay" >"$rootfs/www/index.html"

# The whole life of one overlay in one mode.
suite() {
    local mode=$1 ov=$2 subnet=$3 other_mode n m
    [[ $mode == vxlan ]] && other_mode=host-gw || other_mode=vxlan
    echo "# --- $mode: overlay $ov, $subnet"

    # Create (once per cluster), then an agent per host.
    ok "create $ov ($mode)" lab_swnet 1 overlay create "$ov" --subnet "$subnet" --mode "$mode"
    ok "the same config again, from another host, is fine" lab_swnet 2 overlay create "$ov" --subnet "$subnet" --mode "$mode"
    fails "the same name with another mode" lab_swnet 2 overlay create "$ov" --subnet "$subnet" --mode "$other_mode"
    fails "the same name with another subnet" lab_swnet 2 overlay create "$ov" --subnet 10.199.0.0/16 --mode "$mode"
    eq "ls lists it" "$(lab_swnet 3 overlay ls --json | json "[o['name'] for o in d if o['name'] == '$ov']")" "['$ov']"
    eq "inspect before any host joined" "$(inspect 3 "$ov" | json '(d["config"]["subnet"], d["config"]["mode"], len(d["hosts"]), d["local"]["joined"])')" \
        "('$subnet', '$mode', 0, False)"
    for n in 1 2 3; do ok_here "the agent in host$n is ready" lab_agent "$n" "$ov"; done
    eq "three hosts, three different /24s of $subnet" \
        "$(inspect 1 "$ov" | json "len(d['hosts']), len({h['subnet'] for h in d['hosts']}), all(h['subnet'].endswith('/24') and __import__('ipaddress').ip_network(h['subnet']).subnet_of(__import__('ipaddress').ip_network('$subnet')) for h in d['hosts'])")" \
        "(3, 3, True)"
    eq "with their underlay addresses" "$(inspect 2 "$ov" | json 'sorted(h["underlayIP"] for h in d["hosts"])')" \
        "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$(lab_host_ip 1)" "$(lab_host_ip 2)" "$(lab_host_ip 3)")"
    [[ $mode == vxlan ]] && eq "and a VTEP MAC each" "$(inspect 1 "$ov" | json 'len({h["vtepMAC"].lower() for h in d["hosts"]})')" "3"
    eq "the default TTL is 60 s" "$(inspect 1 "$ov" | json '{h["ttl"] for h in d["hosts"]}')" "{60}"
    converged "every kernel matches etcd" "$ov" "$mode" 5 1 2 3
    local expected_mtu=1500
    [[ $mode == vxlan ]] && expected_mtu=1450
    for n in 1 2 3; do
        local sub gw
        sub=$(local_subnet "$n" "$ov")
        gw=$(python3 -c 'import ipaddress, sys; print(next(ipaddress.ip_network(sys.argv[1]).hosts()))' "$sub")
        eq "host$n: the overlay is a swnet network with its subnet, the bridge has the first address" \
            "$(lab_swnet "$n" network inspect "$ov" --json | json '(d["subnet"], d["gateway"], d["mtu"], d["bridgePresent"])')" \
            "('$sub', '$gw', $expected_mtu, True)"
        eq "host$n: the bridge has it in the kernel" \
            "$(ip -n "host$n" -4 -o addr show dev "$(lab_swnet "$n" network inspect "$ov" --json | json 'd["bridge"]')" | awk '{print $4}')" \
            "$gw/${sub#*/}"
    done
    if [[ $mode == vxlan ]]; then
        local vx
        vx=$(lab_vxlan_dev 1)
        eq "the VXLAN device: VNI 1, port 4789, MTU 1450 (underlay 1500 - 50), no learning" \
            "$(ip -n host1 -j -d link show "$vx" | json '(d[0]["linkinfo"]["info_data"]["id"], d[0]["linkinfo"]["info_data"]["port"], d[0]["mtu"], d[0]["linkinfo"]["info_data"].get("learning"))')" \
            "(1, 4789, 1450, False)"
    fi

    # Containers: a namespace attached on every host, and a busybox container run on host3.
    declare -gA addr=()
    for n in 1 2 3; do
        lab_container "c${n}a"
        addr[$n]=$(lab_attach "$n" "c${n}a" "$ov")
        eq "c${n}a on host$n gets an address of host$n's subnet" \
            "$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1]) in ipaddress.ip_network(sys.argv[2]))' "${addr[$n]}" "$(local_subnet "$n" "$ov")")" "True"
    done
    for n in 1 2 3; do
        for m in 1 2 3; do
            ((n == m)) || ok "c${n}a (host$n) pings c${m}a (host$m)" ip netns exec "c${n}a" ping -n -c 2 -W 2 "${addr[$m]}"
        done
    done
    ok_here "an HTTP server in c2a" lab_http c2a 8080 c2a
    ok_here "and in c1a" lab_http c1a 8080 c1a
    eq "HTTP c1a -> c2a: the server sees c1a's own address (no masquerade)" \
        "$(ip netns exec c1a curl -s --max-time 5 http://"${addr[2]}":8080/ip)" "${addr[1]}"
    eq "HTTP c3a -> c2a: the same" "$(ip netns exec c3a curl -s --max-time 5 http://"${addr[2]}":8080/ip)" "${addr[3]}"
    eq "HTTP c2a -> c1a" "$(ip netns exec c2a curl -s --max-time 5 http://"${addr[1]}":8080/ip)" "${addr[2]}"
    ok "swnet run -d on host3: a busybox web server on the overlay" \
        lab_swnet 3 run -d --name web --network "$ov" --rootfs "$rootfs" -- httpd -f -p 8080 -h /www
    local web
    web=$(lab_swnet 3 exec web -- ip -4 addr show dev eth0 | awk '/inet / { split($2, a, "/"); print a[1] }')
    ok "c1a (host1) fetches its page" wait_for ip netns exec c1a curl -sf --max-time 1 "http://$web:8080/"
    eq "the page" "$(ip netns exec c1a curl -s --max-time 5 "http://$web:8080/")" "busybox on the overlay"
    # (busybox-static's wget crashes in such a root; its nc does not)
    eq "the container on host3 reaches c2a on host2, seen with its own address" \
        "$(lab_swnet 3 exec web -- sh -c "printf 'GET /ip HTTP/1.0\r\n\r\n' | nc -w 5 ${addr[2]} 8080 | tail -n 1")" "$web"
    ok "and pings c1a" lab_swnet 3 exec web -- ping -c 1 -W 2 "${addr[1]}"

    # Publishing and NAT as on any network: a machine on the underlay outside the overlay (host9).
    if [[ $mode == vxlan ]]; then
        ok_here "host9: a machine on the underlay, not in the overlay" lab_host 9
        ok_here "an HTTP server on host9" lab_http host9 8081 host9
        eq "c1a reaches host9 masqueraded: host9 sees host1's underlay address" \
            "$(ip netns exec c1a curl -s --max-time 5 "http://$(lab_host_ip 9):8081/ip")" "$(lab_host_ip 1)"
        ok "publish web's port 8080 as host3's 18080" lab_swnet 3 publish web 18080:8080
        eq "host9 fetches the page through host3's address" \
            "$(ip netns exec host9 curl -s --max-time 5 "http://$(lab_host_ip 3):18080/")" "busybox on the overlay"
        eq "c1a (host1) fetches it through host3's address too" \
            "$(ip netns exec c1a curl -s --max-time 5 "http://$(lab_host_ip 3):18080/")" "busybox on the overlay"
        ok "unpublish it" lab_swnet 3 unpublish web 18080:8080
    fi

    # MTU, with GSO and TSO off so that nothing larger than the MTU leaves a container.
    for n in 1 2; do
        eq "c${n}a's eth0 has the overlay's MTU $expected_mtu" "$(ip -n "c${n}a" -o link show eth0 | grep -o 'mtu [0-9]*')" "mtu $expected_mtu"
        ok "GSO and TSO off in c${n}a" ip netns exec "c${n}a" ethtool -K eth0 gso off tso off
    done
    ok "a don't-fragment ping of exactly $expected_mtu bytes crosses hosts" \
        ip netns exec c1a timeout 10 ping -n -c 1 -W 2 -M "do" -s $((expected_mtu - 28)) "${addr[2]}"
    local t0 out status
    t0=$(lab_ms)
    out=$(ip netns exec c1a timeout 10 ping -n -c 1 -W 2 -M "do" -s $((expected_mtu - 27)) "${addr[2]}" 2>&1); status=$?
    eq "one byte more fails at once with an error (not a silent timeout)" \
        "$status $(($(lab_ms) - t0 < 1500)) $(echo "$out" | grep -qE 'message too long|Frag needed' && echo error)" "1 1 error"
    # A sender that believes in a bigger MTU (a misconfigured container) learns the path's
    # from the host's ICMP "fragmentation needed" instead of losing packets silently.
    ip -n c1a link set eth0 mtu 1500
    t0=$(lab_ms)
    out=$(ip netns exec c1a timeout 10 ping -n -c 1 -W 2 -M "do" -s $((expected_mtu - 27)) "${addr[2]}" 2>&1); status=$?
    if [[ $mode == vxlan ]]; then
        eq "with a 1500-byte container MTU, one byte over the overlay's gets ICMP fragmentation needed" \
            "$status $(($(lab_ms) - t0 < 1500)) $(echo "$out" | grep -qE "Frag needed.*mtu = $expected_mtu" && echo icmp)" "1 1 icmp"
    fi
    ip -n c1a link set eth0 mtu "$expected_mtu"
    eq "4 MB over TCP with GSO/TSO off, c2a -> c1a" \
        "$(ip netns exec c1a curl -s --max-time 20 "http://${addr[2]}:8080/bytes/4000000" | wc -c)" "4000000"

    if [[ $mode == vxlan ]]; then bad_input "$ov" "$subnet"; fi

    # A host joins: every peer reaches its container within the bound.
    local t_start ready_ms reach_ms
    t_start=$(lab_ms)
    ok_here "host4 joins" lab_agent 4 "$ov"
    ready_ms=${LAB_AGENT_READY_MS[4]:-}
    lab_container c4a
    addr[4]=$(lab_attach 4 c4a "$ov")
    reach_ms=$(reached_by "${addr[4]}" c1a c2a c3a)
    within "host4's container is reached from every peer, counted from the agent's start (ready after ${ready_ms:-?} ms)" \
        "${reach_ms:+$(($(lab_ms) - t_start))}" "$JOIN_BOUND_MS"
    ok "and reaches them" ip netns exec c4a ping -n -c 1 -W 2 "${addr[1]}"
    converged "every kernel matches etcd with host4" "$ov" "$mode" 5 1 2 3 4

    # It leaves: its agent exits 0, every peer forgets it, nothing of swnet's is left on host4.
    local ip4 mac4 sub4 gone
    ip4=$(lab_host_ip 4) mac4=$(host_field 1 "$ov" "$ip4" vtepMAC) sub4=$(local_subnet 4 "$ov")
    ok "host4 detaches c4a" lab_swnet 4 detach c4a "$ov"
    ok "host4 leaves" lab_swnet 4 overlay leave "$ov"
    lab_agent_wait 4 10
    eq "its running agent exits with status 0" "$(lab_agent_running 4 && echo running) ${LAB_AGENT_STATUS[4]:-}" " 0"
    gone=$(gone_from_peers "$ov" "$ip4" "$mac4" "$sub4" 1 2 3)
    within "no peer lists it or has a neighbour, FDB entry or route for it" "$gone" "$LEAVE_BOUND_MS"
    eq "host4 has no swnet link left" "$(host_links 4)" "eth0 lo "
    eq "host4 is no longer joined" "$(inspect 4 "$ov" | json '(d["local"]["joined"], len(d["hosts"]))')" "(False, 3)"
    converged "the others still match etcd" "$ov" "$mode" 5 1 2 3

    # A host leaves while a peer's agent is down: that agent, started again, removes what
    # pointed at the host that is gone.
    ok_here "host4 joins again" lab_agent 4 "$ov"
    ip4=$(lab_host_ip 4) mac4=$(host_field 1 "$ov" "$ip4" vtepMAC) sub4=$(local_subnet 4 "$ov")
    converged "every kernel has host4 again" "$ov" "$mode" 5 1 2 3 4
    lab_agent_stop 1
    ok "host4 leaves while host1's agent is stopped" lab_swnet 4 overlay leave "$ov"
    lab_agent_wait 4 10
    eq "host1's kernel still points at host4 (nobody was there to remove it)" \
        "$([[ -n $(lab_peer_entries 1 "$ip4" "$mac4" "$sub4") ]] && echo stale)" "stale"
    ok_here "host1's agent starts again" lab_agent 1 "$ov"
    eq "and removed every entry for host4 before it was ready" "$(lab_peer_entries 1 "$ip4" "$mac4" "$sub4")" ""
    converged "every kernel matches etcd" "$ov" "$mode" 5 1 2 3

    # Agent restarts: SIGTERM, then SIGKILL. The data path stays, the subnet comes back, no
    # entry is left stale or doubled on any host.
    local sub2
    sub2=$(local_subnet 2 "$ov")
    lab_agent_stop 2
    eq "SIGTERM: the agent exits 0" "$?:${LAB_AGENT_STATUS[2]:-}" "0:0"
    ok "c1a still reaches c2a while host2 has no agent" ip netns exec c1a ping -n -c 1 -W 2 "${addr[2]}"
    if [[ $mode == vxlan ]]; then
        ok_here "host2's agent starts again, without TX checksum offload" lab_agent 2 "$ov" --no-tx-csum-offload
        eq "the VXLAN device has TX checksumming off" "$(ip netns exec host2 ethtool -k "$(lab_vxlan_dev 2)" | grep '^tx-checksumming:')" "tx-checksumming: off"
    else
        ok_here "host2's agent starts again" lab_agent 2 "$ov"
    fi
    eq "with the same subnet" "$(local_subnet 2 "$ov")" "$sub2"
    converged "no stale entries after a SIGTERM restart" "$ov" "$mode" 5 1 2 3
    ok "c1a reaches c2a" ip netns exec c1a ping -n -c 1 -W 2 "${addr[2]}"
    lab_agent_kill 2
    ok "c3a still reaches c2a after host2's agent was killed" ip netns exec c3a ping -n -c 1 -W 2 "${addr[2]}"
    ok_here "host2's agent starts after SIGKILL" lab_agent 2 "$ov"
    eq "with the same subnet" "$(local_subnet 2 "$ov")" "$sub2"
    converged "no stale entries after a SIGKILL restart" "$ov" "$mode" 5 1 2 3
    eq "HTTP c1a -> c2a after the restarts" "$(ip netns exec c1a curl -s --max-time 5 http://"${addr[2]}":8080/ip)" "${addr[1]}"

    # A killed agent's lease (TTL 5 s) expires: the peers drop the host; its agent comes back
    # with the same subnet.
    local ip3 mac3 sub3 t_kill expired
    lab_agent_stop 3
    ok_here "host3's agent with --ttl 5" lab_agent 3 "$ov" --ttl 5
    ip3=$(lab_host_ip 3) sub3=$(local_subnet 3 "$ov")
    mac3=$(host_field 1 "$ov" "$ip3" vtepMAC)
    eq "the peers see TTL 5" "$(host_field 1 "$ov" "$ip3" ttl)" "5"
    lab_agent_kill 3
    t_kill=$(lab_ms)
    eq "right after the kill host3 is still listed (its lease lives on)" "$(host_field 1 "$ov" "$ip3" subnet)" "$sub3"
    ok "and reached" ip netns exec c1a ping -n -c 1 -W 2 "${addr[3]}"
    expired=$(LEAVE_BOUND_MS=15000 gone_from_peers "$ov" "$ip3" "$mac3" "$sub3" 1 2)
    [[ -z $expired ]] || expired=$(($(lab_ms) - t_kill))
    within "its lease expires and the peers drop it (TTL 5 s)" "$expired" 15000
    ok "not before the TTL ran out" test "${expired:-0}" -ge 3000
    ok_here "host3's agent starts again (default TTL)" lab_agent 3 "$ov"
    eq "it takes its previous subnet again (its containers keep their addresses)" "$(local_subnet 3 "$ov")" "$sub3"
    converged "all three match etcd again" "$ov" "$mode" 5 1 2 3
    within "c1a reaches c3a again" "$(reached_by "${addr[3]}" c1a)" "$JOIN_BOUND_MS"

    # host3's underlay address changes (agent stopped, address moved, agent started).
    local old3=$ip3 new3
    new3=$(lab_host_ip 3 | awk -F. '{ print $1 "." $2 "." $3 "." ($4 == 3 ? 33 : 3) }')
    lab_agent_stop 3
    ok "host3 moves from $old3 to $new3" lab_host_set_ip 3 "$new3"
    ok_here "host3's agent starts on the new address" lab_agent 3 "$ov"
    eq "the peers list host3's subnet at the new address" "$(host_field 1 "$ov" "$new3" subnet) $(host_field 2 "$ov" "$old3" subnet)" "$sub3 None"
    converged "every kernel follows the new address" "$ov" "$mode" 5 1 2 3
    eq "nothing points at the old one" "$(lab_peer_entries 1 "$old3"; lab_peer_entries 2 "$old3")" ""
    within "c1a and c2a reach c3a" "$(reached_by "${addr[3]}" c1a c2a)" "$JOIN_BOUND_MS"
    # And back while its agent runs: the address change wakes the agent, which joins again.
    local t_moved=$(lab_ms) moved_ms=
    ok "host3 moves back to $old3 while its agent runs" lab_host_set_ip 3 "$old3"
    while (($(lab_ms) - t_moved < 10000)); do
        [[ -n $(lab_peer_entries 1 "$old3") && -n $(lab_peer_entries 2 "$old3") ]] && { moved_ms=$(($(lab_ms) - t_moved)); break; }
        sleep 0.05
    done
    within "the peers' kernels point at $old3, without an agent restart" "$moved_ms" "$JOIN_BOUND_MS"
    eq "the peers list host3's subnet at $old3" "$(host_field 1 "$ov" "$old3" subnet) $(host_field 2 "$ov" "$new3" subnet)" "$sub3 None"
    converged "every kernel matches etcd" "$ov" "$mode" 5 1 2 3
    eq "nothing points at $new3" "$(lab_peer_entries 1 "$new3"; lab_peer_entries 2 "$new3")" ""
    within "c1a and c2a reach c3a" "$(reached_by "${addr[3]}" c1a c2a)" "$JOIN_BOUND_MS"

    # etcd restarts while the agents run: the data path stays; afterwards a change reaches everyone.
    lab_etcd_stop
    ok "during the etcd outage c1a reaches c2a and c3a" sh -c "ip netns exec c1a ping -n -c 1 -W 2 ${addr[2]} && ip netns exec c1a ping -n -c 1 -W 2 ${addr[3]}"
    sleep 2
    eq "no agent exits while etcd is away" "$(running_agents 1 2 3)" "3"
    ok_here "etcd is back, with its data" lab_etcd_start
    t_start=$(lab_ms)
    ok_here "host4 joins after etcd came back" lab_agent 4 "$ov"
    addr[4]=$(lab_attach 4 c4a "$ov")
    reach_ms=$(LAB_REACH_S=$CATCH_UP_S reached_by "${addr[4]}" c1a c2a c3a)
    within "every peer reaches host4's container" "${reach_ms:+$(($(lab_ms) - t_start))}" $((CATCH_UP_S * 1000))
    converged "and every kernel matches etcd" "$ov" "$mode" "$CATCH_UP_S" 1 2 3 4

    # host3 cut off from etcd (not from its peers) for longer than its TTL: its lease expires and
    # the peers drop it; once it reaches etcd again its agent registers the same subnet again.
    lab_agent_stop 3
    ok_here "host3's agent with --ttl 3" lab_agent 3 "$ov" --ttl 3
    ip3=$(lab_host_ip 3) mac3=$(host_field 1 "$ov" "$ip3" vtepMAC)
    ok "host3 loses its way to etcd" ip -n host3 route add blackhole "$LAB_UNDERLAY_IP/32"
    within "its lease expires and the peers drop it" "$(gone_from_peers "$ov" "$ip3" "$mac3" "$sub3" 1 2)" $((LEAVE_BOUND_MS + 4000))
    eq "host3's agent keeps running" "$(running_agents 3)" "1"
    ok "host3 reaches etcd again" ip -n host3 route del blackhole "$LAB_UNDERLAY_IP/32"
    converged "host3 registers again and every kernel matches etcd" "$ov" "$mode" "$CATCH_UP_S" 1 2 3 4
    eq "with the same subnet" "$(host_field 1 "$ov" "$ip3" subnet)" "$sub3"
    within "c1a reaches c3a again" "$(LAB_REACH_S=$CATCH_UP_S reached_by "${addr[3]}" c1a)" $((CATCH_UP_S * 1000))

    # Compaction while the agents watch: a later change still reaches them.
    ok "etcd history compacted" lab_etcd_compact
    ip4=$(lab_host_ip 4) mac4=$(host_field 1 "$ov" "$ip4" vtepMAC) sub4=$(local_subnet 4 "$ov")
    ok "host4 detaches c4a" lab_swnet 4 detach c4a "$ov"
    ok "host4 leaves" lab_swnet 4 overlay leave "$ov"
    lab_agent_wait 4 10
    within "after the compaction the peers still see it go" "$(gone_from_peers "$ov" "$ip4" "$mac4" "$sub4" 1 2 3)" "$LEAVE_BOUND_MS"

    # A watch that must resume from a compacted revision: host1's agent is frozen, its etcd
    # connections are cut, host4 joins, history is compacted, host1's agent thaws: it has to
    # list everything again rather than resume its watch.
    lab_agent_signal 1 STOP
    ip netns exec host1 ss -K -tn dst "$LAB_UNDERLAY_IP" dport = "$LAB_ETCD_PORT" >/dev/null
    eq "host1's agent has no etcd connection left" "$(ip netns exec host1 ss -Htn dst "$LAB_UNDERLAY_IP" dport = "$LAB_ETCD_PORT" | wc -l)" "0"
    ok_here "host4 joins while host1's agent is frozen" lab_agent 4 "$ov"
    addr[4]=$(lab_attach 4 c4a "$ov")
    ok "etcd history compacted past host1's last revision" lab_etcd_compact
    lab_agent_signal 1 CONT
    converged "host1's agent catches up after its watch was compacted" "$ov" "$mode" "$CATCH_UP_S" 1 2 3 4
    within "c1a reaches c4a" "$(reached_by "${addr[4]}" c1a)" $((CATCH_UP_S * 1000))
    ok "host1's agent still runs" lab_agent_running 1

    # --underlay-dev, and leave --force with a container still attached.
    ok_here "host5 joins with --underlay-dev eth0" lab_agent 5 "$ov" --underlay-dev eth0
    eq "its underlay address is eth0's" "$(inspect 1 "$ov" | json "[h['underlayIP'] for h in d['hosts'] if h['subnet'] == '$(local_subnet 5 "$ov")']")" "['$(lab_host_ip 5)']"
    lab_container c5a
    addr[5]=$(lab_attach 5 c5a "$ov")
    within "c1a reaches c5a" "$(reached_by "${addr[5]}" c1a)" "$JOIN_BOUND_MS"
    local ip5 mac5 sub5
    ip5=$(lab_host_ip 5) mac5=$(host_field 1 "$ov" "$ip5" vtepMAC) sub5=$(local_subnet 5 "$ov")
    ok "leave --force with c5a still attached" lab_swnet 5 overlay leave --force "$ov"
    lab_agent_wait 5 10
    eq "host5's agent exits 0" "$(lab_agent_running 5 && echo running) ${LAB_AGENT_STATUS[5]:-}" " 0"
    eq "host5 has no swnet link left" "$(host_links 5)" "eth0 lo "
    within "the peers forget host5" "$(gone_from_peers "$ov" "$ip5" "$mac5" "$sub5" 1 2 3 4)" "$LEAVE_BOUND_MS"

    # Teardown: containers go, every host leaves (host3 with its agent stopped), the config goes.
    ok "rm the busybox container" lab_swnet 3 rm -f web
    for n in 1 2 3 4; do ok "detach c${n}a" lab_swnet "$n" detach "c${n}a" "$ov"; done
    for n in 1 2 3 4 5; do ip netns del "c${n}a" 2>/dev/null; done
    fails "rm while hosts are registered" lab_swnet 1 overlay rm "$ov"
    lab_agent_stop 3
    ok "host3 leaves with no agent running" lab_swnet 3 overlay leave "$ov"
    for n in 1 2 4; do
        ok "host$n leaves" lab_swnet "$n" overlay leave "$ov"
        lab_agent_wait "$n" 10
        eq "host$n's agent exits 0" "$(lab_agent_running "$n" && echo running) ${LAB_AGENT_STATUS[$n]:-}" " 0"
    done
    for n in 1 2 3 4 5; do eq "host$n: no swnet link left" "$(host_links "$n")" "eth0 lo "; done
    eq "no host registered" "$(inspect 1 "$ov" | json 'len(d["hosts"])')" "0"
    ok "rm $ov" lab_swnet 2 overlay rm "$ov"
    eq "ls no longer lists it" "$(lab_swnet 1 overlay ls --json | json "[o['name'] for o in d if o['name'] == '$ov']")" "[]"
    eq "nothing of it is left in etcd" "$(lab_etcd_dump | grep -c "$ov")" "0"
    eq "no swnet network is left on any host" \
        "$(for n in 1 2 3 4 5; do lab_swnet "$n" network ls --json | json 'len(d)'; done | tr '\n' ' ')" "0 0 0 0 0 "
}

# Bad input: one line on stderr, a non-zero status, nothing changed (hosts' state, kernels,
# etcd). Runs while the overlay OV is up on hosts 1-3.
bad_input() {
    local ov=$1 subnet=$2
    echo "# --- bad input"
    fails "create: an unknown --mode" lab_swnet 1 overlay create badmode --subnet 10.240.0.0/16 --mode bridge
    fails "create: a malformed subnet" lab_swnet 1 overlay create bad --subnet 10.240.0.0/33
    fails "create: a subnet with host bits" lab_swnet 1 overlay create bad --subnet 10.240.0.1/16
    fails "create: a host prefix shorter than the subnet's" lab_swnet 1 overlay create bad --subnet 10.240.0.0/16 --host-prefix 12
    fails "create: a host prefix that leaves no addresses" lab_swnet 1 overlay create bad --subnet 10.240.0.0/16 --host-prefix 32
    fails "create: VNI 0" lab_swnet 1 overlay create bad --subnet 10.240.0.0/16 --vni 0
    fails "create: VNI over 24 bits" lab_swnet 1 overlay create bad --subnet 10.240.0.0/16 --vni 16777216
    fails "create: port 70000" lab_swnet 1 overlay create bad --subnet 10.240.0.0/16 --port 70000
    fails "create: MTU 20" lab_swnet 1 overlay create bad --subnet 10.240.0.0/16 --mtu 20
    fails "create: a bad name" lab_swnet 1 overlay create ../x --subnet 10.240.0.0/16
    fails "create: no --subnet" lab_swnet 1 overlay create bad
    fails "inspect: an unknown overlay" lab_swnet 1 overlay inspect nosuch
    fails "rm: an unknown overlay" lab_swnet 1 overlay rm nosuch
    fails "leave: an unknown overlay" lab_swnet 1 overlay leave nosuch
    fails "leave: an overlay this host has not joined" lab_swnet 4 overlay leave "$ov"
    LAB_SWNET_TIMEOUT=20 fails "agent: an unknown overlay" lab_swnet 4 overlay agent nosuch
    LAB_SWNET_TIMEOUT=20 fails "agent: --underlay-ip not on this host" lab_swnet 4 overlay agent "$ov" --underlay-ip 192.168.200.77
    LAB_SWNET_TIMEOUT=20 fails "agent: --underlay-ip that is another host's" lab_swnet 4 overlay agent "$ov" --underlay-ip "$(lab_host_ip 1)"
    LAB_SWNET_TIMEOUT=20 fails "agent: an unknown --underlay-dev" lab_swnet 4 overlay agent "$ov" --underlay-dev nosuch0
    LAB_SWNET_TIMEOUT=20 fails "agent: --underlay-ip and --underlay-dev together" lab_swnet 4 overlay agent "$ov" --underlay-ip "$(lab_host_ip 4)" --underlay-dev eth0
    LAB_SWNET_TIMEOUT=20 fails "agent: --ttl 0" lab_swnet 4 overlay agent "$ov" --ttl 0
    LAB_SWNET_TIMEOUT=20 fails "agent: --ttl abc" lab_swnet 4 overlay agent "$ov" --ttl abc
    LAB_SWNET_TIMEOUT=20 fails "agent: a second agent for the overlay on the same host" lab_swnet 1 overlay agent "$ov"
    fails "a --etcd-cafile that does not exist" lab_swnet 1 overlay ls --etcd-cafile /nonexistent/ca.pem
    fails "a malformed --etcd URL" lab_swnet 1 overlay ls --etcd "not a url"
    ok "--etcd with two URLs, the first one dead" lab_swnet 1 overlay ls --etcd "http://127.0.0.1:2999,$LAB_ETCD"
    SWNET_ETCD=http://127.0.0.1:2999 ok "--etcd wins over SWNET_ETCD" lab_swnet 1 overlay ls --etcd "$LAB_ETCD"
    SWNET_ETCD=http://127.0.0.1:2999 fails "SWNET_ETCD is used without --etcd" lab_swnet 1 overlay ls

    # Unreachable etcd: refused, no host at the address, and a listener that never answers.
    # Each fails by itself within 15 s (the timeout around it only catches a hang).
    ip netns exec host1 python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2998)); s.listen(16); time.sleep(600)' &
    local silent=$! url t0 what
    LAB_PIDS+=("$silent")
    wait_for sh -c "ip netns exec host1 ss -Htln sport = 2998 | grep -q ."
    for url in http://127.0.0.1:2999 http://192.168.200.250:2379 http://127.0.0.1:2998; do
        for what in "overlay ls" "overlay inspect $ov" "overlay create bad --subnet 10.240.0.0/16" "overlay leave $ov"; do
            t0=$(lab_ms)
            # shellcheck disable=SC2086
            LAB_SWNET_TIMEOUT=30 fails "$what with etcd at $url (unreachable)" lab_swnet 1 $what --etcd "$url"
            within "  ... and it gave up by itself" "$(($(lab_ms) - t0))" 15000
        done
    done
    kill "$silent" 2>/dev/null
    eq "host1 is still joined after all that" "$(inspect 1 "$ov" | json 'd["local"]["joined"]')" "True"
}

suite vxlan ovx 10.200.0.0/16
suite host-gw ovg 10.201.0.0/16

# TLS to etcd with client certificates (--client-cert-auth), and an MTU set at create.
echo "# --- TLS"
ok_here "a CA, a server and a client certificate" lab_ca "$LAB_DIR/tls"
ok_here "another CA" lab_ca "$LAB_DIR/other"
lab_etcd_stop
ok_here "etcd with TLS and --client-cert-auth" lab_etcd --tls "$LAB_DIR/tls"
ok "create over TLS, MTU 1400" lab_swnet 1 overlay create ovt --subnet 10.202.0.0/16 --mtu 1400 "${LAB_TLS_ARGS[@]}"
eq "inspect over TLS" "$(inspect 2 ovt | json '(d["config"]["subnet"], d["config"]["mode"])')" "('10.202.0.0/16', 'vxlan')"
for n in 1 2; do ok_here "the agent in host$n over TLS" lab_agent "$n" ovt "${LAB_TLS_ARGS[@]}"; done
lab_container t1; lab_container t2
t1=$(lab_attach 1 t1 ovt) t2=$(lab_attach 2 t2 ovt)
within "t1 (host1) reaches t2 (host2)" "$(reached_by "$t2" t1)" "$JOIN_BOUND_MS"
eq "t1's MTU is the one given at create" "$(ip -n t1 -o link show eth0 | grep -o 'mtu [0-9]*')" "mtu 1400"
ok "a don't-fragment ping of 1400 bytes" ip netns exec t1 timeout 10 ping -n -c 1 -W 2 -M "do" -s 1372 "$t2"
fails "no client certificate" lab_swnet 1 overlay inspect ovt --etcd-cafile "$LAB_DIR/tls/ca.pem"
fails "a client certificate of another CA" lab_swnet 1 overlay inspect ovt --etcd-cafile "$LAB_DIR/tls/ca.pem" \
    --etcd-certfile "$LAB_DIR/other/client.pem" --etcd-keyfile "$LAB_DIR/other/client-key.pem"
fails "a server certificate of another CA" lab_swnet 1 overlay inspect ovt --etcd-cafile "$LAB_DIR/other/ca.pem" \
    --etcd-certfile "$LAB_DIR/tls/client.pem" --etcd-keyfile "$LAB_DIR/tls/client-key.pem"
fails "a client certificate without its key" lab_swnet 1 overlay inspect ovt --etcd-cafile "$LAB_DIR/tls/ca.pem" \
    --etcd-certfile "$LAB_DIR/tls/client.pem"
fails "plain HTTP to the TLS etcd" lab_swnet 1 overlay inspect ovt --etcd "http://$LAB_UNDERLAY_IP:$LAB_ETCD_PORT"
ok_here "etcd restarts (TLS)" lab_etcd_restart
lab_agent_stop 2
ok_here "host2's agent reconnects over TLS" lab_agent 2 ovt "${LAB_TLS_ARGS[@]}"
converged "both match etcd" ovt vxlan 10 1 2
for n in 1 2; do
    ok "detach t$n" lab_swnet "$n" detach "t$n" ovt
    ok "host$n leaves over TLS" lab_swnet "$n" overlay leave ovt "${LAB_TLS_ARGS[@]}"
    lab_agent_wait "$n" 10
done
ok "rm over TLS" lab_swnet 1 overlay rm ovt "${LAB_TLS_ARGS[@]}"
eq "no overlay is left" "$(lab_swnet 1 overlay ls --json "${LAB_TLS_ARGS[@]}" | json 'len(d)')" "0"

lab_cleanup
eq "the lab is gone: no namespace, only lo here" "$(ip netns list | wc -l) $(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "0 lo "
