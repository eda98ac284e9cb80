#!/usr/bin/env bash
# Benchmarks swnet against the CNI reference plugins, iproute2, unshare(1), runc and the kernel's
# own floor, and its overlays across hosts. Each section (scripts/bench/sections/NAME.sh) runs in a
# throwaway network and mount namespace of its own and writes raw samples as JSON lines; the
# samples of the whole run are kept in RESULTS/bench-DATE.jsonl, and scripts/bench/report.py
# prints the markdown of docs/benchmarks.md from them (medians, ratios, targets).
#
# Usage: sudo [N=100] [SCALE=1000] [CNI_SCALE=SCALE] [PORTS=10000] [CONN_SECONDS=3] [SECTIONS=all|a,b] scripts/bench.sh
#   N          sequential operations per tool for the medians (attach/detach, run, attach+publish, start-up)
#   SCALE      sequential swnet attaches on one /16 network for the scaling rows (CLI and library)
#   CNI_SCALE  the same for CNI ADD (0 skips it)
#   PORTS      the largest number of other published ports for the connection-rate rows (1, PORTS/10, PORTS)
#   CONN_SECONDS  one-second connection-rate runs per cell, and seconds per iperf3 run
#   SECTIONS   all, or a comma-separated list of section names (ls scripts/bench/sections)
#   RESULTS    where the samples file goes (bench-results in the repository)
#   SWNET, SWNET_BENCH  prebuilt binaries to use instead of building them
# Progress goes to stderr, the markdown to stdout.
set -Eeuo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
bench=$PWD/scripts/bench
# The order of SECTIONS=all: the sections whose namespaces the kernel tears down asynchronously
# (run) and the long ones (publish, overlay) come last; sections not listed here follow by name.
order=(startup attach scale library run publish overlay datapath)
available=($(cd "$bench/sections" && ls -- *.sh | sed 's/\.sh$//'))
die() { echo "bench: $*" >&2; exit 1; }

((EUID == 0)) || die "run as root (sudo scripts/bench.sh)"
N=${N:-100} SCALE=${SCALE:-1000} CNI_SCALE=${CNI_SCALE:-${SCALE:-1000}}
PORTS=${PORTS:-10000} CONN_SECONDS=${CONN_SECONDS:-3} SECTIONS=${SECTIONS:-all}
for knob in N SCALE CNI_SCALE PORTS CONN_SECONDS; do
    [[ ${!knob} =~ ^[0-9]+$ ]] || die "$knob must be a number"
done
((N >= 5 && SCALE >= 20)) || die "need N >= 5 and SCALE >= 20"
((PORTS >= 10 && PORTS <= 20000 && CONN_SECONDS >= 1)) || die "need 10 <= PORTS <= 20000 and CONN_SECONDS >= 1"
sections=()
if [[ $SECTIONS == all ]]; then
    for name in "${order[@]}"; do [[ -f $bench/sections/$name.sh ]] && sections+=("$name"); done
    for name in "${available[@]}"; do [[ " ${order[*]} " == *" $name "* ]] || sections+=("$name"); done
else
    IFS=, read -ra sections <<<"$SECTIONS"
    for name in "${sections[@]}"; do
        [[ -f $bench/sections/$name.sh ]] || die "no section '$name' (SECTIONS is all or a list of: ${available[*]})"
    done
fi

scripts/setup.sh containernetworking-plugins hyperfine iproute2 runc busybox-static iptables iperf3 nftables ethtool >&2
for plugin in bridge host-local; do
    [[ -x /usr/lib/cni/$plugin ]] || die "/usr/lib/cni/$plugin is missing"
done
runc --version >/dev/null || die "runc --version failed"
[[ -x /bin/busybox ]] || die "/bin/busybox (busybox-static) is missing"
if [[ -z ${SWNET:-} ]]; then
    echo "bench: building swnet (scripts/build.sh)" >&2
    SWNET=$(scripts/build.sh)
fi
if [[ -z ${SWNET_BENCH:-} ]]; then
    echo "bench: building swnet-bench" >&2
    swift build -c release --static-swift-stdlib --product swnet-bench >&2
    SWNET_BENCH="$(swift build -c release --static-swift-stdlib --show-bin-path)/swnet-bench"
fi
[[ -x $SWNET && -x $SWNET_BENCH ]] || die "missing binaries: $SWNET $SWNET_BENCH"

RESULTS=${RESULTS:-$PWD/bench-results}
mkdir -p "$RESULTS"
samples=$RESULTS/bench-$(date -u +%Y%m%dT%H%M%SZ).jsonl
# The first line says what ran where; the sections append their samples and targets.
python3 -c 'import json, sys
keys = ["date", "kernel", "cpus", "swnet", "cni_plugins", "sections", "N", "SCALE", "CNI_SCALE", "PORTS", "CONN_SECONDS"]
print(json.dumps({"run": dict(zip(keys, sys.argv[1:]))}))' \
    "$(date -u +%Y-%m-%d)" "$(uname -r)" "$(nproc)" "$("$SWNET" --version 2>&1 | head -1)" \
    "$(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || echo '?')" \
    "${sections[*]}" "$N" "$SCALE" "$CNI_SCALE" "$PORTS" "$CONN_SECONDS" >"$samples"

real_links() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
links_before=$(real_links)
netns_before=$(ls -A /run/netns 2>/dev/null || true)
work=$(mktemp -d /tmp/swnet-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export N SCALE CNI_SCALE PORTS CONN_SECONDS SWNET SWNET_BENCH BENCH_LIB=$bench BENCH_SAMPLES=$samples
echo "bench: kernel $(uname -r), $(nproc) CPUs; sections ${sections[*]}; samples in $samples" >&2
status=0
for name in "${sections[@]}"; do
    echo "bench: == $name" >&2
    mkdir -p "$work/$name"
    # A fresh network and mount namespace per section; everything in it vanishes with it.
    BENCH_WORK=$work/$name BENCH_SECTION=$name unshare --net --mount --propagation private -- \
        bash -Eeuo pipefail -c 'source "$BENCH_LIB/lib.sh" && bench_enter && source "$BENCH_LIB/sections/$BENCH_SECTION.sh"' ||
        { status=$?; echo "bench: section $name failed (exit $status); its samples so far are kept" >&2; }
done

# The machine's own namespace must look exactly as before.
if [[ $(real_links) != "$links_before" || $(ls -A /run/netns 2>/dev/null || true) != "$netns_before" ]]; then
    echo "bench: WARNING: the real network namespace changed during the run:" >&2
    diff <(echo "$links_before") <(real_links) >&2 || true
    status=1
else
    echo "bench: real network namespace unchanged ($(real_links | tr '\n' ' '))" >&2
fi
python3 "$bench/report.py" "$samples"
echo "bench: samples kept in $samples (python3 scripts/bench/report.py FILE prints the tables again)" >&2
exit "$status"
