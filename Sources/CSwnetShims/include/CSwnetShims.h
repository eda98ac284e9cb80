#ifndef CSWNETSHIMS_H
#define CSWNETSHIMS_H
// What the kernel bindings cannot import or must not do on Swift's own threads: namespace
// switching on short-lived private threads, netlink macros as functions, device ioctls.
// The launcher (CSwnetLauncher) and TLS (CSwnetTLS) are targets of their own.
#include "swnet_netns.h"
#include "swnet_netlink.h"
#include "swnet_ethtool.h"
#endif
