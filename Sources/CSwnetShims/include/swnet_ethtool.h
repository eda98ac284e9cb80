#ifndef SWNET_ETHTOOL_H
#define SWNET_ETHTOOL_H

// ETHTOOL_GLINK on interface `name`, through any socket of its namespace (a netlink socket
// will do: the kernel handles device ioctls for every socket family). Asking makes the kernel
// process the link's pending carrier change now instead of from its linkwatch worker, so a
// bridge port is forwarding when this returns. Returns 1 (link up), 0 (down) or -errno.
int swnet_ethtool_get_link(int socket_fd, const char *name);

// Whether transmit checksum offload of interface `name` is on (ETHTOOL_GTXCSUM): 1, 0 or -errno.
int swnet_ethtool_get_tx_checksum(int socket_fd, const char *name);

// Turns transmit checksum offload of interface `name` on or off (ETHTOOL_STXCSUM). Returns 0 or -errno.
int swnet_ethtool_set_tx_checksum(int socket_fd, const char *name, int enabled);

#endif
