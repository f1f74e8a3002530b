/* SPDX-License-Identifier: Apache-2.0 */
/* Netlink (rtnetlink over libmnl): links, addresses, routes, namespaces.
 *
 * A struct nl_sock is bound to the network namespace it was opened in for
 * its whole life. nl_sock_open_netns() opens one inside another namespace
 * from a short-lived helper thread that setns()es and exits, so the calling
 * thread never switches namespace. One nl_sock must not be used by two
 * threads at once; open one per request, they are cheap.
 *
 * Every request asks for an ACK; a kernel error comes back as -errno with the
 * extended ACK message (if any) in *reterr_msg. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct nl_sock;

struct nl_link_info {
	int ifindex;
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	uint32_t mtu;
	bool up;	/* IFF_UP set */
	char kind[16];	/* IFLA_INFO_KIND, "" if none */
	uint32_t group; /* IFLA_GROUP */
	uint32_t flags; /* ifi_flags: IFF_UP, ... (IFF_PROMISC only if a user set it) */
	/* IFLA_PROMISCUITY: every holder of promiscuous mode, e.g. one for
	 * each passthru macvlan on this device that is up. */
	uint32_t promiscuity;
};

/* Open a rtnetlink socket in the caller's current network namespace. */
int nl_sock_open(struct nl_sock **ret);
/* Open a rtnetlink socket inside the namespace @netns_fd (from a helper
 * thread; the caller's namespace never changes). It carries a packet
 * socket of that namespace for nl_announce(). */
int nl_sock_open_netns(int netns_fd, struct nl_sock **ret);
/* nl_sock_open_netns() in two halves, so that the caller can do other
 * work while the helper thread opens the socket: _begin starts it, _end
 * waits for it and returns its socket (or error). Every _begin that
 * succeeded needs its _end. */
struct nl_sock_opening;
int nl_sock_open_netns_begin(int netns_fd, struct nl_sock_opening **ret);
int nl_sock_open_netns_end(struct nl_sock_opening *o, struct nl_sock **ret);
/* Accepts NULL. */
void nl_sock_free(struct nl_sock *s);
/* For _cleanup_(nl_sock_freep). */
static inline void nl_sock_freep(struct nl_sock **s)
{
	nl_sock_free(*s);
}

/* Announce IPv4 address @ip (4 bytes, network order; may be NULL) and IPv6
 * address @ip6 (16 bytes; may be NULL) with @mac from device @ifindex: an
 * ARP request for the IPv4 address from itself (RFC 5227's announcement)
 * and an unsolicited neighbour advertisement of the IPv6 one to all nodes
 * (RFC 4861 7.2.6), so that neighbours that knew an address under another
 * MAC learn the new one. Sent soon after, by a background thread, on the
 * packet socket of @s, which must have been opened with
 * nl_sock_open_netns() (-EOPNOTSUPP otherwise, or without CAP_NET_RAW);
 * once per socket. With @rarp, first a RARP request for @mac from itself,
 * as a VM's hypervisor sends after a live migration (RFC 903): a moved
 * port's new node passes its traffic once it has seen one (OVN's
 * activation-strategy rarp). */
int nl_announce(struct nl_sock *s, int ifindex, const uint8_t mac[6], bool rarp, const uint8_t *ip,
		const uint8_t *ip6);

/* Open @path and check it is a network namespace (nsfs, CLONE_NEWNET).
 * Returns 0 with an O_RDONLY|O_CLOEXEC fd in *ret_fd; -ENOENT if missing,
 * -EINVAL if it is not a network namespace. */
int nl_netns_open(const char *path, int *ret_fd);

/* Open the named network namespace /run/netns/@name, creating it like
 * "ip netns add" if it does not exist: /run/netns is made a shared mount
 * point first, so "ip netns del" removes it later whoever mounted /run/netns
 * since. 0 with an fd in *ret_fd. */
int nl_netns_create(const char *name, int *ret_fd);

/* Write @value to sysctl @key ("net/ipv6/conf/eth0/autoconf": a path under
 * /proc/sys) as namespace @netns_fd has it, from a helper thread that
 * setns()es, so the caller never moves. 0, or -errno of the open or write
 * (-ENOENT: no such key there); -EINVAL for a key that leaves /proc/sys. */
int nl_netns_sysctl_write(int netns_fd, const char *key, const char *value);

/* Create a veth pair: @name in the socket's namespace (left down), and its
 * peer @peer_name created directly in namespace @peer_netns_fd (-1: the
 * socket's own namespace) with MAC @peer_mac (NULL: kernel's choice). Both
 * ends get @mtu (0: default). -EEXIST if either name is taken. */
int nl_veth_add(struct nl_sock *s, const char *name, const char *peer_name, int peer_netns_fd,
		const uint8_t *peer_mac, uint32_t mtu, char **reterr_msg);

/* Create a macvlan in passthru mode named @name on top of @link_ifindex (in
 * the socket's namespace), directly inside namespace @netns_fd (-1: the
 * socket's own), with MAC @mac (NULL: the lower device's) and @mtu (0:
 * inherit), and @up: then from birth it holds its lower device
 * promiscuous (down: from when it is set up). Passthru allows one macvlan
 * per lower device. */
int nl_macvlan_passthru_add(struct nl_sock *s, const char *name, int link_ifindex, int netns_fd,
			    const uint8_t *mac, uint32_t mtu, bool up, char **reterr_msg);

