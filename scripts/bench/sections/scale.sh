# shellcheck shell=bash
# Scaling: SCALE sequential swnet attaches into SCALE namespaces on one /16 network, then
# `swnet network rm --force` of all of them (one bulk request); CNI_SCALE CNI ADDs the same way
# (0 skips them); SCALE 3-command iproute2 attaches, the kernel's share of the growth. The report
# compares the mean of the first 10 with the mean of the last 10 of each series.
pool=$((SCALE > CNI_SCALE ? SCALE : CNI_SCALE))
bench_namespaces "$pool"

log "scale: $SCALE sequential swnet attaches on one /16"
"$SWNET" network create scale --subnet 10.78.0.0/16 >/dev/null
for ((i = 1; i <= SCALE; i++)); do
    timed scale attach swnet "$SWNET" attach "b$i" scale
    progress "$i" "$SCALE" "swnet attaches"
done
log "scale: swnet network rm --force scale ($SCALE veths + bridge)"
timed scale network_rm_force swnet "$SWNET" network rm --force scale
sample scale network_rm_force_links swnet links $((SCALE + 1))
leftover=$(ip -o link show | grep -vc ': lo:' || true)
((leftover == 0)) || log "links left after network rm --force: $(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')"

if ((CNI_SCALE > 0)); then
    log "scale: $CNI_SCALE sequential CNI ADDs on one /16 (then DEL each)"
    cni_conf scalecni cni1 10.89.0.0/16
    cni ADD scalecni "b$pool" >/dev/null && cni DEL scalecni "b$pool" >/dev/null   # warm-up
    for ((i = 1; i <= CNI_SCALE; i++)); do
        timed scale attach cni-bridge cni ADD scalecni "b$i"
        progress "$i" "$CNI_SCALE" "CNI ADDs"
    done
    for ((i = 1; i <= CNI_SCALE; i++)); do cni DEL scalecni "b$i" >/dev/null; done
    ip link del cni1 2>/dev/null || true
fi

log "scale: $SCALE sequential 3-command iproute2 attaches on one /16 (the kernel's share)"
ip3_bridge
for ((i = 1; i <= SCALE; i++)); do
    timed scale attach ip-3 ip3_attach "b$i" "s3h$i" "$(address 10.67 "$i")"
    progress "$i" "$SCALE" "iproute2 attaches"
done

target scale "swnet attach last 10 / first 10 at $SCALE (CLI, means)" "attach[last10]" swnet "attach[first10]" swnet 1.15
target scale "CNI ADD last 10 / first 10 at $CNI_SCALE (means)" "attach[last10]" cni-bridge "attach[first10]" cni-bridge -
target scale "iproute2 3 commands last 10 / first 10 at $SCALE (means)" "attach[last10]" ip-3 "attach[first10]" ip-3 -
