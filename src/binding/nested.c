/* SPDX-License-Identifier: Apache-2.0 */
/* What the nested drivers (nested-vlan, nested-macvlan: kuryrd in a VM's
 * guest) share: finding the VM's NIC, whose MAC names the VM's port, and
 * the pod's device on it, made and removed the same way whatever its
 * kind. */
#include <stdio.h>
#include <strings.h>

#include "driver.h"
#include "net-util.h"
#include "nl/nl.h"

int nested_binding_new(const struct binding_ops *ops, size_t size, const struct binding_env *env,
		       struct binding **ret)
{
	struct nested_binding *nb = calloc(1, size);

	if (!nb)
		return -ENOMEM;
	nb->base.ops = ops;
	nb->backend = env->backend;
	nb->port_up_timeout_ms = env->port_up_timeout_ms;
	if (env->link_iface)
		snprintf(nb->link, sizeof(nb->link), "%s", env->link_iface);
	pthread_mutex_init(&nb->lock, NULL);
	*ret = &nb->base;
	return 0;
}

void nested_binding_free(struct binding *b)
{
	struct nested_binding *nb = (struct nested_binding *)b;

	pthread_mutex_destroy(&nb->lock);
	free(nb);
}

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

int nested_plug_begin(struct nested_binding *nb, const struct binding_req *req,
		      struct nested_plug *np, char **reterr_msg)
{
	uint32_t mtu = req->net ? req->net->mtu : 0;
	int r;

	*np = (struct nested_plug){ 0 };
	if (req->netns_fd < 0) {
		set_errmsg(reterr_msg, "%s plugs containers only", nb->base.ops->name);
		return -EINVAL;
	}
	if (mac_parse(req->port->mac, np->mac) < 0) {
		set_errmsg(reterr_msg, "bad MAC \"%s\"", req->port->mac);
		return -EINVAL;
	}
	r = nl_sock_open(&np->host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		goto fail;
	}
	r = nested_link_get(np->host, nb->link, &np->link, reterr_msg);
	if (r < 0)
		goto fail;
	if (mtu > np->link.mtu) {
		set_errmsg(reterr_msg, "network %s's MTU %u is above %s's %u",
			   req->net ? req->net->name : req->port->network, mtu, np->link.name,
			   np->link.mtu);
		r = -EMSGSIZE;
		goto fail;
	}
	if (!np->link.up && (r = nl_link_set_up(np->host, np->link.ifindex, true, reterr_msg)) < 0)
		goto fail;
	r = nl_sock_open_netns(req->netns_fd, &np->pod);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink in the container netns: %s",
			   strerror(-r));
		goto fail;
	}
	r = pod_name_free(np->pod, req->ifname, reterr_msg);
	if (r < 0)
		goto fail;
	return 0;
fail:
	nested_plug_done(np);
	return r;
}

void nested_plug_done(struct nested_plug *np)
{
	nl_sock_free(np->host);
	nl_sock_free(np->pod);
	np->host = np->pod = NULL;
}

int nested_pod_device_add(struct nested_plug *np, const struct binding_req *req,
			  int (*create)(struct nested_plug *np, const char *tmp, void *ctx,
					char **reterr_msg),
			  void *ctx, struct binding_state *st, struct nl_link_info *dev,
			  char **reterr_msg)
{
	char tmp[IF_NAMESIZE];
	bool renamed = false;
	int r;

	binding_ifname(BINDING_PREFIX_NEW, req->port->name, tmp);
	r = create(np, tmp, ctx, reterr_msg);
	if (r < 0)
		return r;
	r = nl_link_get(np->pod, tmp, dev);
	if (r == 0)
		r = nl_link_set_name(np->pod, dev->ifindex, req->ifname, reterr_msg);
	if (r == 0) {
		renamed = true;
		r = pod_setup(np->pod, dev->ifindex, req, false, reterr_msg);
	}
	if (r < 0) {
		(void)nl_link_del(np->pod, renamed ? req->ifname : tmp, NULL);
		return r;
	}
	snprintf(dev->name, sizeof(dev->name), "%s", req->ifname);
	st->ifindex = dev->ifindex;
	snprintf(st->host_ifname, sizeof(st->host_ifname), "%s", np->link.name);
	mac_format(np->link.mac, st->host_mac);
	return 0;
}

int nested_pod_device_del(const struct binding_req *req, const char *kind, char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *pod = NULL;
	char tmp[IF_NAMESIZE], mac[18];
	struct nl_link_info li;
	int r;

	if (req->netns_fd < 0)
		return 0;
	binding_ifname(BINDING_PREFIX_NEW, req->port->name, tmp);
	r = nl_sock_open_netns(req->netns_fd, &pod);
	for (int i = 0; r == 0 && i < 2; i++) {
		const char *name = i ? tmp : req->ifname;

		if (nl_link_get(pod, name, &li) < 0 || !streq(li.kind, kind))
			continue;
		mac_format(li.mac, mac);
		if (strcasecmp(mac, req->port->mac) != 0)
			continue;
		r = nl_link_del(pod, name, reterr_msg);
		if (r == -ENODEV)
			r = 0;
	}
	return r;
}
