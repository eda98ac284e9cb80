// swnet's eBPF fast path: one tcx ingress program, swnet_fastpath (see docs/fastpath.md). It
// runs on two kinds of devices, told apart by their entry in swnet_fp_ports.
//
// On the host side of every container's veth pair, where the container's packets enter the
// host (from_container):
// - a packet addressed, by MAC and IP, to another container of the same network on this host
//   goes straight into that container's namespace with bpf_redirect_peer: no bridge, no
//   netfilter, no second veth crossing;
// - on an overlay, a packet for the gateway whose destination is in the overlay but on another
//   host is routed here (FIB lookup, TTL, MACs) and handed to the VXLAN device (or, host-gw,
//   the underlay interface) with bpf_redirect, skipping the bridge and the forward path.
// On an overlay's VXLAN device (or underlay interface), from_tunnel delivers packets from
// other hosts of the overlay straight into the destination container (bpf_redirect_peer).
//
// Everything else (ARP, broadcast, the gateway itself, other networks, the way out) continues
// on the normal path, so NAT, isolation and --internal behave exactly as without the programs.
// A packet of a connection the host NATs (a published port reached through the gateway or the
// host's address: the reply must be un-NATed by conntrack) also takes the normal path: the
// programs ask conntrack for TCP and UDP, carry ICMP as it is, and leave every other protocol
// and every fragment to the normal path.
//
// Compiled into bytecode committed as fastpath.skel.h: scripts/gen-bpf.sh.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
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
#define PACKET_HOST 0

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SWNET_FP_MAX_PORTS);
    __type(key, __u32);                         // ifindex
    __type(value, struct swnet_fp_port);
} swnet_fp_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SWNET_FP_MAX_NETWORKS);
    __type(key, __u32);                         // network (bridge ifindex)
    __type(value, struct swnet_fp_network);
} swnet_fp_networks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SWNET_FP_MAX_ENDPOINTS);
    __type(key, struct swnet_fp_endpoint_key);
    __type(value, struct swnet_fp_endpoint);
} swnet_fp_endpoints SEC(".maps");

// Packets per outcome, per CPU: what `network inspect` shows as proof the fast path carries traffic.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SWNET_FP_COUNTERS);
    __type(key, __u32);
    __type(value, __u64);
} swnet_fp_counters SEC(".maps");

static __always_inline void count(__u32 which) {
    __u64 *value = bpf_map_lookup_elem(&swnet_fp_counters, &which);
    if (value) *value += 1;
}

static __always_inline int same_mac(const unsigned char *a, const unsigned char *b) {
    return ((const __u16 *)a)[0] == ((const __u16 *)b)[0] && ((const __u16 *)a)[1] == ((const __u16 *)b)[1]
        && ((const __u16 *)a)[2] == ((const __u16 *)b)[2];
}

// An IP packet the fast path may carry, taken apart.
struct packet {
    struct ethhdr *eth;
    struct iphdr *ip;                 // NULL for IPv6
    struct swnet_fp_endpoint_key key; // its destination, network still to fill in
    struct bpf_sock_tuple tuple;
    void *l4, *end;
    __u8 protocol;
};

