#ifndef SWNET_NETNS_EXEC_H
#define SWNET_NETNS_EXEC_H
// Programs run inside another network namespace. The namespace is entered in a forked child
// right before exec, never on one of the caller's (Swift) threads; after fork the children run
// only async-signal-safe calls.
#include <sys/types.h>

// Runs argv (argv[0] a full path) in the network namespace `nsfd` with the caller's stdio and
// waits for it. Returns its exit status (128+N when signal N killed it), or -errno when it could
// not be started (fork, setns or exec failed).
int swnet_run_in_netns(int nsfd, char *const *argv, char *const *envp);

// Starts argv (argv[0] a full path) as a daemon in the network namespace `nsfd`, under a small
// supervisor in a session of its own (its pid is the process group of both). The supervisor
// ends the command with SIGTERM when the process behind `watch_pidfd` exits (a pidfd; -1: none)
// or when `watch_name` disappears from the directory `watch_dir` (NULLs: none), and exits when
// the command does. The command also gets SIGTERM if the supervisor dies. Both write to log_fd.
// The caller's other descriptors (state locks, sockets) are closed in both. Returns the
// supervisor's pid, or -errno.
pid_t swnet_spawn_supervised_in_netns(int nsfd, int watch_pidfd, const char *watch_dir, const char *watch_name,
                                      char *const *argv, char *const *envp, int log_fd);

// pidfd_open(2): a descriptor that becomes readable when `pid` exits (O_CLOEXEC), or -errno.
int swnet_pidfd_open(pid_t pid);

#endif
