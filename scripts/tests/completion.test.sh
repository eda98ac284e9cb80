# Shell completion (`swnet completion bash|zsh|fish`), each script loaded in its own shell and
# completing real names: networks, swnet containers, `ip netns` namespaces and overlays in etcd,
# that exist in this throwaway namespace. bash through its completion function (COMP_LINE and
# COMP_POINT as readline sets them), zsh interactively through tmux, fish through `complete -C`.
source "$(dirname "${BASH_SOURCE[0]}")/overlay-lab.sh"
stage=$(mktemp -d)
tmux_socket=$stage/tmux.sock
trap 'tmux -S "$tmux_socket" kill-server 2>/dev/null; lab_cleanup; rm -rf "$SWNET_ROOT" "$stage"' EXIT

# The scripts call `swnet` by name, as installed.
mkdir -p "$stage/bin" && ln -s "$SWNET" "$stage/bin/swnet"
export PATH=$stage/bin:$PATH

swnet network create web --subnet 10.91.0.0/24 >/dev/null
swnet network create db --subnet 10.92.0.0/24 >/dev/null
container c1
api=$(swnet run -d --name api -- sleep 600)
ok_here() { local description=$1; shift; if "$@"; then pass "$description"; else fail "$description"; fi; }
ok_here "etcd for the overlays" lab_etcd
swnet overlay create ov1 --subnet 10.60.0.0/16 >/dev/null
other_root=$stage/other-root
SWNET_ROOT=$other_root swnet network create zeta --subnet 10.93.0.0/24 >/dev/null

# bash_complete LINE: what bash offers at the end of LINE, sorted, on one line.
bash_complete() {
    bash --norc --noprofile -c '
        source <(swnet completion bash) || exit 1
        COMP_LINE=$1 COMP_POINT=${#1}
        read -ra COMP_WORDS <<<"$1"; [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _swnet swnet "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd" "' _ "$1"
}
eq "bash: subcommands" "$(bash_complete 'swnet net')" "network"
eq "bash: network names" "$(bash_complete 'swnet network inspect ')" "db web"
eq "bash: network names by prefix" "$(bash_complete 'swnet network rm -f w')" "web"
eq "bash: containers and namespaces as attach targets" "$(bash_complete 'swnet attach ')" "api c1"
eq "bash: then networks" "$(bash_complete 'swnet attach c1 ')" "db web"
eq "bash: containers for stop" "$(bash_complete 'swnet stop ')" "api"
eq "bash: networks as an option's value" "$(bash_complete 'swnet run --network ')" "db web"
eq "bash: overlays in etcd" "$(bash_complete 'swnet overlay inspect ')" "ov1"
eq "bash: options" "$(bash_complete 'swnet network create x --sub')" "--subnet"
eq "bash: a value after = (bash replaces what follows it)" "$(bash_complete 'swnet ps --format=j')" "json"
eq "bash: names under the line's --root" "$(bash_complete "swnet network inspect --root=$other_root ")" "zeta"
eq "bash: directories for --rootfs" "$(bash_complete "swnet run --rootfs $stage/bi")" "$stage/bin"
eq "bash: nothing after --" "$(bash_complete 'swnet run -- ')" ""
ok "bash: registered for swnet" bash --norc -c 'source <(swnet completion bash) && complete -p swnet | grep -q -- "-F _swnet swnet"'

# fish_complete LINE: fish's candidates (without descriptions), sorted, on one line.
fish_complete() {
    fish --no-config -c 'swnet completion fish | source; complete -C"$argv[1]"' "$1" | cut -f1 | sort | paste -sd" "
}
eq "fish: subcommands" "$(fish_complete 'swnet overl')" "overlay"
eq "fish: network names" "$(fish_complete 'swnet network inspect ')" "db web"
eq "fish: attach targets" "$(fish_complete 'swnet attach ')" "api c1"
eq "fish: overlays" "$(fish_complete 'swnet overlay leave ')" "ov1"
eq "fish: option values" "$(fish_complete 'swnet overlay create x --mode ')" "host-gw vxlan"
eq "fish: options" "$(fish_complete 'swnet ps --fil')" "--filter"
ok "fish: descriptions come along" bash -c "fish --no-config -c 'swnet completion fish | source; complete -C\"swnet network inspect \"' | grep -qP '^web\tnetwork 10.91.0.0/24$'"

# zsh, interactive in tmux: type a line, press Tab, read the screen.
mkdir -p "$stage/zsh/functions"
swnet completion zsh >"$stage/zsh/functions/_swnet"
cat >"$stage/zsh/.zshrc" <<EOF
PS1='zsh> '
fpath=("$stage/zsh/functions" \$fpath)
autoload -U compinit && compinit -u -D
EOF
tmux -S "$tmux_socket" new-session -d -x 160 -y 40 \
    env PATH="$PATH" ZDOTDIR="$stage/zsh" SWNET_ROOT="$SWNET_ROOT" SWNET_ETCD="$SWNET_ETCD" TERM=xterm zsh -d -i
screen() { tmux -S "$tmux_socket" capture-pane -p -t 0; }
# zsh_complete LINE PATTERN: types LINE, Tab, and waits for the screen to match PATTERN; clears the
# line. (tmux drops the blanks that end a screen line, so the space after a completed word too.)
zsh_complete() {
    tmux -S "$tmux_socket" send-keys -t 0 -l "$1" && tmux -S "$tmux_socket" send-keys -t 0 Tab
    local shown=1
    wait_for bash -c "tmux -S '$tmux_socket' capture-pane -p -t 0 | grep -Eq -- '$2'" || shown=0
    ((shown)) || screen | sed -e '/^$/d' -e 's/^/    screen: /'
    tmux -S "$tmux_socket" send-keys -t 0 C-c
    wait_for bash -c "tmux -S '$tmux_socket' capture-pane -p -t 0 | grep -v '^$' | tail -n 1 | grep -qx 'zsh>'" || true
    tmux -S "$tmux_socket" send-keys -t 0 C-l
    ((shown))
}
ok "zsh starts with compinit" wait_for bash -c "tmux -S '$tmux_socket' capture-pane -p -t 0 | grep -q '^zsh>'"
ok_here "zsh: a unique network name completes in place" zsh_complete 'swnet network inspect w' '^zsh> swnet network inspect web$'
ok_here "zsh: targets are listed with what they are" zsh_complete 'swnet attach ' 'api +-- container [0-9a-f]{12}, Up'
ok_here "zsh: the overlay name completes" zsh_complete 'swnet overlay inspect o' '^zsh> swnet overlay inspect ov1$'
ok_here "zsh: an option completes" zsh_complete 'swnet network create x --sub' '^zsh> swnet network create x --subnet$'
ok_here "zsh: subcommands with their abstracts" zsh_complete 'swnet network ' 'inspect +-- Show a network with its attachments'

swnet rm -f api >/dev/null
