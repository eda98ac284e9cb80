#include "swnet_bpf.h"
#include "fastpath.skel.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Not in Debian 12's uapi headers (kernel 6.1); tcx arrived in 6.6.
#define SWNET_BPF_TCX_INGRESS 46

// Object names as the kernel keeps them (BPF_OBJ_NAME_LEN: 15 characters).
static const char *const object_names[SWNET_FP_OBJECTS] = {
    "swnet_fastpath", "swnet_fp_ports", "swnet_fp_networks", "swnet_fp_endpoints", "swnet_fp_counters",
    "swnet_fp_peers", "swnet_fp_vxlan",
};

static int is_program(int index) { return index == SWNET_FP_PROGRAM; }

static void close_all(int fds[SWNET_FP_OBJECTS]) {
    for (int i = 0; i < SWNET_FP_OBJECTS; i++) {
        if (fds[i] >= 0) close(fds[i]);
        fds[i] = -1;
    }
}

int swnet_bpf_open_fastpath(const uint32_t ids[SWNET_FP_OBJECTS], int fds[SWNET_FP_OBJECTS]) {
    for (int i = 0; i < SWNET_FP_OBJECTS; i++) fds[i] = -1;
    for (int i = 0; i < SWNET_FP_OBJECTS; i++) {
        fds[i] = is_program(i) ? bpf_prog_get_fd_by_id(ids[i]) : bpf_map_get_fd_by_id(ids[i]);
        if (fds[i] < 0) {
            int err = errno == ENOENT ? -ENOENT : -errno;
            close_all(fds);
            return err;
        }
        char name[16];
        __u32 length;
        int matches;
        if (is_program(i)) {
            struct bpf_prog_info info;
            memset(&info, 0, sizeof info);
            length = sizeof info;
            matches = bpf_obj_get_info_by_fd(fds[i], &info, &length) == 0 && info.type == BPF_PROG_TYPE_SCHED_CLS;
            memcpy(name, info.name, sizeof name);
        } else {
            struct bpf_map_info info;
            memset(&info, 0, sizeof info);
            length = sizeof info;
            matches = bpf_obj_get_info_by_fd(fds[i], &info, &length) == 0;
            memcpy(name, info.name, sizeof name);
        }
        name[15] = 0;
        if (!matches || strncmp(name, object_names[i], 15) != 0) {
            close_all(fds);
            return -ENOENT;
        }
    }
    return 0;
}

static _Thread_local char *libbpf_message;
static _Thread_local size_t libbpf_message_size;

// Keeps libbpf's last warning or error for the caller instead of printing it.
static int capture_libbpf_output(enum libbpf_print_level level, const char *format, va_list args) {
    if (level == LIBBPF_DEBUG || !libbpf_message || libbpf_message_size == 0) return 0;
    int written = vsnprintf(libbpf_message, libbpf_message_size, format, args);
    if (written > 0) {
        size_t last = strnlen(libbpf_message, libbpf_message_size);
        while (last > 0 && libbpf_message[last - 1] == '\n') libbpf_message[--last] = 0;
    }
    return 0;
}

int swnet_bpf_load_fastpath(int fds[SWNET_FP_OBJECTS], uint32_t ids[SWNET_FP_OBJECTS], char *message, size_t message_size) {
    for (int i = 0; i < SWNET_FP_OBJECTS; i++) fds[i] = -1;
    if (message_size) message[0] = 0;
    libbpf_message = message;
    libbpf_message_size = message_size;
    libbpf_print_fn_t previous = libbpf_set_print(capture_libbpf_output);
    LIBBPF_OPTS(bpf_object_open_opts, options, .object_name = "swnet_fastpath");
    struct bpf_object *object = bpf_object__open_mem(swnet_fastpath_object, sizeof swnet_fastpath_object, &options);
    int err = object ? 0 : -errno;
    if (!err) err = bpf_object__load(object);
    for (int i = 0; !err && i < SWNET_FP_OBJECTS; i++) {
        int fd = -1;
        if (is_program(i)) {
            struct bpf_program *program = bpf_object__find_program_by_name(object, object_names[i]);
            if (program) fd = bpf_program__fd(program);
        } else {
            struct bpf_map *map = bpf_object__find_map_by_name(object, object_names[i]);
            if (map) fd = bpf_map__fd(map);
        }
        if (fd < 0) { err = -ENOENT; break; }
        // Our own descriptor: closing the object closes its.
        fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (fds[i] < 0) { err = -errno; break; }
        struct bpf_prog_info program_info;
        struct bpf_map_info map_info;
        memset(&program_info, 0, sizeof program_info);
        memset(&map_info, 0, sizeof map_info);
        __u32 length = is_program(i) ? sizeof program_info : sizeof map_info;
        if (bpf_obj_get_info_by_fd(fds[i], is_program(i) ? (void *)&program_info : (void *)&map_info, &length) != 0) { err = -errno; break; }
        ids[i] = is_program(i) ? program_info.id : map_info.id;
    }
    if (object) bpf_object__close(object);
    libbpf_set_print(previous);
    libbpf_message = NULL;
    if (err) close_all(fds);
    return err < 0 ? err : 0;
}

