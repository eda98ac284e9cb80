# shellcheck shell=bash
# State at scale (issue 11): publishing PORTS ports in one command, the state's size then, one
# port published or unpublished with none vs PORTS published, and a CLI attach + detach with no
# other attachment vs 5,000 (1,000 namespaces on 5 networks, made by swnet-bench in one process).
# The absolute budgets (0.5 s, 5 MB) are samples of the tool `budget`, so the report shows them
# as ratios like every other target.
ATTACHED_NAMESPACES=${ATTACHED_NAMESPACES:-1000} STATE_NETWORKS=${STATE_NETWORKS:-5}
rounds=$((N < 50 ? N : 50))
bench_namespaces 2
"$SWNET" network create statenet --subnet 10.84.0.0/16 >/dev/null
"$SWNET" attach b1 statenet >/dev/null
"$SWNET" attach b2 statenet >/dev/null

one_port_rounds() { # LABEL: publish and unpublish one port of b2, `rounds` times each
    local i
    for ((i = 1; i <= rounds; i++)); do
        timed state "publish_one_$1" swnet "$SWNET" publish b2 7000:80
        timed state "unpublish_one_$1" swnet "$SWNET" unpublish b2 7000:80
    done
}
log "state: publish/unpublish of one port with nothing else published ($rounds rounds)"
one_port_rounds none

log "state: $PORTS ports published by b1 in one command"
specs=()
for ((port = 20000; port < 20000 + PORTS; port++)); do specs+=("$port:80"); done
timed state publish_many swnet "$SWNET" publish b1 "${specs[@]}"
sample state publish_many budget ms 500
sample state state_bytes swnet bytes "$(du -sb "$SWNET_ROOT" | cut -f1)"
sample state state_bytes budget bytes 5000000
published=$("$SWNET" port b1 | wc -l)
((published == PORTS)) || { log "swnet port b1 lists $published ports, expected $PORTS"; exit 1; }

log "state: publish/unpublish of one port with $PORTS published ($rounds rounds)"
one_port_rounds many
"$SWNET" detach b1 statenet >/dev/null
"$SWNET" detach b2 statenet >/dev/null
"$SWNET" network rm statenet >/dev/null

networks=()
for ((k = 1; k <= STATE_NETWORKS; k++)); do
    networks+=("sn$k")
    "$SWNET" network create "sn$k" --subnet "10.$((100 + k)).0.0/16" >/dev/null
done
attach_detach_rounds() { # LABEL: attach and detach a fresh namespace on sn1, `rounds` times
    local i
    for ((i = 1; i <= rounds; i++)); do
        ip netns add "f$1$i"
        timed state "attach_$1" swnet "$SWNET" attach "f$1$i" sn1
        timed state "detach_$1" swnet "$SWNET" detach "f$1$i" sn1
        ip netns del "f$1$i"
    done
}
log "state: attach + detach with no other attachment ($rounds rounds)"
attach_detach_rounds none

log "state: $ATTACHED_NAMESPACES namespaces on ${#networks[@]} networks (swnet-bench, untimed)"
for ((i = 1; i <= ATTACHED_NAMESPACES; i++)); do ip netns add "m$i"; done
"$SWNET_BENCH" populate --root "$SWNET_ROOT" --networks "$(IFS=,; echo "${networks[*]}")" \
    --targets m --count "$ATTACHED_NAMESPACES" >"$BENCH_WORK/populate.out"
attachments=$(awk '$1 == "populate" { print $2 }' "$BENCH_WORK/populate.out")
sample state existing_attachments swnet count "$attachments"
log "state: attach + detach with $attachments attachments ($rounds rounds)"
attach_detach_rounds many
"$SWNET" network rm --force "${networks[@]}" >/dev/null
for ((i = 1; i <= ATTACHED_NAMESPACES; i++)); do ip netns del "m$i"; done

target state "publish $PORTS ports in one command / 0.5 s" publish_many swnet publish_many budget 1
target state "state size with $PORTS ports / 5 MB" state_bytes swnet state_bytes budget 1
target state "publish one port: $PORTS published / none" publish_one_many swnet publish_one_none swnet 1.5
target state "unpublish one port: $PORTS published / none" unpublish_one_many swnet unpublish_one_none swnet 1.5
target state "attach: $attachments attachments / none" attach_many swnet attach_none swnet 1.2
target state "detach: $attachments attachments / none" detach_many swnet detach_none swnet 1.2
