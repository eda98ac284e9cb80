// swnet's eBPF fast path (tcx ingress programs; see docs/fastpath.md).
//
// from_container runs on the host side of every container's veth pair, where the container's
// packets enter the host. A unicast IPv4/IPv6 packet addressed, by MAC and IP, to another
// container of the same network on this host goes straight into that container's namespace
// with bpf_redirect_peer: no bridge, no netfilter, no second veth crossing. Everything else
// (ARP, broadcast, the gateway, other networks, published ports) continues on the normal path,
// so NAT, isolation and --internal behave exactly as without the program. A packet of a
// connection the host NATed (a published port reached through the gateway or the host's
// address: the container's reply must be un-NATed by conntrack) also takes the normal path:
// the program asks conntrack for TCP and UDP, carries ICMP as it is, and leaves every other
// protocol and every fragment to the normal path.
//
// Compiled into bytecode that is committed as fastpath.skel.h: scripts/gen-bpf.sh.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "fastpath_maps.h"

// conntrack's kfuncs (kernel >= 6.0). Only the status word of nf_conn is read; its offset is
// relocated against the running kernel's BTF (CO-RE).
struct bpf_ct_opts {
    __s32 netns_id;
    __s32 error;
    __u8 l4proto;
    __u8 dir;
    __u8 reserved[2];
};
struct nf_conn {
    unsigned long status;
} __attribute__((preserve_access_index));
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *, struct bpf_sock_tuple *, __u32,
                                         struct bpf_ct_opts *, __u32) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;

#define IPS_NAT_MASK ((1 << 4) | (1 << 5))   // IPS_SRC_NAT | IPS_DST_NAT
#define IP_FRAGMENTED 0x3fff                 // IP_MF | IP_OFFSET

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

// Whether conntrack NATs the connection this TCP or UDP packet belongs to, in either direction.
static __always_inline int is_nated(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 size, __u8 protocol) {
    struct bpf_ct_opts options = { .netns_id = -1, .l4proto = protocol };
    struct nf_conn *connection = bpf_skb_ct_lookup(skb, tuple, size, &options, sizeof options);
    if (!connection) return 0;
    int nated = (connection->status & IPS_NAT_MASK) != 0;
    bpf_ct_release(connection);
    return nated;
}

SEC("tc")
int from_container(struct __sk_buff *skb) {
    __u32 ingress = skb->ingress_ifindex;
    struct swnet_fp_port *port = bpf_map_lookup_elem(&swnet_fp_ports, &ingress);
    if (!port) return TC_ACT_UNSPEC;

    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end) return TC_ACT_UNSPEC;

    struct swnet_fp_endpoint_key key = { .network = port->network };
    struct bpf_sock_tuple tuple = {};
    __u32 tuple_size;
    __u8 protocol;
    void *l4;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > end || ip->ihl < 5 || (ip->frag_off & bpf_htons(IP_FRAGMENTED))) return TC_ACT_UNSPEC;
        key.address[10] = 0xff;
        key.address[11] = 0xff;
        __builtin_memcpy(&key.address[12], &ip->daddr, 4);
        tuple.ipv4.saddr = ip->saddr;
        tuple.ipv4.daddr = ip->daddr;
        tuple_size = sizeof tuple.ipv4;
        protocol = ip->protocol;
        l4 = (void *)ip + ip->ihl * 4;
        if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP && protocol != IPPROTO_ICMP) return TC_ACT_UNSPEC;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > end) return TC_ACT_UNSPEC;
        __builtin_memcpy(key.address, &ip6->daddr, 16);
        __builtin_memcpy(tuple.ipv6.saddr, &ip6->saddr, 16);
        __builtin_memcpy(tuple.ipv6.daddr, &ip6->daddr, 16);
        tuple_size = sizeof tuple.ipv6;
        protocol = ip6->nexthdr;
        l4 = ip6 + 1;
        if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP && protocol != IPPROTO_ICMPV6) return TC_ACT_UNSPEC;
    } else {
        return TC_ACT_UNSPEC;
    }

    struct swnet_fp_endpoint *endpoint = bpf_map_lookup_elem(&swnet_fp_endpoints, &key);
    // Only frames the container sent to its neighbour's own MAC: anything for the gateway
    // (routed, NATed, published ports) takes the normal path.
    if (!endpoint || endpoint->ifindex == ingress || !same_mac(eth->h_dest, endpoint->mac)) {
        count(SWNET_FP_PASSED);
        return TC_ACT_UNSPEC;
    }
    if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP) {
        __be16 *ports = l4;
        if ((void *)(ports + 2) > end) return TC_ACT_UNSPEC;
        if (tuple_size == sizeof tuple.ipv4) {
            tuple.ipv4.sport = ports[0];
            tuple.ipv4.dport = ports[1];
        } else {
            tuple.ipv6.sport = ports[0];
            tuple.ipv6.dport = ports[1];
        }
        if (is_nated(skb, &tuple, tuple_size, protocol)) {
            count(SWNET_FP_PASSED);
            return TC_ACT_UNSPEC;
        }
    }
    // The frame was not for the host side's MAC, so the veth marked it for another host;
    // inside the peer it is for the container.
    bpf_skb_change_type(skb, 0 /* PACKET_HOST */);
    count(SWNET_FP_REDIRECTED);
    return bpf_redirect_peer(endpoint->ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
