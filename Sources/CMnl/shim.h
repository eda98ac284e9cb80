// glibc first: it tells the linux uapi headers not to redefine in6_addr & co.
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/nexthop.h>
#include <linux/veth.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_sched.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
