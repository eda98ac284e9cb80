#!/usr/bin/env bash
# Builds the release swnet binary: Swift's standard library linked in statically, because
# process start-up is a large share of an attach (see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product swnet >&2
echo "$PWD/.build/release/swnet"
