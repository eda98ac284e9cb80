# shellcheck shell=bash
# Shared by scripts/bench.sh and every section in scripts/bench/sections/. A section runs inside a
# throwaway network and mount namespace made by the driver (bench_enter below) and reports raw
# measurements with two functions, the whole contract between a section and the reporter:
#
#   sample SECTION METRIC TOOL UNIT VALUE
#       one raw measurement, e.g. `sample cni add_1port swnet-cni ms 2.91`
#   target SECTION "LABEL" NUM_METRIC NUM_TOOL DEN_METRIC DEN_TOOL MAX_RATIO
#       the ratio of the two medians must be <= MAX_RATIO; MAX_RATIO `-` shows the ratio as
#       information only. A metric may name another section's as SECTION:METRIC, and may select
#       part of its series in the order it was sampled: METRIC[first10] or METRIC[last10] (the
#       mean of the first or last 10 samples instead of the median of all); a denominator may be
#       a sum of medians, METRIC+METRIC (each with DEN_TOOL).
#
# Both append one JSON line to $BENCH_SAMPLES; scripts/bench/report.py turns the file into the
# markdown of docs/benchmarks.md. The environment a section gets: $SWNET and $SWNET_BENCH (release
# binaries), $BENCH_WORK (a directory of its own, removed afterwards), $BENCH_LIB (scripts/bench),
# N, SCALE, CNI_SCALE, PORTS, CONN_SECONDS; SWNET_ROOT points at a state root in the private /run.

log() { echo "bench: $*" >&2; }

# bench_quote TEXT: sets REPLY to TEXT as a JSON string (no subshell: samples are taken between
# timed calls, thousands of them).
bench_quote() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    REPLY="\"$s\""
}

