#ifndef SWNET_BPF_H
#define SWNET_BPF_H
// Loading and attaching swnet's eBPF fast path through libbpf, and the map operations the
// Swift side needs. Every function returns 0 (or a count) on success and -errno on failure.
#include <stddef.h>
#include <stdint.h>
#include "fastpath_maps.h"

// Mounts a bpf filesystem on `dir` unless one is there already (creating the directory).
int swnet_bpf_ensure_fs(const char *dir);

// Loads the fast path programs and maps from the bytecode built into swnet and pins them in
// `dir` (maps and programs by name); does nothing when they are pinned.
// `message` gets libbpf's reason on failure.
int swnet_bpf_load_fastpath(const char *dir, char *message, size_t message_size);

// Attaches the pinned program `program_path` to the tcx ingress of `ifindex`, as seen from the
// network namespace `nsfd` (-1: the caller's own), and pins the link at `link_path`: the link
// lives until that file is removed or the device goes away.
int swnet_bpf_attach_tcx_ingress(int nsfd, const char *program_path, int ifindex, const char *link_path);

// Detaches the pinned link at `link_path` at once and removes the pin (a missing pin is not an
// error). Only unpinning would detach it later, from a kernel work queue.
int swnet_bpf_detach_link(const char *link_path);

int swnet_bpf_map_update(const char *map_path, const void *key, const void *value);
// Deleting a missing key is not an error.
int swnet_bpf_map_delete(const char *map_path, const void *key);
int swnet_bpf_map_lookup(const char *map_path, const void *key, void *value);
// Copies up to `capacity` keys of `key_size` bytes each into `keys`; returns how many.
int swnet_bpf_map_keys(const char *map_path, void *keys, size_t key_size, int capacity);
// Sum over CPUs of a per-CPU u64 array element.
int swnet_bpf_percpu_sum(const char *map_path, uint32_t index, uint64_t *sum);
#endif
