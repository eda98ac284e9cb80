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
// In vxlan mode the program does the VXLAN device's work itself where it can: it encapsulates
// a container's packet for another host (outer IPv4/UDP/VXLAN headers, the same bytes the
// kernel's VXLAN device writes) and sends it out of the underlay interface with
// bpf_redirect_neigh; on the underlay interface, from_underlay takes the headers off a VXLAN
// packet for a container here and delivers it. The outer packets never cross the host's IP
// stack (route lookup, netfilter, UDP socket, the VXLAN device). Anything it does not
// recognise (another VNI, an unknown peer, options, checksums) goes through the device as before.
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
#include <linux/udp.h>
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
#define AF_INET 2
#define AF_INET6 10
// Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14): what VXLAN adds to a frame.
#define VXLAN_OVERHEAD 50
#define VXLAN_FLAG_VNI 0x08000000        // the "I" flag: the VNI is valid
// The source port range the kernel's VXLAN device picks from by default (the local port range).
#define VXLAN_SOURCE_PORT_MIN 32768
#define VXLAN_SOURCE_PORT_MAX 60999
#define IPTOS_ECN_MASK 3
#define IPTOS_ECN_CE 3
#define IPTOS_ECN_ECT0 2
#define IP_DEFAULT_TTL 64
// Linux 6.3; the system's uapi header predates it.
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV6
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

// The headers VXLAN puts in front of a frame, as one block.
struct vxlan_headers {
    struct iphdr ip;
    struct udphdr udp;
    __be32 flags;
    __be32 vni;
    struct ethhdr inner;
} __attribute__((packed));

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

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SWNET_FP_MAX_PEERS);
    __type(key, struct swnet_fp_peer_key);
    __type(value, struct swnet_fp_peer);
} swnet_fp_peers SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SWNET_FP_MAX_NETWORKS);
    __type(key, struct swnet_fp_vxlan_key);
    __type(value, __u32);                       // network
} swnet_fp_vxlan SEC(".maps");

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
    struct ipv6hdr *ip6;              // NULL for IPv4
    struct swnet_fp_endpoint_key key; // its destination, network still to fill in
    struct bpf_sock_tuple tuple;
    void *l4, *end;
    __u8 protocol;
};

