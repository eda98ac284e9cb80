# The multi-host lab of overlay-lab.sh on its own, before any overlay: the underlay, hosts that
# reach each other and etcd, etcd over HTTP and over TLS with client certificates, a restart that
# keeps the data, compaction, swnet with a state root per host, the helpers that read kernel
# state, and a clean-up that leaves nothing behind.
source "$(dirname "${BASH_SOURCE[0]}")/overlay-lab.sh"

# ok_here DESCRIPTION COMMAND...: like ok, but in this shell (for helpers that start processes).
ok_here() { local description=$1; shift; if "$@"; then pass "$description"; else fail "$description"; fi; }
# failing DESCRIPTION COMMAND...: the command fails (any output).
failing() { local description=$1; shift; if "$@" >/dev/null 2>&1; then fail "$description (it succeeded)"; else pass "$description"; fi; }

ok_here "the underlay bridge" lab_underlay
for n in 1 2 3; do ok_here "host$n" lab_host "$n"; done
eq "host addresses" "$(for n in 1 2 3; do lab_host_ip "$n"; done | tr '\n' ' ')" "192.168.200.1 192.168.200.2 192.168.200.3 "
eq "host2 has lo and eth0 only" "$(ip -n host2 -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | tr '\n' ' ')" "lo eth0 "
for n in 1 2 3; do
    for m in 1 2 3; do
        ((n == m)) || ok "host$n pings host$m" ip netns exec "host$n" ping -c 1 -W 2 "192.168.200.$m"
    done
    ok "host$n pings the lab's underlay address" ip netns exec "host$n" ping -c 1 -W 2 192.168.200.254
done
eq "lab_reach prints milliseconds" "$(lab_reach host1 192.168.200.2 2 | grep -c '^[0-9][0-9]*$')" "1"
failing "lab_reach gives up (bounded) on an address nobody has" lab_reach host1 192.168.200.99 1

# etcd over plain HTTP, from every host.
ok_here "etcd starts and is healthy" lab_etcd
eq "its endpoint is exported" "$LAB_ETCD $SWNET_ETCD" "http://192.168.200.254:2379 http://192.168.200.254:2379"
ectl() { local n=$1; shift; lab_in "$n" timeout 15 etcdctl --endpoints "$LAB_ETCD" --dial-timeout 2s --command-timeout 5s "$@"; }
ok "put from host1" ectl 1 put /lab/greeting hello
eq "get from host2" "$(ectl 2 get --print-value-only /lab/greeting)" "hello"
eq "get from host3" "$(ectl 3 get --print-value-only /lab/greeting)" "hello"
eq "and on 127.0.0.1 in the lab's namespace" \
    "$(timeout 15 etcdctl --endpoints http://127.0.0.1:2379 get --print-value-only /lab/greeting)" "hello"

etcd_pid=$LAB_ETCD_PID
ok_here "etcd restarts" lab_etcd_restart
eq "a new process" "$((LAB_ETCD_PID != etcd_pid))" "1"
eq "the data survived the restart" "$(ectl 3 get --print-value-only /lab/greeting)" "hello"

# Compaction: a watch from a revision before it is refused.
for v in 1 2 3; do ectl 1 put /lab/counter "$v" >/dev/null; done
first=$(ectl 1 get /lab/counter -w json | json 'd["kvs"][0]["create_revision"]')
compacted=$(lab_etcd_compact)
eq "lab_etcd_compact prints the current revision" "$compacted" "$(lab_etcd_revision)"
eq "a watch from before the compaction is told so" \
    "$(ectl 2 watch /lab/counter --rev "$first" 2>&1 | grep -c compacted)" "1"
ok "reading at the compacted revision works" ectl 2 get /lab/counter --rev "$compacted"
failing "reading before it does not" ectl 2 get /lab/counter --rev "$first"

# TLS with client certificates, the same data.
ok_here "a CA, a server and a client certificate" lab_ca "$LAB_DIR/tls"
eq "the server certificate names the underlay address and 127.0.0.1" \
    "$(openssl x509 -in "$LAB_DIR/tls/server.pem" -noout -ext subjectAltName | tail -n 1 | tr -d ' ')" \
    "IPAddress:192.168.200.254,IPAddress:127.0.0.1,DNS:localhost"
ok "the client certificate is signed by the CA" openssl verify -CAfile "$LAB_DIR/tls/ca.pem" "$LAB_DIR/tls/client.pem"
ok_here "another CA, for a client that must be refused" lab_ca "$LAB_DIR/other"
lab_etcd_stop
ok_here "etcd with TLS and --client-cert-auth" lab_etcd --tls "$LAB_DIR/tls"
eq "the endpoint is https" "$LAB_ETCD" "https://192.168.200.254:2379"
eq "swnet's TLS flags" "${LAB_TLS_ARGS[*]}" \
    "--etcd-cafile $LAB_DIR/tls/ca.pem --etcd-certfile $LAB_DIR/tls/client.pem --etcd-keyfile $LAB_DIR/tls/client-key.pem"
for n in 1 2 3; do
    eq "host$n reads over TLS with the client certificate" "$(ectl "$n" "${LAB_ETCDCTL_TLS[@]}" get --print-value-only /lab/greeting)" "hello"
done
failing "no client certificate: refused" ectl 1 --cacert "$LAB_DIR/tls/ca.pem" get /lab/greeting
failing "a client certificate of another CA: refused" \
    ectl 1 --cacert "$LAB_DIR/tls/ca.pem" --cert "$LAB_DIR/other/client.pem" --key "$LAB_DIR/other/client-key.pem" get /lab/greeting