// 0 when the packet is unicast IPv4/IPv6 TCP, UDP or ICMP, unfragmented, headers in reach.
static __always_inline int parse(struct __sk_buff *skb, struct packet *packet) {
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end) return -1;
    packet->eth = eth;
    packet->end = end;
    void *l4;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > end || ip->ihl < 5 || (ip->frag_off & bpf_htons(IP_FRAGMENTED))) return -1;
        packet->ip = ip;
        packet->key.address[10] = 0xff;
        packet->key.address[11] = 0xff;
        __builtin_memcpy(&packet->key.address[12], &ip->daddr, 4);
        packet->tuple.ipv4.saddr = ip->saddr;
        packet->tuple.ipv4.daddr = ip->daddr;
        packet->protocol = ip->protocol;
        l4 = (void *)ip + ip->ihl * 4;
        if (ip->protocol == IPPROTO_ICMP) {
            packet->l4 = l4;
            return 0;
        }
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > end) return -1;
        packet->ip = NULL;
        __builtin_memcpy(packet->key.address, &ip6->daddr, 16);
        __builtin_memcpy(packet->tuple.ipv6.saddr, &ip6->saddr, 16);
        __builtin_memcpy(packet->tuple.ipv6.daddr, &ip6->daddr, 16);
        packet->protocol = ip6->nexthdr;
        l4 = ip6 + 1;
        if (ip6->nexthdr == IPPROTO_ICMPV6) return 0;
    } else {
        return -1;
    }
    packet->l4 = l4;
    if (packet->protocol != IPPROTO_TCP && packet->protocol != IPPROTO_UDP) return -1;
    __be16 *ports = l4;
    if ((void *)(ports + 2) > end) return -1;
    if (packet->ip) {
        packet->tuple.ipv4.sport = ports[0];
        packet->tuple.ipv4.dport = ports[1];
    } else {
        packet->tuple.ipv6.sport = ports[0];
        packet->tuple.ipv6.dport = ports[1];
    }
    return 0;
}

// Whether conntrack NATs the connection the packet belongs to, in either direction.
static __always_inline int is_nated(struct __sk_buff *skb, struct packet *packet) {
    if (packet->protocol != IPPROTO_TCP && packet->protocol != IPPROTO_UDP) return 0;
    struct bpf_ct_opts options = { .netns_id = -1, .l4proto = packet->protocol };
    // Constant sizes: the verifier must see the bound.
    struct nf_conn *connection = packet->ip
        ? bpf_skb_ct_lookup(skb, &packet->tuple, sizeof packet->tuple.ipv4, &options, sizeof options)
        : bpf_skb_ct_lookup(skb, &packet->tuple, sizeof packet->tuple.ipv6, &options, sizeof options);
    if (!connection) return 0;
    int nated = (connection->status & IPS_NAT_MASK) != 0;
    bpf_ct_release(connection);
    return nated;
}

// What forwarding does to the IPv4 header: TTL - 1, checksum updated (as ip_decrease_ttl).
static __always_inline void decrease_ttl(struct iphdr *ip) {
    __u32 check = ip->check;
    check += bpf_htons(0x0100);
    ip->check = (__sum16)(check + (check >= 0xffff));
    ip->ttl--;
}

static __always_inline int pass(void) {
    count(SWNET_FP_PASSED);
    return TC_ACT_UNSPEC;
}

// An overlay packet for a container on another host: route it here and hand it to the tunnel.
static __always_inline int to_other_host(struct __sk_buff *skb, struct packet *packet, __u32 network) {
    struct swnet_fp_network *overlay = bpf_map_lookup_elem(&swnet_fp_networks, &network);
    struct iphdr *ip = packet->ip;
    if (!overlay || !ip || (ip->daddr & overlay->cluster_mask) != overlay->cluster_address
        || !same_mac(packet->eth->h_dest, overlay->gateway_mac) || ip->ttl <= 1 || is_nated(skb, packet))
        return pass();
    struct bpf_fib_lookup fib = {
        .family = 2 /* AF_INET */,
        .l4_protocol = ip->protocol,
        // tot_len 0: the kernel checks the packet against the device's MTU itself, GSO aware.
        .tos = ip->tos,
        .ifindex = skb->ingress_ifindex,
        .ipv4_src = ip->saddr,
        .ipv4_dst = ip->daddr,
    };
    // Anything but a resolved route through the overlay's own device (an unresolved neighbour,
    // a route elsewhere) is the normal path's to handle.
    if (bpf_fib_lookup(skb, &fib, sizeof fib, 0) != BPF_FIB_LKUP_RET_SUCCESS || fib.ifindex != overlay->tunnel_ifindex)
        return pass();
    // Too big for the device: the normal path fragments it, or answers "fragmentation needed"
    // when DF is set. The kernel's own check leaves 4 bytes of slack, so the size is checked
    // here: the packet itself, or each segment of a TCP GSO packet.
    __u32 mtu = fib.mtu_result;
    if (skb->gso_size) {
        struct tcphdr *tcp = packet->l4;
        if (ip->protocol != IPPROTO_TCP || (void *)(tcp + 1) > packet->end
            || ip->ihl * 4 + tcp->doff * 4 + skb->gso_size > mtu)
            return pass();
    } else if (bpf_ntohs(ip->tot_len) > mtu) {
        return pass();
    }
    decrease_ttl(ip);
    __builtin_memcpy(packet->eth->h_dest, fib.dmac, ETH_ALEN);
    __builtin_memcpy(packet->eth->h_source, fib.smac, ETH_ALEN);
    count(SWNET_FP_TO_TUNNEL);
    return bpf_redirect(fib.ifindex, 0);
}

