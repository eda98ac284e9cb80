#ifndef SWNET_ARP_H
#define SWNET_ARP_H
#include <stdint.h>

// An AF_PACKET socket for ARP frames, opened inside the namespace `nsfd` refers to, or -errno.
int swnet_arp_socket_in_netns(int nsfd);

// Sends one gratuitous ARP (an unsolicited reply, as `arping -A` does) for `ipv4` owned by
// `mac` on interface `ifindex`, through `packet_fd`, an AF_PACKET/SOCK_DGRAM socket that was
// opened in the interface's namespace. Returns 0 or -errno.
int swnet_send_gratuitous_arp(int packet_fd, int ifindex, const uint8_t mac[6], const uint8_t ipv4[4]);

#endif
