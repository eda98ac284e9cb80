#include "swnet_launcher.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Every child here is a raw clone of a multithreaded (Swift) process: locks of threads that
// don't exist in the child may look taken forever. So children run only code prepared before
// the clone, mostly thin system calls; no malloc, no stdio, no glibc fork().

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
#define FORWARDED_SIGNAL_COUNT (sizeof forwarded_signals / sizeof forwarded_signals[0])

// A child's report of the step that failed, sent as one write so the reader gets all or none.
struct launch_failure {
    int error;
    int status;      // what the command line reports: 125 swnet's own step, 126/127 the exec
    char step[512];
};

// How to start a command, all of it prepared before the clone.
struct command_plan {
    char *const *argv;
    char *const *envp;
    const char *workdir;
    uint64_t kept;             // capabilities to keep, as a mask, for the bounding set
    cap_t capabilities;        // the same set as libcap state: permitted, effective, inheritable
    int last_capability;
    int stdio[3];              // descriptor for 0, 1, 2; negative keeps the inherited one
};

// ---- Pieces that run in children ----

static void step_append(struct launch_failure *failure, const char *text) {
    size_t used = strlen(failure->step);
    size_t length = strnlen(text, sizeof failure->step - 1 - used);
    memcpy(failure->step + used, text, length);
    failure->step[used + length] = '\0';
}

// Reports the failed step (errno holds the cause) and ends the child with `status`.
static _Noreturn void fail_with_status(int channel, int status, const char *step, const char *subject) {
    struct launch_failure failure = { .error = errno, .status = status };
    step_append(&failure, step);
    if (subject) step_append(&failure, subject);
    ssize_t written = write(channel, &failure, sizeof failure);
    (void)written;  // nobody left to tell
    _exit(status);
}

// A step of swnet's own set-up failed: 125, as docker and podman say of their own failures.
static _Noreturn void fail_step(int channel, const char *step, const char *subject) {
    fail_with_status(channel, SWNET_STATUS_LAUNCH_FAILED, step, subject);
}

// fork() without glibc's atfork handlers and lock taking (see the top of this file).
static pid_t raw_clone(unsigned long namespaces) {
    return (pid_t)syscall(SYS_clone, namespaces | SIGCHLD, NULL, NULL, NULL, NULL);
}

// The caller's signal handlers must never run in a child, and exec keeps ignored signals
// ignored (a Swift process often ignores SIGPIPE). SIGKILL and SIGSTOP just fail.
static void reset_signal_dispositions(void) {
    struct sigaction action = { .sa_handler = SIG_DFL };
    for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &action, NULL);
}

static sigset_t supervised_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < FORWARDED_SIGNAL_COUNT; i++) sigaddset(&set, forwarded_signals[i]);
    return set;
}

static int exit_code(int status) {
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

// Relays forwarded signals to `command` and reaps every child (a PID 1 inherits orphans)
// until `command` itself ends; returns its exit code. The signals must already be blocked:
// taken with sigwaitinfo they reach a PID 1 even though it has no handlers.
static int supervise(pid_t command) {
    sigset_t waited = supervised_signals();
    for (;;) {
        int sig = sigwaitinfo(&waited, NULL);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            kill(command, sig);
            continue;
        }
        int status;
        pid_t reaped;
        while ((reaped = waitpid(-1, &status, WNOHANG)) > 0)
            if (reaped == command) return exit_code(status);
    }
}

// Closes every descriptor but `kept` (sorted here in place). A clone holds copies of all
// that the caller's other threads had open, other containers' release handles among them.
static void close_all_except(int *kept, int count) {
    for (int i = 1; i < count; i++)
        for (int j = i; j > 0 && kept[j - 1] > kept[j]; j--) {
            int swapped = kept[j];
            kept[j] = kept[j - 1];
            kept[j - 1] = swapped;
        }
    unsigned int next = 0;
    for (int i = 0; i < count; i++) {
        if (kept[i] < 0 || (unsigned int)kept[i] < next) continue;
        if ((unsigned int)kept[i] > next) close_range(next, (unsigned int)kept[i] - 1, 0);
        next = (unsigned int)kept[i] + 1;
    }
    close_range(next, ~0U, 0);
}

