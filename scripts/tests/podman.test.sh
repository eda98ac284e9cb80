# Attaching into a real podman container, found by name through podman's CLI. podman keeps all
# its state under a temporary directory (CONTAINERS_STORAGE_CONF / CONTAINERS_CONF), so nothing
# of it outlives the test.
podman_dir=$(mktemp -d /tmp/swnet-podman.XXXXXX)
export CONTAINERS_STORAGE_CONF=$podman_dir/storage.conf CONTAINERS_CONF=$podman_dir/containers.conf
printf '[storage]\ndriver = "vfs"\ngraphroot = "%s/storage"\nrunroot = "%s/run"\n' "$podman_dir" "$podman_dir" >"$CONTAINERS_STORAGE_CONF"
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\nruntime = "runc"\n' >"$CONTAINERS_CONF"
busybox_rootfs "$podman_dir/rootfs" && tar -C "$podman_dir/rootfs" -cf "$podman_dir/rootfs.tar" .
ok "import a busybox image into podman" podman import "$podman_dir/rootfs.tar" localhost/swnet-busybox:latest
ok "start a podman container with no network" podman run -d --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
    --network none --name pc1 localhost/swnet-busybox:latest sleep 300
ok "swnet attaches it by name" swnet attach pc1 pnet 10.72.0.5/24
eq "the container has eth0 with the address" "$(podman exec pc1 ip -o -4 addr show dev eth0 | awk '{print $4}')" "10.72.0.5/24"
ok "the host reaches it" ping -c1 -W2 10.72.0.5
eq "the attachment names podman" "$(swnet network inspect pnet --json | json 'd["attachments"][0]["target"]')" "podman pc1"
ok "podman: forces the kind" swnet detach podman:pc1 pnet
ok "attach with podman: again" swnet attach podman:pc1 pnet 10.72.0.6/24
ok "the container reaches its gateway" podman exec pc1 ping -c1 -W2 10.72.0.1
fails "a podman container that does not exist" swnet attach podman:nosuch pnet
ok "an image with EXPOSE" podman import --change 'EXPOSE 80/tcp' "$podman_dir/rootfs.tar" localhost/swnet-web:latest
ok "a podman container of it" podman run -d --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --network none --name pweb \
    localhost/swnet-web:latest httpd -f -p 80 -h /etc
ok "attach it" swnet attach pweb pnet
eq "publish -P publishes what the image exposes" "$(swnet publish pweb -P --json | json '[(p["containerPort"], p["protocol"]) for p in d]')" "[(80, 'tcp')]"
ok "and it answers on the host port" wait_for curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$(swnet port pweb --json | json 'd[0]["hostPort"]')/passwd"
ok "remove it" podman rm -f -t 0 pweb
ok "stop the podman container" podman rm -f -t 0 pc1
wait_for sh -c 'ip link show pnet | grep -q NO-CARRIER'  # the kernel tears the namespace down asynchronously
fails "a stopped podman container is unknown" swnet attach pc1 pnet
swnet gc >/dev/null
eq "gc releases what the podman container held" "$(swnet network inspect pnet --json | json 'len(d["attachments"])')" "0"
podman rmi -f localhost/swnet-busybox:latest localhost/swnet-web:latest >/dev/null 2>&1
rm -rf "$podman_dir" 2>/dev/null || true
