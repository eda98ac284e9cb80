# 50 attach processes at once on one network: 50 distinct addresses, no error.
ok "network" swnet network create busy --subnet 10.50.0.0/24
for i in $(seq 50); do container "n$i"; done
pids=()
for i in $(seq 50); do swnet attach "n$i" busy >"/tmp/attach-$$-$i.out" 2>&1 & pids+=($!); done
errors=0
for pid in "${pids[@]}"; do wait "$pid" || errors=$((errors + 1)); done
eq "no attach failed" "$errors" "0"
cat /tmp/attach-$$-*.out | grep -v ' on busy ' | head -5
rm -f /tmp/attach-$$-*.out
addresses=$(for i in $(seq 50); do ip -n "n$i" -o -4 addr show dev eth0 | awk '{print $4}'; done)
eq "50 addresses" "$(echo "$addresses" | grep -c .)" "50"
eq "all distinct" "$(echo "$addresses" | sort -u | grep -c .)" "50"
eq "state agrees" "$(swnet network inspect busy --json | json 'len(d["attachments"])')" "50"
ok "n1 reaches n50" ip netns exec n1 ping -c1 -W2 "$(ip -n n50 -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)"

pids=()
for i in $(seq 50); do swnet detach "n$i" busy >/dev/null 2>&1 & pids+=($!); done
errors=0
for pid in "${pids[@]}"; do wait "$pid" || errors=$((errors + 1)); done
eq "50 concurrent detaches" "$errors" "0"
eq "no veth left" "$(ip -o link show type veth | wc -l)" "0"
