#!/usr/bin/env bash
# The whole host-to-container path, end to end, in a throwaway network namespace: create a
# network, attach two "containers" (network namespaces), show traffic both ways, clean up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swnet=$(scripts/build.sh)

# Everything below runs in a new network and mount namespace with a private /run: the machine's
# own namespace is never touched, and whatever the demo makes vanishes with it, even on failure.
exec unshare --net --mount --propagation private -- bash -s "$swnet" <<'DEMO'
set -euo pipefail
swnet=$1
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
step ip -o link show
echo; echo "demo: done, nothing left behind"
DEMO