failing "plain HTTP: refused" ectl 1 --endpoints http://192.168.200.254:2379 get /lab/greeting
ok_here "a TLS etcd restarts too" lab_etcd_restart
eq "still TLS, same data" "$(lab_etcdctl get --print-value-only /lab/greeting)" "hello"
ok "compaction over TLS" lab_etcd_compact
eq "lab_etcd_dump" "$(lab_etcd_dump | grep '^/lab/')" $'/lab/counter 3\n/lab/greeting hello'
eq "lab_snapshot is stable" "$(lab_snapshot | sha256sum)" "$(lab_snapshot | sha256sum)"

# A server, lab_addr, and a changed underlay address.
ok_here "an HTTP server in host2" lab_http host2 8080 host2
eq "it sees host1's address" "$(ip netns exec host1 curl -s --max-time 5 http://192.168.200.2:8080/ip)" "192.168.200.1"
eq "and sends bytes" "$(ip netns exec host1 curl -s --max-time 5 http://192.168.200.2:8080/bytes/100000 | wc -c)" "100000"
ok "host3 moves to 192.168.200.33" lab_host_set_ip 3 192.168.200.33
eq "lab_host_ip follows" "$(lab_host_ip 3) $(ip -n host3 -4 -o addr show dev eth0 | wc -l)" "192.168.200.33 1"
ok "host1 reaches the new address" ip netns exec host1 ping -c 1 -W 2 192.168.200.33
failing "but not the old one" ip netns exec host1 ping -c 1 -W 1 192.168.200.3
eq "host3 still reaches etcd" "$(ectl 3 "${LAB_ETCDCTL_TLS[@]}" get --print-value-only /lab/greeting)" "hello"

# lab_vxlan_dev and lab_peer_entries on a VXLAN device made by hand, as an agent would.
ip -n host1 link add vx-lab type vxlan id 7 dstport 4789 local 192.168.200.1 dev eth0 nolearning
ip -n host1 link set vx-lab up
eq "lab_vxlan_dev" "$(lab_vxlan_dev 1) $(lab_vxlan_dev 1 7) [$(lab_vxlan_dev 1 8)] [$(lab_vxlan_dev 2)]" "vx-lab vx-lab [] []"
ip -n host1 route add 10.209.2.0/24 via 10.209.2.0 dev vx-lab onlink
ip -n host1 neigh add 10.209.2.0 lladdr 02:00:00:00:00:02 dev vx-lab nud permanent
bridge -n host1 fdb append 02:00:00:00:00:02 dev vx-lab dst 192.168.200.2 self permanent
ip -n host1 route add 10.209.3.0/24 via 192.168.200.3
eq "lab_peer_entries finds route, neighbour and FDB entry of a peer" \
    "$(lab_peer_entries 1 192.168.200.2 02:00:00:00:00:02 10.209.2.0/24 | cut -d: -f1 | sort | tr '\n' ' ')" "fdb vx-lab neigh vx-lab route "
eq "and a host-gw route via a peer's underlay address" "$(lab_peer_entries 1 192.168.200.3 | cut -d: -f1)" "route"
eq "nothing for a peer it does not know" "$(lab_peer_entries 1 192.168.200.4 02:00:00:00:00:04 10.209.4.0/24)" ""
ip -n host1 link del vx-lab
ip -n host1 route del 10.209.3.0/24
eq "nothing once they are gone" "$(lab_peer_entries 1 192.168.200.2 02:00:00:00:00:02 10.209.2.0/24)" ""

# swnet with a state root per host: a network, an attached namespace and a detached container
# in host1, which lab_cleanup removes.
ok "swnet network in host1" lab_swnet 1 network create labnet --subnet 10.209.1.0/24
eq "its state is in host1's root only" "$(($(find "$(lab_root 1)" -type f | wc -l) > 0)) $(find "$(lab_root 2)" -type f | wc -l)" "1 0"
eq "its bridge is in host1" "$(ip -n host1 -o link show labnet | wc -l) $(ip -o link show labnet 2>/dev/null | wc -l)" "1 0"
ok_here "a container namespace" lab_container c1
eq "lab_attach prints the address" "$(lab_attach 1 c1 labnet)" "10.209.1.2"
eq "lab_addr" "$(lab_addr c1)" "10.209.1.2"
ok "c1 reaches host1's bridge" ip netns exec c1 ping -c 1 -W 2 10.209.1.1
rootfs=$LAB_DIR/rootfs; busybox_rootfs "$rootfs"
ok "a detached busybox container in host1" lab_swnet 1 run -d --name box --network labnet --rootfs "$rootfs" -- sleep 600
box_pid=$(lab_swnet 1 inspect box --json | json 'd[0]["pid"]')
eq "it runs" "$(lab_alive "$box_pid" && echo yes)" "yes"
eq "host1's ps lists it, host2's does not" "$(lab_swnet 1 ps -q | wc -l) $(lab_swnet 2 ps -a -q | wc -l)" "1 0"

# Clean-up: nothing of the lab is left.
etcd_pid=$LAB_ETCD_PID lab_dir=$LAB_DIR http_pid=$lab_http_pid
lab_cleanup
eq "no lab namespace left" "$(ip netns list | wc -l)" "0"
eq "only lo left in this namespace" "$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')" "lo "
eq "no etcd, server or container left" "$(for pid in "$etcd_pid" "$http_pid" "$box_pid"; do lab_alive "$pid" && echo "$pid"; done)" ""
eq "no lab directory left" "$(ls -d "$lab_dir" 2>/dev/null)" ""
ok_here "lab_cleanup twice is harmless" lab_cleanup