struct tcx_job {
    int nsfd, program_fd, ifindex, attach;
    int result;
};

// Runs on its own thread when it must enter a namespace: ifindexes are per namespace, and the
// switch dies with the thread.
static void *tcx_job_run(void *arg) {
    struct tcx_job *job = arg;
    if (job->nsfd >= 0 && setns(job->nsfd, CLONE_NEWNET) != 0) { job->result = -errno; return NULL; }
    if (job->attach) {
        job->result = bpf_prog_attach(job->program_fd, job->ifindex, SWNET_BPF_TCX_INGRESS, 0) == 0 || errno == EEXIST ? 0 : -errno;
    } else {
        int failed = bpf_prog_detach2(job->program_fd, job->ifindex, SWNET_BPF_TCX_INGRESS) != 0;
        job->result = !failed || errno == ENOENT || errno == ENODEV ? 0 : -errno;
    }
    return NULL;
}

static int tcx_job_execute(struct tcx_job *job) {
    if (job->nsfd < 0) { tcx_job_run(job); return job->result; }
    pthread_t thread;
    int err = pthread_create(&thread, NULL, tcx_job_run, job);
    if (err != 0) return -err;
    pthread_join(thread, NULL);
    return job->result;
}

int swnet_bpf_attach_tcx_ingress(int nsfd, int program_fd, int ifindex) {
    struct tcx_job job = { nsfd, program_fd, ifindex, 1, -EINVAL };
    return tcx_job_execute(&job);
}

int swnet_bpf_detach_tcx_ingress(int nsfd, int program_fd, int ifindex) {
    struct tcx_job job = { nsfd, program_fd, ifindex, 0, -EINVAL };
    return tcx_job_execute(&job);
}

int swnet_bpf_map_update(int map_fd, const void *key, const void *value) {
    return bpf_map_update_elem(map_fd, key, value, BPF_ANY) ? -errno : 0;
}

int swnet_bpf_map_delete(int map_fd, const void *key) {
    return bpf_map_delete_elem(map_fd, key) && errno != ENOENT ? -errno : 0;
}

int swnet_bpf_map_lookup(int map_fd, const void *key, void *value) {
    return bpf_map_lookup_elem(map_fd, key, value) ? -errno : 0;
}

int swnet_bpf_map_keys(int map_fd, void *keys, size_t key_size, int capacity) {
    int count = 0;
    char *out = keys;
    const void *previous = NULL;
    while (count < capacity && bpf_map_get_next_key(map_fd, previous, out + (size_t)count * key_size) == 0) {
        previous = out + (size_t)count * key_size;
        count++;
    }
    return count;
}

int swnet_bpf_percpu_sum(int map_fd, uint32_t index, uint64_t *sum) {
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return cpus ? cpus : -EINVAL;
    uint64_t *values = calloc((size_t)cpus, sizeof *values);
    if (!values) return -ENOMEM;
    int err = swnet_bpf_map_lookup(map_fd, &index, values);
    *sum = 0;
    for (int cpu = 0; !err && cpu < cpus; cpu++) *sum += values[cpu];
    free(values);
    return err;
}
