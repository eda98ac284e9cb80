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
exit $status
