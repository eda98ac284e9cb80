#include "swnet_ethtool.h"
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>

int swnet_ethtool_get_link(int socket_fd, const char *name) {
    struct ethtool_value value = { .cmd = ETHTOOL_GLINK };
    struct ifreq request;
    memset(&request, 0, sizeof request);
    if (strlen(name) >= sizeof request.ifr_name) return -ENAMETOOLONG;
    strcpy(request.ifr_name, name);
    request.ifr_data = (void *)&value;
    if (ioctl(socket_fd, SIOCETHTOOL, &request) != 0) return -errno;
    return value.data ? 1 : 0;
}