// Puts the chosen descriptors on 0, 1 and 2. Each is first lifted above 2 (close-on-exec) so
// one target can't clobber another's source, as with stdin_fd = 1 and stdout_fd = 0.
static int install_stdio(const int stdio[3]) {
    int lifted[3];
    for (int i = 0; i < 3; i++) {
        lifted[i] = stdio[i] < 0 ? -1 : fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
        if (stdio[i] >= 0 && lifted[i] < 0) return -1;
    }
    for (int i = 0; i < 3; i++)
        if (lifted[i] >= 0 && dup2(lifted[i], i) < 0) return -1;
    return 0;
}

static int keeps_capability(uint64_t kept, int cap) {
    return cap < 64 && (kept >> cap & 1);
}

// Becomes the command: stdio, capabilities, no_new_privs, workdir, exec. The channel closes on
// exec, which is how the parent learns that the exec succeeded.
static _Noreturn void exec_command(const struct command_plan *plan, int channel) {
    if (install_stdio(plan->stdio) != 0) fail_step(channel, "set up stdio", NULL);
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail_step(channel, "close inherited files", NULL);
    // Dropping from the bounding set needs CAP_SETPCAP, so it comes before cap_set_proc. For a
    // root command the bounding set is what exec grants, whatever the permitted set says.
    for (int cap = 0; cap <= plan->last_capability; cap++)
        if (!keeps_capability(plan->kept, cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            fail_step(channel, "drop capabilities from the bounding set", NULL);
    // The libcap state was built before the clone; cap_set_proc only issues capset with it.
    if (cap_set_proc(plan->capabilities) != 0) fail_step(channel, "set capabilities", NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail_step(channel, "set no_new_privs", NULL);
    const char *workdir = plan->workdir ? plan->workdir : "/";
    if (chdir(workdir) != 0) fail_step(channel, "chdir ", workdir);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    // execvpe searches the PATH of environ, not of envp: make them one.
    environ = (char **)plan->envp;
    execvpe(plan->argv[0], plan->argv, plan->envp);
    // As shells say it: 127 when there is no such command, 126 when it can't be run.
    int status = errno == ENOENT || errno == ENOTDIR ? SWNET_STATUS_NOT_FOUND : SWNET_STATUS_NOT_EXECUTABLE;
    fail_with_status(channel, status, "exec ", plan->argv[0]);
}

// After the parent wrote the id maps: until now this process kept the host's root ids, which
// the new namespace doesn't map, and the host's supplementary groups. Raw system calls: glibc's
// wrappers change the ids of every thread it knows of and wait for them, and after a clone of a
// multithreaded process those threads exist only in glibc's copied bookkeeping (a deadlock).
static void become_namespace_root(int channel) {
    if (syscall(SYS_setgroups, 0, NULL) != 0 || syscall(SYS_setresgid, 0, 0, 0) != 0
        || syscall(SYS_setresuid, 0, 0, 0) != 0)
        fail_step(channel, "become root of the user namespace", NULL);
}

// ---- The container's init ----

// Everything the init needs, ready before the clone.
struct init_plan {
    const struct swnet_container_spec *spec;
    struct command_plan command;
    int channel;   // the init's end of the release socket; failures go back through it
};

// Host devices every container gets, bound onto files of its tmpfs /dev (binding works in a
// user namespace, mknod doesn't). Each path minus its leading '/' is the place in the rootfs.
static const char *const container_devices[] = {
    "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
};
static const char *const container_dev_links[][2] = {
    { "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
    { "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
};

// Mounts a fresh filesystem on a directory of the rootfs, creating the directory if missing.
static void mount_fresh(int channel, const char *type, const char *target, unsigned long flags,
                        const char *options, const char *step) {
    if (mkdir(target, 0755) != 0 && errno != EEXIST) fail_step(channel, "create /", target);
    if (mount(type, target, type, flags, options) != 0) fail_step(channel, step, NULL);
}

// Relative to the rootfs, which is the working directory.
static void populate_dev(int channel) {
    mount_fresh(channel, "tmpfs", "dev", MS_NOSUID, "mode=755,size=65536k", "mount tmpfs on /dev");
    for (size_t i = 0; i < sizeof container_devices / sizeof container_devices[0]; i++) {
        const char *device = container_devices[i];
        int fd = open(device + 1, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) fail_step(channel, "create ", device);
        close(fd);
        if (mount(device, device + 1, NULL, MS_BIND, NULL) != 0) fail_step(channel, "bind-mount ", device);
    }
    for (size_t i = 0; i < sizeof container_dev_links / sizeof container_dev_links[0]; i++)
        if (symlink(container_dev_links[i][0], container_dev_links[i][1]) != 0)
            fail_step(channel, "create /", container_dev_links[i][1]);
    mount_fresh(channel, "tmpfs", "dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
                "mount tmpfs on /dev/shm");
}

static void enter_rootfs(int channel, const char *rootfs) {
    // pivot_root needs the new root to be a mount point.
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) != 0) fail_step(channel, "bind-mount ", rootfs);
    if (chdir(rootfs) != 0) fail_step(channel, "chdir ", rootfs);
    populate_dev(channel);
    mount_fresh(channel, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mount proc on /proc");
    mount_fresh(channel, "sysfs", "sys", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mount sysfs on /sys");
    // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the rootfs.
    if (syscall(SYS_pivot_root, ".", ".") != 0) fail_step(channel, "pivot_root into ", rootfs);
    if (umount2(".", MNT_DETACH) != 0) fail_step(channel, "detach the host's root", NULL);
    if (chdir("/") != 0) fail_step(channel, "chdir /", NULL);
}

static void bring_up_loopback(int channel) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strcpy(request.ifr_name, "lo");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &request) != 0) fail_step(channel, "bring up lo", NULL);
    request.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &request) != 0) fail_step(channel, "bring up lo", NULL);
    close(fd);
}

