#ifndef SWNET_BPF_H
#define SWNET_BPF_H
// Loading and attaching swnet's eBPF fast path through libbpf, and the map operations the
// Swift side needs. Every function returns 0 (or a count) on success and -errno on failure.
//
// Nothing is pinned: the programs are attached to devices with BPF_PROG_ATTACH (tcx), which
// keeps them, and the maps they use, alive in the kernel without a file or an open descriptor,
// whatever mount namespace swnet runs in (`ip netns exec` makes a new one each time). Later
// processes find them again by id; when the last device goes, the kernel frees everything.
#include <stddef.h>
#include <stdint.h>
#include "fastpath_maps.h"

// The fast path's objects, in this order: the program swnet_fastpath, then the maps
// swnet_fp_ports, swnet_fp_networks, swnet_fp_endpoints, swnet_fp_counters, swnet_fp_peers and
// swnet_fp_vxlan.
enum { SWNET_FP_PROGRAM = 0, SWNET_FP_PORTS = 1, SWNET_FP_NETWORKS = 2, SWNET_FP_ENDPOINTS = 3,
       SWNET_FP_COUNTER_MAP = 4, SWNET_FP_PEERS = 5, SWNET_FP_VXLAN = 6, SWNET_FP_OBJECTS = 7 };

// Opens the objects with these ids, checking each is what it should be (type and name): fds
// gets an O_CLOEXEC descriptor for each. -ENOENT when any is gone (or its id was reused).
int swnet_bpf_open_fastpath(const uint32_t ids[SWNET_FP_OBJECTS], int fds[SWNET_FP_OBJECTS]);

// Loads the programs and maps from the bytecode built into swnet: descriptors in fds, ids in
// ids. They live while a descriptor is open or a program is attached. `message` gets libbpf's
// reason on failure.
int swnet_bpf_load_fastpath(int fds[SWNET_FP_OBJECTS], uint32_t ids[SWNET_FP_OBJECTS], char *message, size_t message_size);

// Attaches (or detaches) the program `program_fd` to (from) the tcx ingress of `ifindex`, as
// seen from the network namespace `nsfd` (-1: the caller's own). Attaching a program that is
// there already, or detaching one that is not (or from a device that is gone), succeeds.
int swnet_bpf_attach_tcx_ingress(int nsfd, int program_fd, int ifindex);
int swnet_bpf_detach_tcx_ingress(int nsfd, int program_fd, int ifindex);

int swnet_bpf_map_update(int map_fd, const void *key, const void *value);
// Deleting a missing key is not an error.
int swnet_bpf_map_delete(int map_fd, const void *key);
int swnet_bpf_map_lookup(int map_fd, const void *key, void *value);
// Copies up to `capacity` keys of `key_size` bytes each into `keys`; returns how many.
int swnet_bpf_map_keys(int map_fd, void *keys, size_t key_size, int capacity);
// Sum over CPUs of a per-CPU u64 array element.
int swnet_bpf_percpu_sum(int map_fd, uint32_t index, uint64_t *sum);
#endif
