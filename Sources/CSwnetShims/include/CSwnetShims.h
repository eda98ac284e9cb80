#ifndef CSWNETSHIMS_H
#define CSWNETSHIMS_H
// What Swift cannot import or must not do on its own threads: namespace switching on
// short-lived private threads, and netlink macros as functions.
#include "swnet_netns.h"
#include "swnet_netlink.h"
#include "swnet_arp.h"
#endif
