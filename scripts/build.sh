#!/usr/bin/env bash
# Builds the release swnet and swnet-cni (the CNI plugin, beside it) binaries: Swift's standard
# library linked in statically, because process start-up is a large share of an attach (see
# docs/benchmarks.md). Prints swnet's path.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product swnet >&2
swift build -c release --static-swift-stdlib --product swnet-cni >&2
echo "$PWD/.build/release/swnet"
