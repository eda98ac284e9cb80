#ifndef SWNET_SIGNALS_H
#define SWNET_SIGNALS_H
#include <sys/types.h>

// From now on, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent to this
// process are passed on to `pid` (a foreground container's init) instead of acting here.
void swnet_forward_signals(pid_t pid);

// Detaches into a new session as a child of this process: returns 0 in the child (the monitor
// of a detached container), the child's pid in the caller, or -errno.
pid_t swnet_fork_session(void);

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (call it before any other thread
// exists) and returns a signalfd (O_CLOEXEC) that becomes readable when one arrives, or -errno.
// Returns which signal arrived through swnet_read_signal: the signal number, 0 if none, or -errno.
int swnet_termination_signalfd(void);
int swnet_read_signal(int signal_fd);

#endif
