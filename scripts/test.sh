#!/usr/bin/env bash
# Runs every test: the Swift test suites (unit tests, and privileged tests against the real
# kernel in namespaces they create), then the CLI scenarios with real traffic. Everything runs
# inside throwaway network and mount namespaces; the machine's own namespace is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
status=0
# A hung test must fail the run, not stall it: generous limits, far above a normal run.
# Loopback starts down in a new network namespace; the etcd tests serve on it.
timeout --kill-after=10 1200 unshare --net --mount --propagation private -- \
    bash -c 'ip link set lo up && exec swift test --skip-build' || status=1
scripts/tests/run.sh "$PWD/.build/debug/swnet" || status=1
# The scenarios that carry traffic between containers, again without the eBPF fast path: both
# data paths keep the same semantics (NAT, published ports, isolation, --internal).
echo "== again with SWNET_FAST_PATH=off"
SWNET_FAST_PATH=off scripts/tests/run.sh "$PWD/.build/debug/swnet" attach publish publish6 containers lab pipework overlay || status=1
# The committed eBPF bytecode is what its source compiles to.
scripts/gen-bpf.sh --check || status=1
exit $status
