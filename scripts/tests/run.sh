#!/usr/bin/env bash
# Runs each CLI scenario (scripts/tests/*.test.sh) in its own network and mount namespace with a
# private /run, so named namespaces, bridges and state vanish with it, even on failure.
# Usage: scripts/tests/run.sh /path/to/swnet [scenario-name...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export SWNET=${1:?usage: run.sh /path/to/swnet [scenario...]}
shift
scenarios=("$@")
((${#scenarios[@]})) || scenarios=($(cd "$here" && ls *.test.sh | sed 's/\.test\.sh$//'))

passed=0 failed=0
for scenario in "${scenarios[@]}"; do
    log=$(mktemp) netns_file=$(mktemp)
    timeout --kill-after=10 "${SWNET_TEST_TIMEOUT:-900}" unshare --net --mount --propagation private -- bash -c '
        readlink /proc/self/ns/net >"$3"
        mount -t tmpfs -o mode=755 swnet-test-run /run && ip link set lo up || exit 99
        source "$1/lib.sh" && source "$1/$2.test.sh" && finish' _ "$here" "$scenario" "$netns_file" >"$log" 2>&1
    code=$?
    # A timed-out scenario's daemons (own sessions: containers, monitors, agents) outlive the
    # killed shell: they are found by the namespace they run in, which only this scenario made.
    if ((code == 124 || code == 137)) && [[ -s $netns_file ]]; then
        netns=$(<"$netns_file")
        for ns_link in /proc/[0-9]*/ns/net; do
            [[ $(readlink "$ns_link" 2>/dev/null) == "$netns" ]] && kill -KILL "${ns_link//[^0-9]/}" 2>/dev/null
        done
    fi
    rm -f "$netns_file"
    ok=$(grep -c '^ok ' "$log")
    bad=$(grep -c '^not ok ' "$log")
    if ((code != 0 && bad == 0)); then bad=1; echo "not ok - $scenario exited with status $code" >>"$log"; fi
    passed=$((passed + ok)) failed=$((failed + bad))
    if ((bad)); then
        echo "== $scenario: $ok passed, $bad failed"; cat "$log"
    else
        echo "== $scenario: $ok passed"
    fi
    rm -f "$log"
done
echo "cli: $passed passed, $failed failed"
((failed == 0))
