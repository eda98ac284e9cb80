# shellcheck shell=bash
# Publishing: attach + 1 published port against CNI bridge + host-local + portmap (N rounds,
# interleaved); then the new-connection rate to a published port with 1, PORTS/10 and PORTS other
# ports published, swnet's maps against the same number of linear DNAT rules; then throughput,
# published vs routed vs a socat proxy. "Outside" is a namespace po1 on a veth to the section's
# namespace (192.0.2.0/24), which plays the host.
PUB_SIZES=(1 $((PORTS / 10)) "$PORTS")
bench_namespaces $((2 * N))

swnet_attach_publish() { "$SWNET" attach "$1" pubnet && "$SWNET" publish "$1" "$2:80"; }   # NAMESPACE HOSTPORT
# A sequential TCP client in po1: connect, wait for the server's close, close; prints connections/s.
# It closes with a reset (SO_LINGER 0), so that no TIME_WAIT socket, and no conntrack entry in
# TIME_WAIT for 120 s, piles up from one cell to the next and slows the later ones.
cat >"$BENCH_WORK/conn.py" <<'PY'
import socket, struct, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
n, t0 = 0, time.monotonic()
end = t0 + seconds
while True:
    s = socket.create_connection((host, port), timeout=2)
    s.recv(1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    n += 1
    if time.monotonic() >= end:
        break
print("%.0f" % (n / (time.monotonic() - t0)))
PY
conn_rate() { ip netns exec po1 python3 "$BENCH_WORK/conn.py" 192.0.2.1 "$1" "$2"; }   # PORT SECONDS
linear_table() { # COUNT: writes the table: COUNT other rules (dport 40000+), the measured one (dport 30000) last
    {
        echo "table ip linear"
        echo "delete table ip linear"
        echo "table ip linear {"
        echo "  chain pre {"
        echo "    type nat hook prerouting priority -110;"
        for ((k = 0; k < $1; k++)); do echo "    tcp dport $((40000 + k)) dnat to $c2addr:80"; done
        echo "    tcp dport 30000 dnat to $c1addr:80"
        echo "  }"
        echo "}"
    } >"$BENCH_WORK/linear.nft"
}
# The linear table is loaded only around its own runs: its chain comes first in prerouting, so
# while loaded it would also be walked by every new connection to swnet's port.
linear_rate() { # SECONDS
    nft -f "$BENCH_WORK/linear.nft"
    conn_rate 30000 "$1"
    nft delete table ip linear
}
publish_others() { # FROM TO: swnet publish pc2 P:80 for P in 20000+FROM .. 20000+TO-1, 500 specs a call
    local k specs=()
    for ((k = $1; k < $2; k++)); do
        specs+=("$((20000 + k)):80")
        if ((${#specs[@]} == 500 || k == $2 - 1)); then "$SWNET" publish pc2 "${specs[@]}" >/dev/null; specs=(); fi
    done
}
iperf_mbps() { # HOST PORT → receiver Mbit/s of a CONN_SECONDS iperf3 run from po1 (one retry), or "-"
    local try
    for try in 1 2; do
        ip netns exec po1 iperf3 -c "$1" -p "$2" -t "$CONN_SECONDS" -J >"$BENCH_WORK/iperf.json" 2>&1 || true
        python3 -c 'import json,sys; print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' \
            "$BENCH_WORK/iperf.json" 2>/dev/null && return 0
        log "iperf3 to $1:$2 failed (try $try): $(grep -o '"error":.*' "$BENCH_WORK/iperf.json" | head -c 200)"
        sleep 1
    done
    echo "-"
}

pub_pids=()
stop_publish_servers() {
    local pid
    for pid in "${pub_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait "${pub_pids[@]}" 2>/dev/null || true
}
trap stop_publish_servers EXIT

log "publish: swnet attach + publish vs CNI bridge+host-local ADD + portmap ADD ($N rounds)"
"$SWNET" network create pubnet --subnet 10.81.0.0/16 >/dev/null
cni_conf pubcni cni2 10.90.0.0/16
sysctl -qw net.ipv4.ip_forward=1   # in the section's namespace only
portmap_why=
if ! iptables --version >/dev/null 2>&1 || ! iptables -t nat -S >/dev/null 2>"$BENCH_WORK/portmap.err"; then
    portmap_why="iptables does not work here: $(head -c 200 "$BENCH_WORK/portmap.err" | tr '\n' ' ')"
fi
# Warm-up (untimed), which also tells whether portmap works here.
swnet_attach_publish b1 9999 >/dev/null && "$SWNET" detach b1 pubnet >/dev/null
if [[ -z $portmap_why ]] && ! cni_attach_publish pubcni b2 9999 >"$BENCH_WORK/portmap.out" 2>&1; then
    portmap_why="portmap ADD failed: $(head -c 300 "$BENCH_WORK/portmap.out" | tr '\n' ' ')"
fi
if [[ -z $portmap_why ]]; then
    cni_portmap DEL pubcni b2 9999 >/dev/null && cni DEL pubcni b2 >/dev/null
else
    log "portmap: $portmap_why (no samples for it: its target shows n/a)"
    cni DEL pubcni b2 >/dev/null 2>&1 || true
fi
for ((i = 1; i <= N; i++)); do
    timed publish attach_publish swnet swnet_attach_publish "b$i" "$((10000 + i))"
    [[ -z $portmap_why ]] && timed publish attach_publish cni-bridge+portmap cni_attach_publish pubcni "b$((N + i))" "$((10000 + N + i))"
    progress "$i" "$N" "attached and published with each tool"
done
# Sanity (untimed): swnet lists the port; portmap made its DNAT rules.
"$SWNET" port b1 | grep -q ":10001$" || { log "swnet port b1 does not show 10001"; exit 1; }
[[ -z $portmap_why ]] && log "portmap made $(iptables -t nat -S | grep -c -- '--dport 1[0-9]* .*DNAT' || true) DNAT rules for $N containers"
for ((i = 1; i <= N; i++)); do
    "$SWNET" detach "b$i" pubnet >/dev/null
    if [[ -z $portmap_why ]]; then
        cni_portmap DEL pubcni "b$((N + i))" "$((10000 + N + i))" >/dev/null
        cni DEL pubcni "b$((N + i))" >/dev/null
    fi
done
ip link del cni2 2>/dev/null || true
# Nothing of portmap's may stay in the path of the connection-rate rows.
for table in "ip nat" "ip filter" "ip mangle"; do nft delete table $table 2>/dev/null || true; done

log "publish: new connections/s to a published port, swnet maps vs linear DNAT rules (${PUB_SIZES[*]} other ports)"
ip netns add po1
ip -n po1 link set lo up
ip link add pho0 type veth peer name eth0 netns po1
ip addr add 192.0.2.1/24 dev pho0
ip link set pho0 up
ip -n po1 addr add 192.0.2.2/24 dev eth0
ip -n po1 link set eth0 up
ip netns exec po1 sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
# Closed connections leave the (per-namespace) conntrack table after 1 s, not 10 s.
sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close=1 2>/dev/null || log "could not shorten nf_conntrack_tcp_timeout_close"
for ns in pc1 pc2; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    "$SWNET" attach "$ns" pubnet >/dev/null
done
c1addr=$(ip -n pc1 -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')
c2addr=$(ip -n pc2 -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1] }')
ip -n po1 route add 10.81.0.0/16 via 192.0.2.1   # for the routed throughput row only
ip netns exec pc1 python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 80))
s.listen(4096)
while True:
    c, _ = s.accept()
    c.close()' &
pub_pids+=($!)
"$SWNET" publish pc1 8080:80 >/dev/null
have=0
for size in "${PUB_SIZES[@]}"; do
    publish_others "$have" "$size"
    have=$size
    linear_table "$size"
    published=$("$SWNET" port pc2 | wc -l)
    ((published == size)) || { log "swnet port pc2 lists $published ports, expected $size"; exit 1; }
    # Reachability (untimed): both paths answer before anything is measured.
    conn_rate 8080 0.2 >/dev/null || { log "no connection through swnet's published port 8080"; exit 1; }
    linear_rate 0.2 >/dev/null || { log "no connection through the linear rule on 30000"; exit 1; }
    for ((r = 1; r <= CONN_SECONDS; r++)); do   # 1-second runs, the two interleaved
        sample publish "conn_rate_$size" swnet-maps conn/s "$(conn_rate 8080 1)"
        sample publish "conn_rate_$size" linear-dnat conn/s "$(linear_rate 1)"
    done
    log "  $size other ports measured"
done

if command -v iperf3 >/dev/null; then
    log "publish: iperf3 throughput, published port vs routed vs socat proxy (${CONN_SECONDS} s each)"
    ip netns exec pc1 iperf3 -s -p 5201 >/dev/null 2>&1 &
    pub_pids+=($!)
    "$SWNET" publish pc1 15201:5201 >/dev/null
    socat TCP-LISTEN:61201,fork,reuseaddr "TCP:$c1addr:5201" 2>/dev/null &
    pub_pids+=($!)
    sleep 0.3
    for ((r = 1; r <= 2; r++)); do
        sample publish throughput published Mbit/s "$(iperf_mbps 192.0.2.1 15201)"
        sample publish throughput routed Mbit/s "$(iperf_mbps "$c1addr" 5201)"
        sample publish throughput socat Mbit/s "$(iperf_mbps 192.0.2.1 61201)"
    done
fi
stop_publish_servers
for ns in pc1 pc2; do "$SWNET" detach "$ns" pubnet >/dev/null; ip netns del "$ns"; done
ip link del pho0
ip netns del po1
"$SWNET" network rm pubnet >/dev/null

small=${PUB_SIZES[0]} big=${PUB_SIZES[-1]}
target publish "swnet attach+publish / CNI bridge+host-local+portmap (medians)" attach_publish swnet attach_publish cni-bridge+portmap 0.20
# "conn/s at PORTS ≥ 0.95 × conn/s at 1" written as a ratio that must stay small: 1/0.95.
target publish "conn/s at $small / at $big other ports, swnet maps (≥ 0.95 the other way round)" "conn_rate_$small" swnet-maps "conn_rate_$big" swnet-maps 1.053
target publish "conn/s at $small / at $big other ports, linear DNAT rules" "conn_rate_$small" linear-dnat "conn_rate_$big" linear-dnat -
target publish "conn/s swnet maps / linear DNAT rules at $big other ports" "conn_rate_$big" swnet-maps "conn_rate_$big" linear-dnat -
target publish "routed / published-port throughput (published ≥ 0.95 routed)" throughput routed throughput published 1.053
