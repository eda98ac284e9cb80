#ifndef CSWNETLAUNCHER_H
#define CSWNETLAUNCHER_H
// Processes: the container launcher (clones, namespaces, capabilities through libcap) and
// process-wide signal and parent-death settings. Children of a clone run only prepared C code.
#include "swnet_launcher.h"
#include "swnet_process.h"
#endif
