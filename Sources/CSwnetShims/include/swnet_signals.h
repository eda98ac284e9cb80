#ifndef SWNET_SIGNALS_H
#define SWNET_SIGNALS_H
#include <sys/types.h>

// From now on, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH sent to this
// process are passed on to `pid` (a foreground container's init) instead of acting here.
void swnet_forward_signals(pid_t pid);

// Detaches into a new session as a child of this process: returns 0 in the child (the monitor
// of a detached container), the child's pid in the caller, or -errno.
pid_t swnet_fork_session(void);

#endif