// 1 once the caller released the container, 0 if it closed the handle instead.
static int await_release(int channel) {
    char byte;
    ssize_t count;
    do count = read(channel, &byte, 1); while (count < 0 && errno == EINTR);
    return count == 1;
}

static _Noreturn void run_init(const struct init_plan *plan) {
    const struct swnet_container_spec *spec = plan->spec;
    int channel = plan->channel;
    reset_signal_dispositions();
    sigset_t supervised = supervised_signals();
    sigprocmask(SIG_SETMASK, &supervised, NULL);
    int kept[4] = { channel };
    for (int i = 0; i < 3; i++) kept[i + 1] = plan->command.stdio[i] < 0 ? i : plan->command.stdio[i];
    close_all_except(kept, 4);
    // A session of its own: a terminal's signals reach only the caller, which forwards them,
    // and a terminal that closes doesn't hang up the container.
    setsid();
    prctl(PR_SET_NAME, "swnet-init", 0, 0, 0);
    // Before the gate: a caller that dies from here on takes the container with it, and one
    // that died before closed the gate.
    if (spec->die_with_caller) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (!await_release(channel)) _exit(1);

    if (spec->user_namespace) become_namespace_root(channel);
    // Private first, so that no mount made here shows up on the host.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail_step(channel, "make / private", NULL);
    if (spec->rootfs) {
        enter_rootfs(channel, spec->rootfs);
    } else if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        fail_step(channel, "mount proc on /proc", NULL);
    }
    if (sethostname(spec->hostname, strlen(spec->hostname)) != 0) fail_step(channel, "set hostname ", spec->hostname);
    bring_up_loopback(channel);

    pid_t command = raw_clone(0);
    if (command < 0) fail_step(channel, "fork the command", NULL);
    if (command == 0) exec_command(&plan->command, channel);
    // The init needs no file from here on; holding the caller's (its stdio, its locks) would
    // keep them open as long as the container runs.
    close_range(0, ~0U, 0);
    _exit(supervise(command));
}

// ---- Pieces that run in the caller ----

