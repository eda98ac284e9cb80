# network create / ls / inspect / rm, and their errors.
ok "create a network" swnet network create red --subnet 10.10.0.0/24
eq "bridge red is up with the gateway address" \
    "$(ip -o -4 addr show dev red | awk '{print $4}') $(ip -o link show red | grep -c 'state UP\|,UP')" "10.10.0.1/24 1"
ok "create with gateway, bridge name and MTU" swnet network create blue --subnet 10.20.0.0/16 --gateway 10.20.0.254 --bridge br-blue --mtu 1400
eq "blue's bridge has MTU 1400 and the gateway" \
    "$(ip -o link show br-blue | grep -o 'mtu [0-9]*') $(ip -o -4 addr show dev br-blue | awk '{print $4}')" "mtu 1400 10.20.0.254/16"
ok "a long network name gets a short bridge name" swnet network create a-network-with-a-long-name --subnet 10.30.0.0/24
eq "ls lists three networks" "$(swnet network ls | tail -n +2 | awk '{print $1}' | sort | tr '\n' ' ')" "a-network-with-a-long-name blue red "
eq "ls --json" "$(swnet network ls --json | json '[n["name"] for n in d]')" "['a-network-with-a-long-name', 'blue', 'red']"
eq "inspect --json" "$(swnet network inspect blue --json | json '(d["subnet"], d["gateway"], d["bridge"], d["mtu"], d["bridgePresent"])')" \
    "('10.20.0.0/16', '10.20.0.254', 'br-blue', 1400, True)"
ok "inspect for people" swnet network inspect red

fails "creating an existing network" swnet network create red --subnet 10.99.0.0/24
fails "an overlapping subnet" swnet network create green --subnet 10.10.0.128/25
fails "a malformed subnet" swnet network create green --subnet 10.40.0.0/33
fails "a subnet with host bits" swnet network create green --subnet 10.40.0.1/24
fails "a gateway outside the subnet" swnet network create green --subnet 10.40.0.0/24 --gateway 10.41.0.1
fails "a bridge name over 15 bytes" swnet network create green --subnet 10.40.0.0/24 --bridge abcdefghijklmnop
fails "a bridge name with a slash" swnet network create green --subnet 10.40.0.0/24 --bridge a/b
fails "a bridge name with a blank" swnet network create green --subnet 10.40.0.0/24 --bridge "a b"
fails "an existing interface as bridge" swnet network create green --subnet 10.40.0.0/24 --bridge lo
fails "a bad network name" swnet network create "../x" --subnet 10.40.0.0/24
fails "an MTU out of range" swnet network create green --subnet 10.40.0.0/24 --mtu 20
fails "inspecting an unknown network" swnet network inspect nope
fails "removing an unknown network among known ones" swnet network rm red nope

ok "remove two networks" swnet network rm red blue
eq "their bridges are gone" "$(ip -o link show | grep -c 'red\|br-blue')" "0"
eq "one network left" "$(swnet network ls --json | json 'len(d)')" "1"

ok "IPv6 network" swnet network create six --subnet fd00:6::/64
eq "IPv6 gateway on the bridge" "$(ip -o -6 addr show dev six scope global | awk '{print $4}')" "fd00:6::1/64"
