#include "swnet_netlink.h"
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>

struct attr_index_job {
    const uint8_t *base;
    struct swnet_attr_slot *slots;
    unsigned int count;
};

static int attr_index_record(const struct nlattr *attr, void *data) {
    struct attr_index_job *job = data;
    uint16_t type = mnl_attr_get_type(attr);
    // Attributes newer than what we know are skipped, not an error: kernels grow.
    if (type >= job->count) return MNL_CB_OK;
    const uint8_t *payload = mnl_attr_get_payload(attr);
    job->slots[type].offset = (uint32_t)(payload - job->base);
    job->slots[type].length = mnl_attr_get_payload_len(attr);
    job->slots[type].present = 1;
    return MNL_CB_OK;
}

int swnet_attr_index(const void *buffer, size_t start, size_t length,
                     struct swnet_attr_slot *slots, unsigned int count) {
    struct attr_index_job job = { buffer, slots, count };
    int ret = mnl_attr_parse_payload((const uint8_t *)buffer + start, length, attr_index_record, &job);
    return ret == MNL_CB_ERROR ? -1 : 0;
}

int swnet_is_net_namespace(int fd) {
    int type = ioctl(fd, NS_GET_NSTYPE);
    if (type < 0) return -errno;
    return type == CLONE_NEWNET;
}
