/* SPDX-License-Identifier: Apache-2.0 */
/* What the nested drivers (nested-vlan, nested-macvlan: kuryrd in a VM's
 * guest) share: finding the VM's NIC, whose MAC names the VM's port. */
#include <stdio.h>

#include "driver.h"
#include "nl/nl.h"

struct by_index {
	int ifindex;
	struct nl_link_info *ret;
};

static int by_index_cb(const struct nl_link_info *l, void *userdata)
{
	struct by_index *w = userdata;

	if (l->ifindex != w->ifindex)
		return 0;
	*w->ret = *l;
	return 1;
}

static int default_oif_cb(const struct nl_route_info *r, void *userdata)
{
	if (r->family != AF_INET || r->dst_len || r->table != 254 || r->oif <= 0)
		return 0;
	*(int *)userdata = r->oif;
	return 1;
}

int nested_link_get(struct nl_sock *host, const char *name, struct nl_link_info *ret,
		    char **reterr_msg)
{
	struct by_index w = { .ret = ret };
	int r;

	if (name && *name) {
		r = nl_link_get(host, name, ret);
		if (r < 0)
			set_errmsg(reterr_msg, "link_iface %s: %s", name,
				   r == -ENODEV ? "no such device" : strerror(-r));
		return r;
	}
	r = nl_route_foreach(host, AF_INET, default_oif_cb, &w.ifindex);
	if (r < 0 || !w.ifindex) {
		set_errmsg(reterr_msg, "no default route to find the VM's NIC by (set [binding] "
				       "link_iface)");
		return r < 0 ? r : -ENODEV;
	}
	r = nl_link_foreach(host, by_index_cb, &w);
	if (r != 1) {
		set_errmsg(reterr_msg, "the default route's device %d is gone", w.ifindex);
		return r < 0 ? r : -ENODEV;
	}
	return 0;
}
