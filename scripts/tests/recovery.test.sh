# Rollback, crash recovery, gc, reboots and privileges.
container c1
ok "network" swnet network create rb --subnet 10.60.0.0/24

# A failure part-way: IPv6 is disabled inside c1, so adding the address fails after the veth exists.
ip netns exec c1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
fails "a failure after the veth was made rolls everything back" swnet attach c1 v6net fd00:60::5/64
eq "the network it would have created is gone too" "$(swnet network ls --json | json '[n["name"] for n in d]')" "['rb']"

# A crash part-way leaves a pending record, a lease and a veth (made here by attaching, then
# marking the record as a swnet killed before the end would have left it).
crash_leftovers() {
    swnet attach c1 rb 10.60.0.5/24 >/dev/null
    state_sql "UPDATE attachments SET record = replace(record, '\"phase\":\"active\"', '\"phase\":\"pending\"')"
}
crash_leftovers
ok "the next attach of that namespace clears a crash's leftovers" swnet attach c1 rb 10.60.0.5/24
eq "and c1 ends with one interface" "$(ip -n c1 -o link show | grep -c eth)" "1"
ok "detach c1" swnet detach c1 rb
crash_leftovers
report=$(swnet gc --json)
eq "gc removes the half-made attachment" "$(echo "$report" | json '(len(d["attachments"]), len(d["removedInterfaces"]))')" "(1, 1)"
eq "its veth is gone" "$(ip -n c1 -o link show | grep -c eth0)" "0"
eq "its lease is released" "$(state_sql "SELECT count(*) FROM leases WHERE network = 'rb'")" "0"

# A container that dies: its namespace goes, the kernel removes the veth, gc releases the lease.
container c2
ok "attach c2" swnet attach c2 rb
ip netns del c2
sleep 0.2
eq "gc releases what the dead namespace held" "$(swnet gc --json | json 'len(d["attachments"])')" "1"
eq "nothing attached" "$(swnet network inspect rb --json | json 'len(d["attachments"])')" "0"
state_sql "INSERT INTO leases (network, address, owner) VALUES ('rb', '10.60.0.77', 'stray')"
eq "gc releases an orphan lease" "$(swnet gc --json | json 'd["orphanLeases"]')" "['rb/10.60.0.77']"

# A reboot: runtime state from another boot is dropped, the bridge comes back on the next attach.
container c3
ok "attach c3" swnet attach c3 rb 10.60.0.9/24
ip netns del c3; ip link del rb   # a reboot takes every namespace and bridge with it
nft delete table inet swnet       # and the firewall
state_sql "UPDATE meta SET value = 'another-boot' WHERE key = 'boot-id'"
eq "after a reboot no attachment is left" "$(swnet network inspect rb --json | json '(len(d["attachments"]), d["bridgePresent"])')" "(0, False)"
container c4
ok "attach after the reboot recreates the bridge" swnet attach c4 rb 10.60.0.9/24
ok "and traffic flows" ping -c1 -W2 10.60.0.9
eq "and the firewall is back (masquerade, isolation)" "$(nft list chain inet swnet postrouting | grep -c 'ip saddr 10.60.0.0/24 oifname != "rb" masquerade')" "1"

# Without CAP_NET_ADMIN nothing is touched.
container c5
fails "attach without CAP_NET_ADMIN" capsh --drop=cap_net_admin -- -c "$SWNET attach c5 rb"
echo "    $error_line" | grep -q CAP_NET_ADMIN && pass "the error names CAP_NET_ADMIN" || fail "the error names CAP_NET_ADMIN"
fails "network create without CAP_NET_ADMIN" capsh --drop=cap_net_admin -- -c "$SWNET network create x --subnet 10.70.0.0/24"

# network rm --force removes many links in one go.
for i in $(seq 10); do container "m$i"; swnet attach "m$i" rb >/dev/null; done
ok "network rm --force with 11 attachments" swnet network rm --force rb
eq "no link left" "$(ip -o link show | grep -v ": lo:" | cut -d: -f2 | tr -d "\n")" ""
