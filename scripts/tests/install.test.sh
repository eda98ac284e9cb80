# scripts/install.sh into a temporary PREFIX and DESTDIR: the binary, completions, man pages
# generated from the command tree, and the overlay agent's systemd unit, checked by the tools
# that read them (man, lexgrog, systemd-analyze, each shell).
install_script=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/install.sh
stage=$(mktemp -d)
trap 'rm -rf "$SWNET_ROOT" "$stage"' EXIT

# Staged for a package: files under DESTDIR, paths inside them naming PREFIX.
ok "install stages into DESTDIR" env DESTDIR="$stage/dest" SWNET_BIN="$SWNET" "$install_script" /usr
usr=$stage/dest/usr
eq "the binary is installed and runs" "$("$usr/bin/swnet" --version)" "$(swnet --version)"
ok "swnet --version names a commit" grep -Eq '^swnet [0-9.]+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)$' <(swnet --version)
pages=$(ls "$usr/share/man/man1" | wc -l)
commands=$(swnet __man "$(mktemp -d -p "$stage")" | wc -l)
eq "a man page for every command" "$pages" "$commands"
ok "swnet(1) lists the subcommands' pages" zgrep -qF 'swnet\-overlay\fR(1)' "$usr/share/man/man1/swnet.1.gz"
ok "man renders swnet-network-create(1) with its options" \
    bash -c "MANWIDTH=80 man -l '$usr/share/man/man1/swnet-network-create.1.gz' 2>&1 | grep -q -- '--subnet CIDR'"
eq "whatis finds the page's name" "$(lexgrog "$usr/share/man/man1/swnet-overlay-agent.1.gz" | cut -d'"' -f2)" \
    "swnet-overlay-agent - Join this host to an overlay and keep its kernel in step with the others (foreground)."
ok "lexgrog reads every page's NAME section" bash -c "for page in '$usr'/share/man/man1/*.gz; do lexgrog \"\$page\" >/dev/null || exit 1; done"
# swnet-cni comes along when it was built beside swnet (the cni branch's build.sh builds both).
if [[ -x $(dirname "$SWNET")/swnet-cni ]]; then
    ok "swnet-cni goes where CNI runtimes look" test -x "$usr/lib/cni/swnet-cni"
    ok "and answers VERSION" bash -c "CNI_COMMAND=VERSION '$usr/lib/cni/swnet-cni' </dev/null | grep -q supportedVersions"
else
    eq "no swnet-cni built, none installed" "$(ls "$usr/lib/cni")" ""
fi
unit=$usr/lib/systemd/system/swnet-overlay@.service
ok "the unit runs the installed binary" grep -qx 'ExecStart=/usr/bin/swnet overlay agent %i' "$unit"
ok "the unit waits for the agent's READY=1" grep -qx 'Type=notify' "$unit"
ok "bash loads its completion" bash --norc -c "source '$usr/share/bash-completion/completions/swnet' && complete -p swnet | grep -q -- '-F _swnet'"
ok "bash-completion finds it where it looks (XDG_DATA_DIRS)" env XDG_DATA_DIRS="$usr/share" bash --norc -c \
    "source /usr/share/bash-completion/bash_completion && __load_completion swnet && complete -p swnet | grep -q -- '-F _swnet'"
ok "zsh finds _swnet for swnet" zsh -f -c "fpath=('$usr/share/zsh/site-functions' \$fpath); autoload -U compinit && compinit -u -D && [[ \${_comps[swnet]} == _swnet ]]"
ok "fish loads its completion" fish --no-config -c "source '$usr/share/fish/vendor_completions.d/swnet.fish'; complete -c swnet | string match -q '*__swnet_complete*'"

# Installed for real into a PREFIX: systemd reads the unit as it would under /etc/systemd.
ok "install into a PREFIX" env SWNET_BIN="$SWNET" "$install_script" "$stage/prefix"
cp "$stage/prefix/lib/systemd/system/swnet-overlay@.service" "$stage/swnet-overlay@prod.service"
verified=$(MANPATH=$stage/prefix/share/man systemd-analyze verify "$stage/swnet-overlay@prod.service" 2>&1); status=$?
eq "systemd-analyze verify accepts the unit (status $status)" "$verified" ""
ok "the unit names the PREFIX's binary" grep -qx "ExecStart=$stage/prefix/bin/swnet overlay agent %i" "$stage/swnet-overlay@prod.service"

fails "a relative PREFIX" env SWNET_BIN="$SWNET" "$install_script" relative/prefix
fails "a missing binary" env SWNET_BIN=/nonexistent/swnet "$install_script" "$stage/other"
ok "nothing was installed by the failures" test ! -e "$stage/other" -a ! -e relative
