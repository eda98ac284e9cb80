#ifndef SWNET_PROCESS_H
#define SWNET_PROCESS_H
#include <sys/types.h>

// From now on, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent to this
// process are passed on to `pid` (a foreground container's init) instead of acting here.
void swnet_forward_signals(pid_t pid);

// Has the kernel SIGKILL this process when the thread that started it ends (PR_SET_PDEATHSIG),
// as a container's monitor does until its `swnet run -d` said "go". Returns 0, or -ESRCH when
// `parent` is no longer the parent (it died before the call), or -errno.
int swnet_die_with_parent(pid_t parent);

// Undoes swnet_die_with_parent. Returns 0 or -errno.
int swnet_outlive_parent(void);

// Starts this executable again (/proc/self/exe, as runc does) with `argv`, in a session of its
// own, with default signal handling, /dev/null as stdio and `channel_fd` as its fd 3. posix_spawn:
// nothing of the caller runs in the child. Returns the child's pid or -errno.
pid_t swnet_spawn_self(char *const *argv, int channel_fd);

// pipe2(fds, O_CLOEXEC), which Swift's Glibc module does not export: no child of another thread
// inherits either end. Returns 0 or -errno.
int swnet_pipe(int fds[2]);

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (call it before any other thread
// exists) and returns a signalfd (O_CLOEXEC) that becomes readable when one arrives, or -errno.
// Returns which signal arrived through swnet_read_signal: the signal number, 0 if none, or -errno.
int swnet_termination_signalfd(void);
int swnet_read_signal(int signal_fd);

#endif
