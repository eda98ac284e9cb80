# `swnet run` killed with SIGKILL at random moments (issue 15): a killed `run -d` never starts
# its container afterwards; whatever it left is found by its name (`rm -f NAME`) or by gc, and a
# name freed is never taken by a container that appears later. A killed foreground run takes
# its container with it. At the end: no container, process, link, lease, name or nft element.
ok "network" swnet network create kn --subnet 10.74.0.0/16
# ps sees the whole machine: this scenario's commands sleep for a time no one else uses.
nap=300.$$

# What a killed run may leave behind, all of which must be gone at the end (gc removes the
# hidden temporary files of writers killed before their rename).
leftovers() {
    echo "containers: $(swnet ps -a -q | wc -l)"
    echo "names: $(ls "$SWNET_ROOT/run/container-names" 2>/dev/null | wc -l)"
    echo "attachments: $(swnet network inspect kn --json | json 'len(d["attachments"])')"
    echo "leases: $(ls "$SWNET_ROOT/run/networks/kn/leases" 2>/dev/null | wc -l)"
    echo "published: $(nft -j list map inet swnet publish_any | json 'len([e for x in d["nftables"] if "map" in x for e in x["map"].get("elem", [])])')"
    echo "links: $(ip -o link show | grep -cv -e ': lo:' -e ': kn:')"
    echo "unfinished writes: $(find "$SWNET_ROOT" -name '.*.tmp.*' | wc -l)"
    echo "processes: $(ps -eo stat=,args= | awk -v nap="$nap" '$1 !~ /^Z/ && (($2 == "sleep" && $3 == nap) || / __container-monitor [0-9]+ k[rf][0-9]+$/)' | wc -l)"
}
empty=$'containers: 0\nnames: 0\nattachments: 0\nleases: 0\npublished: 0\nlinks: 0\nunfinished writes: 0\nprocesses: 0'
# The kernel deletes a dead namespace's veths in the background: links may take a moment.
nothing_left() { [[ "$(leftovers)" == "$empty" ]]; }

# A `run -d` takes ~30 ms here: kills land from before the name is claimed to after the id is
# printed. Every other one is followed at once by `rm -f NAME`, which must reach whatever the
# killed run made (or find nothing, and then nothing may start later).
kills=200 started=0
for r in $(seq $kills); do
    "$SWNET" run -d --name kr$r --network kn -p $((40000 + r)):80 -- sleep $nap >/dev/null 2>&1 & pid=$!
    sleep 0.0$((RANDOM % 4))$((RANDOM % 10))
    kill -9 $pid 2>/dev/null || started=$((started + 1))
    wait $pid 2>/dev/null
    ((r % 2)) && swnet rm -f kr$r >/dev/null 2>&1
done
echo "# $started of $kills runs -d had finished before their kill"
swnet gc >/dev/null
for r in $(seq $kills); do swnet rm -f kr$r >/dev/null 2>&1; done
swnet gc >/dev/null
ok "after $kills killed runs -d, gc and rm -f: nothing left" wait_for nothing_left
eq "nothing left" "$(leftovers)" "$empty"
sleep 1
eq "and nothing appears later" "$(leftovers)" "$empty"

# Names freed by rm -f are taken by new containers, which are the only ones under them.
for r in 1 2 3 4; do ids[$r]=$(swnet run -d --name kr$r --network kn -p $((40000 + r)):80 -- sleep $nap); done
sleep 0.5
eq "the names serve new containers only" "$(swnet ps --json | json 'sorted(c["id"] for c in d)')" \
    "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "${ids[@]}")"
ok "rm -f them" swnet rm -f kr1 kr2 kr3 kr4

# Foreground runs killed at random moments, the later ones while their command runs.
for r in $(seq 60); do
    "$SWNET" run --name kf$r --network kn -p $((41000 + r)):80 -- sleep $nap >/dev/null 2>&1 & pid=$!
    sleep 0.0$((RANDOM % 6))$((RANDOM % 10))
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
done
commands_running() { ps -eo stat=,args= | awk -v nap="$nap" '$1 !~ /^Z/ && $2 == "sleep" && $3 == nap' | grep -q .; }
ok "every killed foreground run took its command with it" wait_for eval '! commands_running'
swnet gc >/dev/null
for r in $(seq 60); do swnet rm -f kf$r >/dev/null 2>&1; done
swnet gc >/dev/null
ok "after killed foreground runs, gc and rm -f: nothing left" wait_for nothing_left
eq "nothing left" "$(leftovers)" "$empty"
