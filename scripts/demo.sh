#!/usr/bin/env bash
# The whole host-to-container path, end to end, in a throwaway network namespace: create a
# network, attach two "containers" (network namespaces), show traffic both ways, clean up. Then
# one overlay across three "hosts" (namespaces on a shared bridge) with etcd: a container per
# host, traffic between hosts, every host leaves.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swnet=$(scripts/build.sh)

# Everything below runs in a new network and mount namespace with a private /run: the machine's
# own namespace is never touched, and whatever the demo makes vanishes with it, even on failure.
exec unshare --net --mount --propagation private -- bash -s "$swnet" "$PWD/scripts/tests/overlay-lab.sh" <<'DEMO'
set -euo pipefail
swnet=$1 lab=$2
root=$(mktemp -d /tmp/swnet-demo.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$root"' EXIT
mount -t tmpfs swnet-demo /run
ip link set lo up
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
sw() { "$swnet" --root "$root" "$@"; }

echo "In a throwaway network namespace; state under $root"
ip netns add web && ip -n web link set lo up
ip netns add client && ip -n client link set lo up

step "$swnet" network create demo --subnet 10.88.0.0/24 --root "$root"
step "$swnet" attach web demo 10.88.0.10/24 --root "$root"
step "$swnet" attach client demo --json --root "$root"
step "$swnet" network ls --root "$root"
step "$swnet" network inspect demo --root "$root" --format '{{.name}}: bridge {{.bridge}}, {{.subnet}} via {{.gateway}}'
step ip -n web addr show eth0
step ip -n web route

echo; echo "Traffic: host -> container, container -> gateway, container <-> container"
step ping -c 2 -W 2 10.88.0.10
step ip netns exec web ping -c 2 -W 2 10.88.0.1
client_ip=$(ip -n client -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
step ip netns exec web ping -c 2 -W 2 "$client_ip"

dir=$(mktemp -d); echo "hello from the web container" >"$dir/index.html"
ip netns exec web python3 -m http.server 80 --directory "$dir" >/dev/null 2>&1 &
for _ in $(seq 50); do curl -s -o /dev/null --max-time 1 http://10.88.0.10/ && break; sleep 0.1; done
step ip netns exec client curl -s --max-time 5 http://10.88.0.10/
step curl -s --max-time 5 http://10.88.0.10/

echo; echo "Clean-up"
step "$swnet" detach client demo --root "$root"
step "$swnet" network rm --force demo --root "$root"

echo; echo "Multi-host: three hosts (network namespaces on the bridge under0, 192.168.200.1-3), etcd"
echo "at 192.168.200.254, one overlay across them (VXLAN), an agent and a container on each host"
source "$lab"   # the lab the overlay tests use: scripts/tests/overlay-lab.sh
SWNET=$swnet
lab_underlay
for n in 1 2 3; do lab_host "$n"; done
lab_etcd
on() { # HOST SWNET-ARGS...: swnet in that host, with its own state root
    printf '\n\033[1m[host%s]$ swnet %s\033[0m\n' "$1" "${*:2}"
    lab_swnet "$@"
}
on 1 overlay create demo --subnet 10.99.0.0/16 --etcd "$LAB_ETCD"
for n in 1 2 3; do
    printf '\n\033[1m[host%s]$ swnet overlay agent demo --etcd %s &\033[0m\n' "$n" "$LAB_ETCD"
    lab_agent "$n" demo
    cat "$LAB_DIR/host$n.agent.out"
done
on 2 overlay inspect demo
for n in 1 2 3; do
    lab_container "box$n"
    on "$n" attach "box$n" demo
done
box1=$(lab_addr box1) box3=$(lab_addr box3)
lab_http box3 80 "box3 on host3"

echo; echo "Traffic between hosts: box1 (host1, $box1) -> box3 (host3, $box3), no NAT on the way"
step ip netns exec box1 ping -c 2 -W 2 "$box3"
step ip netns exec box1 curl -s --max-time 5 "http://$box3/"

echo; echo "Every host leaves (its agent exits), then the overlay goes"
for n in 1 2 3; do
    on "$n" detach "box$n" demo
    on "$n" overlay leave demo
    lab_agent_wait "$n" 10
done
on 1 overlay rm demo
on 1 overlay ls
lab_cleanup
step ip -o link show
echo; echo "demo: done, nothing left behind"
DEMO
