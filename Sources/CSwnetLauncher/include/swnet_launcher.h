#ifndef SWNET_LAUNCHER_H
#define SWNET_LAUNCHER_H
// The container launcher: namespaces are made in freshly cloned, single-threaded children,
// never on the caller's (Swift) threads. Children of a clone run only prepared C code.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct swnet_container_spec {
    char *const *argv;            // command and arguments; argv[0] is looked up in envp's PATH inside
    char *const *envp;            // the command's environment
    const char *hostname;         // set in the new UTS namespace
    const char *rootfs;           // NULL: share the host's files (still in a private mount namespace)
    const char *workdir;          // NULL: "/"
    int user_namespace;           // nonzero: new user namespace, container 0..65535 = host 100000..165535
    uint64_t capabilities;        // bit N = keep CAP_N (bounding, permitted, effective, inheritable)
    int stdin_fd, stdout_fd, stderr_fd;  // the command's stdio; a negative fd keeps the caller's
    int die_with_caller;          // nonzero: SIGKILL the init when the cloning thread ends (PR_SET_PDEATHSIG)
};

// Exit statuses of a command that never ran, as docker and podman report them.
#define SWNET_STATUS_LAUNCH_FAILED 125   // a step of the launcher's own failed
#define SWNET_STATUS_NOT_EXECUTABLE 126  // the command exists but exec refused it
#define SWNET_STATUS_NOT_FOUND 127       // no such command

// Clones the container's init, PID 1 of new pid, net, mount, UTS and IPC (and user) namespaces,
// in its own session. It waits until swnet_container_release before it sets anything up, so the
// caller can attach the network through /proc/<pid>/ns/net first. Returns init's pid (as the
// caller sees it) and, in *release_fd, the handle to release it with (O_CLOEXEC); or -errno
// (-EINVAL without argv[0], envp or hostname).
// Closing the handle without releasing makes the init exit without running the command.
pid_t swnet_container_create(const struct swnet_container_spec *spec, int *release_fd);

// Lets the container set itself up and run its command, and closes release_fd. Returns 0 once
// the command was exec'd, or -errno of the step that failed inside, described in `error` (e.g.
// "exec /bin/nope: No such file or directory") with its SWNET_STATUS_* in *status. On failure
// the init exits; the caller reaps it.
int swnet_container_release(int release_fd, char *error, size_t error_size, int *status);

// Runs argv inside the namespaces and root of process `pid` (its PID namespace too, so the
// command gets a pid there), in a session of its own, with `capabilities` and no_new_privs.
// Waits for it, forwarding SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent
// to the caller; returns its exit status (128+N if signal N killed it) or -errno with `error`
// and the SWNET_STATUS_* of the failure in *failure_status.
// The forwarding handlers are process-wide, so concurrent calls run one after the other.
int swnet_container_exec(pid_t pid, char *const *argv, char *const *envp, const char *workdir,
                         uint64_t capabilities, char *error, size_t error_size, int *failure_status);

// Capability name ("NET_ADMIN" or "CAP_NET_ADMIN", any case) to its number, or -1.
int swnet_capability_from_name(const char *name);

#endif
