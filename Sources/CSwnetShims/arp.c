#include "swnet_arp.h"
#include "swnet_netns.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>

struct arp_ipv4 {
    uint16_t hardware_type, protocol_type;
    uint8_t hardware_length, protocol_length;
    uint16_t operation;
    uint8_t sender_mac[6], sender_ip[4], target_mac[6], target_ip[4];
} __attribute__((packed));

_Static_assert(sizeof(struct arp_ipv4) == 28, "ARP for IPv4 over Ethernet is 28 bytes");

int swnet_arp_socket_in_netns(int nsfd) {
    return swnet_socket_in_netns(nsfd, AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));
}

int swnet_send_gratuitous_arp(int packet_fd, int ifindex, const uint8_t mac[6], const uint8_t ipv4[4]) {
    struct arp_ipv4 arp = {
        .hardware_type = htons(ARPHRD_ETHER),
        .protocol_type = htons(ETH_P_IP),
        .hardware_length = 6,
        .protocol_length = 4,
        .operation = htons(ARPOP_REPLY),
    };
    memcpy(arp.sender_mac, mac, 6);
    memcpy(arp.sender_ip, ipv4, 4);
    memset(arp.target_mac, 0xff, 6);
    memcpy(arp.target_ip, ipv4, 4);

    struct sockaddr_ll destination = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ARP),
        .sll_ifindex = ifindex,
        .sll_halen = 6,
    };
    memset(destination.sll_addr, 0xff, 6);
    ssize_t sent = sendto(packet_fd, &arp, sizeof arp, 0, (struct sockaddr *)&destination, sizeof destination);
    return sent == (ssize_t)sizeof arp ? 0 : -errno;
}
