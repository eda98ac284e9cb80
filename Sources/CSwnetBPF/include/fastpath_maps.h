#ifndef SWNET_FASTPATH_MAPS_H
#define SWNET_FASTPATH_MAPS_H
// The fast path's map layout, shared by the eBPF programs and the loader.
#include <linux/types.h>

#define SWNET_FP_MAX_PORTS 65536
#define SWNET_FP_MAX_ENDPOINTS 65536
#define SWNET_FP_MAX_NETWORKS 4096

enum { SWNET_FP_REDIRECTED = 0, SWNET_FP_PASSED = 1, SWNET_FP_TO_TUNNEL = 2, SWNET_FP_FROM_TUNNEL = 3, SWNET_FP_COUNTERS = 4 };

// A device with the program attached, and the network it belongs to: a container's host-side
// veth, or an overlay's VXLAN/underlay device (SWNET_FP_PORT_TUNNEL).
#define SWNET_FP_PORT_TUNNEL 1
struct swnet_fp_port {
    __u32 network;               // the network's bridge ifindex
    __u32 flags;
};

// A network whose containers may leave the host directly: an overlay's part on this host.
struct swnet_fp_network {
    __u32 tunnel_ifindex;        // the VXLAN device (vxlan) or the underlay interface (host-gw)
    __be32 cluster_address;      // the whole overlay's subnet, network byte order
    __be32 cluster_mask;
    __u8 gateway_mac[6];         // the bridge's MAC: containers send routed frames to it
    __u8 pad[2];
};

// A container address on a network; IPv4 as ::ffff:a.b.c.d.
struct swnet_fp_endpoint_key {
    __u32 network;
    __u8 address[16];
};

// Where that address lives: the host side of its veth pair and the container interface's MAC.
struct swnet_fp_endpoint {
    __u32 ifindex;
    __u8 mac[6];
    __u8 pad[2];
};
#endif
