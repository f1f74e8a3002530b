/* SPDX-License-Identifier: Apache-2.0 */
/* Binding driver "nested-macvlan": containers inside a VM, on the VM's own
 * network, without a trunk. kuryrd runs in the guest; the VM's NIC
 * (link_iface) is the VM's port. A container's port is made as any other
 * (it reserves the container's address and MAC) but never bound: the
 * pod's device is a macvlan of the NIC in bridge mode, with the port's
 * MAC, created directly in the pod's netns, and its frames leave the
 * guest as the VM's own do. So that the VM's port lets them through (port
 * security), the container's IP and MAC become an allowed address pair of
 * the VM's port for as long as the container is plugged; only that pair
 * is added and removed, against the pairs the port has at that moment
 * (struct port_update add_pair, del_pair), so that containers plugged at
 * once, and pairs an operator set, all stay.
 *
 * Where the backend makes the container's port a virtual port behind the
 * VM's that keeps claiming its MAC (BACKEND_CAP_VIRTUAL_PAIRS, ML2/OVN),
 * the pod's device and its pair have a MAC of their own instead, derived
 * from the port's (pod_port()), so that only the VM's port takes frames
 * for it.
 *
 * A macvlan shares the NIC's L2: the container can only be on the VM's
 * network, and another is refused. The VM's port is found once, by the
 * NIC's MAC, on the first plug; its name is kept in the attachment's row
 * (binding_state.data) for unplug. */
#include <linux/if_link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "driver.h"
#include "log.h"
#include "net-util.h"
#include "nl/nl.h"

struct nested_macvlan {
	struct binding base;
	struct backend *backend;
	char link[IF_NAMESIZE]; /* "" : the default route's */
	pthread_mutex_t lock;
	/* Under lock: the VM's port, once found, and its network. */
	bool known;
	char vm_port[64];
	char vm_network[128];
};

static struct nested_macvlan *to_nm(struct binding *b)
{
	return (struct nested_macvlan *)b;
}