bench_is_number() { [[ $1 =~ ^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

sample() { # SECTION METRIC TOOL UNIT VALUE
    (($# == 5)) || { log "sample needs SECTION METRIC TOOL UNIT VALUE, got: $*"; return 1; }
    # A failed measurement (an iperf3 run that never connected) is said, not recorded as a figure.
    bench_is_number "$5" || { log "$1 $2 $3: no figure ($5), sample dropped"; return 0; }
    local line='{' key i=0
    for key in section metric tool unit; do
        ((++i))
        bench_quote "${!i}"
        line+="\"$key\":$REPLY,"
    done
    echo "$line\"value\":$5}" >>"${BENCH_SAMPLES:?BENCH_SAMPLES is not set}"
}

target() { # SECTION "LABEL" NUM_METRIC NUM_TOOL DEN_METRIC DEN_TOOL MAX_RATIO
    (($# == 7)) || { log "target needs SECTION LABEL NUM_METRIC NUM_TOOL DEN_METRIC DEN_TOOL MAX_RATIO, got: $*"; return 1; }
    local max=$7 q=()
    [[ $max == - ]] && max=null
    bench_is_number "$max" || [[ $max == null ]] || { log "target $2: MAX_RATIO must be a number or -, not $7"; return 1; }
    local argument
    for argument in "$@"; do bench_quote "$argument"; q+=("$REPLY"); done
    echo "{\"target\":${q[1]},\"section\":${q[0]},\"num\":{\"metric\":${q[2]},\"tool\":${q[3]}},\"den\":{\"metric\":${q[4]},\"tool\":${q[5]}},\"max\":$max}" \
        >>"${BENCH_SAMPLES:?BENCH_SAMPLES is not set}"
}

# --- timing ----------------------------------------------------------------------------------


# timed SECTION METRIC TOOL COMMAND...: runs COMMAND once (stdout discarded) and samples its wall
# time in ms, fork + exec + exit included: $EPOCHREALTIME around the single call.
timed() {
    local section=$1 metric=$2 tool=$3; shift 3
    local t0=$EPOCHREALTIME
    "$@" >/dev/null
    local t1=$EPOCHREALTIME
    local us=$((10#${t1/./} - 10#${t0/./})) ms
    printf -v ms '%d.%03d' $((us / 1000)) $((us % 1000))
    sample "$section" "$metric" "$tool" ms "$ms"
}

# sample_library SECTION FILE METRIC=TOOL...: swnet-bench prints "OPERATION INDEX µs" lines; each
# line whose OPERATION is one of the given METRICs becomes a sample in ms with that TOOL.
sample_library() {
    local section=$1 file=$2 mapping operation _ us tool
    shift 2
    declare -A tools=()
    for mapping in "$@"; do tools[${mapping%%=*}]=${mapping#*=}; done
    while read -r operation _ us; do
        tool=${tools[$operation]:-}
        [[ -z $tool ]] || sample "$section" "$operation" "$tool" ms "$(awk -v u="$us" 'BEGIN { printf "%.3f", u / 1000 }')"
    done <"$file"
}

# hyperfine_samples SECTION METRIC TOOL COMMAND: N runs by hyperfine -N (no shell around the
# command, 10 warm-ups), each run's time a sample in ms.
hyperfine_samples() {
    local json=$BENCH_WORK/hyperfine.json value
    hyperfine -N --style none --warmup 10 --runs "$N" --export-json "$json" "$4" >/dev/null 2>&1 ||
        { log "hyperfine $4 failed"; return 0; }
    for value in $(python3 -c 'import json, sys; print(" ".join("%.3f" % (t * 1000) for t in json.load(open(sys.argv[1]))["results"][0]["times"]))' "$json"); do
        sample "$1" "$2" "$3" ms "$value"
    done
}

# progress I TOTAL WHAT: a line every tenth of TOTAL.
progress() { (($1 % ($2 / 10 > 0 ? $2 / 10 : 1) == 0)) && log "  $1/$2 $3"; return 0; }

# --- the throwaway namespace -------------------------------------------------------------------

# bench_enter: run first inside `unshare --net --mount --propagation private`: /run becomes a
# private tmpfs (so `ip netns` names and every link vanish with the namespace whatever happens),
# loopback comes up, swnet keeps its state there.
bench_enter() {
    [[ $(readlink /proc/self/ns/net) != "$(readlink /proc/1/ns/net)" ]] ||
        { log "refusing to run a section in the machine's own network namespace"; exit 1; }
    mount -t tmpfs -o mode=755 swnet-bench-run /run
    ip link set lo up
    export SWNET_ROOT=/run/swnet-bench
    trap 'log "$BENCH_SECTION: failed at line $LINENO (exit $?); everything made here goes with the namespace"' ERR
}

# bench_namespaces COUNT: "containers" b1..bCOUNT, loopback up, made before anything is timed.
# Each phase of a section leaves the ones it used empty again (only lo).
bench_namespaces() {
    local i
    log "creating $1 namespaces (untimed)"
    for ((i = 1; i <= $1; i++)); do
        ip netns add "b$i"
        ip -n "b$i" link set lo up
    done
}

# --- what each compared tool does ---------------------------------------------------------------

address() { echo "$1.$(($2 / 250)).$(($2 % 250 + 2))/16"; }   # PREFIX INDEX → a host address

cni_conf() { # NAME BRIDGE SUBNET: a bridge + host-local configuration like swnet's networks
    cat >"$BENCH_WORK/$1.conf" <<CONF
{"cniVersion": "1.0.0", "name": "$1", "type": "bridge", "bridge": "$2",
 "isGateway": true, "ipMasq": false, "hairpinMode": false,
 "ipam": {"type": "host-local", "subnet": "$3", "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$BENCH_WORK/cni-$1"}}
CONF
}
cni() { # COMMAND CONF NAMESPACE
    CNI_COMMAND=$1 CNI_CONTAINERID="bench-$3" CNI_NETNS="/run/netns/$3" CNI_IFNAME=eth0 \
        CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <"$BENCH_WORK/$2.conf"
}

cni_portmap() { # COMMAND CONF NAMESPACE HOSTPORT [PREVRESULT]: the portmap plugin, for network CONF
    local prev=${5:+,\"prevResult\":$5}
    printf '{"cniVersion":"1.0.0","name":"%s","type":"portmap","snat":true,"capabilities":{"portMappings":true},"runtimeConfig":{"portMappings":[{"hostPort":%d,"containerPort":80,"protocol":"tcp"}]}%s}' "$2" "$4" "$prev" |
        CNI_COMMAND=$1 CNI_CONTAINERID="bench-$3" CNI_NETNS="/run/netns/$3" CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/portmap
}
cni_attach_publish() { # CONF NAMESPACE HOSTPORT: bridge + host-local ADD, then portmap ADD with its result
    local result
    result=$(cni ADD "$1" "$2") && cni_portmap ADD "$1" "$2" "$3" "$result"
}

bridge_with_gateway() { # NAME GATEWAY/LEN
    ip link add "$1" type bridge
    ip addr add "$2" dev "$1"
    ip link set "$1" up
}

# The fewest-processes iproute2 attach: 3 ip commands (the peer is made inside the namespace),
# on the bridge ipbr3 with gateway 10.67.0.1 that ip3_bridge makes (with the batch file, untimed).
ip3_bridge() {
    bridge_with_gateway ipbr3 10.67.0.1/16
    printf 'link set eth0 up\nroute add default via 10.67.0.1\n' >"$BENCH_WORK/ip3.batch"
}
ip3_attach() { # NAMESPACE HOSTIF ADDRESS
    ip link add "$2" up master ipbr3 type veth peer name eth0 netns "$1"
    ip -n "$1" addr add "$3" dev eth0
    ip -n "$1" -batch "$BENCH_WORK/ip3.batch"
}
