# NAT and port publishing with real traffic. "outside" is a namespace joined to the host by a
# veth (192.0.2.0/24): it stands for another machine.
ip netns add outside && ip -n outside link set lo up
ip link add uplink type veth peer name eth0 netns outside
ip addr add 192.0.2.1/24 dev uplink && ip link set uplink up
ip -n outside addr add 192.0.2.2/24 dev eth0 && ip -n outside link set eth0 up
web_dir=$(mktemp -d); echo "hello from web" >"$web_dir/index.html"
out_dir=$(mktemp -d); echo "hello from outside" >"$out_dir/index.html"
ip netns exec outside python3 -m http.server 8000 --directory "$out_dir" >/dev/null 2>&1 &

ok "network" swnet network create pub --subnet 10.80.0.0/24
container web; ok "attach web" swnet attach web pub 10.80.0.5/24
ip netns exec web python3 -m http.server 80 --directory "$web_dir" >/dev/null 2>&1 &
ok "the web server runs" wait_for ip netns exec web curl -s --max-time 1 http://127.0.0.1/

eq "publish 8080:80" "$(swnet publish web 8080:80)" "80/tcp -> 0.0.0.0:8080"
get() { curl -s --max-time 3 "$@"; }
eq "another machine reaches it through the host's address" "$(ip netns exec outside curl -s --max-time 3 http://192.0.2.1:8080/)" "hello from web"
eq "the host reaches it on 127.0.0.1" "$(get http://127.0.0.1:8080/)" "hello from web"
eq "the host reaches it on its own address" "$(get http://192.0.2.1:8080/)" "hello from web"
container neighbour; ok "attach a neighbour" swnet attach neighbour pub
eq "a neighbour on the same bridge reaches it through the host's address (hairpin)" \
    "$(ip netns exec neighbour curl -s --max-time 3 http://192.0.2.1:8080/)" "hello from web"
eq "the container reaches another machine (masquerade)" "$(ip netns exec web curl -s --max-time 3 http://192.0.2.2:8000/)" "hello from outside"
eq "port lists it" "$(swnet port web --json | json '[(p["hostPort"], p["containerPort"], p["protocol"]) for p in d]')" "[(8080, 80, 'tcp')]"

eq "a port published on 127.0.0.1" "$(swnet publish web 127.0.0.1:9090:80)" "80/tcp -> 127.0.0.1:9090"
eq "answers on 127.0.0.1" "$(get http://127.0.0.1:9090/)" "hello from web"
eq "but not on the host's other addresses" "$(ip netns exec outside curl -s --max-time 2 http://192.0.2.1:9090/ || echo refused)" "refused"
fails "the same host port twice" swnet publish neighbour 8080:80
fails "a port on any address that one address holds" swnet publish neighbour 9090:80
fails "a malformed port spec" swnet publish web 8080:80:90:1
fails "a target that is not attached" swnet publish outside 7000:80

ephemeral=$(swnet publish web 80 --json | json 'd[0]["hostPort"]')
read -r low high < /proc/sys/net/ipv4/ip_local_port_range
eq "no host port: an ephemeral one from ip_local_port_range" "$(( ephemeral >= low && ephemeral <= high ))" "1"
eq "which answers" "$(get "http://127.0.0.1:$ephemeral/")" "hello from web"
ok "unpublish the ephemeral port and 9090" swnet unpublish web "$ephemeral:80" 127.0.0.1:9090:80
eq "the port is closed" "$(get "http://127.0.0.1:9090/" || echo closed)" "closed"

# A firewall reload wipes every table: gc rebuilds swnet's from its state.
nft flush ruleset
eq "after nft flush ruleset the published port is gone" "$(ip netns exec outside curl -s --max-time 2 http://192.0.2.1:8080/ || echo gone)" "gone"
eq "gc repairs the table" "$(swnet gc --json | json 'd["repairedFirewall"]')" "True"
eq "and the port answers again" "$(ip netns exec outside curl -s --max-time 3 http://192.0.2.1:8080/)" "hello from web"

