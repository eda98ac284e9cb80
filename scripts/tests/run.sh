#!/usr/bin/env bash
# Runs each CLI scenario (scripts/tests/*.test.sh) in its own network, mount and PID namespace with
# a private /run and /proc, so named namespaces, bridges, state and every process it started
# (servers, containers, monitors, agents, podman's conmon) vanish with it, even on failure: when
# the scenario's shell, PID 1 there, exits or is killed, the kernel kills the rest.
# Usage: scripts/tests/run.sh /path/to/swnet [scenario-name...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export SWNET=${1:?usage: run.sh /path/to/swnet [scenario...]}
shift
scenarios=("$@")
((${#scenarios[@]})) || scenarios=($(cd "$here" && ls *.test.sh | sed 's/\.test\.sh$//'))

# What the lab's guard compares with (inside, /proc/1 is the scenario's own shell).
export LAB_MACHINE_NETNS=$(readlink /proc/self/ns/net) LAB_MACHINE_RUN=$(stat -c %d:%i /run)

passed=0 failed=0
for scenario in "${scenarios[@]}"; do
    log=$(mktemp)
    # --kill-child: a timeout that kills unshare takes PID 1 of the scenario's namespace with it.
    timeout --kill-after=10 "${SWNET_TEST_TIMEOUT:-900}" \
        unshare --net --mount --propagation private --pid --fork --kill-child --mount-proc -- bash -c '
        mount -t tmpfs -o mode=755 swnet-test-run /run && ip link set lo up || exit 99
        source "$1/lib.sh" && source "$1/$2.test.sh" && finish' _ "$here" "$scenario" >"$log" 2>&1
    code=$?
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