static int nm_new(const struct binding_env *env, struct binding **ret, char **reterr_msg)
{
	struct nested_macvlan *nm;

	if (!env->backend || !env->backend->ops->port_by_mac || !env->backend->ops->port_update) {
		set_errmsg(reterr_msg, "binding driver nested-macvlan needs a backend with "
				       "allowed address pairs");
		return -EOPNOTSUPP;
	}
	nm = calloc(1, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	nm->base.ops = &binding_nested_macvlan_ops;
	nm->backend = env->backend;
	if (env->link_iface)
		snprintf(nm->link, sizeof(nm->link), "%s", env->link_iface);
	pthread_mutex_init(&nm->lock, NULL);
	*ret = &nm->base;
	return 0;
}

static void nm_free(struct binding *b)
{
	struct nested_macvlan *nm = to_nm(b);

	pthread_mutex_destroy(&nm->lock);
	free(nm);
}

/* The VM's port (found by the NIC's MAC the first time) and its network.
 * @link: the NIC as the caller read it, or NULL. */
static int vm_port_find(struct nested_macvlan *nm, const struct nl_link_info *link, char port[64],
			char network[128], char **reterr_msg)
{
	struct kuryr_port vm;
	struct nl_link_info li;
	char mac[18];
	int r = 0;

	pthread_mutex_lock(&nm->lock);
	if (!nm->known) {
		_cleanup_(nl_sock_freep) struct nl_sock *host = NULL;
		_cleanup_free_ char *err = NULL;

		if (!link) {
			r = nl_sock_open(&host);
			if (r < 0)
				set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
			if (r == 0)
				r = nested_link_get(host, nm->link, &li, reterr_msg);
			link = &li;
		}
		if (r == 0) {
			mac_format(link->mac, mac);
			r = nm->backend->ops->port_by_mac(nm->backend, mac, &vm, &err);
			if (r < 0)
				set_errmsg(reterr_msg,
					   "cannot find this VM's port (NIC MAC %s): %s", mac,
					   err ? err : strerror(-r));
		}
		if (r == 0) {
			snprintf(nm->vm_port, sizeof(nm->vm_port), "%s", vm.name);
			snprintf(nm->vm_network, sizeof(nm->vm_network), "%s", vm.network);
			nm->known = true;
		}
	}
	if (r == 0) {
		snprintf(port, 64, "%s", nm->vm_port);
		snprintf(network, 128, "%s", nm->vm_network);
	}
	pthread_mutex_unlock(&nm->lock);
	return r;
}

static void vm_port_forget(struct nested_macvlan *nm)
{
	pthread_mutex_lock(&nm->lock);
	nm->known = false;
	pthread_mutex_unlock(&nm->lock);
}

/* The port as the pod's device has it: @p, or where the backend keeps a
 * virtual port's MAC for it (BACKEND_CAP_VIRTUAL_PAIRS) with a MAC of its
 * own: the port's with bit 2 of the first octet flipped, still unicast
 * and locally administered (Neutron's fa:16:3e:.. becomes fe:16:3e:..),
 * one no other port's MAC maps to and none that Neutron hands out from
 * its default base_mac. */
static void pod_port(const struct nested_macvlan *nm, const struct kuryr_port *p,
		     struct kuryr_port *ret)
{
	uint8_t mac[6];

	*ret = *p;
	if (!(nm->backend->ops->caps & BACKEND_CAP_VIRTUAL_PAIRS) || mac_parse(p->mac, mac) < 0)
		return;
	mac[0] ^= 0x04;
	mac_format(mac, ret->mac);
}

/* Add (or remove) the container's IP and MAC as an allowed address pair
 * of the VM's port @vm, leaving its other pairs. */
static int pair_change(struct nested_macvlan *nm, const char *vm, bool add,
		       const struct kuryr_port *p, char **reterr_msg)
{
	struct kuryr_addr_pair pair = { 0 };
	_cleanup_free_ char *err = NULL;
	struct kuryr_port after;
	int r;

	snprintf(pair.ip, sizeof(pair.ip), "%s", p->ip);
	str_copy(pair.mac, p->mac, sizeof(pair.mac));
	r = nm->backend->ops->port_update(
	    nm->backend, vm,
	    &(struct port_update){ .add_pair = add ? &pair : NULL, .del_pair = add ? NULL : &pair },
	    &after, &err);
	if (r == -ENOENT)
		vm_port_forget(nm);
	if (r < 0)
		set_errmsg(reterr_msg,
			   "cannot %s allowed address pair %s,%s %s the VM's port %s: %s",
			   add ? "add" : "remove", pair.ip, pair.mac, add ? "to" : "from", vm,
			   err ? err : strerror(-r));
	return r;
}

static int nm_plug(struct binding *b, const struct binding_req *preq, struct binding_state *st,
		   char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host = NULL, *pod = NULL;
	struct nested_macvlan *nm = to_nm(b);
	struct kuryr_port pp;
	struct binding_req rq = *preq;
	const struct binding_req *req = &rq;
	const struct kuryr_port *p = &pp;
	const char *net = req->net ? req->net->name : preq->port->network;
	uint32_t mtu = req->net ? req->net->mtu : 0;
	_cleanup_free_ char *err = NULL;
	struct nl_link_info link, li;
	char vm[64], vm_net[128], tmp[IF_NAMESIZE];
	uint8_t mac[6];
	bool renamed = false;
	int r;

	pod_port(nm, preq->port, &pp);
	rq.port = &pp;

	if (req->netns_fd < 0) {
		set_errmsg(reterr_msg, "nested-macvlan plugs containers only");
		return -EINVAL;
	}
	if (mac_parse(p->mac, mac) < 0 || !*p->ip) {
		set_errmsg(reterr_msg, "port %s has no MAC or no IPv4 address (\"%s\", \"%s\")",
			   p->name, p->mac, p->ip);
		return -EINVAL;
	}
	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		return r;
	}
	r = nested_link_get(host, nm->link, &link, reterr_msg);
	if (r < 0)
		return r;
	if (mtu > link.mtu) {
		set_errmsg(reterr_msg, "network %s's MTU %u is above %s's %u", net, mtu, link.name,
			   link.mtu);
		return -EMSGSIZE;
	}
	r = vm_port_find(nm, &link, vm, vm_net, reterr_msg);
	if (r < 0)
		return r;
	if (!streq(net, vm_net)) {
		set_errmsg(reterr_msg,
			   "network %s is not the VM's: nested-macvlan shares %s's L2, so its "
			   "containers can only be on network %s (that of port %s)",
			   net, link.name, vm_net, vm);
		return -EXDEV;
	}
	if (!link.up) {
		r = nl_link_set_up(host, link.ifindex, true, reterr_msg);
		if (r < 0)
			return r;
	}
	r = nl_sock_open_netns(req->netns_fd, &pod);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink in the container netns: %s",
			   strerror(-r));
		return r;
	}
	r = pod_name_free(pod, req->ifname, reterr_msg);
	if (r < 0)
		return r;
	/* The pair first: the device's first frame (its announcement)
	 * already passes the VM's port security. */
	r = pair_change(nm, vm, true, p, reterr_msg);
	if (r < 0)
		return r;
	/* Born under a name of ours and renamed in the pod: the kernel looks
	 * for a taken name in the guest's netns, which has eth0 too. */
	binding_ifname(BINDING_PREFIX_NEW, p->name, tmp);
	r = nl_macvlan_add(host, tmp, link.ifindex, req->netns_fd, MACVLAN_MODE_BRIDGE, mac, mtu,
			   &err);
	if (r < 0)
		set_errmsg(reterr_msg, "cannot create a macvlan of %s in the container netns: %s",
			   link.name, err ? err : strerror(-r));
	if (r == 0)
		r = nl_link_get(pod, tmp, &li);
	if (r == 0)
		r = nl_link_set_name(pod, li.ifindex, req->ifname, reterr_msg);
	if (r == 0) {
		renamed = true;
		st->ifindex = li.ifindex;
		r = pod_setup(pod, li.ifindex, req, false, reterr_msg);
	}
	if (r < 0) {
		(void)nl_link_del(pod, renamed ? req->ifname : tmp, NULL);
		(void)pair_change(nm, vm, false, p, NULL);
		return r;
	}
	/* Neighbours (the VM, other containers) may know the address under
	 * the MAC of the port that had it before; and OVN learns where it is. */
	r = pod_announce(pod, req, &li);
	if (r < 0 && r != -EINVAL)
		log_warn("event=announce-failed port=%s: %s", p->name, strerror(-r));
	st->announced = true; /* it rides on the VM's port: ready at once */
	snprintf(st->host_ifname, sizeof(st->host_ifname), "%s", link.name);
	mac_format(link.mac, st->host_mac);
	snprintf(st->data, sizeof(st->data), "%s", vm);
	if (!streq(p->mac, preq->port->mac))
		str_copy(st->pod_mac, p->mac, sizeof(st->pod_mac));
	return 0;
}

