# Publishing on IPv6 and on both families, with real traffic. Docker's rules: -p 8080:80
# publishes on every address of each family the container has; 0.0.0.0:8080 and [::]:8080
# one family only, and the two families never conflict. "outside" is a namespace joined to
# the host by a veth with an address of each family: it stands for another machine.
ip netns add outside && ip -n outside link set lo up
ip link add uplink type veth peer name eth0 netns outside
ip addr add 192.0.2.1/24 dev uplink && ip addr add 2001:db8:ff::1/64 dev uplink nodad && ip link set uplink up
ip -n outside addr add 192.0.2.2/24 dev eth0 && ip -n outside addr add 2001:db8:ff::2/64 dev eth0 nodad
ip -n outside link set eth0 up
get() { curl -sg --max-time 3 "$@"; }
outside() { ip netns exec outside curl -sg --max-time 3 "$@"; }
# Whether a connection is refused at once (curl's status 7), not left hanging (28).
refused() { curl -sg --max-time 3 "$@" >/dev/null 2>&1; [[ $? == 7 ]] && echo refused || echo "not refused"; }
# A dual-stack HTTP server (one IPv6 socket that takes IPv4 too) in namespace $1 on port $2.
http_server6() {
    local dir; dir=$(mktemp -d); echo "hello from $1" >"$dir/index.html"
    ip netns exec "$1" python3 -c '
import functools, http.server, socket, sys
class Server(http.server.ThreadingHTTPServer): address_family = socket.AF_INET6
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
Server(("::", int(sys.argv[1])), handler).serve_forever()' "$2" "$dir" >/dev/null 2>&1 &
    wait_for ip netns exec "$1" bash -c "ss -Hltn 'sport = :$2' | grep -q ."
}
elements() { nft -j list map inet swnet "$1" | json 'len(d["nftables"][1]["map"].get("elem", []))'; }

ok "a dual-stack network" swnet network create dual --subnet 10.85.0.0/24 --subnet fd00:85::/64
container web; ok "attach web" swnet attach web dual
http_server6 web 80; eq "its server runs" "$?" "0"   # in this shell: finish stops it

eq "8080:80 publishes on both families" "$(swnet publish web 8080:80)" $'80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080'
eq "another machine reaches it on the host's IPv6 address" "$(outside 'http://[2001:db8:ff::1]:8080/')" "hello from web"
eq "and on its IPv4 address" "$(outside http://192.0.2.1:8080/)" "hello from web"
eq "the host reaches it on its own IPv6 address" "$(get 'http://[2001:db8:ff::1]:8080/')" "hello from web"
eq "and on the bridge's" "$(get 'http://[fd00:85::1]:8080/')" "hello from web"
eq "and on 127.0.0.1" "$(get http://127.0.0.1:8080/)" "hello from web"
# And on [::1], as Docker reaches 127.0.0.1 with 0.0.0.0: the answers, translated back to ::1,
# come home through a local route and lo (LoopbackReturn.swift), whether br_netfilter calls the
# IPv6 hooks (this machine's default in every namespace) or not. web is on the fast path.
brnf6() { [[ ! -e /proc/sys/net/bridge/bridge-nf-call-ip6tables ]] || sysctl -qw net.bridge.bridge-nf-call-ip6tables="$1"; }
for brnf in 1 0; do
    brnf6 $brnf
    eq "the host reaches it on [::1] (bridge-nf-call-ip6tables=$brnf)" "$(get 'http://[::1]:8080/')" "hello from web"
done
brnf6 1
eq "port lists both families" "$(swnet port web --json | json '[(p["hostAddress"], p["hostPort"], p["containerAddress"]) for p in d]')" \
    "[('0.0.0.0', 8080, '10.85.0.2'), ('::', 8080, 'fd00:85::2')]"

container neighbour; ok "attach a neighbour (bridge path)" swnet attach --no-fast-path neighbour dual
eq "a neighbour reaches it through the host's IPv6 address (hairpin)" \
    "$(ip netns exec neighbour curl -sg --max-time 3 'http://[2001:db8:ff::1]:8080/')" "hello from web"
eq "and through the host's IPv4 address" "$(ip netns exec neighbour curl -s --max-time 3 http://192.0.2.1:8080/)" "hello from web"
# A container reaching its own published port: routed back out of the bridge it came in on.
# br_netfilter (loaded on this machine, and on by default in every new namespace) would bridge
# the DNATed packet back out of its own port instead, where it dies (docs/cni.md, hairpinMode):
# off in this scenario's namespace for these two.
if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
    sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0
