# podman 4 drives swnet-cni as its CNI network (--network-backend cni). Everything podman and
# CNI keep lives in this scenario's private mount namespace: its state under a temporary
# directory, /etc/cni and /var/lib (libcni's cache, /var/lib/cni) behind tmpfs mounts, the
# configurations and plugin directory given in containers.conf.
cni_plugin=$(dirname "$SWNET")/swnet-cni
mount -t tmpfs swnet-test-etc-cni /etc/cni && mount -t tmpfs swnet-test-var-lib /var/lib || exit 99
podman_dir=$(mktemp -d /tmp/swnet-cni-podman.XXXXXX)
mkdir -p "$podman_dir/net.d" "$podman_dir/bin" && ln -s "$cni_plugin" "$podman_dir/bin/swnet-cni"
export CONTAINERS_STORAGE_CONF=$podman_dir/storage.conf CONTAINERS_CONF=$podman_dir/containers.conf
printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' "$podman_dir" "$podman_dir" >"$CONTAINERS_STORAGE_CONF"
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\nruntime = "runc"\n[network]\nnetwork_backend = "cni"\nnetwork_config_dir = "%s/net.d"\ncni_plugin_dirs = ["%s/bin", "/usr/lib/cni"]\n' \
    "$podman_dir" "$podman_dir" >"$CONTAINERS_CONF"
# podman's cleanup after conmon does not pass its environment on: the state root is in the config.
cat >"$podman_dir/net.d/swnet1.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "swnet1",
 "plugins": [{"type": "swnet-cni", "bridge": "swcni0", "subnet": "10.89.0.0/24", "ipMasq": true, "swnetRoot": "$SWNET_ROOT",
              "capabilities": {"portMappings": true, "ips": true, "mac": true}}]}
JSON
busybox_rootfs "$podman_dir/rootfs" && tar -C "$podman_dir/rootfs" -cf "$podman_dir/rootfs.tar" .
ok "import a busybox image into podman" podman import "$podman_dir/rootfs.tar" localhost/swnet-busybox:latest
run_flags=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
eq "podman lists the swnet-cni network" "$(podman network ls --format '{{.Name}}' | grep -c '^swnet1$')" "1"

# "outside" stands for another machine, joined to the host by a veth.
ip netns add outside && ip -n outside link set lo up
ip link add uplink type veth peer name eth0 netns outside
ip addr add 192.0.2.1/24 dev uplink && ip link set uplink up
ip -n outside addr add 192.0.2.2/24 dev eth0 && ip -n outside link set eth0 up

ok "podman run --network swnet1 -p 8080:80" podman run -d "${run_flags[@]}" --network swnet1 -p 8080:80 --name web \
    localhost/swnet-busybox:latest httpd -f -p 80 -h /etc
address=$(podman inspect web --format '{{(index .NetworkSettings.Networks "swnet1").IPAddress}}')
eq "podman got the address from swnet-cni's result" "$(podman exec web ip -o -4 addr show dev eth0 | awk '{print $4}')" "$address/24"
eq "podman saw the container's MAC" "$(podman inspect web --format '{{(index .NetworkSettings.Networks "swnet1").MacAddress}}')" \
    "$(podman exec web cat /sys/class/net/eth0/address)"
ok "another machine reaches the published port" wait_for ip netns exec outside curl -sf -o /dev/null --max-time 1 "http://192.0.2.1:8080/hostname"
eq "the container shows in swnet network inspect" "$(swnet network inspect swnet1 --json | json '[a["address"] for a in d["attachments"]]')" "['$address/24']"
eq "and in swnet port" "$(swnet port "$(podman inspect web --format '{{.State.Pid}}')" --json | json '[(p["hostPort"], p["containerPort"]) for p in d]')" "[(8080, 80)]"

ok "a second container" podman run -d "${run_flags[@]}" --network swnet1 --name client localhost/swnet-busybox:latest sleep 300
eq "two containers talk" "$(podman exec client wget -q -O - "http://$address/hostname")" "$(podman exec web cat /etc/hostname)"
ok "a container with a requested address and MAC" podman run -d "${run_flags[@]}" --network swnet1 --ip 10.89.0.77 \
    --mac-address 02:42:0a:59:00:4d --name fixed localhost/swnet-busybox:latest sleep 300
eq "has them" "$(podman exec fixed ip -o link show eth0 | grep -o 'ether [0-9a-f:]*') $(podman exec fixed ip -o -4 addr show eth0 | awk '{print $4}')" \
    "ether 02:42:0a:59:00:4d 10.89.0.77/24"
fails_podman=$(podman run --rm "${run_flags[@]}" --network swnet1 -p 8080:80 localhost/swnet-busybox:latest true 2>&1 && echo started)
eq "a port already published is refused, with swnet-cni's message" "$(echo "$fails_podman" | grep -c 'already published')" "1"

ok "podman rm the containers" podman rm -f -t 0 web client fixed
eq "podman rm leaves no attachment" "$(swnet network inspect swnet1 --json | json 'len(d["attachments"])')" "0"
eq "no veth on the bridge" "$(ip -o link show master swcni0 | wc -l)" "0"
eq "no published port" "$(nft list map inet swnet publish_any | grep -c 'elements')" "0"
eq "no lease" "$(state_sql "SELECT count(*) FROM leases WHERE network = 'swnet1'")" "0"
eq "the port answers no more" "$(ip netns exec outside curl -sf -o /dev/null --max-time 2 http://192.0.2.1:8080/hostname && echo open || echo closed)" "closed"

# Dual stack: two range sets, as podman writes for `podman network create --ipv6`.
cat >"$podman_dir/net.d/swnet6.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "swnet6",
 "plugins": [{"type": "swnet-cni", "bridge": "swcni6", "swnetRoot": "$SWNET_ROOT",
              "ipam": {"type": "swnet-cni", "ranges": [[{"subnet": "10.90.0.0/24"}], [{"subnet": "fd00:90::/64"}]]},
              "capabilities": {"portMappings": true, "ips": true, "mac": true}}]}
JSON
ip addr add 2001:db8:ff::1/64 dev uplink nodad && ip -n outside addr add 2001:db8:ff::2/64 dev eth0 nodad
ok "podman run on a dual-stack network -p 8081:80" podman run -d "${run_flags[@]}" --network swnet6 -p 8081:80 --name web6 \
    localhost/swnet-busybox:latest httpd -f -p 80 -h /etc
address6=$(podman inspect web6 --format '{{(index .NetworkSettings.Networks "swnet6").GlobalIPv6Address}}')
eq "podman got an IPv6 address from swnet-cni's result" "$(podman exec web6 ip -o -6 addr show dev eth0 scope global | awk '{print $4}')" "$address6/64"
eq "and the IPv6 gateway" "$(podman inspect web6 --format '{{(index .NetworkSettings.Networks "swnet6").IPv6Gateway}}')" "fd00:90::1"
ok "another machine reaches the port on the host's IPv6 address" \
    wait_for ip netns exec outside curl -sgf -o /dev/null --max-time 1 "http://[2001:db8:ff::1]:8081/hostname"
ok "and on its IPv4 address" ip netns exec outside curl -sf -o /dev/null --max-time 2 "http://192.0.2.1:8081/hostname"
ok "podman rm web6" podman rm -f -t 0 web6
eq "no port left on either family" "$(nft -j list map inet swnet publish_any6 | json 'len(d["nftables"][1]["map"].get("elem", []))') $(state_sql "SELECT count(*) FROM publications")" "0 0"

podman rmi -f localhost/swnet-busybox:latest >/dev/null 2>&1
rm -rf "$podman_dir" 2>/dev/null || true
