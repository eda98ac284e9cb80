#ifndef SWNET_FASTPATH_MAPS_H
#define SWNET_FASTPATH_MAPS_H
// The fast path's map layout, shared by the eBPF programs and the loader.
#include <linux/types.h>

#define SWNET_FP_MAX_PORTS 65536
#define SWNET_FP_MAX_ENDPOINTS 65536
#define SWNET_FP_MAX_NETWORKS 4096
#define SWNET_FP_MAX_PEERS 65536

enum { SWNET_FP_REDIRECTED = 0, SWNET_FP_PASSED = 1, SWNET_FP_TO_TUNNEL = 2, SWNET_FP_FROM_TUNNEL = 3,
       SWNET_FP_ENCAPSULATED = 4, SWNET_FP_DECAPSULATED = 5, SWNET_FP_COUNTERS = 6 };

// A device with the program attached, and the network it belongs to: a container's host-side
// veth, or an overlay's VXLAN/underlay device (SWNET_FP_PORT_TUNNEL). An underlay interface
// that VXLAN overlays' packets arrive on (SWNET_FP_PORT_UNDERLAY) may be a host-gw overlay's
// tunnel port as well; its network is then that overlay's.
#define SWNET_FP_PORT_TUNNEL 1
#define SWNET_FP_PORT_UNDERLAY 2
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
    // VXLAN in the program (vxlan mode): the VXLAN device's settings, so that packets to and
    // from other hosts need not cross it. vxlan_port 0: the device carries them.
    __be16 vxlan_port;           // UDP destination port, network byte order
    __be32 vxlan_vni;            // VNI << 8, network byte order, as in the VXLAN header
    __be32 local_address;        // outer source address: the device's local address
    __u32 underlay_ifindex;      // the device's underlay interface
    __u8 vtep_mac[6];            // the device's MAC: inner destination of frames for this host
    __u8 pad[2];
    // The overlay's IPv6 subnet (dual stack), its first 64 bits: mask 0 when there is none (or
    // it is longer than /64), and IPv6 across hosts takes the normal path.
    __be64 cluster6_address;
    __be64 cluster6_mask;
};

// A peer's VTEP (what the VXLAN device's FDB says): tunnel device, VTEP MAC → underlay address.
struct swnet_fp_peer_key {
    __u32 tunnel_ifindex;
    __u8 mac[6];
    __u8 pad[2];
};

struct swnet_fp_peer {
    __be32 underlay_address;
};

// Which network a VXLAN packet arriving on an underlay interface belongs to.
struct swnet_fp_vxlan_key {
    __be32 vni;                  // VNI << 8, network byte order
    __be16 port;                 // network byte order
    __u16 pad;
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
