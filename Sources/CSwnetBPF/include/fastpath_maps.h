#ifndef SWNET_FASTPATH_MAPS_H
#define SWNET_FASTPATH_MAPS_H
// The fast path's map layout, shared by the eBPF program and the loader.
#include <linux/types.h>

#define SWNET_FP_MAX_PORTS 65536
#define SWNET_FP_MAX_ENDPOINTS 65536

enum { SWNET_FP_REDIRECTED = 0, SWNET_FP_PASSED = 1, SWNET_FP_COUNTERS = 2 };

// A host-side veth with the program attached, and the network it belongs to.
struct swnet_fp_port {
    __u32 network;               // the network's bridge ifindex
    __u32 flags;                 // reserved, 0
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
