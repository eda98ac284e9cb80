# shellcheck shell=bash
# --rate: what a tbf set by `swnet attach --rate` lets through, both ways, measured with iperf3
# (CONN_SECONDS per run, 3 runs each) against the configured rate, for 20mbit, 200mbit and 1gbit;
# and the same path without a limit for scale. Out = container → host (the container side's
# tbf), in = host → container (the host side's).
bench_namespaces 1
"$SWNET" network create ratenet --subnet 10.88.0.0/24 >/dev/null
# One server for every run (a probe connection would count as a test of an `iperf3 -s -1`).
iperf3 -s -B 10.88.0.1 >/dev/null 2>&1 &
iperf_server=$!
sleep 0.5
iperf_mbits() { # extra iperf3 client arguments...: one run from b1 to the host side, Mbit/s received
    ip netns exec b1 iperf3 -c 10.88.0.1 -t "$CONN_SECONDS" -J "$@" |
        python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6, 2))'
}
for rate in none 20mbit 200mbit 1gbit; do
    log "rate: $rate, out and in, 3 runs each"
    if [[ $rate == none ]]; then "$SWNET" attach b1 ratenet >/dev/null; else "$SWNET" attach b1 ratenet --rate "$rate" >/dev/null; fi
    for run in 1 2 3; do
        sample rate "out_$rate" iperf3 Mbit/s "$(iperf_mbits)"
        sample rate "in_$rate" iperf3 Mbit/s "$(iperf_mbits -R)"
        if [[ $rate != none ]]; then
            configured=$(("${rate%[mg]bit}" * $([[ $rate == *gbit ]] && echo 1000 || echo 1)))
            sample rate "out_$rate" configured Mbit/s "$configured"
            sample rate "in_$rate" configured Mbit/s "$configured"
        fi
    done
    "$SWNET" detach b1 >/dev/null
    if [[ $rate != none ]]; then
        target rate "--rate $rate, out of the container: measured / configured" "out_$rate" iperf3 "out_$rate" configured 1.10
        target rate "--rate $rate, into the container: measured / configured" "in_$rate" iperf3 "in_$rate" configured 1.10
    fi
done
kill "$iperf_server"
