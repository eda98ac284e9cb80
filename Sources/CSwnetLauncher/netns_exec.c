#include "swnet_netns_exec.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int swnet_pidfd_open(pid_t pid) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd >= 0 ? fd : -errno;
}

static int exit_status(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int wait_for(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -errno;
    }
    return exit_status(status);
}

// In a forked child: enter the namespace and exec; on failure report errno on `report` and exit.
static void enter_and_exec(int nsfd, char *const *argv, char *const *envp, int report) {
    int error = 0;
    if (setns(nsfd, CLONE_NEWNET) != 0) error = errno;
    else { execve(argv[0], argv, envp); error = errno; }
    if (report >= 0) (void)!write(report, &error, sizeof error);
    _exit(127);
}

int swnet_run_in_netns(int nsfd, char *const *argv, char *const *envp) {
    if (!argv || !argv[0]) return -EINVAL;
    int channel[2];
    if (pipe2(channel, O_CLOEXEC) != 0) return -errno;
    pid_t pid = fork();
    if (pid < 0) { int error = errno; close(channel[0]); close(channel[1]); return -error; }
    if (pid == 0) { close(channel[0]); enter_and_exec(nsfd, argv, envp, channel[1]); }
    close(channel[1]);
    int error = 0;
    ssize_t got;
    do { got = read(channel[0], &error, sizeof error); } while (got < 0 && errno == EINTR);
    close(channel[0]);
    int status = wait_for(pid);
    if (got == (ssize_t)sizeof error && error != 0) return -error;
    return status;
}

// The supervisor's descriptors, moved to fixed numbers so everything above can be closed.
enum { FD_PIDFD = 3, FD_NETNS = 4, FD_REPORT = 5, FD_FIRST_FREE = 6 };

static void supervise(const char *watch_dir, const char *watch_name, int has_pidfd,
                      char *const *argv, char *const *envp) {
    setsid();
    (void)!chdir("/");
    prctl(PR_SET_NAME, "swnet-dhcp-sup");
    int watch = -1;
    if (watch_dir && watch_name) {
        watch = inotify_init1(IN_CLOEXEC);
        if (watch >= 0) inotify_add_watch(watch, watch_dir, IN_DELETE | IN_MOVED_FROM);
    }
    pid_t self = getpid();
    pid_t command = fork();
    if (command < 0) _exit(1);
    if (command == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != self) _exit(1);
        enter_and_exec(FD_NETNS, argv, envp, -1);
    }
    close(FD_NETNS);
    (void)!write(FD_REPORT, &self, sizeof self);
    close(FD_REPORT);
    int command_fd = swnet_pidfd_open(command);

    // The name may have gone before the watch was set.
    int gone = 0;
    if (watch >= 0) {
        int dir = open(watch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        gone = dir < 0 || faccessat(dir, watch_name, F_OK, AT_SYMLINK_NOFOLLOW) != 0;
        if (dir >= 0) close(dir);
    }
    while (!gone) {
        struct pollfd fds[3] = {
            { has_pidfd ? FD_PIDFD : -1, POLLIN, 0 },
            { watch, POLLIN, 0 },
            { command_fd, POLLIN, 0 },
        };
        int ready = poll(fds, 3, command_fd >= 0 ? -1 : 1000);
        if (ready < 0 && errno != EINTR) break;
        int status = 0;
        if (waitpid(command, &status, WNOHANG) == command) _exit(exit_status(status));
        gone = ready > 0 && (fds[0].revents & (POLLIN | POLLHUP));
        if (ready > 0 && (fds[1].revents & POLLIN)) {
            char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
            ssize_t length = read(watch, events, sizeof events);
            for (char *at = events; length > 0 && at < events + length;) {
                struct inotify_event *event = (struct inotify_event *)at;
                if (event->len && strcmp(event->name, watch_name) == 0) gone = 1;
                at += sizeof *event + event->len;
            }
        }
    }
    kill(command, SIGTERM);
    wait_for(command);
    _exit(0);
}

pid_t swnet_spawn_supervised_in_netns(int nsfd, int watch_pidfd, const char *watch_dir, const char *watch_name,
                                      char *const *argv, char *const *envp, int log_fd) {
    if (!argv || !argv[0]) return -EINVAL;
    int channel[2];
    if (pipe2(channel, O_CLOEXEC) != 0) return -errno;
    // An intermediate child exits at once, so the supervisor is nobody's zombie-to-be.
    pid_t middle = fork();
    if (middle < 0) { int error = errno; close(channel[0]); close(channel[1]); return -error; }
    if (middle == 0) {
        close(channel[0]);
        int null = open("/dev/null", O_RDWR);
        // Move what the supervisor keeps to fixed numbers (dup2 clears close-on-exec), the rest goes.
        int keep[] = { log_fd, watch_pidfd, nsfd, channel[1], null };
        int moved[5];
        for (int i = 0; i < 5; i++) moved[i] = keep[i] >= 0 ? fcntl(keep[i], F_DUPFD_CLOEXEC, 100) : -1;
        if (moved[0] < 0 || moved[2] < 0 || moved[3] < 0 || moved[4] < 0) _exit(1);
        dup2(moved[4], 0);
        dup2(moved[0], 1);
        dup2(moved[0], 2);
        if (moved[1] >= 0) dup3(moved[1], FD_PIDFD, O_CLOEXEC); else close(FD_PIDFD);
        dup3(moved[2], FD_NETNS, O_CLOEXEC);
        dup3(moved[3], FD_REPORT, O_CLOEXEC);
        syscall(SYS_close_range, FD_FIRST_FREE, ~0U, 0);
        pid_t supervisor = fork();
        if (supervisor < 0) _exit(1);
        if (supervisor == 0) supervise(watch_dir, watch_name, moved[1] >= 0, argv, envp);
        _exit(0);
    }
    close(channel[1]);
    wait_for(middle);
    pid_t supervisor = -ECHILD;
    ssize_t got;
    do { got = read(channel[0], &supervisor, sizeof supervisor); } while (got < 0 && errno == EINTR);
    close(channel[0]);
    return got == (ssize_t)sizeof supervisor ? supervisor : -ECHILD;
}
