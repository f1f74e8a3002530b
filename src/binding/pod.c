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

/* The default route via @gateway (if any) and @info's host routes. */
static int pod_routes(struct nl_sock *ns, int ifindex, const char *gateway,
		      const struct kuryr_subnet_info *info, char **reterr_msg)
{
	uint8_t gw[16], dst[16];
	int r;

	if (gateway && *gateway) {
		if (inet_pton(AF_INET, gateway, gw) != 1) {
			set_errmsg(reterr_msg, "bad gateway \"%s\"", gateway);
			return -EINVAL;
		}
		r = nl_route_add(ns, ifindex, AF_INET, NULL, 0, gw, reterr_msg);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; info && i < info->n_routes; i++) {
		const struct kuryr_route *rt = &info->routes[i];
		uint32_t net;
		uint8_t len;

		if (cidr4_parse(rt->dst, &net, &len) < 0 || inet_pton(AF_INET, rt->gw, gw) != 1) {
			set_errmsg(reterr_msg, "bad host route \"%s via %s\"", rt->dst, rt->gw);
			return -EINVAL;
		}
		net = htonl(net);
		memcpy(dst, &net, 4);
		r = nl_route_add(ns, ifindex, AF_INET, dst, len, gw, reterr_msg);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

int pod_setup(struct nl_sock *ns, int ifindex, const struct binding_req *req, bool up,
	      char **reterr_msg)
{
	const struct kuryr_port *p = req->port;
	uint8_t ip[16];
	int r;

	if (req->no_l3)
		return up ? 0 : nl_link_set_up(ns, ifindex, true, reterr_msg);
	if (inet_pton(AF_INET, p->ip, ip) != 1) {
		set_errmsg(reterr_msg, "bad IP \"%s\"", p->ip);
		return -EINVAL;
	}
	r = nl_addr_add(ns, ifindex, AF_INET, ip, p->prefixlen, reterr_msg);
	if (r < 0)
		return r;
	r = up ? 0 : nl_link_set_up(ns, ifindex, true, reterr_msg);
	if (r < 0)
		return r;
	return pod_routes(ns, ifindex, req->net ? req->net->gateway : NULL,
			  req->net ? &req->net->info : NULL, reterr_msg);
}

struct addr_match {
	const uint8_t *ip;
	uint8_t len;
	bool found;
};

static int addr_match_cb(int family, const void *addr, uint8_t len, void *userdata)
{
	struct addr_match *m = userdata;

	if (family == AF_INET && len == m->len && memcmp(addr, m->ip, 4) == 0)
		m->found = true;
	return 0;
}

int pod_check(const struct binding_req *req, const char *kind, char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *ns = NULL;
	const struct kuryr_port *p = req->port;
	struct nl_link_info li;
	char mac[MAC_STR_LEN];
	uint8_t ip[4];
	struct addr_match m = { .ip = ip, .len = p->prefixlen };
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
	if (inet_pton(AF_INET, p->ip, ip) != 1)
		return -EINVAL;
	(void)nl_addr_foreach(ns, li.ifindex, AF_INET, addr_match_cb, &m);
	if (!m.found) {
		set_errmsg(reterr_msg, "%s/%u is missing on %s", p->ip, p->prefixlen, req->ifname);
		return -EUCLEAN;
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
	uint8_t ip[4];

	if (req->no_l3 || inet_pton(AF_INET, req->port->ip, ip) != 1)
		return -EINVAL;
	return nl_arp_announce(ns, dev->ifindex, dev->mac, ip);
}