// 0 when the frame at `offset` (0, or VXLAN_OVERHEAD for the one inside a VXLAN packet) is
// unicast IPv4/IPv6 TCP, UDP or ICMP, unfragmented, headers in reach.
static __always_inline int parse(struct __sk_buff *skb, struct packet *packet, __u32 offset) {
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data + offset;
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
        packet->ip6 = ip6;
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

// What forwarding does to the IP header: TTL and checksum, or the hop limit.
static __always_inline void forward_hop(struct packet *packet) {
    // The verifier does not know that one of the two is set: both are checked.
    if (packet->ip) decrease_ttl(packet->ip);
    else if (packet->ip6) packet->ip6->hop_limit--;
}

// Whether an IPv6 address is in the overlay's IPv6 subnet (cluster6_mask 0: it has none).
static __always_inline int in_cluster6(const struct swnet_fp_network *overlay, const struct in6_addr *address) {
    __be64 high;
    __builtin_memcpy(&high, address, sizeof high);
    return overlay->cluster6_mask != 0 && (high & overlay->cluster6_mask) == overlay->cluster6_address;
}

// A packet from the overlay's range (either family) with TTL or hop limit left to forward it.
static __always_inline int from_cluster(const struct swnet_fp_network *overlay, const struct packet *packet) {
    if (packet->ip)
        return (packet->ip->saddr & overlay->cluster_mask) == overlay->cluster_address && packet->ip->ttl > 1;
    return packet->ip6 && in_cluster6(overlay, &packet->ip6->saddr) && packet->ip6->hop_limit > 1;
}

static __always_inline int pass(void) {
    count(SWNET_FP_PASSED);
    return TC_ACT_UNSPEC;
}

// A ones' complement sum of an IPv4 header (20 bytes), folded: 0xffff over a valid header.
static __always_inline __u16 ip_header_sum(const __u16 *words) {
    __u32 sum = 0;
#pragma unroll
    for (int i = 0; i < 10; i++) sum += words[i];
    sum = (sum & 0xffff) + (sum >> 16);
    return (sum & 0xffff) + (sum >> 16);
}

// Puts the frame (IPv4 or IPv6 inside, Ethernet header already the inner one: peer VTEP MAC, ours)
// into VXLAN exactly as the kernel's VXLAN device would: outer IPv4 from our local address to
// the peer's, TTL 64, ECN copied (CE as ECT(0)), no DF, UDP to the overlay's port from a port
// picked by the flow hash, no UDP checksum, the VNI. bpf_skb_adjust_room keeps a GSO packet
// one GSO packet (UDP tunnel GSO, segmented by the underlay device or its NIC) and marks the
// inner headers, so checksum offload still works for the inner TCP/UDP.
// Returns 0 when done, 1 when the packet was left as it was, -1 when it is half-built.
static __always_inline int encapsulate(struct __sk_buff *skb, struct swnet_fp_network *overlay, __u8 inner_tos,
                                       __be16 inner_protocol, __be32 remote, struct bpf_fib_lookup *fib) {
    __u32 length = skb->len - ETH_HLEN + VXLAN_OVERHEAD;
    if (length > 0xffff) return 1;
    struct vxlan_headers headers = {};
    __u8 ecn = inner_tos & IPTOS_ECN_MASK;
    struct iphdr ip = {
        .version = 4,
        .ihl = 5,
        .tos = ecn == IPTOS_ECN_CE ? IPTOS_ECN_ECT0 : ecn,
        .tot_len = bpf_htons(length),
        .id = bpf_htons(bpf_get_prandom_u32() & 0xffff),
        .ttl = IP_DEFAULT_TTL,
        .protocol = IPPROTO_UDP,
        .saddr = overlay->local_address,
        .daddr = remote,
    };
    ip.check = ~ip_header_sum((const __u16 *)&ip);
    headers.ip = ip;
    __u32 hash = bpf_get_hash_recalc(skb);
    headers.udp.source = bpf_htons((__u16)(((__u64)hash * (VXLAN_SOURCE_PORT_MAX - VXLAN_SOURCE_PORT_MIN)) >> 32)
                                   + VXLAN_SOURCE_PORT_MIN);
    headers.udp.dest = overlay->vxlan_port;
    headers.udp.len = bpf_htons(length - sizeof(struct iphdr));
    headers.flags = bpf_htonl(VXLAN_FLAG_VNI);
    headers.vni = overlay->vxlan_vni;
    __builtin_memcpy(headers.inner.h_dest, fib->dmac, ETH_ALEN);
    __builtin_memcpy(headers.inner.h_source, fib->smac, ETH_ALEN);
    headers.inner.h_proto = inner_protocol;
    __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP
        | BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
    // Refused (a UDP GSO packet, say): the packet is unchanged and the device encapsulates it.
    if (bpf_skb_adjust_room(skb, VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC, flags) != 0) return 1;
    return bpf_skb_store_bytes(skb, ETH_HLEN, &headers, sizeof headers, 0) == 0 ? 0 : -1;
}

// An overlay packet for a container on another host: route it here and hand it to the tunnel.
static __always_inline int to_other_host(struct __sk_buff *skb, struct packet *packet, __u32 network) {
    struct swnet_fp_network *overlay = bpf_map_lookup_elem(&swnet_fp_networks, &network);
    struct iphdr *ip = packet->ip;
    struct ipv6hdr *ip6 = packet->ip6;
    if (!overlay || !same_mac(packet->eth->h_dest, overlay->gateway_mac)) return pass();
    // tot_len 0: the kernel checks the packet against the device's MTU itself, GSO aware.
    struct bpf_fib_lookup fib = { .l4_protocol = packet->protocol, .ifindex = skb->ingress_ifindex };
    __u8 tos;
    __u32 header_length, length;
    if (ip) {
        if ((ip->daddr & overlay->cluster_mask) != overlay->cluster_address || ip->ttl <= 1) return pass();
        fib.family = AF_INET;
        fib.tos = tos = ip->tos;
        fib.ipv4_src = ip->saddr;
        fib.ipv4_dst = ip->daddr;
        header_length = ip->ihl * 4;
        length = bpf_ntohs(ip->tot_len);
    } else {
        if (!ip6 || !in_cluster6(overlay, &ip6->daddr) || ip6->hop_limit <= 1) return pass();
        fib.family = AF_INET6;
        // The traffic class sits across the first two bytes, after the version.
        tos = (bpf_ntohs(*(__be16 *)ip6) >> 4) & 0xff;
        fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
        __builtin_memcpy(fib.ipv6_src, &ip6->saddr, sizeof fib.ipv6_src);
        __builtin_memcpy(fib.ipv6_dst, &ip6->daddr, sizeof fib.ipv6_dst);
        header_length = sizeof(struct ipv6hdr);
        length = sizeof(struct ipv6hdr) + bpf_ntohs(ip6->payload_len);
    }
    if (is_nated(skb, packet)) return pass();
    // Anything but a resolved route through the overlay's own device (an unresolved neighbour,
    // a route elsewhere) is the normal path's to handle.
    if (bpf_fib_lookup(skb, &fib, sizeof fib, 0) != BPF_FIB_LKUP_RET_SUCCESS || fib.ifindex != overlay->tunnel_ifindex)
        return pass();
    // Too big for the device: the normal path fragments it, or answers "fragmentation needed"
    // ("packet too big" for IPv6) when it may not. The kernel's own check leaves 4 bytes of
    // slack, so the size is checked here: the packet itself, or each segment of a TCP GSO packet.
    __u32 mtu = fib.mtu_result;
    if (skb->gso_size) {
        struct tcphdr *tcp = packet->l4;
        if (packet->protocol != IPPROTO_TCP || !tcp || (void *)(tcp + 1) > packet->end
            || header_length + tcp->doff * 4 + skb->gso_size > mtu)
            return pass();
    } else if (length > mtu) {
        return pass();
    }
    forward_hop(packet);
    __builtin_memcpy(packet->eth->h_dest, fib.dmac, ETH_ALEN);
    __builtin_memcpy(packet->eth->h_source, fib.smac, ETH_ALEN);
    // The neighbour entry gave the peer's VTEP MAC; the peers map, its underlay address.
    struct swnet_fp_peer_key peer_key = { .tunnel_ifindex = fib.ifindex };
    __builtin_memcpy(peer_key.mac, fib.dmac, ETH_ALEN);
    struct swnet_fp_peer *peer = overlay->vxlan_port ? bpf_map_lookup_elem(&swnet_fp_peers, &peer_key) : NULL;
    if (peer) {
        int encapsulated = encapsulate(skb, overlay, tos, packet->eth->h_proto, peer->underlay_address, &fib);
        if (encapsulated == 0) {
            count(SWNET_FP_ENCAPSULATED);
            // The underlay's route and neighbour give the outer Ethernet header.
            return bpf_redirect_neigh(overlay->underlay_ifindex, NULL, 0, 0);
        }
        if (encapsulated < 0) return TC_ACT_SHOT;
    }
    count(SWNET_FP_TO_TUNNEL);
    return bpf_redirect(fib.ifindex, 0);
}

static __always_inline int from_container(struct __sk_buff *skb, struct swnet_fp_port *port) {
    __u32 ingress = skb->ingress_ifindex;
    struct packet packet = {};
    if (parse(skb, &packet, 0) != 0) return TC_ACT_UNSPEC;
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

// The fast-path container a packet from another host of the overlay goes to, or NULL for
// the normal path: only from the overlay's other containers (the forward rules accept exactly
// those), with TTL left to forward it, and not of a connection the host NATs.
static __always_inline struct swnet_fp_endpoint *overlay_destination(struct __sk_buff *skb, struct packet *packet,
                                                                     struct swnet_fp_network *overlay, __u32 network) {
    packet->key.network = network;
    struct swnet_fp_endpoint *endpoint = bpf_map_lookup_elem(&swnet_fp_endpoints, &packet->key);
    if (!endpoint || !from_cluster(overlay, packet) || is_nated(skb, packet)) return NULL;
    return endpoint;
}

static __always_inline int from_tunnel(struct __sk_buff *skb, struct swnet_fp_port *port) {
    struct packet packet = {};
    if (parse(skb, &packet, 0) != 0) return TC_ACT_UNSPEC;
    __u32 network = port->network;
    struct swnet_fp_network *overlay = bpf_map_lookup_elem(&swnet_fp_networks, &network);
    if (!overlay) return TC_ACT_UNSPEC;
    struct swnet_fp_endpoint *endpoint = overlay_destination(skb, &packet, overlay, network);
    if (!endpoint) return pass();
    forward_hop(&packet);
    __builtin_memcpy(packet.eth->h_dest, endpoint->mac, ETH_ALEN);
    __builtin_memcpy(packet.eth->h_source, overlay->gateway_mac, ETH_ALEN);
    bpf_skb_change_type(skb, PACKET_HOST);
    count(SWNET_FP_FROM_TUNNEL);
    return bpf_redirect_peer(endpoint->ifindex, 0);
}

// A VXLAN packet on an underlay interface for a container here, from another container of
// its overlay: the VXLAN headers come off and the frame goes straight into the container.
// Everything else (not ours, not to a fast-path container, a UDP checksum nobody verified,
// an outer header the kernel would reject) is left to the stack and the VXLAN device.
static __always_inline int from_underlay(struct __sk_buff *skb) {
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct vxlan_headers *outer = (void *)(eth + 1);
    if ((void *)(outer + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || skb->pkt_type != PACKET_HOST
        || outer->ip.version != 4 || outer->ip.ihl != 5 || outer->ip.protocol != IPPROTO_UDP
        || (outer->ip.frag_off & bpf_htons(IP_FRAGMENTED))
        // A UDP checksum is left to the stack unless the NIC verified it already.
        || (outer->udp.check != 0 && bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY) < 0)
        || outer->flags != bpf_htonl(VXLAN_FLAG_VNI)
        || (outer->inner.h_proto != bpf_htons(ETH_P_IP) && outer->inner.h_proto != bpf_htons(ETH_P_IPV6)))
        return TC_ACT_UNSPEC;
    struct swnet_fp_vxlan_key key = { .vni = outer->vni, .port = outer->udp.dest };
    __u32 *network = bpf_map_lookup_elem(&swnet_fp_vxlan, &key);
    if (!network) return TC_ACT_UNSPEC;
    __u32 id = *network;
    struct swnet_fp_network *overlay = bpf_map_lookup_elem(&swnet_fp_networks, &id);
    if (!overlay || overlay->local_address != outer->ip.daddr || !same_mac(outer->inner.h_dest, overlay->vtep_mac)
        || ip_header_sum((const __u16 *)(eth + 1)) != 0xffff)
        return TC_ACT_UNSPEC;
    struct packet packet = {};
    if (parse(skb, &packet, VXLAN_OVERHEAD) != 0) return TC_ACT_UNSPEC;
    int inner_ipv4 = packet.ip != NULL;
    struct swnet_fp_endpoint *endpoint = overlay_destination(skb, &packet, overlay, id);
    if (!endpoint) return TC_ACT_UNSPEC;
    __u32 ifindex = endpoint->ifindex;
    __u8 mac[ETH_ALEN];
    __builtin_memcpy(mac, endpoint->mac, ETH_ALEN);
    // Takes the outer IPv4/UDP/VXLAN headers and the inner Ethernet header off; the GSO size
    // (the inner segments') stays. A GSO packet keeps its UDP tunnel GSO type and
    // skb->encapsulation: this kernel (6.18) has no flag to clear them (bpf-next adds
    // BPF_F_ADJ_ROOM_DECAP_L4_UDP). Harmless for the container's own sockets; a container that
    // routes such packets on sends them slower (docs/fastpath.md, Limits).
    // An IPv6 frame inside: skb->protocol must say so (it said IPv4, the outer header's), or the
    // container's stack would hand it to IPv4. A kernel without the flag refuses: the VXLAN
    // device takes the packet, as before.
    __u64 decap = inner_ipv4 ? 0 : BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
    if (bpf_skb_adjust_room(skb, -VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO | decap) != 0)
        return TC_ACT_UNSPEC;
    data = (void *)(long)skb->data;
    end = (void *)(long)skb->data_end;
    eth = data;
    if (inner_ipv4) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > end) return TC_ACT_SHOT;
        decrease_ttl(ip);
    } else {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > end) return TC_ACT_SHOT;
        ip6->hop_limit--;
    }
    __builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, overlay->gateway_mac, ETH_ALEN);
    bpf_skb_change_type(skb, PACKET_HOST);
    count(SWNET_FP_DECAPSULATED);
    return bpf_redirect_peer(ifindex, 0);
}

// One program for both kinds of devices: a program attached nowhere would be freed by the kernel
// (nothing is pinned), so it must be the one every port holds.
SEC("tc")
int swnet_fastpath(struct __sk_buff *skb) {
    __u32 ingress = skb->ingress_ifindex;
    struct swnet_fp_port *port = bpf_map_lookup_elem(&swnet_fp_ports, &ingress);
    if (!port) return TC_ACT_UNSPEC;
    __u32 flags = port->flags;
    if (flags & SWNET_FP_PORT_UNDERLAY) {
        int verdict = from_underlay(skb);
        if (verdict != TC_ACT_UNSPEC) return verdict;
    }
    if (flags & SWNET_FP_PORT_TUNNEL) return from_tunnel(skb, port);
    return flags & SWNET_FP_PORT_UNDERLAY ? TC_ACT_UNSPEC : from_container(skb, port);
}

char LICENSE[] SEC("license") = "GPL";
