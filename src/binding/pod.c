/* SPDX-License-Identifier: Apache-2.0 */
/* The pod's side of every binding driver: one place that gives a freshly
 * created device its address, link state and routes, and that checks them
 * later (CNI CHECK). The device itself is each driver's (a veth's end, a
 * macvlan, a VLAN sub-interface), always created inside the pod's netns. */
#include <arpa/inet.h>
#include <stdio.h>

#include "driver.h"
#include "net-util.h"
#include "nl/nl.h"

int pod_name_free(struct nl_sock *ns, const char *ifname, char **reterr_msg)
{
	struct nl_link_info li;
	int r;

	r = nl_link_get(ns, ifname, &li);
	if (r == 0) {
		set_errmsg(reterr_msg, "a device named %s already exists in the container netns",
			   ifname);
		return -EADDRINUSE;
	}
	if (r != -ENODEV) {
		set_errmsg(reterr_msg, "cannot inspect the container netns: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* The default route of @family via @gateway (if any). */
static int pod_default_route(struct nl_sock *ns, int ifindex, int family, const char *gateway,
			     char **reterr_msg)
{
	uint8_t gw[16];

	if (!gateway || !*gateway)
		return 0;
	if (inet_pton(family, gateway, gw) != 1) {
		set_errmsg(reterr_msg, "bad gateway \"%s\"", gateway);
		return -EINVAL;
	}
	return nl_route_add(ns, ifindex, family, NULL, 0, gw, reterr_msg);
}

/* @info's host routes, of either family (a dual-stack network's result
 * has both subnets'). */
static int pod_host_routes(struct nl_sock *ns, int ifindex, const struct kuryr_subnet_info *info,
			   char **reterr_msg)
{
	uint8_t gw[16], dst[16];
	char canon[64], ip[48];
	int r;

	for (unsigned i = 0; info && i < info->n_routes; i++) {
		const struct kuryr_route *rt = &info->routes[i];
		int family;
		uint8_t len;

		if (ip_or_prefix_canon(rt->dst, canon, sizeof(canon), &family) < 0 ||
		    !strchr(canon, '/') || addr_split(canon, ip, sizeof(ip), &len) < 0 ||
		    inet_pton(family, ip, dst) != 1 || inet_pton(family, rt->gw, gw) != 1) {
			set_errmsg(reterr_msg, "bad host route \"%s via %s\"", rt->dst, rt->gw);
			return -EINVAL;
		}
		r = nl_route_add(ns, ifindex, family, dst, len, gw, reterr_msg);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

struct lla {
	uint8_t addr[16];
	uint8_t len;
	bool found;
};

static int lla_find_cb(int family, const void *addr, uint8_t len, void *userdata)
{
	const uint8_t *a = addr;
	struct lla *l = userdata;

	/* fe80::/10; at most one is there, the kernel's own. */
	if (family == AF_INET6 && a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
		memcpy(l->addr, a, 16);
		l->len = len;
		l->found = true;
	}
	return 0;
}

/* The IPv6 link-local address the pod's device has: fe80::EUI-64 of @mac,
 * the one OVN's port security lets through beside the port's own
 * addresses. Made by us, without duplicate-address detection, in place of
 * the kernel's: the kernel's would stay tentative for a second or more
 * after ADD returns, and with it neighbour discovery from it. */
static int pod_link_local(struct nl_sock *ns, int ifindex, const char *mac, char **reterr_msg)
{
	uint8_t m[6], lla[16] = { 0xfe, 0x80 };
	struct lla old = { .found = false };
	int r;

	if (mac_parse(mac, m) < 0) {
		set_errmsg(reterr_msg, "bad MAC \"%s\"", mac);
		return -EINVAL;
	}
	r = nl_link_set_addr_gen_none(ns, ifindex, reterr_msg);
	if (r < 0)
		return r;
	/* A device that is up already (a pre-wired macvlan) has the
	 * kernel's. */
	(void)nl_addr_foreach(ns, ifindex, AF_INET6, lla_find_cb, &old);
	if (old.found)
		(void)nl_addr_del(ns, ifindex, AF_INET6, old.addr, old.len, NULL);
	lla[8] = m[0] ^ 0x02;
	lla[9] = m[1];
	lla[10] = m[2];
	lla[11] = 0xff;
	lla[12] = 0xfe;
	lla[13] = m[3];
	lla[14] = m[4];
	lla[15] = m[5];
	r = nl_addr_add(ns, ifindex, AF_INET6, lla, 64, reterr_msg);
	return r == -EEXIST ? 0 : r;
}

int pod_setup(struct nl_sock *ns, int ifindex, const struct binding_req *req, bool up,
	      char **reterr_msg)
{
	const struct kuryr_port *p = req->port;
	struct kuryr_addr addrs[2];
	unsigned n = kuryr_port_addrs(p, req->net, addrs);
	uint8_t ip[16];
	int r;

	if (req->handed_over)
		return 0;
	if (req->no_l3)
		return up ? 0 : nl_link_set_up(ns, ifindex, true, reterr_msg);
	if (n == 0) {
		set_errmsg(reterr_msg, "port %s has no address", p->name);
		return -EINVAL;
	}
	/* The pod's IPv6 configuration is the port's, made here, and takes
	 * nothing from routers' advertisements: no SLAAC address, which
	 * port security would drop (a device whose MAC is not its port's,
	 * nested-macvlan on ML2/OVN, makes another address from the same
	 * prefix) and which the kernel would then prefer as the source; no
	 * default route of theirs, which, in before ours, makes ours
	 * -EEXIST. Off before the device is up, so that it never solicits
	 * one. */
	for (unsigned i = 0; i < n; i++) {
		char key[64];

		if (addrs[i].family != AF_INET6)
			continue;
		snprintf(key, sizeof(key), "net/ipv6/conf/%s/accept_ra", req->ifname);
		r = nl_netns_sysctl_write(req->netns_fd, key, "0");
		if (r < 0) {
			set_errmsg(reterr_msg, "cannot turn router advertisements off on %s: %s",
				   req->ifname, strerror(-r));
			return r;
		}
		break;
	}
	/* IPv6 addresses go on without duplicate-address detection
	 * (nl_addr_add), so that none is tentative when ADD returns: the
	 * backend's IPAM made them unique (OVN derives them from the port's
	 * MAC, which it keeps unique on the switch; Neutron hands out each
	 * fixed IP once), which is all DAD would find out. */
	for (unsigned i = 0; i < n; i++) {
		if (inet_pton(addrs[i].family, addrs[i].ip, ip) != 1) {
			set_errmsg(reterr_msg, "bad IP \"%s\"", addrs[i].ip);
			return -EINVAL;
		}
		if (addrs[i].family == AF_INET6) {
			r = pod_link_local(ns, ifindex, p->mac, reterr_msg);
			if (r < 0)
				return r;
		}
		r = nl_addr_add(ns, ifindex, addrs[i].family, ip, addrs[i].prefixlen, reterr_msg);
		if (r < 0)
			return r;
	}
	r = up ? 0 : nl_link_set_up(ns, ifindex, true, reterr_msg);
	if (r < 0)
		return r;
	/* A default route per family where its subnet has a gateway; an
	 * IPv6 subnet without one (an OVN network no router serves) has
	 * only its on-link prefix. */
	for (unsigned i = 0; i < n; i++) {
		r = pod_default_route(ns, ifindex, addrs[i].family, addrs[i].gateway, reterr_msg);
		if (r < 0)
			return r;
	}
	return pod_host_routes(ns, ifindex, req->net ? &req->net->info : NULL, reterr_msg);
}

struct addr_match {
	int family;
	const uint8_t *ip;
	uint8_t len;
	bool found;
};

static int addr_match_cb(int family, const void *addr, uint8_t len, void *userdata)
{
	struct addr_match *m = userdata;

	if (family == m->family && len == m->len &&
	    memcmp(addr, m->ip, family == AF_INET6 ? 16 : 4) == 0)
		m->found = true;
	return 0;
}

int pod_check(const struct binding_req *req, const char *kind, char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *ns = NULL;
	const struct kuryr_port *p = req->port;
	struct kuryr_addr addrs[2];
	struct nl_link_info li;
	char mac[MAC_STR_LEN];
	uint8_t ip[16];
	unsigned n;
	int r;

	r = nl_sock_open_netns(req->netns_fd, &ns);
	if (r == 0)
		r = nl_link_get(ns, req->ifname, &li);
	if (r < 0) {
		set_errmsg(reterr_msg, "%s is missing in the container", req->ifname);
		return -ENODEV;
	}
	mac_format(li.mac, mac);
	if (!streq(mac, p->mac) || !li.up || (req->net && li.mtu != req->net->mtu) ||
	    (kind && !streq(li.kind, kind))) {
		set_errmsg(reterr_msg, "%s: MAC %s, MTU %u, %s, kind %s; the attachment has %s, %u",
			   req->ifname, mac, li.mtu, li.up ? "up" : "down", li.kind, p->mac,
			   req->net ? req->net->mtu : 0);
		return -EUCLEAN;
	}
	if (req->no_l3)
		return 0;
	n = kuryr_port_addrs(p, NULL, addrs);
	if (n == 0)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		struct addr_match m = { .family = addrs[i].family,
					.ip = ip,
					.len = addrs[i].prefixlen };

		if (inet_pton(addrs[i].family, addrs[i].ip, ip) != 1)
			return -EINVAL;
		(void)nl_addr_foreach(ns, li.ifindex, addrs[i].family, addr_match_cb, &m);
		if (!m.found) {
			set_errmsg(reterr_msg, "%s/%u is missing on %s", addrs[i].ip,
				   addrs[i].prefixlen, req->ifname);
			return -EUCLEAN;
		}
	}
	return 0;
}

int host_mac_read(struct nl_sock *ns, const char *ifname, struct binding_state *st)
{
	_cleanup_(nl_sock_freep) struct nl_sock *own = NULL;
	struct nl_link_info li;
	int r;

	if (!ns) {
		r = nl_sock_open(&own);
		if (r < 0)
			return r;
		ns = own;
	}
	r = nl_link_get(ns, ifname, &li);
	if (r < 0)
		return r;
	mac_format(li.mac, st->host_mac);
	return 0;
}

int pod_announce(struct nl_sock *ns, const struct binding_req *req, const struct nl_link_info *dev)
{
	uint8_t ip[4], ip6[16];
	bool v4 = *req->port->ip, v6 = *req->port->ip6;

	if (req->no_l3 || req->handed_over)
		return -EINVAL;
	if ((v4 && inet_pton(AF_INET, req->port->ip, ip) != 1) ||
	    (v6 && inet_pton(AF_INET6, req->port->ip6, ip6) != 1))
		return -EINVAL;
	if (!v4 && !v6 && !req->rarp)
		return 0;
	return nl_announce(ns, dev->ifindex, dev->mac, req->rarp, v4 ? ip : NULL, v6 ? ip6 : NULL);
}
