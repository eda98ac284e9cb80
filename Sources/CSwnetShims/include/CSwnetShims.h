#ifndef CSWNETSHIMS_H
#define CSWNETSHIMS_H
// What Swift cannot import or must not do on its own threads: namespace switching on
// short-lived private threads, netlink macros as functions, device ioctls, and TLS through a
// libssl that is loaded only when needed.
#include "swnet_netns.h"
#include "swnet_netlink.h"
#include "swnet_ethtool.h"
#include "swnet_launcher.h"
#include "swnet_signals.h"
#include "swnet_tls.h"
#include "swnet_netns_exec.h"
#endif
