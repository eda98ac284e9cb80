#ifndef SWNET_NETNS_H
#define SWNET_NETNS_H
#include <sys/types.h>

// Opens a socket inside the network namespace `nsfd` refers to. The switch happens on a
// private thread that exits right after, so no thread of the caller ever changes namespace.
// Returns the socket or -errno.
int swnet_socket_in_netns(int nsfd, int domain, int type, int protocol);

// Creates a new, empty network namespace and returns an O_CLOEXEC fd that keeps it alive,
// or -errno. The calling thread's namespace is untouched.
int swnet_new_netns(void);

// Writes `value` to the sysctl file `path` (under /proc/sys/net) as seen from the network
// namespace `nsfd` (-1: the caller's own), on a private thread. Returns 0 or -errno.
int swnet_write_sysctl_in_netns(int nsfd, const char *path, const char *value);

// Network namespace of the calling process, as an O_CLOEXEC fd, or -errno.
int swnet_open_current_netns(void);

#endif
