#include "swnet_signals.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
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

int swnet_termination_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    int result = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (result != 0) return -result;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int swnet_read_signal(int signal_fd) {
    struct signalfd_siginfo info;
    ssize_t length = read(signal_fd, &info, sizeof info);
    if (length < 0) return errno == EAGAIN ? 0 : -errno;
    return length == sizeof info ? (int)info.ssi_signo : -EIO;
}
