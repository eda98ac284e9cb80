# shellcheck shell=bash
# `swnet run` against unshare(1) and runc, N each, interleaved round by round: a container running
# /bin/true with new network, PID, mount, UTS and IPC namespaces; and `swnet run --network`, the
# same plus an attach before the command starts; and `run -d` against `runc run -d` (until the
# id is printed: both start a monitor process of their own). Its own namespace: the network namespaces these
# runs create and drop are torn down by the kernel asynchronously, in a worker, and that work must
# not overlap other sections' rows.

# runc's containers are the one thing that outlives the namespace (their cgroups are the
# machine's): whatever happens, delete every container left in the bench's runc state dir.
runc_root=$BENCH_WORK/runc
delete_runc_leftovers() {
    [[ -d $runc_root ]] || return 0
    local id
    for id in $(runc --root "$runc_root" list -q 2>/dev/null); do
        runc --root "$runc_root" delete --force "$id" >/dev/null 2>&1 || log "could not delete runc container $id"
    done
}
trap delete_runc_leftovers EXIT

log "run: swnet run --rm, unshare(1), runc run, swnet run --rm --network, swnet run -d, runc run -d ($N rounds)"
# runc's minimal bundle: `runc spec` (pid, network, ipc, uts and mount namespaces, read-only
# root), a busybox-static rootfs, /bin/true as the process, no terminal.
bundle=$BENCH_WORK/bundle
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
(cd "$bundle" && runc spec)
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["process"]["terminal"] = False
config["process"]["args"] = ["/bin/true"]
json.dump(config, open(path, "w"), indent=2)
PY
mkdir -p "$runc_root"
runc_true() { runc --root "$runc_root" run --bundle "$bundle" "$1"; }   # CONTAINER-ID
runc_detached() { runc --root "$runc_root" run --detach --bundle "$bundle" "$1"; }
unshare_true() { unshare --fork --pid --net --mount --uts --ipc --mount-proc /bin/true; }
"$SWNET" network create runnet --subnet 10.80.0.0/16 >/dev/null
# A sanity check (untimed) that the --network container sees its interface when it starts.
inside=$("$SWNET" run --rm --network runnet -- ip -4 -o addr show dev eth0)
[[ $inside == *" inet 10.80."* ]] || { log "swnet run --network: no address on eth0 inside ($inside)"; exit 1; }
# Warm-up (untimed): one of each.
"$SWNET" run --rm -- /bin/true
unshare_true
runc_true swnet-bench-warm-up
"$SWNET" run --rm --network runnet -- /bin/true
for ((i = 1; i <= N; i++)); do
    timed run run swnet "$SWNET" run --rm -- /bin/true
    timed run run unshare unshare_true
    timed run run runc runc_true "swnet-bench-$i"
    timed run run_network swnet "$SWNET" run --rm --network runnet -- /bin/true
    timed run run_detached swnet "$SWNET" run -d --rm -- /bin/true
    timed run run_detached runc runc_detached "swnet-bench-d-$i"
    runc --root "$runc_root" delete --force "swnet-bench-d-$i" >/dev/null 2>&1
    progress "$i" "$N" "runs with each tool"
done
# Nothing may stay behind: no swnet container record (--rm: the monitors of the last -d runs
# may still be removing theirs), no runc container.
for _ in $(seq 50); do [[ -z $("$SWNET" ps -a -q) ]] && break; sleep 0.1; done
leftover_containers=$("$SWNET" ps -a -q)
[[ -z $leftover_containers ]] || { log "swnet run --rm left containers: $leftover_containers"; exit 1; }
leftover_runc=$(runc --root "$runc_root" list -q)
[[ -z $leftover_runc ]] || log "runc left containers (deleting them): $leftover_runc"
delete_runc_leftovers
"$SWNET" network rm runnet >/dev/null

target run "swnet run / unshare(1) (medians)" run swnet run unshare 1.5
target run "swnet run / runc run (medians)" run swnet run runc -
target run "swnet run -d / runc run -d (medians)" run_detached swnet run_detached runc 1.0
# --network may cost at most what a separate attach costs (the attach section's median).
target run "swnet run --network / (swnet run + swnet attach) (medians)" run_network swnet "run+attach:attach" swnet 1.0
