#include "swnet_bpf.h"
#include "fastpath.skel.h"
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

// Not in Debian 12's uapi headers (kernel 6.1); tcx arrived in 6.6.
#define SWNET_BPF_TCX_INGRESS 46

int swnet_bpf_ensure_fs(const char *dir) {
    struct statfs fs;
    if (statfs(dir, &fs) == 0 && fs.f_type == BPF_FS_MAGIC) return 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -errno;
    if (mount("swnet-bpf", dir, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") != 0) return -errno;
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

int swnet_bpf_load_fastpath(const char *dir, char *message, size_t message_size) {
    char program_path[4096];
    if (snprintf(program_path, sizeof program_path, "%s/from_container", dir) >= (int)sizeof program_path) return -ENAMETOOLONG;
    if (access(program_path, F_OK) == 0) return 0;

    if (message_size) message[0] = 0;
    libbpf_message = message;
    libbpf_message_size = message_size;
    libbpf_print_fn_t previous = libbpf_set_print(capture_libbpf_output);
    LIBBPF_OPTS(bpf_object_open_opts, options, .object_name = "swnet_fastpath", .pin_root_path = dir);
    struct bpf_object *object = bpf_object__open_mem(swnet_fastpath_object, sizeof swnet_fastpath_object, &options);
    int err = object ? 0 : -errno;
    if (!err) err = bpf_object__load(object);
    struct bpf_program *program;
    // from_container last: its pin says everything is loaded.
    if (!err) bpf_object__for_each_program(program, object) {
        if (strcmp(bpf_program__name(program), "from_container") == 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, bpf_program__name(program));
        if ((err = bpf_program__pin(program, path)) != 0) break;
    }
    if (!err) {
        program = bpf_object__find_program_by_name(object, "from_container");
        err = program ? bpf_program__pin(program, program_path) : -ENOENT;
    }
    if (object) bpf_object__close(object);
    libbpf_set_print(previous);
    libbpf_message = NULL;
    return err < 0 ? err : 0;
}

struct tcx_job {
    int nsfd, ifindex;
    const char *program_path, *link_path;
    int result;
};

// Runs on its own thread when it must enter a namespace: ifindexes are per namespace, and the
// switch dies with the thread.
static void *tcx_job_run(void *arg) {
    struct tcx_job *job = arg;
    if (job->nsfd >= 0 && setns(job->nsfd, CLONE_NEWNET) != 0) { job->result = -errno; return NULL; }
    int program = bpf_obj_get(job->program_path);
    if (program < 0) { job->result = -errno; return NULL; }
    int link = bpf_link_create(program, job->ifindex, SWNET_BPF_TCX_INGRESS, NULL);
    job->result = link < 0 ? -errno : 0;
    if (link >= 0) {
        unlink(job->link_path);
        if (bpf_obj_pin(link, job->link_path) != 0) job->result = -errno;
        close(link);
    }
    close(program);
    return NULL;
}

int swnet_bpf_attach_tcx_ingress(int nsfd, const char *program_path, int ifindex, const char *link_path) {
    struct tcx_job job = { nsfd, ifindex, program_path, link_path, -EINVAL };
    if (nsfd < 0) { tcx_job_run(&job); return job.result; }
    pthread_t thread;
    int err = pthread_create(&thread, NULL, tcx_job_run, &job);
    if (err != 0) return -err;
    pthread_join(thread, NULL);
    return job.result;
}

int swnet_bpf_detach_link(const char *link_path) {
    int link = bpf_obj_get(link_path);
    if (link < 0) return errno == ENOENT ? 0 : -errno;
    // A link whose device is gone is detached already (ENOLINK): only the pin is left.
    int err = bpf_link_detach(link) && errno != ENOLINK ? -errno : 0;
    close(link);
    if (!err && unlink(link_path) != 0 && errno != ENOENT) err = -errno;
    return err;
}

static int map_fd(const char *map_path) {
    int fd = bpf_obj_get(map_path);
    return fd < 0 ? -errno : fd;
}

int swnet_bpf_map_update(const char *map_path, const void *key, const void *value) {
    int fd = map_fd(map_path);
    if (fd < 0) return fd;
    int err = bpf_map_update_elem(fd, key, value, BPF_ANY) ? -errno : 0;
    close(fd);
    return err;
}

int swnet_bpf_map_delete(const char *map_path, const void *key) {
    int fd = map_fd(map_path);
    if (fd < 0) return fd;
    int err = bpf_map_delete_elem(fd, key) && errno != ENOENT ? -errno : 0;
    close(fd);
    return err;
}

int swnet_bpf_map_lookup(const char *map_path, const void *key, void *value) {
    int fd = map_fd(map_path);
    if (fd < 0) return fd;
    int err = bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
    close(fd);
    return err;
}

int swnet_bpf_map_keys(const char *map_path, void *keys, size_t key_size, int capacity) {
    int fd = map_fd(map_path);
    if (fd < 0) return fd;
    int count = 0;
    char *out = keys;
    const void *previous = NULL;
    while (count < capacity && bpf_map_get_next_key(fd, previous, out + (size_t)count * key_size) == 0) {
        previous = out + (size_t)count * key_size;
        count++;
    }
    close(fd);
    return count;
}

int swnet_bpf_percpu_sum(const char *map_path, uint32_t index, uint64_t *sum) {
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return cpus ? cpus : -EINVAL;
    uint64_t *values = calloc((size_t)cpus, sizeof *values);
    if (!values) return -ENOMEM;
    int err = swnet_bpf_map_lookup(map_path, &index, values);
    *sum = 0;
    for (int cpu = 0; !err && cpu < cpus; cpu++) *sum += values[cpu];
    free(values);
    return err;
}
