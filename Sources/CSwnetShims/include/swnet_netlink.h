#ifndef SWNET_NETLINK_H
#define SWNET_NETLINK_H
// Netlink helpers (macros and inline functions of libmnl / linux headers) — owned by the Netlink module.
#include <stddef.h>
#include <stdint.h>

// Where one attribute's payload lies, as a byte offset into the buffer given to
// swnet_attr_index and a length; present is 0 when the message has no such attribute.
struct swnet_attr_slot {
    uint32_t offset;
    uint32_t length;
    uint8_t present;
};

// Indexes the attributes in buffer[start, start + length) by type with libmnl's
// mnl_attr_parse_payload: slots[type] for every type < count (later duplicates win,
// unknown types are skipped). Returns 0, or -1 when an attribute is malformed.
int swnet_attr_index(const void *buffer, size_t start, size_t length,
                     struct swnet_attr_slot *slots, unsigned int count);

// Whether fd is a network namespace (ioctl NS_GET_NSTYPE): 1 if it is, 0 if it is another
// kind of namespace, -errno otherwise (-ENOTTY when it is not a namespace file at all).
int swnet_is_net_namespace(int fd);

#endif