fi
eq "web reaches its own port through the host's IPv6 address" \
    "$(ip netns exec web curl -sg --max-time 3 'http://[2001:db8:ff::1]:8080/')" "hello from web"
eq "and through its IPv4 address" "$(ip netns exec web curl -s --max-time 3 http://192.0.2.1:8080/)" "hello from web"
if [[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
    sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
fi

# One family at a time.
eq "[::]:9090:80 is IPv6 only" "$(swnet publish web '[::]:9090:80')" "80/tcp -> [::]:9090"
eq "it answers on IPv6" "$(outside 'http://[2001:db8:ff::1]:9090/')" "hello from web"
eq "not on IPv4" "$(ip netns exec outside bash -c "$(declare -f refused); refused http://192.0.2.1:9090/")" "refused"
eq "0.0.0.0:9091:80 is IPv4 only" "$(swnet publish web 0.0.0.0:9091:80)" "80/tcp -> 0.0.0.0:9091"
eq "it answers on IPv4" "$(outside http://192.0.2.1:9091/)" "hello from web"
eq "not on IPv6" "$(ip netns exec outside bash -c "$(declare -f refused); refused 'http://[2001:db8:ff::1]:9091/'")" "refused"
eq "a port on one IPv6 address" "$(swnet publish web '[2001:db8:ff::1]:9092:80')" "80/tcp -> [2001:db8:ff::1]:9092"
eq "answers there" "$(outside 'http://[2001:db8:ff::1]:9092/')" "hello from web"
eq "and nowhere else" "$(refused 'http://[fd00:85::1]:9092/')" "refused"

# Conflicts: within a family, never across.
fails "[::]:8080 that web holds on every IPv6 address" swnet publish neighbour '[::]:8080:80'
fails "one IPv6 address of a port held on every IPv6 address" swnet publish neighbour '[fd00:85::1]:8080:80'
fails "every IPv6 address of a port held on one" swnet publish neighbour '[::]:9092:80'
fails "8080:80, taken on both families" swnet publish neighbour 8080:80
eq "0.0.0.0:9090 while web holds [::]:9090: the families are independent" "$(swnet publish neighbour 0.0.0.0:9090:80)" "80/tcp -> 0.0.0.0:9090"
ok "unpublish it" swnet unpublish neighbour 0.0.0.0:9090:80

# [::1]: for the host alone, on and off the fast path.
container loop; ok "attach loop off the fast path" env SWNET_FAST_PATH=off "$SWNET" attach loop dual
http_server6 loop 80; eq "its server runs" "$?" "0"   # in this shell: finish stops it
eq "[::1]:8585:80 publishes on ::1" "$(swnet publish loop '[::1]:8585:80')" "80/tcp -> [::1]:8585"
eq "[::1]:8586:80 for web, on the fast path" "$(swnet publish web '[::1]:8586:80')" "80/tcp -> [::1]:8586"
# forged NS PORT: NS sends to the host's [2001:db8:ff::1]:PORT (outside) or its gateway (a
# container) with the destination rewritten to ::1 on the way out: what no one else may reach.
forged() {
    local to=2001:db8:ff::1; [[ $1 == outside ]] || to=fd00:85::1
    ip netns exec "$1" nft add table ip6 forge
    ip netns exec "$1" nft add chain ip6 forge out '{ type filter hook postrouting priority 0; }'
    ip netns exec "$1" nft add rule ip6 forge out ip6 daddr $to tcp dport "$2" ip6 daddr set ::1
    ip netns exec "$1" curl -sg --max-time 2 "http://[$to]:$2/"
    ip netns exec "$1" nft delete table ip6 forge
}
for brnf in 1 0; do
    brnf6 $brnf
    eq "the host reaches loop on [::1] (bridge-nf-call-ip6tables=$brnf)" "$(get 'http://[::1]:8585/')" "hello from loop"
    eq "and web" "$(get 'http://[::1]:8586/')" "hello from web"
    eq "another machine sending to ::1 does not" "$(forged outside 8585)" ""
    eq "nor a container sending ::1 to its gateway" "$(forged neighbour 8585)" ""
done
brnf6 1
eq "not on the bridge's address either" "$(refused 'http://[fd00:85::1]:8585/')" "refused"
ok "another IPv6 network" swnet network create second6 --subnet fd00:88::/64
eq "each IPv6 bridge keeps its own local ::1 route" "$(ip -6 route show table local | grep -c '^local ::1 dev \(dual\|second6\) ')" "2"
eq "loop still answers on [::1]" "$(get 'http://[::1]:8585/')" "hello from loop"
ok "remove it" swnet network rm second6
ok "unpublish them" swnet unpublish loop '[::1]:8585:80'
ok "and web's" swnet unpublish web '[::1]:8586:80'
ok "detach loop" swnet detach loop dual

# A bridge that attach remakes (after a reboot) is ready for loopback publishing at once: the
# attach renders the firewall, and with it the bridge's own settings.
ok "a network" swnet network create again --subnet 10.89.0.0/24 --subnet fd00:89::/64
ip link del again   # as a reboot would
container back; ok "attach remakes its bridge" swnet attach back again
eq "with route_localnet and its local ::1 route" \
    "$(cat /proc/sys/net/ipv4/conf/again/route_localnet) $(ip -6 route show table local | grep -c '^local ::1 dev again ')" "1 1"
http_server6 back 80; eq "its server runs" "$?" "0"   # in this shell: finish stops it
ok "publish on [::1] and 127.0.0.1" swnet publish back '[::1]:8686:80' '127.0.0.1:8687:80'
eq "[::1] reaches it" "$(get 'http://[::1]:8686/')" "hello from back"
eq "and 127.0.0.1" "$(get 'http://127.0.0.1:8687/')" "hello from back"
ok "remove it" swnet network rm --force again

# Errors name the problem in one line and change nothing.
fails "an unclosed bracket" swnet publish web '[fd00::1:8000:80'
fails "an IPv4 address in brackets" swnet publish web '[10.0.0.1]:8000:80'
fails "an IPv6 address without brackets" swnet publish web 'fd00::1:8000:80'
fails "an IPv4-mapped address" swnet publish web '[::ffff:192.0.2.1]:8000:80'

# A container of one family: v4 only as before, and the other family refused by name.
ok "an IPv4 network" swnet network create four --subnet 10.86.0.0/24
container old; ok "attach old" swnet attach old four
eq "8181:80 on an IPv4-only container publishes on IPv4 only" "$(swnet publish old 8181:80)" "80/tcp -> 0.0.0.0:8181"
fails "an IPv6 host address for a container without IPv6" swnet publish old '[::]:8182:80'
[[ $error_line == *"has no IPv6 address on four"* ]] && pass "the error names the missing family" || fail "the error names the missing family: $error_line"
ok "an IPv6-only network" swnet network create six --subnet fd00:87::/64
container new; ok "attach new" swnet attach new six
eq "8183:80 on an IPv6-only container publishes on IPv6 only" "$(swnet publish new 8183:80)" "80/tcp -> [::]:8183"
http_server6 new 80; eq "its server runs" "$?" "0"   # in this shell: finish stops it
eq "it answers on IPv6" "$(outside 'http://[2001:db8:ff::1]:8183/')" "hello from new"
ok "old and new go" swnet network rm --force four six

# Ephemeral host ports: the same one on both families.
read -r ports <<<"$(swnet publish web 80 --json | json '" ".join(str(p["hostPort"]) for p in d)')"
read -r v4port v6port <<<"$ports"
eq "no host port: one ephemeral port for both families" "$v4port" "$v6port"
eq "which answers on IPv6" "$(outside "http://[2001:db8:ff::1]:$v6port/")" "hello from web"
ok "unpublish it" swnet unpublish web "$v4port:80"
eq "unpublish 8080:80 removes both families" "$(swnet unpublish web 8080:80 | wc -l) $(refused 'http://[2001:db8:ff::1]:8080/')" "2 refused"

# UDP over IPv6 with socat.
ip netns exec web socat -T2 UDP6-RECVFROM:53,reuseaddr,fork SYSTEM:'echo udp6' >/dev/null 2>&1 &
wait_for ip netns exec web bash -c "ss -Hlun 'sport = :53' | grep -q ."
ok "publish 5353:53/udp" swnet publish web 5353:53/udp
# ask6 PORT: one UDP question to the host's IPv6 address from one source port, asked again
# while unanswered (a stale conntrack entry would still send every retry to the old container).
ask6() {
    local answer
    for _ in 1 2 3; do
        answer=$(echo ping | ip netns exec outside socat -T2 - "UDP6:[2001:db8:ff::1]:$1,sourceport=40053,reuseaddr" 2>/dev/null)
        [[ -n $answer ]] && break
    done
    echo "$answer"
}
eq "a UDP question over IPv6 gets its answer" "$(ask6 5353)" "udp6"
ok "publish [::1]:5355:53/udp" swnet publish web '[::1]:5355:53/udp'
eq "the host asks it on [::1]" "$(echo ping | socat -T2 - 'UDP6:[::1]:5355' 2>/dev/null)" "udp6"
ok "unpublish it" swnet unpublish web '[::1]:5355:53/udp'
# Re-published to another container, the same client and source port reach the new one at once:
# the stale IPv6 conntrack entry is forgotten too.
container other; swnet attach other dual >/dev/null
ip netns exec other socat -T2 UDP6-RECVFROM:53,reuseaddr,fork SYSTEM:'echo other' >/dev/null 2>&1 &
wait_for ip netns exec other bash -c "ss -Hlun 'sport = :53' | grep -q ."
ok "publish [::]:5354:53/udp to web" swnet publish web '[::]:5354:53/udp'
eq "web answers" "$(ask6 5354)" "udp6"
ok "unpublish it" swnet unpublish web '[::]:5354:53/udp'
ok "publish it to the other container" swnet publish other '[::]:5354:53/udp'
eq "the same client, same source port, reaches the other" "$(ask6 5354)" "other"
ok "detach the other" swnet detach other dual

# The launcher: -p and -P publish on both families; rm takes them away.
web_dir=$(mktemp -d); echo "hello from api" >"$web_dir/index.html"
printf 'FROM scratch\nEXPOSE 80/tcp\n' >"$web_dir/Dockerfile"
api_server=(python3 -c 'import functools, http.server, socket
class Server(http.server.ThreadingHTTPServer): address_family = socket.AF_INET6
Server(("::", 80), functools.partial(http.server.SimpleHTTPRequestHandler, directory="'"$web_dir"'")).serve_forever()')
ok "run -d -p 8484:80" swnet run -d --name api --network dual -p 8484:80 -- "${api_server[@]}"
ok "api answers on IPv6 from outside" wait_for ip netns exec outside curl -sgf --max-time 1 'http://[2001:db8:ff::1]:8484/'
eq "inspect api lists both families" "$(swnet inspect api --json | json '[p["hostAddress"] for p in d[0]["networkSettings"]["ports"]]')" "['0.0.0.0', '::']"
ok "run -d -P --expose-from" swnet run -d --name auto --network dual -P --expose-from "$web_dir/Dockerfile" -- "${api_server[@]}"
eq "-P publishes EXPOSE on both families" "$(swnet port auto --json | json 'sorted(p["hostAddress"] for p in d)')" "['0.0.0.0', '::']"
auto_port=$(swnet port auto --json | json 'd[0]["hostPort"]')
ok "which answers on IPv6" wait_for ip netns exec outside curl -sgf --max-time 1 "http://[2001:db8:ff::1]:$auto_port/"
ok "rm -f both" swnet rm -f api auto
eq "their IPv6 elements are gone" "$(swnet port web --json | json 'len([p for p in d if p["hostAddress"] == "::"])') $(elements publish_any6)" "2 2"
ok "detach web" swnet detach web dual
eq "detach drops web's IPv6 ports" "$(elements publish_any6) $(elements publish_address6)" "0 0"
rm -rf "$web_dir"

# State written by swnet 5 ('' for every address) reads as 0.0.0.0 after the upgrade.
old_root=$(mktemp -d)
SWNET_ROOT=$old_root swnet network ls >/dev/null
sqlite3 "$old_root/run/state.db" "INSERT INTO publications VALUES ('tcp', 7000, '', '10.0.0.5', 80, 'n', '1-2', 'old'); PRAGMA user_version = 5"
ok "a schema 5 state opens" env SWNET_ROOT="$old_root" "$SWNET" network ls
eq "its every-address publication is 0.0.0.0" "$(sqlite3 "$old_root/run/state.db" 'SELECT host_address FROM publications')" "0.0.0.0"
rm -rf "$old_root"

ok "remove the network" swnet network rm --force dual
eq "nothing of swnet is left in nftables" "$(nft list tables | grep -c swnet)" "0"
