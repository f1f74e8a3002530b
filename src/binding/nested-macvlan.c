/* SPDX-License-Identifier: Apache-2.0 */
/* Binding driver "nested-macvlan": containers inside a VM, on the VM's own
 * network, without a trunk. kuryrd runs in the guest; the VM's NIC
 * (link_iface) is the VM's port. A container's port is made as any other
 * (it reserves the container's address and MAC) but never bound: the
 * pod's device is a macvlan of the NIC in bridge mode, with the port's
 * MAC, created directly in the pod's netns, and its frames leave the
 * guest as the VM's own do. So that the VM's port lets them through (port
 * security), each of the container's addresses (IPv4, IPv6, or both) with
 * its MAC becomes an allowed address pair of the VM's port for as long as
 * the container is plugged; only those pairs are added and removed, all
 * in one change, against the pairs the port has at that moment (struct
 * port_update add_pairs, del_pairs), so that containers plugged at once,
 * and pairs an operator set, all stay.
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
	struct nested_binding nb;
	/* Under nb.lock: the VM's port, once found, and its network. */
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
	if (!env->backend || !env->backend->ops->port_by_mac || !env->backend->ops->port_update) {
		set_errmsg(reterr_msg, "binding driver nested-macvlan needs a backend with "
				       "allowed address pairs");
		return -EOPNOTSUPP;
	}
	return nested_binding_new(&binding_nested_macvlan_ops, sizeof(struct nested_macvlan), env,
				  ret);
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

	pthread_mutex_lock(&nm->nb.lock);
	if (!nm->known) {
		_cleanup_(nl_sock_freep) struct nl_sock *host = NULL;
		_cleanup_free_ char *err = NULL;

		if (!link) {
			r = nl_sock_open(&host);
			if (r < 0)
				set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
			if (r == 0)
				r = nested_link_get(host, nm->nb.link, &li, reterr_msg);
			link = &li;
		}
		if (r == 0) {
			mac_format(link->mac, mac);
			r = nm->nb.backend->ops->port_by_mac(nm->nb.backend, mac, &vm, &err);
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
	pthread_mutex_unlock(&nm->nb.lock);
	return r;
}

static void vm_port_forget(struct nested_macvlan *nm)
{
	pthread_mutex_lock(&nm->nb.lock);
	nm->known = false;
	pthread_mutex_unlock(&nm->nb.lock);
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
	if (!(nm->nb.backend->ops->caps & BACKEND_CAP_VIRTUAL_PAIRS) || mac_parse(p->mac, mac) < 0)
		return;
	mac[0] ^= 0x04;
	mac_format(mac, ret->mac);
}

/* Add (or remove) the container's addresses with its MAC as allowed
 * address pairs of the VM's port @vm, one per address family, in one
 * change (all of them or none), leaving the port's other pairs. */
static int pair_change(struct nested_macvlan *nm, const char *vm, bool add,
		       const struct kuryr_port *p, char **reterr_msg)
{
	struct kuryr_addr_pair pairs[2] = { 0 };
	struct kuryr_addr addrs[2];
	unsigned n = kuryr_port_addrs(p, NULL, addrs);
	_cleanup_free_ char *err = NULL;
	struct kuryr_port after;
	char text[2 * (sizeof(pairs->ip) + MAC_STR_LEN + 1)] = "";
	int r;

	for (unsigned i = 0; i < n; i++) {
		snprintf(pairs[i].ip, sizeof(pairs[i].ip), "%s", addrs[i].ip);
		str_copy(pairs[i].mac, p->mac, sizeof(pairs[i].mac));
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s,%s", i ? " " : "",
			 pairs[i].ip, pairs[i].mac);
	}
	r = nm->nb.backend->ops->port_update(nm->nb.backend, vm,
					     &(struct port_update){ .add_pairs = add ? pairs : NULL,
								    .n_add = add ? n : 0,
								    .del_pairs = add ? NULL : pairs,
								    .n_del = add ? 0 : n },
					     &after, &err);
	if (r == -ENOENT)
		vm_port_forget(nm);
	if (r < 0)
		set_errmsg(reterr_msg, "cannot %s allowed address pairs %s %s the VM's port %s: %s",
			   add ? "add" : "remove", text, add ? "to" : "from", vm,
			   err ? err : strerror(-r));
	return r;
}

struct macvlan_create {
	int netns_fd;
	uint32_t mtu;
};

static int macvlan_create(struct nested_plug *np, const char *tmp, void *ctx, char **reterr_msg)
{
	const struct macvlan_create *c = ctx;
	_cleanup_free_ char *err = NULL;
	int r;

	r = nl_macvlan_add(np->host, tmp, np->link.ifindex, c->netns_fd, MACVLAN_MODE_BRIDGE,
			   np->mac, c->mtu, &err);
	if (r < 0)
		set_errmsg(reterr_msg, "cannot create a macvlan of %s in the container netns: %s",
			   np->link.name, err ? err : strerror(-r));
	return r;
}

static int nm_plug(struct binding *b, const struct binding_req *preq, struct binding_state *st,
		   char **reterr_msg)
{
	struct nested_macvlan *nm = to_nm(b);
	struct kuryr_port pp;
	struct binding_req rq = *preq;
	const struct binding_req *req = &rq;
	const struct kuryr_port *p = &pp;
	const char *net = req->net ? req->net->name : preq->port->network;
	struct macvlan_create c = { .netns_fd = req->netns_fd,
				    .mtu = req->net ? req->net->mtu : 0 };
	struct nested_plug np;
	struct nl_link_info dev;
	char vm[64], vm_net[128];
	int r, r2;

	pod_port(nm, preq->port, &pp);
	rq.port = &pp;
	if (!kuryr_port_has_ip(p)) {
		set_errmsg(reterr_msg, "port %s has no address", p->name);
		return -EINVAL;
	}
	r = nested_plug_begin(&nm->nb, req, &np, reterr_msg);
	if (r < 0)
		return r;
	r = vm_port_find(nm, &np.link, vm, vm_net, reterr_msg);
	if (r == 0 && !streq(net, vm_net)) {
		set_errmsg(reterr_msg,
			   "network %s is not the VM's: nested-macvlan shares %s's L2, so its "
			   "containers can only be on network %s (that of port %s)",
			   net, np.link.name, vm_net, vm);
		r = -EXDEV;
	}
	/* The pair first: the device's first frame (its announcement)
	 * already passes the VM's port security. */
	if (r == 0)
		r = pair_change(nm, vm, true, p, reterr_msg);
	if (r < 0)
		goto out;
	r = nested_pod_device_add(&np, req, macvlan_create, &c, st, &dev, reterr_msg);
	if (r < 0) {
		(void)pair_change(nm, vm, false, p, NULL);
		goto out;
	}
	/* Neighbours (the VM, other containers) may know the address under
	 * the MAC of the port that had it before; and OVN learns where it is.
	 * It rides on the VM's port: ready at once. */
	r2 = pod_announce(np.pod, req, &dev);
	if (r2 < 0 && r2 != -EINVAL)
		log_warn("event=announce-failed port=%s: %s", p->name, strerror(-r2));
	st->announced = true;
	snprintf(st->data, sizeof(st->data), "%s", vm);
	if (!streq(p->mac, preq->port->mac))
		str_copy(st->pod_mac, p->mac, sizeof(st->pod_mac));
out:
	nested_plug_done(&np);
	return r;
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

	r = nested_pod_device_del(req, "macvlan", reterr_msg);
	if (r < 0)
		return r;
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
	.free = nested_binding_free,
	.plug = nm_plug,
	.unplug = nm_unplug,
	.check = nm_check,
};
