# shellcheck shell=bash
# The library in one process (swnet-bench attach, timed with CLOCK_MONOTONIC around each call):
# SCALE attaches on one /16, then N detaches, then removeNetworks(force:) of the rest in one
# kernel request. swnet's own work without process start.
bench_namespaces "$SCALE"
log "library: $SCALE attaches in one process, then $N detaches, then removeNetworks(force:) of the rest"
"$SWNET_BENCH" attach --root /run/swnet-bench-library --network lib --subnet 10.79.0.0/16 --targets /run/netns/b \
    --count "$SCALE" --detach "$N" --remove >"$BENCH_WORK/library.out"
sample_library library "$BENCH_WORK/library.out" attach=swnet-library detach=swnet-library
read -r _ links us < <(grep '^remove ' "$BENCH_WORK/library.out")
sample library remove_networks_force swnet-library ms "$(awk -v u="$us" 'BEGIN { printf "%.3f", u / 1000 }')"
sample library remove_networks_force_links swnet-library links "$links"

target library "swnet attach last 10 / first 10 at $SCALE (library, means)" "attach[last10]" swnet-library "attach[first10]" swnet-library 1.15
target library "swnet detach (library) / one RTM_DELLINK" detach swnet-library attach:dellink rtm-dellink -
