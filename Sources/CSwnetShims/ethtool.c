#include "swnet_ethtool.h"
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>

static int ethtool_request(int socket_fd, const char *name, struct ethtool_value *value) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    if (strlen(name) >= sizeof request.ifr_name) return -ENAMETOOLONG;
    strcpy(request.ifr_name, name);
    request.ifr_data = (void *)value;
    return ioctl(socket_fd, SIOCETHTOOL, &request) == 0 ? 0 : -errno;
}

int swnet_ethtool_get_link(int socket_fd, const char *name) {
    struct ethtool_value value = { .cmd = ETHTOOL_GLINK };
    int result = ethtool_request(socket_fd, name, &value);
    return result < 0 ? result : (value.data ? 1 : 0);
}

int swnet_ethtool_get_tx_checksum(int socket_fd, const char *name) {
    struct ethtool_value value = { .cmd = ETHTOOL_GTXCSUM };
    int result = ethtool_request(socket_fd, name, &value);
    return result < 0 ? result : (value.data ? 1 : 0);
}

int swnet_ethtool_set_tx_checksum(int socket_fd, const char *name, int enabled) {
    struct ethtool_value value = { .cmd = ETHTOOL_STXCSUM, .data = enabled ? 1 : 0 };
    return ethtool_request(socket_fd, name, &value);
}