/* Create a macvlan in @mode (MACVLAN_MODE_BRIDGE, ..., not passthru) named
 * @name on top of @link_ifindex (in the socket's namespace), directly
 * inside namespace @netns_fd (-1: the socket's own), with MAC @mac (NULL:
 * a random one) and @mtu (0: the lower device's), left down. In bridge
 * mode the macvlans of one lower device reach each other directly. */
int nl_macvlan_add(struct nl_sock *s, const char *name, int link_ifindex, int netns_fd,
		   uint32_t mode, const uint8_t *mac, uint32_t mtu, char **reterr_msg);

/* Create VLAN @vlan (1..4094) of @link_ifindex (in the socket's
 * namespace), named @name, directly inside namespace @netns_fd (-1: the
 * socket's own), with MAC @mac (NULL: the lower device's) and @mtu (0:
 * the lower device's), left down. */
int nl_vlan_add(struct nl_sock *s, const char *name, int link_ifindex, int netns_fd, unsigned vlan,
		const uint8_t *mac, uint32_t mtu, char **reterr_msg);

/* Delete link @name. -ENODEV if there is none. */
int nl_link_del(struct nl_sock *s, const char *name, char **reterr_msg);

/* Fill *ret for link @name; -ENODEV if there is none. */
int nl_link_get(struct nl_sock *s, const char *name, struct nl_link_info *ret);

/* Dump all links; calls @cb for each. @cb returns 0 to continue.
 * @cb runs only after the whole dump has been read and found consistent, so
 * it may issue requests on @s itself. A nonzero return from @cb stops the walk
 * and is returned. -EAGAIN if the link list kept changing during the dump
 * (NLM_F_DUMP_INTR twice in a row). */
int nl_link_foreach(struct nl_sock *s, int (*cb)(const struct nl_link_info *l, void *userdata),
		    void *userdata);

/* Set IFF_UP (or clear it with @up false) on @ifindex. */
int nl_link_set_up(struct nl_sock *s, int ifindex, bool up, char **reterr_msg);

/* Add address @addr (4 or 16 bytes for AF_INET/AF_INET6) / @prefixlen to
 * @ifindex. For AF_INET the broadcast address is set too. For AF_INET6 the
 * address is added with IFA_F_NODAD so it is usable at once. */
int nl_addr_add(struct nl_sock *s, int ifindex, int family, const void *addr, uint8_t prefixlen,
		char **reterr_msg);

/* Remove address @addr/@prefixlen from @ifindex (and with it the routes
 * that used it). -EADDRNOTAVAIL if it is not there. */
int nl_addr_del(struct nl_sock *s, int ifindex, int family, const void *addr, uint8_t prefixlen,
		char **reterr_msg);

/* Add a unicast route to @dst/@dst_len (dst NULL with len 0: default route)
 * via gateway @gw (NULL: on-link) out of @ifindex, main table. */
int nl_route_add(struct nl_sock *s, int ifindex, int family, const void *dst, uint8_t dst_len,
		 const void *gw, char **reterr_msg);

/* Addresses of @ifindex for @family (AF_UNSPEC: both): calls @cb for each.
 * Same dump rules as nl_link_foreach(). */
int nl_addr_foreach(struct nl_sock *s, int ifindex, int family,
		    int (*cb)(int family, const void *addr, uint8_t prefixlen, void *userdata),
		    void *userdata);

/* Rename @ifindex to @name (the link must be down). -EEXIST if taken. */
int nl_link_set_name(struct nl_sock *s, int ifindex, const char *name, char **reterr_msg);
/* Have the kernel make no IPv6 link-local address on @ifindex (addrgenmode
 * none): whoever sets the device up adds one of its own. */
int nl_link_set_addr_gen_none(struct nl_sock *s, int ifindex, char **reterr_msg);

/* Turn @name's transmit checksum offload on or off (what ethtool -K NAME
 * tx on|off does), in @s's namespace. Off, the kernel fills in every TCP
 * and UDP checksum before the packet leaves, and segmentation offload goes
 * with it. */
int nl_link_set_tx_csum(struct nl_sock *s, const char *name, bool on, char **reterr_msg);

/* Put @ifindex into link group @group (IFLA_GROUP). */
int nl_link_set_group(struct nl_sock *s, int ifindex, uint32_t group, char **reterr_msg);

/* Delete every link in group @group with one request (a single RCU grace
 * period instead of one per link). -EINVAL for group 0 (the default group,
 * i.e. every link); -ENODEV if the group is empty; -EOPNOTSUPP if it holds a
 * link that cannot be deleted (a physical NIC), in which case nothing is. */
int nl_link_del_group(struct nl_sock *s, uint32_t group, char **reterr_msg);

struct nl_route_info {
	int family;	 /* AF_INET or AF_INET6 */
	uint8_t dst[16]; /* zeros for a default route */
	uint8_t dst_len;
	bool has_gw;
	uint8_t gw[16];	  /* RTA_GATEWAY, if has_gw */
	int oif;	  /* RTA_OIF, 0 if none (e.g. multipath) */
	uint32_t table;	  /* RTA_TABLE, or rtm_table */
	uint8_t protocol; /* RTPROT_* */
	uint8_t scope;	  /* RT_SCOPE_* */
	uint8_t type;	  /* RTN_* */
};

/* Dump the routes of every table for @family (AF_UNSPEC: IPv4 and IPv6);
 * calls @cb for each. Same dump rules as nl_link_foreach(). */
int nl_route_foreach(struct nl_sock *s, int family,
		     int (*cb)(const struct nl_route_info *r, void *userdata), void *userdata);
