#ifndef SWNET_NETLINK_H
#define SWNET_NETLINK_H
// Netlink helpers (macros and inline functions of libmnl / linux headers) — owned by the Netlink module.
#endif