// The kept set within the caller's bounding set: a capability outside it can't be had, and
// asking for it would only make cap_set_proc fail.
static int prepare_command(struct command_plan *plan, char *const *argv, char *const *envp,
                           const char *workdir, uint64_t capabilities, const int stdio[3]) {
    plan->argv = argv;
    plan->envp = envp;
    plan->workdir = workdir;
    memcpy(plan->stdio, stdio, sizeof plan->stdio);
    plan->last_capability = cap_max_bits() - 1;
    plan->kept = 0;
    cap_value_t values[64];
    int count = 0;
    for (int cap = 0; cap <= plan->last_capability && cap < 64; cap++)
        if (keeps_capability(capabilities, cap) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) {
            plan->kept |= 1ULL << cap;
            values[count++] = cap;
        }
    plan->capabilities = cap_init();
    if (!plan->capabilities) return -errno;
    const cap_flag_t flags[] = { CAP_PERMITTED, CAP_EFFECTIVE, CAP_INHERITABLE };
    for (size_t i = 0; count > 0 && i < 3; i++)
        if (cap_set_flag(plan->capabilities, flags[i], count, values, CAP_SET) != 0) {
            int error = errno;
            cap_free(plan->capabilities);
            return -error;
        }
    return 0;
}

// Clones with all signals blocked, so no handler of the caller's runs in the child before it
// resets them. In the parent, `started` (if given) gets the pid while signals are still held.
static pid_t clone_blocking_signals(unsigned long namespaces, volatile sig_atomic_t *started) {
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = raw_clone(namespaces);
    if (pid == 0) return 0;
    int error = errno;
    if (pid > 0 && started) *started = pid;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    errno = error;
    return pid;
}

static void describe(char *error, size_t error_size, const char *step, int errnum) {
    if (error_size) snprintf(error, error_size, "%s: %s", step, strerror(errnum));
}

// Reads a child's failure report: 0 at end of file (every copy of the other end closed, the
// last one by a successful exec), or -errno with the description and *status (125-127).
static int read_failure(int channel, char *error, size_t error_size, int *status) {
    *status = SWNET_STATUS_LAUNCH_FAILED;
    struct launch_failure failure;
    size_t received = 0;
    while (received < sizeof failure) {
        ssize_t count = read(channel, (char *)&failure + received, sizeof failure - received);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) {
            int result = -errno;
            describe(error, error_size, "read the container's report", -result);
            return result;
        }
        if (count == 0) break;
        received += (size_t)count;
    }
    if (received == 0) return 0;
    if (received < sizeof failure || failure.error <= 0) {
        describe(error, error_size, "read the container's report", EPROTO);
        return -EPROTO;
    }
    failure.step[sizeof failure.step - 1] = '\0';
    describe(error, error_size, failure.step, failure.error);
    if (failure.status == SWNET_STATUS_NOT_FOUND || failure.status == SWNET_STATUS_NOT_EXECUTABLE) *status = failure.status;
    return -failure.error;
}

static int write_proc_file(pid_t pid, const char *name, const char *text) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t written = write(fd, text, strlen(text));
    int result = written == (ssize_t)strlen(text) ? 0 : written < 0 ? -errno : -EIO;
    close(fd);
    return result;
}

// setgroups stays allowed (we write the maps as root) so the init can drop the host's groups.
static int write_id_maps(pid_t pid) {
    const char *map = "0 100000 65536\n";
    int result = write_proc_file(pid, "uid_map", map);
    return result != 0 ? result : write_proc_file(pid, "gid_map", map);
}

// The wait status of `pid`, or -errno.
static int reap(pid_t pid) {
    int status;
    pid_t result;
    do result = waitpid(pid, &status, 0); while (result < 0 && errno == EINTR);
    return result < 0 ? -errno : status;
}

