# swnet's state: SIGKILL at any point then gc leaves nothing behind; conflicts are found
# before anything is made; inspect shows addresses and ports; the records are plain SQLite.
ok "network" swnet network create knet --subnet 10.64.0.0/16

attachments() { state_sql "SELECT count(*) FROM attachments WHERE network = 'knet'"; }
consistent() { # after gc: every bridge port, lease and interface belongs to an active record
    local ports leases pending records
    records=$(attachments)
    ports=$(ip -o link show master knet | wc -l)
    leases=$(state_sql "SELECT count(*) FROM leases WHERE network = 'knet'")
    pending=$(state_sql "SELECT count(*) FROM attachments WHERE record LIKE '%\"phase\":\"pending\"%'")
    eq "$1: bridge ports, leases and records agree, none pending" "$ports $leases $pending" "$records $records 0"
}

# swnet attach killed with SIGKILL after 0..15 ms: wherever it stopped, gc cleans up.
for delay in 0 0.001 0.002 0.003 0.004 0.005 0.006 0.008 0.010 0.015; do
    name="k${delay#0.}"
    container "$name"
    "$SWNET" attach "$name" knet >/dev/null 2>&1 & pid=$!
    sleep "$delay"; kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    swnet gc >/dev/null || fail "gc after attach killed at ${delay}s"
    consistent "attach killed after ${delay}s"
    inside=$(ip -n "$name" -o link show | grep -c eth0)
    recorded=$(state_sql "SELECT count(*) FROM attachments WHERE record LIKE '%netns $name\"%'")
    eq "attach killed after ${delay}s: $name has an interface only if it is recorded" "$inside" "$recorded"
done
ok "every survivor detaches" bash -c 'for ns in $(ip netns list | awk "{print \$1}"); do "$SWNET" detach "$ns" >/dev/null 2>&1; done; true'
eq "and nothing is left on the bridge" "$(ip -o link show master knet | wc -l) $(attachments)" "0 0"

# swnet publish of 2,000 ports killed part-way: the nft maps end up as the records say.
container p1
ok "attach p1" swnet attach p1 knet
elements() { nft -j list map inet swnet publish_any | python3 -c 'import json,sys; print(sum(len(o["map"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "map" in o))'; }
specs=(); for ((port = 30000; port < 32000; port++)); do specs+=("$port:80"); done
for delay in 0.005 0.02 0.05 0.1 0.2 0.3; do
    "$SWNET" publish p1 "${specs[@]}" >/dev/null 2>&1 & pid=$!
    sleep "$delay"; kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    swnet gc >/dev/null || fail "gc after publish killed at ${delay}s"
    records=$(state_sql "SELECT count(*) FROM publications")
    eq "publish killed after ${delay}s: map elements match the $records records" "$(elements)" "$records"
    swnet unpublish p1 >/dev/null 2>&1
done
ok "publish 2,000 ports in one command" swnet publish p1 "${specs[@]}"
eq "all recorded and in the map" "$(state_sql 'SELECT count(*) FROM publications') $(elements)" "2000 2000"
eq "unpublish of one of them finds it by port" "$(swnet unpublish p1 31999:80 >/dev/null && state_sql 'SELECT count(*) FROM publications')" "1999"
fails "a port another target holds" swnet publish p1 31000:80
eq "the error names the holder" "$error_line" "swnet: 0.0.0.0:31000/tcp is already published by netns p1"
ok "detach p1 drops its ports" swnet detach p1
eq "no publication or element left" "$(state_sql 'SELECT count(*) FROM publications') $(elements)" "0 0"

# run -d -p with a taken port fails before anything is made (the `fails` snapshot includes links).
container holder
ok "attach holder" swnet attach holder knet
ok "holder publishes 8080" swnet publish holder 8080:80
fails "run -d -p 8080:80 with 8080 taken" swnet run -d --network knet -p 8080:80 -- sleep 100
eq "the error names the holder" "$error_line" "swnet: 0.0.0.0:8080/tcp is already published by netns holder"

# inspect: per-network addresses, gateway, MAC, published ports, RFC 3339 times.
ok "a second network" swnet network create knet2 --subnet 10.65.0.0/24
id=$(swnet run -d --name insp --network knet:10.64.9.9/16 --network knet2 -p 9090:80 -- sleep 100)
ok "inspect insp" swnet inspect insp
detail=$(swnet inspect insp --json)
eq "the address on each network" "$(echo "$detail" | json 'sorted((n, v["ipAddress"], v["prefixLength"], v["gateway"]) for n, v in d[0]["networkSettings"]["networks"].items())')" \
    "[('knet', '10.64.9.9', 16, '10.64.0.1'), ('knet2', '10.65.0.2', 24, '10.65.0.1')]"
eq "the MAC of its eth0" "$(echo "$detail" | json 'd[0]["networkSettings"]["networks"]["knet"]["macAddress"]')" \
    "$(swnet exec insp -- ip -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
eq "its published port" "$(echo "$detail" | json '[(p["hostPort"], p["containerPort"], p["protocol"]) for p in d[0]["networkSettings"]["ports"]]')" "[(9090, 80, 'tcp')]"
eq "created as an RFC 3339 time" "$(echo "$detail" | json 'd[0]["created"]' | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$')" "1"
ok "rm -f insp" swnet rm -f insp

# The state is SQLite: readable and checkable with the sqlite3 CLI.
eq "the runtime database passes SQLite's integrity check" "$(state_sql 'PRAGMA integrity_check')" "ok"
eq "the definitions persist under lib" "$(sqlite3 "$SWNET_ROOT/lib/networks.db" 'SELECT name FROM networks ORDER BY name' | tr '\n' ' ')" "knet knet2 "
