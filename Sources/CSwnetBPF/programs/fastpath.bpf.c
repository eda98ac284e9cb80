// swnet's eBPF fast path (tcx ingress programs; see docs/fastpath.md).
//
// from_container runs on the host side of every container's veth pair, where the container's
// packets enter the host. A unicast IPv4/IPv6 packet addressed, by MAC and IP, to another
// container of the same network on this host goes straight into that container's namespace
// with bpf_redirect_peer: no bridge, no netfilter, no second veth crossing. Everything else
// (ARP, broadcast, the gateway, other networks, published ports) continues on the normal path,
// so NAT, isolation and --internal behave exactly as without the program.
//
// Compiled into bytecode that is committed as fastpath.skel.h: scripts/gen-bpf.sh.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "fastpath_maps.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SWNET_FP_MAX_PORTS);
    __type(key, __u32);                         // ifindex of a host-side veth
    __type(value, struct swnet_fp_port);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} swnet_fp_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SWNET_FP_MAX_ENDPOINTS);
    __type(key, struct swnet_fp_endpoint_key);
    __type(value, struct swnet_fp_endpoint);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} swnet_fp_endpoints SEC(".maps");

// Packets redirected, per CPU: what `swnet inspect` shows as proof the fast path carries traffic.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SWNET_FP_COUNTERS);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} swnet_fp_counters SEC(".maps");

static __always_inline void count(__u32 which) {
    __u64 *value = bpf_map_lookup_elem(&swnet_fp_counters, &which);
    if (value) *value += 1;
}

static __always_inline int same_mac(const unsigned char *a, const unsigned char *b) {
    return ((const __u16 *)a)[0] == ((const __u16 *)b)[0] && ((const __u16 *)a)[1] == ((const __u16 *)b)[1]
        && ((const __u16 *)a)[2] == ((const __u16 *)b)[2];
}

SEC("tc")
int from_container(struct __sk_buff *skb) {
    __u32 ingress = skb->ingress_ifindex;
    struct swnet_fp_port *port = bpf_map_lookup_elem(&swnet_fp_ports, &ingress);
    if (!port) return TC_ACT_OK;

    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end) return TC_ACT_OK;

    struct swnet_fp_endpoint_key key = { .network = port->network };
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > end) return TC_ACT_OK;
        key.address[10] = 0xff;
        key.address[11] = 0xff;
        __builtin_memcpy(&key.address[12], &ip->daddr, 4);
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > end) return TC_ACT_OK;
        __builtin_memcpy(key.address, &ip6->daddr, 16);
    } else {
        return TC_ACT_OK;
    }

    struct swnet_fp_endpoint *endpoint = bpf_map_lookup_elem(&swnet_fp_endpoints, &key);
    // Only frames the container sent to its neighbour's own MAC: anything for the gateway
    // (routed, NATed, published ports) takes the normal path.
    if (!endpoint || endpoint->ifindex == ingress || !same_mac(eth->h_dest, endpoint->mac)) {
        count(SWNET_FP_PASSED);
        return TC_ACT_OK;
    }
    // The frame was not for the host side's MAC, so the veth marked it for another host;
    // inside the peer it is for the container.
    bpf_skb_change_type(skb, 0 /* PACKET_HOST */);
    count(SWNET_FP_REDIRECTED);
    return bpf_redirect_peer(endpoint->ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
