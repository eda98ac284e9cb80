# swnet-cni driven by hand as a runtime drives it (environment + configuration on stdin), over
# every cniVersion it speaks: results in each version's shape, ADD→CHECK→DEL→DEL, CHECK finding
# a removed address, DEL without a netns, GC with a partial list of valid attachments, STATUS,
# 50 parallel ADDs, and a SIGKILL in the middle of ADD cleaned up by GC.
cni_plugin=$(dirname "$SWNET")/swnet-cni
versions=(0.3.0 0.3.1 0.4.0 1.0.0 1.1.0)

# config VERSION [EXTRA_JSON_MEMBERS]: the network configuration for the network "cnet".
config() { printf '{"cniVersion":"%s","name":"cnet","type":"swnet-cni","bridge":"cnet0","subnet":"10.91.0.0/24","swnetRoot":"%s"%s}' "$1" "$SWNET_ROOT" "${2:-}"; }
# cni COMMAND ID NETNS CONFIG: one plugin run; stdout is the plugin's, stderr its log.
cni() { printf '%s' "$4" | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$cni_plugin"; }
code() { json 'd.get("code")'; }
leases() { state_sql "SELECT count(*) FROM leases WHERE network = 'cnet'" 2>/dev/null || echo 0; }
ports() { nft list map inet swnet publish_any 2>/dev/null | grep -oE ': [0-9.]+ \. [0-9]+' | wc -l; }
json_lines() { python3 -c 'import json,sys
for line in sys.stdin:
    d = json.loads(line); print(eval(sys.argv[1], {"d": d}))' "$1"; }

eq "VERSION lists every version" "$(echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION "$cni_plugin" | json 'd["supportedVersions"]')" \
    "['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']"
for version in "${versions[@]}"; do
    container "v$version"
    ns=/run/netns/v$version
    result=$(cni ADD "id-$version" "$ns" "$(config "$version" ',"runtimeConfig":{"portMappings":[{"hostPort":9100,"containerPort":80,"protocol":"tcp"}]}')")
    eq "$version: ADD answers in $version" "$(echo "$result" | json 'd["cniVersion"]')" "$version"
    family=$([[ $version == 0.* ]] && echo "'4'" || echo None)
    eq "$version: ips in $version's shape" "$(echo "$result" | json '[(i.get("version"), i["interface"], i["gateway"]) for i in d["ips"]]')" \
        "[($family, 2, '10.91.0.1')]"
    eq "$version: the sandbox interface has a MAC and the netns" "$(echo "$result" | json '(d["interfaces"][2]["name"], d["interfaces"][2]["sandbox"], len(d["interfaces"][2]["mac"]))')" \
        "('eth0', '$ns', 17)"
    address=$(echo "$result" | json 'd["ips"][0]["address"]')
    eq "$version: the address is in the container" "$(ip -n "v$version" -o -4 addr show dev eth0 | awk '{print $4}')" "$address"
    eq "$version: the port is published" "$(ports)" "1"
    if [[ $version == 0.3.* ]]; then
        eq "$version: CHECK is refused before 0.4.0 (code 1)" "$(cni CHECK "id-$version" "$ns" "$(config "$version")" 2>/dev/null | code)" "1"
    else
        ok "$version: CHECK passes" cni CHECK "id-$version" "$ns" "$(config "$version")"
    fi
    ok "$version: DEL" cni DEL "id-$version" "$ns" "$(config "$version")"
    ok "$version: DEL again" cni DEL "id-$version" "$ns" "$(config "$version")"
    eq "$version: DEL left no interface, lease or port" "$(ip -n "v$version" -o link show | grep -c eth0) $(leases) $(ports)" "0 0 0"
    if [[ $version != 0.3.* ]]; then
        address=$(cni ADD "id-$version" "$ns" "$(config "$version")" | json 'd["ips"][0]["address"]')
        ip -n "v$version" addr flush dev eth0
        eq "$version: CHECK finds the removed address" "$(cni CHECK "id-$version" "$ns" "$(config "$version")" 2>/dev/null | json 'd["msg"]')" \
            "interface eth0 lacks its address $address"
        ok "$version: DEL after it" cni DEL "id-$version" "$ns" "$(config "$version")"
    fi
    cni ADD "id-$version" "$ns" "$(config "$version" ',"runtimeConfig":{"portMappings":[{"hostPort":9101,"containerPort":80,"protocol":"udp"}]}')" >/dev/null
    ok "$version: DEL without CNI_NETNS" env -u CNI_NETNS bash -c 'printf "%s" "$1" | CNI_COMMAND=DEL CNI_CONTAINERID=$2 CNI_IFNAME=eth0 "$3"' _ \
        "$(config "$version")" "id-$version" "$cni_plugin"
    eq "$version: it removed the interface, lease and port" "$(ip -n "v$version" -o link show | grep -c eth0) $(leases) $(ports)" "0 0 0"
    if [[ $version != 1.1.0 ]]; then
        eq "$version: GC needs 1.1.0 (code 1)" "$(cni GC "" "" "$(config "$version")" 2>/dev/null | code)" "1"
        eq "$version: STATUS needs 1.1.0 (code 1)" "$(cni STATUS "" "" "$(config "$version")" 2>/dev/null | code)" "1"
    fi
    ip netns del "v$version"
done

# The bandwidth capability: tbf on the host side (to the container) and inside (from it), 16 Mbit/s
# each way, measured with real traffic: 3 MB each way must take about 1.5 s (0.2 s would be unshaped).
container bw
bw_result=$(cni ADD bw /run/netns/bw "$(config 1.1.0 ',"runtimeConfig":{"bandwidth":{"ingressRate":16000000,"ingressBurst":200000,"egressRate":16000000,"egressBurst":200000}}')")
bw_host=$(echo "$bw_result" | json 'd["interfaces"][1]["name"]') bw_address=$(echo "$bw_result" | json 'd["ips"][0]["address"].split("/")[0]')
eq "a tbf qdisc on the host side and on the container's interface" \
    "$(tc qdisc show dev "$bw_host" | awk '$2 == "tbf" {print $2, $8}') $(ip netns exec bw tc qdisc show dev eth0 | awk '$2 == "tbf" {print $2, $8}')" "tbf 16Mbit tbf 16Mbit"
bw_dir=$(mktemp -d -p "$SWNET_ROOT"); head -c 3000000 /dev/zero >"$bw_dir/blob"
ip netns exec bw python3 -m http.server 80 --directory "$bw_dir" >/dev/null 2>&1 &
bw_servers=($!)
wait_for curl -sf -o /dev/null --max-time 1 "http://$bw_address/" 
speed=$(curl -s -o /dev/null -w '%{speed_download}' --max-time 10 "http://$bw_address/blob"); speed=${speed%.*}
eq "traffic from the container is shaped (${speed} B/s for 2 MB/s)" "$(( speed > 1000000 && speed < 2600000 ))" "1"
ip netns exec bw socat -u TCP-LISTEN:9000,reuseaddr OPEN:/dev/null &
bw_servers+=($!)
wait_for ip netns exec bw sh -c 'ss -ltn | grep -q :9000'
start=$EPOCHREALTIME; socat -u OPEN:"$bw_dir/blob" "TCP:$bw_address:9000"; elapsed_ms=$(( (10#${EPOCHREALTIME/./} - 10#${start/./}) / 1000 ))
eq "traffic to the container is shaped (3 MB in ${elapsed_ms} ms)" "$(( elapsed_ms > 1000 && elapsed_ms < 3000 ))" "1"
kill "${bw_servers[@]}" 2>/dev/null; wait "${bw_servers[@]}" 2>/dev/null   # the parallel rows below wait for all jobs
ok "DEL of the shaped container" cni DEL bw /run/netns/bw "$(config 1.1.0)"
eq "invalid bandwidth (7)" "$(cni ADD bw /run/netns/bw "$(config 1.1.0 ',"runtimeConfig":{"bandwidth":{"ingressRate":1000}}')" 2>/dev/null | code)" "7"
ip netns del bw

# hairpinMode sets the bridge port's hairpin flag (as the bridge plugin does); a container reaches
# itself through its own published port by swnet's hairpin masquerade. (Routed: br_netfilter, when
# the machine has it loaded, would bridge the DNATed frame instead; it is off in this namespace.)
sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
hp_dir=$(mktemp -d -p "$SWNET_ROOT"); echo self >"$hp_dir/index.html"
container hp
ip netns exec hp python3 -m http.server 80 --directory "$hp_dir" >/dev/null 2>&1 &
hp_server=$!
hp_host=$(cni ADD hp /run/netns/hp "$(config 1.1.0 ',"hairpinMode":true,"runtimeConfig":{"portMappings":[{"hostPort":9105,"containerPort":80}]}')" | json 'd["interfaces"][1]["name"]')
eq "hairpinMode turns hairpin on for the bridge port" "$(bridge -d link show dev "$hp_host" | grep -o 'hairpin on')" "hairpin on"
ok "the container reaches its own published port through the gateway's address" \
    wait_for sh -c '[ "$(ip netns exec hp curl -s --max-time 1 http://10.91.0.1:9105/)" = self ]'
kill "$hp_server" 2>/dev/null; wait "$hp_server" 2>/dev/null
cni DEL hp /run/netns/hp "$(config 1.1.0)"
ip netns del hp

# DEL with an empty CNI_NETNS after the namespace is gone (podman's teardown may do this).
container gone
cni ADD gone /run/netns/gone "$(config 1.0.0 ',"runtimeConfig":{"portMappings":[{"hostPort":9102,"containerPort":80}]}')" >/dev/null
ip netns del gone
ok "DEL with an empty netns after the namespace died" cni DEL gone "" "$(config 1.0.0)"
eq "left no lease or port" "$(leases) $(ports)" "0 0"

# swnet gc knows CNI containers: one whose namespace died without a DEL is collected with its port.
container lost
cni ADD lost /run/netns/lost "$(config 1.0.0 ',"runtimeConfig":{"portMappings":[{"hostPort":9107,"containerPort":80}]}')" >/dev/null
ip netns del lost
ok "the kernel removed the dead namespace's veth" wait_for sh -c '[ -z "$(ip -o link show master cnet0)" ]'
eq "swnet gc collects the CNI container" "$(swnet gc --json | json '[a["target"] for a in d["attachments"]]')" "['cni lost']"
eq "with its lease and port" "$(leases) $(ports)" "0 0"

# A network made by swnet network create, named in a CNI configuration by "network".
ok "swnet network create made" swnet network create made --subnet 10.98.0.0/24
container m1
made_config='{"cniVersion":"1.1.0","name":"any-cni-name","type":"swnet-cni","network":"made","swnetRoot":"'$SWNET_ROOT'"}'
eq "ADD puts the container on it" "$(cni ADD m1 /run/netns/m1 "$made_config" | json '(d["interfaces"][0]["name"], d["ips"][0]["address"])')" "('made', '10.98.0.2/24')"
eq "swnet network inspect made shows it" "$(swnet network inspect made --json | json '[a["target"] for a in d["attachments"]]')" "['cni m1']"
ok "DEL" cni DEL m1 /run/netns/m1 "$made_config"
ok "and the network goes with swnet network rm" swnet network rm made
ip netns del m1

# GC with a partial list: only the listed attachments stay; attachments made by swnet attach stay too.
for name in ga gb gc; do container "$name"; cni ADD "$name" "/run/netns/$name" "$(config 1.1.0)" >/dev/null; done
container manual; ok "a plain swnet attach on the same network" swnet attach manual cnet
ok "GC keeping ga" cni GC "" "" "$(config 1.1.0 ',"cni.dev/valid-attachments":[{"containerID":"ga","ifname":"eth0"}]')"
eq "ga and the swnet attachment stay, gb and gc are gone" \
    "$(swnet network inspect cnet --json | json 'sorted(a["target"] for a in d["attachments"])')" "['cni ga', 'netns manual']"
eq "their interfaces are gone" "$(ip -n gb -o link show | grep -c eth0) $(ip -n gc -o link show | grep -c eth0) $(ip -n ga -o link show | grep -c eth0)" "0 0 1"
ok "GC with an empty list" cni GC "" "" "$(config 1.1.0 ',"cni.dev/valid-attachments":[]')"
eq "removes the last CNI attachment" "$(swnet network inspect cnet --json | json '[a["target"] for a in d["attachments"]]')" "['netns manual']"
swnet detach manual cnet
for name in ga gb gc manual; do ip netns del "$name"; done

# STATUS: ready, then not (50) when the pool is exhausted or the bridge unusable.
ok "STATUS on a usable network" cni STATUS "" "" "$(config 1.1.0)"
small() { printf '{"cniVersion":"1.1.0","name":"tiny","type":"swnet-cni","subnet":"10.92.0.0/30","swnetRoot":"%s"}' "$SWNET_ROOT"; }
ok "STATUS before the network exists" cni STATUS "" "" "$(small)"
container t1; ok "the one address of a /30" cni ADD t1 /run/netns/t1 "$(small)"
eq "STATUS says it cannot serve ADD (50)" "$(cni STATUS "" "" "$(small)" 2>/dev/null | code)" "50"
container t2
eq "and ADD indeed fails" "$(cni ADD t2 /run/netns/t2 "$(small)" 2>/dev/null | code)" "100"
ok "DEL frees it" cni DEL t1 /run/netns/t1 "$(small)"
ok "STATUS is ready again" cni STATUS "" "" "$(small)"
ip link add notabridge type veth peer name notabridge-peer
eq "STATUS on a configuration whose bridge is taken by another kind of link (50)" \
    "$(cni STATUS "" "" '{"cniVersion":"1.1.0","name":"taken","type":"swnet-cni","bridge":"notabridge","subnet":"10.93.0.0/24"}' 2>/dev/null | code)" "50"
ip link del notabridge

# Errors: JSON on stdout with the spec's code, one line on stderr, nothing changed.
eq "no CNI_COMMAND (4)" "$(printf '%s' "$(config 1.1.0)" | "$cni_plugin" 2>/dev/null | code)" "4"
eq "an invalid container id (4)" "$(cni ADD '-bad' /run/netns/t2 "$(config 1.1.0)" 2>/dev/null | code)" "4"
eq "no netns for ADD (4)" "$(cni ADD t2 '' "$(config 1.1.0)" 2>/dev/null | code)" "4"
eq "a configuration that is not JSON (6)" "$(cni ADD t2 /run/netns/t2 '{"cniVersion":' 2>/dev/null | code)" "6"
eq "an invalid subnet (7)" "$(cni ADD t2 /run/netns/t2 '{"cniVersion":"1.0.0","name":"x","type":"swnet-cni","subnet":"10.0.0.0/33"}' 2>/dev/null | code)" "7"
eq "a configuration contradicting the swnet network (7)" "$(cni ADD t2 /run/netns/t2 "$(config 1.0.0 | sed 's/10.91.0.0/10.94.0.0/')" 2>/dev/null | code)" "7"
eq "an unsupported version (1)" "$(cni ADD t2 /run/netns/t2 "$(config 0.2.0)" 2>/dev/null | code)" "1"
eq "CHECK of an unknown container (3)" "$(cni CHECK nosuch /run/netns/t2 "$(config 1.1.0)" 2>/dev/null | code)" "3"
fails "a failed ADD changes nothing" cni ADD t2 /run/netns/t2 "$(config 1.0.0 ',"runtimeConfig":{"ips":["10.91.1.5/24"]}')"
fails "a failed first ADD leaves no network behind" cni ADD t2 /run/netns/t2 \
    '{"cniVersion":"1.0.0","name":"fresh","type":"swnet-cni","subnet":"10.99.0.0/24","runtimeConfig":{"ips":["10.99.1.5/24"]},"swnetRoot":"'"$SWNET_ROOT"'"}'
ports_config=$(config 1.0.0 ',"runtimeConfig":{"portMappings":[{"hostPort":9103,"containerPort":80}]}')
ok "t2 publishes 9103" cni ADD t2 /run/netns/t2 "$ports_config"
container t3
fails "a port conflict changes nothing" cni ADD t3 /run/netns/t3 "$ports_config"
ok "DEL t2" cni DEL t2 /run/netns/t2 "$ports_config"
ip netns del t1; ip netns del t2; ip netns del t3

# 50 ADDs at once: 50 distinct addresses; then 50 DELs at once leave nothing.
for i in $(seq 50); do container "p$i"; done
for i in $(seq 50); do cni ADD "p$i" "/run/netns/p$i" "$(config 1.1.0)" >"$SWNET_ROOT/add-$i.json" 2>&1 & done; wait
eq "50 parallel ADDs succeed with 50 distinct addresses" \
    "$(cat "$SWNET_ROOT"/add-*.json | json_lines 'd["ips"][0]["address"]' | sort -u | wc -l)" "50"
for i in $(seq 50); do cni DEL "p$i" "/run/netns/p$i" "$(config 1.1.0)" & done; wait
eq "50 parallel DELs leave no lease, attachment or veth" \
    "$(leases) $(swnet network inspect cnet --json | json 'len(d["attachments"])') $(ip -o link show master cnet0 | wc -l)" "0 0 0"
for i in $(seq 50); do ip netns del "p$i"; done

# SIGKILL in the middle of an ADD, then GC: nothing leaks. The kill waits until the attachment
# record says pending (committed before the kernel is touched): the kernel is being changed then.
container k
config 1.1.0 ',"runtimeConfig":{"portMappings":[{"hostPort":9104,"containerPort":80}]}' >"$SWNET_ROOT/kill.json"
pending_record() {
    [[ $(state_sql "SELECT count(*) FROM attachments WHERE network = 'cnet' AND record LIKE '%\"phase\":\"pending\"%'" 2>/dev/null) == 1 ]]
}
# add_killed_when_pending: runs the plugin's ADD and SIGKILLs it as soon as the database shows
# a pending record (one process, already polling when the plugin starts, no fork per look).
add_killed_when_pending() {
    python3 - "$SWNET_ROOT/run/state.db" "$cni_plugin" "$SWNET_ROOT/kill.json" <<'POLL'
import os, sqlite3, subprocess, sys
database, plugin, config = sys.argv[1:4]
environment = dict(os.environ, CNI_COMMAND="ADD", CNI_CONTAINERID="k", CNI_NETNS="/run/netns/k", CNI_IFNAME="eth0")
with open(config) as stdin:
    add = subprocess.Popen([plugin], stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
while add.poll() is None:
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.01)
        pending = connection.execute("""SELECT count(*) FROM attachments WHERE network = 'cnet' AND record LIKE '%"phase":"pending"%'""").fetchone()[0]
        connection.close()
        if pending:
            add.kill()
            break
    except sqlite3.Error:
        pass
add.wait()
POLL
}
interrupted=0
for attempt in $(seq 12); do
    add_killed_when_pending
    pending_record && interrupted=$((interrupted + 1))
    cni GC "" "" "$(config 1.1.0 ',"cni.dev/valid-attachments":[]')" >/dev/null
    state="$(leases) $(ports) $(ip -o link show master cnet0 | wc -l) $(ip -n k -o link show | grep -c eth0) $(state_sql "SELECT count(*) FROM attachments WHERE network = 'cnet'")"
    [[ $state == "0 0 0 0 0" ]] || break
done
eq "after SIGKILLs during ADD, GC leaves no lease, port, veth or record" "$state" "0 0 0 0 0"
eq "SIGKILLs landed in the middle of ADDs (pending records left for GC)" "$((interrupted > 0))" "1"
echo "# $interrupted of $attempt ADDs were killed half way"
ip netns del k