pid_t swnet_container_create(const struct swnet_container_spec *spec, int *release_fd) {
    if (!spec->argv || !spec->argv[0] || !spec->envp || !spec->hostname) return -EINVAL;
    int channel[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0) return -errno;
    struct init_plan plan = { .spec = spec, .channel = channel[1] };
    const int stdio[3] = { spec->stdin_fd, spec->stdout_fd, spec->stderr_fd };
    int result = prepare_command(&plan.command, spec->argv, spec->envp, spec->workdir, spec->capabilities, stdio);
    if (result != 0) {
        close(channel[0]);
        close(channel[1]);
        return result;
    }
    unsigned long namespaces = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC
                             | (spec->user_namespace ? CLONE_NEWUSER : 0);
    pid_t pid = clone_blocking_signals(namespaces, NULL);
    if (pid == 0) run_init(&plan);
    result = pid < 0 ? -errno : 0;
    cap_free(plan.command.capabilities);
    close(channel[1]);
    if (result == 0 && spec->user_namespace) result = write_id_maps(pid);
    if (result != 0) {
        close(channel[0]);  // an unreleased init exits on its own
        if (pid > 0) reap(pid);
        return result;
    }
    *release_fd = channel[0];
    return pid;
}

int swnet_container_release(int release_fd, char *error, size_t error_size, int *status) {
    if (error_size) error[0] = '\0';
    *status = SWNET_STATUS_LAUNCH_FAILED;
    const char go = 1;
    int result;
    if (send(release_fd, &go, 1, MSG_NOSIGNAL) == 1) {
        result = read_failure(release_fd, error, error_size, status);
    } else {
        result = -errno;
        describe(error, error_size, "release the container", -result);
    }
    close(release_fd);
    return result;
}

// ---- exec ----

static const struct { const char *name; int type; } joined_namespaces[] = {
    { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
    { "net", CLONE_NEWNET }, { "pid", CLONE_NEWPID }, { "cgroup", CLONE_NEWCGROUP },
};
#define JOINED_NAMESPACE_COUNT (sizeof joined_namespaces / sizeof joined_namespaces[0])

struct exec_plan {
    int root;                                   // the target's root directory
    int namespaces[JOINED_NAMESPACE_COUNT];     // -1 where the target shares ours
    struct command_plan command;
    int channel;
};

// The middle process: joins the target's namespaces (a fresh fork is single-threaded, as
// setns into a user or mount namespace requires), then forks the command, which lands in the
// joined PID namespace, and relays its signals and exit code.
static _Noreturn void run_exec_supervisor(const struct exec_plan *plan) {
    int channel = plan->channel;
    reset_signal_dispositions();
    sigset_t supervised = supervised_signals();
    sigprocmask(SIG_SETMASK, &supervised, NULL);
    int kept[5 + JOINED_NAMESPACE_COUNT] = { 0, 1, 2, channel, plan->root };
    for (size_t i = 0; i < JOINED_NAMESPACE_COUNT; i++) kept[5 + i] = plan->namespaces[i];
    close_all_except(kept, 5 + JOINED_NAMESPACE_COUNT);
    setsid();  // as for the init: terminal signals come through the caller only
    prctl(PR_SET_NAME, "swnet-exec", 0, 0, 0);
    for (size_t i = 0; i < JOINED_NAMESPACE_COUNT; i++)
        if (plan->namespaces[i] >= 0 && setns(plan->namespaces[i], joined_namespaces[i].type) != 0)
            fail_step(channel, "join the container's namespace ", joined_namespaces[i].name);
    if (fchdir(plan->root) != 0 || chroot(".") != 0) fail_step(channel, "enter the container's root", NULL);
    if (plan->namespaces[0] >= 0) become_namespace_root(channel);
    pid_t command = raw_clone(0);
    if (command < 0) fail_step(channel, "fork the command", NULL);
    if (command == 0) exec_command(&plan->command, channel);
    close_range(0, ~0U, 0);
    _exit(supervise(command));
}

static void close_exec_plan(struct exec_plan *plan) {
    if (plan->root >= 0) close(plan->root);
    for (size_t i = 0; i < JOINED_NAMESPACE_COUNT; i++)
        if (plan->namespaces[i] >= 0) close(plan->namespaces[i]);
}

// Opens the target's root and the namespaces it doesn't share with us (same device and inode
// means the same namespace; joining our own user namespace would even fail).
static int open_target(pid_t pid, struct exec_plan *plan, char *error, size_t error_size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
    plan->root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < JOINED_NAMESPACE_COUNT; i++) plan->namespaces[i] = -1;
    if (plan->root < 0) {
        int result = -errno;
        describe(error, error_size, path, -result);
        return result;
    }
    for (size_t i = 0; i < JOINED_NAMESPACE_COUNT; i++) {
        char ours[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, joined_namespaces[i].name);
        snprintf(ours, sizeof ours, "/proc/self/ns/%s", joined_namespaces[i].name);
        struct stat target_info, our_info;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &target_info) != 0 || stat(ours, &our_info) != 0) {
            int result = -errno;
            if (fd >= 0) close(fd);
            describe(error, error_size, path, -result);
            close_exec_plan(plan);
            return result;
        }
        if (target_info.st_dev == our_info.st_dev && target_info.st_ino == our_info.st_ino) close(fd);
        else plan->namespaces[i] = fd;
    }
    return 0;
}