static __always_inline int from_container(struct __sk_buff *skb, struct swnet_fp_port *port) {
    __u32 ingress = skb->ingress_ifindex;
    struct packet packet = {};
    if (parse(skb, &packet) != 0) return TC_ACT_UNSPEC;
    packet.key.network = port->network;
    struct swnet_fp_endpoint *endpoint = bpf_map_lookup_elem(&swnet_fp_endpoints, &packet.key);
    if (!endpoint) return to_other_host(skb, &packet, port->network);
    // Only frames the container sent to its neighbour's own MAC: anything for the gateway
    // (routed, NATed, published ports) takes the normal path.
    if (endpoint->ifindex == ingress || !same_mac(packet.eth->h_dest, endpoint->mac) || is_nated(skb, &packet))
        return pass();
    // The frame was not for the host side's MAC, so the veth marked it for another host;
    // inside the peer it is for the container.
    bpf_skb_change_type(skb, PACKET_HOST);
    count(SWNET_FP_REDIRECTED);
    return bpf_redirect_peer(endpoint->ifindex, 0);
}

static __always_inline int from_tunnel(struct __sk_buff *skb, struct swnet_fp_port *port) {
    struct packet packet = {};
    if (parse(skb, &packet) != 0 || !packet.ip) return TC_ACT_UNSPEC;
    __u32 network = port->network;
    struct swnet_fp_network *overlay = bpf_map_lookup_elem(&swnet_fp_networks, &network);
    if (!overlay) return TC_ACT_UNSPEC;
    packet.key.network = network;
    struct swnet_fp_endpoint *endpoint = bpf_map_lookup_elem(&swnet_fp_endpoints, &packet.key);
    struct iphdr *ip = packet.ip;
    // Only from the overlay's other containers (the forward rules accept exactly those).
    if (!endpoint || (ip->saddr & overlay->cluster_mask) != overlay->cluster_address || ip->ttl <= 1
        || is_nated(skb, &packet))
        return pass();
    decrease_ttl(ip);
    __builtin_memcpy(packet.eth->h_dest, endpoint->mac, ETH_ALEN);
    __builtin_memcpy(packet.eth->h_source, overlay->gateway_mac, ETH_ALEN);
    bpf_skb_change_type(skb, PACKET_HOST);
    count(SWNET_FP_FROM_TUNNEL);
    return bpf_redirect_peer(endpoint->ifindex, 0);
}

// One program for both kinds of devices: a program attached nowhere would be freed by the kernel
// (nothing is pinned), so it must be the one every port holds.
SEC("tc")
int swnet_fastpath(struct __sk_buff *skb) {
    __u32 ingress = skb->ingress_ifindex;
    struct swnet_fp_port *port = bpf_map_lookup_elem(&swnet_fp_ports, &ingress);
    if (!port) return TC_ACT_UNSPEC;
    return port->flags & SWNET_FP_PORT_TUNNEL ? from_tunnel(skb, port) : from_container(skb, port);
}

char LICENSE[] SEC("license") = "GPL";
