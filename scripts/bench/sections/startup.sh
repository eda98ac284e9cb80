# shellcheck shell=bash
# Process start: /bin/true (the floor), `swnet --version` (swnet's own start: loader, Swift
# runtime, command-line parser) and `swnet-bench noop` (a binary linking SwnetCore but not the
# parser), N each, interleaved; then /bin/true and swnet --version again by hyperfine -N, which
# has no bash fork around the command.
log "startup: /bin/true, swnet --version, swnet-bench noop ($N each, interleaved)"
for ((i = 1; i <= N; i++)); do
    timed startup process_start /bin/true /bin/true
    timed startup process_start "swnet --version" "$SWNET" --version
    timed startup process_start "swnet-bench noop" "$SWNET_BENCH" noop
done
hyperfine_samples startup process_start_hyperfine /bin/true /bin/true
hyperfine_samples startup process_start_hyperfine "swnet --version" "$SWNET --version"
target startup "swnet --version / /bin/true (process start)" process_start "swnet --version" process_start /bin/true -