# Networks: isolation, --no-masquerade, --internal.
ok "a second network" swnet network create other --subnet 10.81.0.0/24
container stranger; ok "attach stranger" swnet attach stranger other 10.81.0.5/24
eq "containers on different networks cannot reach each other" "$(ip netns exec stranger ping -c1 -W1 10.80.0.5 >/dev/null 2>&1 && echo reached || echo blocked)" "blocked"
eq "but both reach the host" "$(ip netns exec stranger ping -c1 -W1 10.81.0.1 >/dev/null 2>&1 && echo reached)" "reached"
ok "a network without masquerade" swnet network create plain --subnet 10.82.0.0/24 --no-masquerade
container p1; ok "attach p1" swnet attach p1 plain
eq "without masquerade the outside cannot answer (no route back)" "$(ip netns exec p1 curl -s --max-time 2 http://192.0.2.2:8000/ || echo unanswered)" "unanswered"
ok "an internal network" swnet network create closed --subnet 10.83.0.0/24 --internal
container i1; ok "attach i1" swnet attach i1 closed
eq "an internal network has no way out" "$(ip netns exec i1 ping -c1 -W1 192.0.2.2 >/dev/null 2>&1 && echo reached || echo blocked)" "blocked"
eq "but reaches its gateway" "$(ip netns exec i1 ping -c1 -W1 10.83.0.1 >/dev/null 2>&1 && echo reached)" "reached"

# Containers: -p at run time, -P with --expose / --expose-from; stop and rm drop their ports.
id=$(swnet run -d --name api --network pub -p 8181:80 -- python3 -m http.server 80 --directory "$web_dir")
ok "run -p publishes before the command runs" wait_for curl -s --max-time 1 http://127.0.0.1:8181/
printf 'FROM scratch\nEXPOSE 80/tcp\n' >"$web_dir/Dockerfile"
swnet run -d --name auto --network pub -P --expose-from "$web_dir/Dockerfile" -- python3 -m http.server 80 --directory "$web_dir" >/dev/null
auto_port=$(swnet port auto --json | json 'd[0]["hostPort"]')
ok "-P publishes the Dockerfile's EXPOSE on an ephemeral port" wait_for curl -s --max-time 1 "http://127.0.0.1:$auto_port/"
ok "stop api" swnet stop -t 1 api
eq "its port is gone with it" "$(swnet port web --json | json 'len(d)') $(get http://127.0.0.1:8181/ || echo closed)" "1 closed"
ok "rm -f both" swnet rm -f api auto
ok "detach web" swnet detach web pub
eq "detach drops web's ports" "$(nft -j list map inet swnet publish_any | json 'len([e for e in d["nftables"][1]["map"].get("elem", [])])')" "0"



rm -rf "$web_dir" "$out_dir"

# UDP: re-publishing a port to another container reaches the new one at once, although the
# client keeps its source port (stale conntrack entries are flushed).
ok "a network for UDP" swnet network create udpnet --subnet 10.84.0.0/24
for name in first second; do
    container "$name"; swnet attach "$name" udpnet >/dev/null
    ip netns exec "$name" socat -T2 UDP-RECVFROM:53,reuseaddr,fork SYSTEM:"echo $name" >/dev/null 2>&1 &
    wait_for sh -c "ip netns exec $name ss -Hlun 'sport = :53' | grep -q ."
done
# One question from the same source port, asked again while unanswered (a loaded machine may
# take longer than the timeout to fork the answer). A stale conntrack entry would still send
# every retry to the old container: retries do not hide it.
ask() {
    local answer
    for _ in 1 2 3; do
        answer=$(echo ping | ip netns exec outside socat -T2 - UDP:192.0.2.1:5353,sourceport=40053,reuseaddr 2>/dev/null)
        [[ -n $answer ]] && break
    done
    echo "$answer"
}
ok "publish 5353/udp to the first container" swnet publish first 5353:53/udp
eq "the first answers" "$(ask)" "first"
ok "unpublish it" swnet unpublish first 5353:53/udp
ok "publish the same port to the second container" swnet publish second 5353:53/udp
eq "the same client, same source port, reaches the second" "$(ask)" "second"
ok "remove the UDP network" swnet network rm --force udpnet
ok "remove every network" swnet network rm --force pub other plain closed
eq "nothing of swnet is left in nftables" "$(nft list tables | grep -c swnet)" "0"
