#include "swnet_signals.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile pid_t forward_target = 0;

static void forward(int signal_number) {
    if (forward_target > 0) kill(forward_target, signal_number);
}

void swnet_forward_signals(pid_t pid) {
    static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
    forward_target = pid;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &action, NULL);
}

pid_t swnet_fork_session(void) {
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) setsid();
    return pid;
}
