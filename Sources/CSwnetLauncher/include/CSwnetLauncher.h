#ifndef CSWNETLAUNCHER_H
#define CSWNETLAUNCHER_H
// Processes: the container launcher (clones, namespaces, capabilities through libcap), programs
// exec'ed in a network namespace (route/rule/tc, a supervised DHCP client), and process-wide
// signal and parent-death settings. Children run only prepared C code until they exec.
#include "swnet_launcher.h"
#include "swnet_process.h"
#include "swnet_netns_exec.h"
#endif
