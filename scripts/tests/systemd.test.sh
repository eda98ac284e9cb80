# The overlay agent under systemd's protocols, without systemd: READY=1 (and STOPPING=1) in a
# datagram to $NOTIFY_SOCKET, read by a python3 listener on a real unix datagram socket (a path,
# then an abstract name), and journald's <N> priority prefixes when stdout is the stream
# $JOURNAL_STREAM names, filtered by --log-level. One host of the overlay lab, with etcd.
source "$(dirname "${BASH_SOURCE[0]}")/overlay-lab.sh"
ok_here() { local description=$1; shift; if "$@"; then pass "$description"; else fail "$description"; fi; }

ok_here "etcd" lab_etcd
ok_here "host1" lab_host 1
ok "an overlay to join" lab_swnet 1 overlay create ov --subnet 10.61.0.0/16

# listen SOCKET FILE: a datagram listener writing each message to FILE, one a line ("|" for
# newlines); its PID in $listener_pid. SOCKET is a path, or @NAME for the abstract namespace
# (which belongs to a network namespace: the listener runs in host1's, as the agent does).
listen() {
    rm -f "$2"
    ip netns exec host1 python3 -c '
import socket, sys
address = "\0" + sys.argv[1][1:] if sys.argv[1].startswith("@") else sys.argv[1]
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.bind(address)
open(sys.argv[2] + ".bound", "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        out.write(listener.recv(4096).decode().replace("\n", "|") + "\n")
        out.flush()
' "$1" "$2" &
    listener_pid=$!
    wait_for test -e "$2.bound"
}

# agent OUT ARGS...: the agent in host1, stdout in OUT (created first, so its device and inode
# can be named in JOURNAL_STREAM by the caller's environment); its PID in $agent_pid.
agent() {
    local out=$1; shift
    ip netns exec host1 env SWNET_ROOT="$(lab_root 1)" "$SWNET" overlay agent ov "$@" >"$out" 2>"$out.err" &
    agent_pid=$!
}
stop_agent() { kill -TERM "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; }

# Under systemd: a notify socket (a path), stdout is the journal stream.
messages=$LAB_DIR/notify.messages out=$LAB_DIR/agent.out
listen "$LAB_DIR/notify.sock" "$messages"
: >"$out"
NOTIFY_SOCKET=$LAB_DIR/notify.sock JOURNAL_STREAM=$(stat -c %d:%i "$out") agent "$out" --log-level info
ok "READY=1 arrives once the host has joined" wait_for grep -q '^READY=1|STATUS=joined overlay ov ' "$messages"
ok "the ready line is logged with journald's info priority" grep -q '^<6>overlay ov: ready: joined overlay ov ' "$out"
ok "no line carries a timestamp: the journal stamps them" bash -c "! grep -qv '^<[3467]>' '$out'"
ok "nothing at debug level with --log-level info" bash -c "! grep -q '^<7>' '$out'"
stop_agent
ok "STOPPING=1 when stopped" wait_for grep -qx 'STOPPING=1' "$messages"
ok "the stop is logged at info" grep -q '^<6>overlay ov: stopped by signal 15' "$out"
kill "$listener_pid"

# An abstract socket, and --debug: the debug lines come too, with <7>.
listen "@swnet-test-$$" "$LAB_DIR/abstract.messages"
: >"$out"
NOTIFY_SOCKET=@swnet-test-$$ JOURNAL_STREAM=$(stat -c %d:%i "$out") agent "$out" --debug
ok "READY=1 over an abstract socket" wait_for grep -q '^READY=1|' "$LAB_DIR/abstract.messages"
ok "debug lines with --debug, as <7>" wait_for grep -q '^<7>overlay ov: kernel in step with 0 peers' "$out"
stop_agent
kill "$listener_pid"

# Not the journal's stream (JOURNAL_STREAM names another file, as for a child of a service that
# writes elsewhere): timestamped lines, no prefixes; and no socket: nothing to notify, no error.
: >"$out"
JOURNAL_STREAM=$(stat -c %d:%i "$messages") agent "$out" --log-level warn
ok "the agent joins without a notify socket" wait_for ip netns exec host1 ip link show ov
sleep 0.5
eq "--log-level warn keeps the info lines out" "$(grep -c 'ready' "$out")" "0"
stop_agent
: >"$out"
JOURNAL_STREAM=$(stat -c %d:%i "$messages") agent "$out"
ok "a plain ready line starts with a timestamp" wait_for grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z overlay ov: ready: ' "$out"
ok "and carries no priority prefix" bash -c "! grep -q '^<' '$out'"
stop_agent

eq "overlay inspect -f over its JSON" "$(lab_swnet 1 overlay inspect ov -f '{{.config.subnet}} {{.config.mode}}')" "10.61.0.0/16 vxlan"
errors=$LAB_DIR/errors
: >"$errors"
JOURNAL_STREAM=$(stat -c %d:%i "$errors") "$SWNET" network inspect nosuch 2>>"$errors"
ok "a command's error line carries journald's error priority when stderr is the journal" grep -q '^<3>swnet: ' "$errors"
fails "an unknown log level" swnet overlay agent ov --log-level loud
fails "SWNET_ETCD_CERTFILE without a key" env SWNET_ETCD_CERTFILE=/nonexistent/cert.pem "$SWNET" overlay ls
fails "SWNET_ETCD_CAFILE names a file that is not there" env SWNET_ETCD_CAFILE=/nonexistent/ca.pem "$SWNET" overlay ls --etcd https://127.0.0.1:2379
eq "...and says which file" "$(echo "$error_line" | grep -c '/nonexistent/ca.pem')" "1"