/* The pod's device, if the pod is there and it is ours; then the pair. */
static int nm_unplug(struct binding *b, const struct binding_req *preq,
		     const struct binding_state *st, char **reterr_msg)
{
	struct nested_macvlan *nm = to_nm(b);
	struct kuryr_port pp;
	struct binding_req rq = *preq;
	const struct binding_req *req = &rq;
	char vm[64], vm_net[128];
	int r;

	pod_port(nm, preq->port, &pp);
	rq.port = &pp;

	if (req->netns_fd >= 0) {
		_cleanup_(nl_sock_freep) struct nl_sock *pod = NULL;
		char tmp[IF_NAMESIZE], mac[18];
		struct nl_link_info li;

		/* Under its own name, or still under ours (a plug cut short). */
		binding_ifname(BINDING_PREFIX_NEW, req->port->name, tmp);
		r = nl_sock_open_netns(req->netns_fd, &pod);
		for (int i = 0; r == 0 && i < 2; i++) {
			const char *name = i ? tmp : req->ifname;

			if (nl_link_get(pod, name, &li) < 0 || !streq(li.kind, "macvlan"))
				continue;
			mac_format(li.mac, mac);
			if (strcasecmp(mac, req->port->mac) != 0)
				continue;
			r = nl_link_del(pod, name, reterr_msg);
			if (r == -ENODEV)
				r = 0;
		}
		if (r < 0)
			return r;
	}
	if (!*req->port->mac)
		return 0;
	if (*st->data)
		snprintf(vm, sizeof(vm), "%s", st->data);
	else {
		/* A plug cut short before it recorded the VM's port. */
		r = vm_port_find(nm, NULL, vm, vm_net, reterr_msg);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
	}
	r = pair_change(nm, vm, false, req->port, reterr_msg);
	/* The VM's port is gone, and its pairs with it. */
	return r == -ENOENT ? 0 : r;
}

static int nm_check(struct binding *b, const struct binding_req *preq,
		    const struct binding_state *st, char **reterr_msg)
{
	struct kuryr_port pp;
	struct binding_req rq = *preq;

	if (preq->netns_fd < 0)
		return 0;
	pod_port(to_nm(b), preq->port, &pp);
	rq.port = &pp;
	return pod_check(&rq, "macvlan", reterr_msg);
}

const struct binding_ops binding_nested_macvlan_ops = {
	.name = "nested-macvlan",
	.needs_bridge = false,
	.pod_side = true,
	.unbound = true,
	.new = nm_new,
	.free = nm_free,
	.plug = nm_plug,
	.unplug = nm_unplug,
	.check = nm_check,
};