// The pid the forwarding handler relays to; 0 while there is none.
static volatile sig_atomic_t exec_forward_target;
static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER;

static void forward_to_exec_target(int sig) {
    int saved = errno;
    pid_t target = exec_forward_target;
    if (target > 0) kill(target, sig);
    errno = saved;
}

int swnet_container_exec(pid_t pid, char *const *argv, char *const *envp, const char *workdir,
                         uint64_t capabilities, char *error, size_t error_size, int *failure_status) {
    if (error_size) error[0] = '\0';
    *failure_status = SWNET_STATUS_LAUNCH_FAILED;
    if (!argv || !argv[0] || !envp) return -EINVAL;
    struct exec_plan plan;
    int result = open_target(pid, &plan, error, error_size);
    if (result != 0) return result;
    const int inherited_stdio[3] = { -1, -1, -1 };
    result = prepare_command(&plan.command, argv, envp, workdir, capabilities, inherited_stdio);
    int channel[2];
    if (result == 0 && pipe2(channel, O_CLOEXEC) != 0) {
        result = -errno;
        cap_free(plan.command.capabilities);
    }
    if (result != 0) {
        describe(error, error_size, "prepare the command", -result);
        close_exec_plan(&plan);
        return result;
    }
    plan.channel = channel[1];

    pthread_mutex_lock(&exec_lock);
    struct sigaction forward = { .sa_handler = forward_to_exec_target, .sa_flags = SA_RESTART };
    struct sigaction previous[FORWARDED_SIGNAL_COUNT];
    for (size_t i = 0; i < FORWARDED_SIGNAL_COUNT; i++) sigaction(forwarded_signals[i], &forward, &previous[i]);
    pid_t child = clone_blocking_signals(0, &exec_forward_target);
    if (child == 0) run_exec_supervisor(&plan);
    int clone_error = errno;
    cap_free(plan.command.capabilities);
    close(channel[1]);
    close_exec_plan(&plan);
    if (child < 0) {
        result = -clone_error;
        describe(error, error_size, "fork", clone_error);
    } else {
        result = read_failure(channel[0], error, error_size, failure_status);
        int status = reap(child);
        if (result == 0) result = status < 0 ? status : exit_code(status);
    }
    close(channel[0]);
    exec_forward_target = 0;
    for (size_t i = 0; i < FORWARDED_SIGNAL_COUNT; i++) sigaction(forwarded_signals[i], &previous[i], NULL);
    pthread_mutex_unlock(&exec_lock);
    return result;
}

int swnet_capability_from_name(const char *name) {
    // Always through a "cap_" name: cap_from_name alone would also take a bare number.
    char full_name[64];
    const char *prefix = strncasecmp(name, "cap_", 4) == 0 ? "" : "cap_";
    if (snprintf(full_name, sizeof full_name, "%s%s", prefix, name) >= (int)sizeof full_name) return -1;
    cap_value_t value;
    return cap_from_name(full_name, &value) == 0 ? value : -1;
}
