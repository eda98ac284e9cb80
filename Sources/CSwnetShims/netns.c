#include "swnet_netns.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct netns_job {
    int nsfd;                 // namespace to enter, or -1 to create one
    int domain, type, protocol;
    int result;               // fd or -errno
};

// Runs on its own thread: the namespace switch dies with the thread.
static void *netns_job_run(void *arg) {
    struct netns_job *job = arg;
    if (job->nsfd >= 0) {
        if (setns(job->nsfd, CLONE_NEWNET) != 0) { job->result = -errno; return NULL; }
        int fd = socket(job->domain, job->type | SOCK_CLOEXEC, job->protocol);
        job->result = fd >= 0 ? fd : -errno;
    } else {
        if (unshare(CLONE_NEWNET) != 0) { job->result = -errno; return NULL; }
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        job->result = fd >= 0 ? fd : -errno;
    }
    return NULL;
}

static int netns_job_execute(struct netns_job *job) {
    pthread_t thread;
    int err = pthread_create(&thread, NULL, netns_job_run, job);
    if (err != 0) return -err;
    pthread_join(thread, NULL);
    return job->result;
}

int swnet_socket_in_netns(int nsfd, int domain, int type, int protocol) {
    if (nsfd < 0) return -EBADF;
    struct netns_job job = { nsfd, domain, type, protocol, -EINVAL };
    return netns_job_execute(&job);
}

int swnet_new_netns(void) {
    struct netns_job job = { -1, 0, 0, 0, -EINVAL };
    return netns_job_execute(&job);
}

int swnet_open_current_netns(void) {
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

struct sysctl_job {
    int nsfd;
    const char *path, *value;
    int result;
};

// /proc/sys/net shows the namespace of the task that opens it: open it from a thread inside.
static void *sysctl_job_run(void *arg) {
    struct sysctl_job *job = arg;
    if (job->nsfd >= 0 && setns(job->nsfd, CLONE_NEWNET) != 0) { job->result = -errno; return NULL; }
    int fd = open(job->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) { job->result = -errno; return NULL; }
    size_t length = strlen(job->value);
    job->result = write(fd, job->value, length) == (ssize_t)length ? 0 : -errno;
    close(fd);
    return NULL;
}

int swnet_write_sysctl_in_netns(int nsfd, const char *path, const char *value) {
    struct sysctl_job job = { nsfd, path, value, -EINVAL };
    pthread_t thread;
    int err = pthread_create(&thread, NULL, sysctl_job_run, &job);
    if (err != 0) return -err;
    pthread_join(thread, NULL);
    return job.result;
}
