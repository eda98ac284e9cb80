#!/usr/bin/env bash
# Installs swnet: the binary, the CNI plugin swnet-cni when it was built beside it (into
# PREFIX/lib/cni, where podman and CNI runtimes look), bash/zsh/fish completions, man pages, and
# the overlay agent's systemd unit (swnet-overlay@.service).
# Usage: scripts/install.sh [PREFIX]            default PREFIX /usr/local
#   DESTDIR=DIR   stage everything under DIR (packaging); paths inside files still name PREFIX
#   SWNET_BIN=F   install this swnet binary (and the swnet-cni next to it) instead of building
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
[[ $prefix == /* ]] || { echo "install: PREFIX must be an absolute path, not '$prefix'" >&2; exit 64; }
prefix=${prefix%/}
root=${DESTDIR:-}$prefix

[[ -n ${SWNET_BIN:-} ]] || SWNET_BIN=$(scripts/build.sh)
[[ -x $SWNET_BIN ]] || { echo "install: no swnet binary at $SWNET_BIN" >&2; exit 1; }
cni=$(dirname "$SWNET_BIN")/swnet-cni

install -d "$root/bin" "$root/lib/cni" "$root/share/man/man1" "$root/lib/systemd/system" \
    "$root/share/bash-completion/completions" "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
install -m 755 "$SWNET_BIN" "$root/bin/swnet"
if [[ -x $cni ]]; then install -m 755 "$cni" "$root/lib/cni/swnet-cni"; fi

# Completions and man pages come from the installed binary's own command tree.
swnet=$root/bin/swnet
"$swnet" completion bash >"$root/share/bash-completion/completions/swnet"
"$swnet" completion zsh >"$root/share/zsh/site-functions/_swnet"
"$swnet" completion fish >"$root/share/fish/vendor_completions.d/swnet.fish"
pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
"$swnet" __man "$pages" >/dev/null
for page in "$pages"/*.1; do gzip -9n <"$page" >"$root/share/man/man1/${page##*/}.gz"; done
sed "s|@BINDIR@|$prefix/bin|g" 'dist/swnet-overlay@.service' >"$root/lib/systemd/system/swnet-overlay@.service"
chmod 644 "$root/lib/systemd/system/swnet-overlay@.service" "$root"/share/*/*/swnet* "$root/share/zsh/site-functions/_swnet"

echo "installed swnet $("$swnet" --version | cut -d' ' -f2-) into ${DESTDIR:+$DESTDIR}$prefix" >&2
