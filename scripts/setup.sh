#!/usr/bin/env bash
# Installs the Debian packages swnet needs to build, test, demo and benchmark, when missing.
# Usage: scripts/setup.sh [extra-package...]
set -euo pipefail

packages=(
    pkg-config libmnl-dev libnftnl-dev libcap-dev   # the C libraries swnet binds
    libsqlite3-dev sqlite3                           # swnet's state (networks, leases, attachments, ports, containers); the CLI for tests
    iproute2 util-linux libcap2-bin iputils-ping     # namespaces, capsh, ping for tests
    nftables procps                                  # nft to check and flush rulesets, ps in tests
    python3 curl socat tcpdump                       # real servers, clients and a capture for traffic tests
    busybox-static podman runc                       # a rootfs for containers; a real engine to attach into
    libssl-dev openssl etcd-server etcd-client       # TLS to etcd; the cluster store overlays share, and a CA for tests
    ethtool                                          # offloads off for MTU tests
    libbpf-dev                                       # loads the fast path's eBPF programs
    bash bash-completion zsh fish tmux               # shell completion tests (zsh driven through tmux)
    man-db groff-base gzip systemd                   # man pages and the unit checked by man, lexgrog, systemd-analyze
    containernetworking-plugins                      # the reference CNI plugins swnet-cni chains with and is measured against
    dnsmasq-base iperf3                              # a real DHCP server for attach ... dhcp; --rate measured
    "$@"
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Packages must not start services (etcd-server would listen in the machine's namespace):
    # tests start their own etcd inside namespaces they create.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -qq "${missing[@]}" >/dev/null
    # Nor start at the next boot: the package enables its unit whatever policy-rc.d says.
    if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null; then
        systemctl disable etcd.service >/dev/null 2>&1 || true
    fi
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected the Swift 6 toolchain, e.g. /opt/swift/usr/bin)" >&2; exit 1; }
