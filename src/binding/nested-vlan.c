/* SPDX-License-Identifier: Apache-2.0 */
/* Binding driver "nested-vlan": containers inside a VM, on the VM's trunk.
 * kuryrd runs in the guest; the VM's NIC (link_iface) is the trunk's parent
 * port. A container's port becomes a subport of that trunk with a VLAN id
 * of its own, and the pod's device is a VLAN sub-interface of the NIC with
 * that id and the port's MAC, created directly in the pod's netns. Its
 * frames leave the guest with one 802.1Q header, which the host's OVS pops
 * (OVN: the child port's tag) and pushes on the way back: one overlay, the
 * cloud's, and the container a port like any other.
 *
 * The trunk is found once, by the NIC's MAC (the VM's port, and the trunk
 * it carries), on the first plug: the control plane need not be up when
 * kuryrd starts. VLAN ids are ours to pick: the lowest one that no subport
 * of the trunk has, as the trunk said when it was found and as we have
 * handed out since. Whoever else adds a subport (another allocator, an
 * operator) makes the backend refuse that id (a transaction conditioned on
 * the tag; Neutron's 409): it is marked taken and the next one tried. The
 * id in use is kept in the attachment's row (binding_state.data).
 *
 * It also parks pool entries (binding_park_ops): a parked entry is a port
 * already on the trunk under an id of its own ("p:ID" in its state), so a
 * pool hit makes no backend call, only the pod's device; unplugging such a
 * device leaves the subport to the pool. A refill's batch goes onto the
 * trunk in one backend call (park_many), and a restart reads the trunk
 * once for all the pool's ports (parked_many). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "driver.h"
#include "json-util.h"
#include "log.h"
#include "net-util.h"
#include "nl/nl.h"

#define VLAN_MAX      4094
/* Ids refused because someone else took them, before we read the trunk
 * again. */
#define CLASH_TRIES   8
/* binding_state.data of a pool entry's subport: "p:ID". */
#define PARKED_PREFIX "p:"

struct nested_vlan {
	struct binding base;
	struct backend *backend;
	char link[IF_NAMESIZE]; /* "" : the default route's */
	int port_up_timeout_ms;
	pthread_mutex_t lock;
	/* Under lock: the trunk, once found, and the ids its subports have. */
	bool known;
	char trunk[64];
	uint8_t used[(VLAN_MAX + 8) / 8];
};

static struct nested_vlan *to_nv(struct binding *b)
{
	return (struct nested_vlan *)b;
}

static int nv_new(const struct binding_env *env, struct binding **ret, char **reterr_msg)
{
	struct nested_vlan *nv;

	if (!env->backend || !env->backend->ops->trunk_subport ||
	    !env->backend->ops->trunk_subports_add || !env->backend->ops->trunk_by_parent_mac) {
		set_errmsg(reterr_msg, "binding driver nested-vlan needs a backend with trunks");
		return -EOPNOTSUPP;
	}
	nv = calloc(1, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv->base.ops = &binding_nested_vlan_ops;
	nv->backend = env->backend;
	nv->port_up_timeout_ms = env->port_up_timeout_ms;
	if (env->link_iface)
		snprintf(nv->link, sizeof(nv->link), "%s", env->link_iface);
	pthread_mutex_init(&nv->lock, NULL);
	*ret = &nv->base;
	return 0;
}

static void nv_free(struct binding *b)
{
	struct nested_vlan *nv = to_nv(b);

	pthread_mutex_destroy(&nv->lock);
	free(nv);
}

static bool vlan_used(const struct nested_vlan *nv, unsigned id)
{
	return nv->used[id / 8] & (1u << (id % 8));
}

static void vlan_mark(struct nested_vlan *nv, unsigned id, bool used)
{
	if (id < 1 || id > VLAN_MAX)
		return;
	if (used)
		nv->used[id / 8] |= (uint8_t)(1u << (id % 8));
	else
		nv->used[id / 8] &= (uint8_t) ~(1u << (id % 8));
}

/* ---- the VM's NIC ---- */

/* The NIC named in [binding] link_iface, else the default route's. */
static int link_get(struct nested_vlan *nv, struct nl_sock *host, struct nl_link_info *ret,
		    char **reterr_msg)
{
	return nested_link_get(host, nv->link, ret, reterr_msg);
}

/* ---- the trunk and its ids ---- */

/* Find the trunk the NIC with MAC @mac is the parent of, and read its
 * subports' ids; the trunk as read in *ret_trunk if asked for. Under
 * nv->lock. */
static int trunk_find(struct nested_vlan *nv, const char *mac, json_t **ret_trunk,
		      char **reterr_msg)
{
	_cleanup_json_ json_t *t = NULL;
	_cleanup_free_ char *err = NULL;
	json_t *sp;
	size_t i;
	int r;

	r = nv->backend->ops->trunk_by_parent_mac(nv->backend, mac, &t, &err);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot find this VM's trunk (NIC MAC %s): %s", mac,
			   err ? err : strerror(-r));
		return r;
	}
	memset(nv->used, 0, sizeof(nv->used));
	json_array_foreach(json_object_get(t, "subports"), i, sp)
		vlan_mark(nv, (unsigned)json_integer_value(json_object_get(sp, "vlan")), true);
	snprintf(nv->trunk, sizeof(nv->trunk), "%s", json_object_get_str(t, "id") ?: "");
	nv->known = true;
	if (ret_trunk)
		*ret_trunk = TAKE_PTR(t);
	return 0;
}

/* The MAC of the VM's NIC, which names its port. */
static int link_mac(struct nested_vlan *nv, char mac[18], char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host = NULL;
	struct nl_link_info link;
	int r;

	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		return r;
	}
	r = link_get(nv, host, &link, reterr_msg);
	if (r == 0)
		mac_format(link.mac, mac);
	return r;
}

/* The trunk's id in @trunk (found first if need be, or again with
 * @reread; then the trunk as read in *ret_trunk, if asked for), and @n
 * free ids in @ids, marked used. */
static int trunk_use(struct nested_vlan *nv, bool reread, char trunk[64], unsigned *ids, size_t n,
		     json_t **ret_trunk, char **reterr_msg)
{
	char mac[18];
	size_t k = 0;
	int r = 0;

	pthread_mutex_lock(&nv->lock);
	if (!nv->known || reread) {
		r = link_mac(nv, mac, reterr_msg);
		if (r == 0)
			r = trunk_find(nv, mac, ret_trunk, reterr_msg);
	}
	if (r == 0)
		snprintf(trunk, 64, "%s", nv->trunk);
	for (unsigned id = 1; r == 0 && k < n && id <= VLAN_MAX; id++)
		if (!vlan_used(nv, id)) {
			vlan_mark(nv, id, true);
			ids[k++] = id;
		}
	if (r == 0 && k < n) {
		while (k > 0)
			vlan_mark(nv, ids[--k], false);
		r = -ENOSPC;
	}
	pthread_mutex_unlock(&nv->lock);
	if (r == -ENOSPC)
		set_errmsg(reterr_msg, "trunk %s has no %zu VLAN ids left", trunk, n);
	return r;
}

static void vlans_put(struct nested_vlan *nv, const unsigned *ids, size_t n)
{
	pthread_mutex_lock(&nv->lock);
	for (size_t i = 0; i < n; i++)
		vlan_mark(nv, ids[i], false);
	pthread_mutex_unlock(&nv->lock);
}

static void vlan_put(struct nested_vlan *nv, unsigned id)
{
	vlans_put(nv, &id, 1);
}

/* Read the trunk's ids again on the next allocation. */
static void trunk_forget_ids(struct nested_vlan *nv)
{
	pthread_mutex_lock(&nv->lock);
	nv->known = false;
	pthread_mutex_unlock(&nv->lock);
}

/* A batch refused for an id someone else took: which one, the trunk
 * says. Its ids are marked, the batch's others given back (ids that
 * other plugs of ours hold meanwhile stay marked, unlike a whole
 * re-read's). Unread, the batch's ids stay marked until the next read. */
static void vlans_settle(struct nested_vlan *nv, const char *trunk, const unsigned *ids, size_t n)
{
	_cleanup_json_ json_t *t = NULL;
	json_t *sp;
	size_t i;

	if (nv->backend->ops->trunk_get(nv->backend, trunk, &t, NULL) < 0)
		return;
	pthread_mutex_lock(&nv->lock);
	for (i = 0; i < n; i++)
		vlan_mark(nv, ids[i], false);
	json_array_foreach(json_object_get(t, "subports"), i, sp)
		vlan_mark(nv, (unsigned)json_integer_value(json_object_get(sp, "vlan")), true);
	pthread_mutex_unlock(&nv->lock);
}

/* Ports @ports[0..n) become subports of the VM's trunk under ids of ours
 * (*ids), all in one backend call: all or none. */
static int subports_add(struct nested_vlan *nv, const char *const *ports, size_t n, unsigned *ids,
			char **reterr_msg)
{
	char trunk[64];
	bool reread = false;
	int r = -EEXIST;

	for (int i = 0; i < 2 * CLASH_TRIES && r == -EEXIST; i++) {
		_cleanup_free_ char *err = NULL;

		r = trunk_use(nv, reread, trunk, ids, n, NULL, reterr_msg);
		reread = false;
		if (r < 0)
			return r;
		r = nv->backend->ops->trunk_subports_add(nv->backend, trunk, ports, ids, n, &err);
		if (r == 0)
			return 0;
		if (r == -EEXIST) {
			log_info("event=vlan-clash trunk=%s vlan=%u ports=%zu", trunk, ids[0], n);
			/* One port's id is the one taken: it stays marked, and
			 * after CLASH_TRIES refusals the trunk is read again
			 * (many ids went behind our back). A batch's: the
			 * trunk says which. */
			if (n == 1)
				reread = i + 1 == CLASH_TRIES;
			else
				vlans_settle(nv, trunk, ids, n);
			continue;
		}
		vlans_put(nv, ids, n);
		if (r == -ENOENT)
			/* The trunk went: find it again next time. */
			trunk_forget_ids(nv);
		if (n == 1)
			set_errmsg(reterr_msg, "cannot add port %s to trunk %s as VLAN %u: %s",
				   ports[0], trunk, ids[0], err ? err : strerror(-r));
		else
			set_errmsg(reterr_msg, "cannot add %zu ports (%s, ...) to trunk %s: %s", n,
				   ports[0], trunk, err ? err : strerror(-r));
		return r;
	}
	set_errmsg(reterr_msg, "trunk %s: every VLAN id tried was taken meanwhile", trunk);
	return -EAGAIN;
}

/* Port @port becomes a subport of the VM's trunk under an id of ours. */
static int subport_add(struct nested_vlan *nv, const char *port, unsigned *ret, char **reterr_msg)
{
	return subports_add(nv, &port, 1, ret, reterr_msg);
}

static int subport_remove(struct nested_vlan *nv, const char *port, char **reterr_msg)
{
	_cleanup_free_ char *err = NULL;
	char trunk[64];
	int r;

	r = trunk_use(nv, false, trunk, NULL, 0, NULL, reterr_msg);
	if (r < 0)
		return r;
	r = nv->backend->ops->trunk_subport(nv->backend, trunk, false, port, 0, &err);
	/* Not a subport (any more), or the port or trunk gone. */
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		set_errmsg(reterr_msg, "cannot remove port %s from trunk %s: %s", port, trunk,
			   err ? err : strerror(-r));
	return r;
}

/* ---- the driver ---- */

static bool is_parked(const struct binding_state *st)
{
	return strncmp(st->data, PARKED_PREFIX, strlen(PARKED_PREFIX)) == 0;
}

static int nv_plug(struct binding *b, const struct binding_req *req, struct binding_state *st,
		   char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host = NULL, *pod = NULL;
	struct nested_vlan *nv = to_nv(b);
	const struct kuryr_port *p = req->port;
	uint32_t mtu = req->net ? req->net->mtu : 0;
	_cleanup_free_ char *err = NULL;
	struct nl_link_info link, li;
	char link_mac[18], tmp[IF_NAMESIZE];
	uint8_t mac[6];
	unsigned vlan = 0;
	bool renamed = false, parked = is_parked(st);
	int r;

	if (req->netns_fd < 0) {
		set_errmsg(reterr_msg, "nested-vlan plugs containers only");
		return -EINVAL;
	}
	if (mac_parse(p->mac, mac) < 0) {
		set_errmsg(reterr_msg, "bad MAC \"%s\"", p->mac);
		return -EINVAL;
	}
	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		return r;
	}
	r = link_get(nv, host, &link, reterr_msg);
	if (r < 0)
		return r;
	if (mtu > link.mtu) {
		set_errmsg(reterr_msg, "network %s's MTU %u is above %s's %u",
			   req->net ? req->net->name : "?", mtu, link.name, link.mtu);
		return -EMSGSIZE;
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
	mac_format(link.mac, link_mac);
	if (parked)
		vlan = (unsigned)strtoul(st->data + strlen(PARKED_PREFIX), NULL, 10);
	else
		r = subport_add(nv, p->name, &vlan, reterr_msg);
	if (r < 0)
		return r;
	/* The kernel looks for a taken name where the request comes from,
	 * the guest's own netns, which has the NIC (eth0, as pods call theirs
	 * too): the device is born under a name of ours, renamed in the pod. */
	binding_ifname(BINDING_PREFIX_NEW, p->name, tmp);
	r = nl_vlan_add(host, tmp, link.ifindex, req->netns_fd, vlan, mac, mtu, &err);
	if (r < 0)
		set_errmsg(reterr_msg, "cannot create VLAN %u of %s in the container netns: %s",
			   vlan, link.name, err ? err : strerror(-r));
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
		if (!parked && subport_remove(nv, p->name, NULL) == 0)
			vlan_put(nv, vlan);
		return r;
	}
	/* A parked subport is installed: announce now (a new one, once
	 * ready: binding_announce()). */
	if (parked) {
		r = pod_announce(pod, req, &li);
		if (r < 0 && r != -EINVAL)
			log_warn("event=announce-failed port=%s: %s", p->name, strerror(-r));
		st->announced = true;
	}
	snprintf(st->host_ifname, sizeof(st->host_ifname), "%s", link.name);
	snprintf(st->host_mac, sizeof(st->host_mac), "%s", link_mac);
	if (!parked)
		snprintf(st->data, sizeof(st->data), "%u", vlan);
	return 0;
}

/* Ready once the host's ovn-controller has bound the subport (Neutron:
 * ACTIVE, which kuryrd waits for after every driver's plug). */
static int nv_wait_ready(struct binding *b, struct binding_state *st, int timeout_ms,
			 char **reterr_msg)
{
	struct nested_vlan *nv = to_nv(b);

	if (timeout_ms < 0 || !*st->port ||
	    (nv->backend->ops->caps & BACKEND_CAP_ACTIVE_AFTER_PLUG))
		return 0;
	return nv->backend->ops->port_wait_up(nv->backend, st->port, timeout_ms, reterr_msg);
}

/* The pod's device, if the pod is there and it is ours; then the
 * subport. */
static int nv_unplug(struct binding *b, const struct binding_req *req,
		     const struct binding_state *st, char **reterr_msg)
{
	struct nested_vlan *nv = to_nv(b);
	int r;

	if (req->netns_fd >= 0) {
		_cleanup_(nl_sock_freep) struct nl_sock *pod = NULL;
		struct nl_link_info li;
		char mac[18];

		char tmp[IF_NAMESIZE];

		/* Under its own name, or still under ours (a plug cut short). */
		binding_ifname(BINDING_PREFIX_NEW, req->port->name, tmp);
		r = nl_sock_open_netns(req->netns_fd, &pod);
		for (int i = 0; r == 0 && i < 2; i++) {
			const char *name = i ? tmp : req->ifname;

			if (nl_link_get(pod, name, &li) < 0 || !streq(li.kind, "vlan"))
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
	/* A pool entry's subport stays parked while the pod's device could
	 * be removed; without the pod, the entry is no longer whole. */
	if (is_parked(st) && req->netns_fd >= 0)
		return 0;
	/* A row a rollback kept for the device alone (its port is gone). */
	if (!*req->port->name)
		return 0;
	r = subport_remove(nv, req->port->name, reterr_msg);
	if (r == 0 && *st->data && !is_parked(st))
		vlan_put(nv, (unsigned)strtoul(st->data, NULL, 10));
	if (r == 0 && is_parked(st))
		trunk_forget_ids(nv);
	return r;
}

/* ---- parking: pool entries are subports ahead of time ---- */

static int nv_park_many(struct binding *b, const struct kuryr_port *ports, size_t n,
			const struct kuryr_network *net, struct binding_state *ret,
			char **reterr_msg)
{
	_cleanup_free_ const char **names = NULL;
	_cleanup_free_ unsigned *ids = NULL;
	int r;

	if (n == 0)
		return 0;
	names = calloc(n, sizeof(*names));
	ids = calloc(n, sizeof(*ids));
	if (!names || !ids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		names[i] = ports[i].name;
	r = subports_add(to_nv(b), names, n, ids, reterr_msg);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		ret[i] = (struct binding_state){ 0 };
		snprintf(ret[i].data, sizeof(ret[i].data), PARKED_PREFIX "%u", ids[i]);
		snprintf(ret[i].port, sizeof(ret[i].port), "%s", ports[i].name);
	}
	return 0;
}

static int nv_park(struct binding *b, const struct kuryr_port *port,
		   const struct kuryr_network *net, struct binding_state *ret, char **reterr_msg)
{
	return nv_park_many(b, port, 1, net, ret, reterr_msg);
}

static void nv_unpark(struct binding *b, const char *port)
{
	struct nested_vlan *nv = to_nv(b);

	/* Its id is not known here: the next allocation reads the trunk. */
	if (subport_remove(nv, port, NULL) == 0)
		trunk_forget_ids(nv);
}

/* Pool ports after a restart: parked if a subport of this VM's trunk (a
 * pool port is never another trunk's: its host is this node). The trunk
 * is read once for them all, fresh: finding it the first time reads it
 * anyway, and a list kept from then could be out of date by the time a
 * later caller asks. */
static void nv_parked_many(struct binding *b, const char *const *ports, size_t n, int *ret_states,
			   struct binding_state *ret)
{
	struct nested_vlan *nv = to_nv(b);
	_cleanup_json_ json_t *t = NULL;
	char trunk[64];
	json_t *subs, *sp;
	size_t i;

	for (size_t k = 0; k < n; k++)
		ret_states[k] = 0;
	if (n == 0)
		return;
	if (trunk_use(nv, false, trunk, NULL, 0, &t, NULL) < 0 ||
	    (!t && nv->backend->ops->trunk_get(nv->backend, trunk, &t, NULL) < 0))
		return;
	subs = json_object_get(t, "subports");
	for (size_t k = 0; k < n; k++)
		json_array_foreach(subs, i, sp) {
			if (!streq_ptr(json_object_get_str(sp, "port"), ports[k]))
				continue;
			ret[k] = (struct binding_state){ 0 };
			snprintf(ret[k].driver, sizeof(ret[k].driver), "%s",
				 binding_nested_vlan_ops.name);
			snprintf(ret[k].data, sizeof(ret[k].data), PARKED_PREFIX "%lld",
				 (long long)json_integer_value(json_object_get(sp, "vlan")));
			snprintf(ret[k].port, sizeof(ret[k].port), "%s", ports[k]);
			ret_states[k] = PARKED_FREE;
			break;
		}
}

static int nv_parked(struct binding *b, const char *port, struct binding_state *ret)
{
	int state;

	nv_parked_many(b, &port, 1, &state, ret);
	return state;
}

/* No stubs: a parked entry is only its subport. */
static int nv_stubs(struct binding *b, char (**ret)[IF_NAMESIZE], size_t *ret_n)
{
	*ret = NULL;
	*ret_n = 0;
	return 0;
}

static void nv_drop_stub(struct binding *b, const char *stub)
{
}

static const struct binding_park_ops nv_park_ops = {
	.park = nv_park,
	.park_many = nv_park_many,
	.unpark = nv_unpark,
	.parked = nv_parked,
	.parked_many = nv_parked_many,
	.stubs = nv_stubs,
	.drop_stub = nv_drop_stub,
};

static int nv_check(struct binding *b, const struct binding_req *req,
		    const struct binding_state *st, char **reterr_msg)
{
	return req->netns_fd >= 0 ? pod_check(req, "vlan", reterr_msg) : 0;
}

const struct binding_ops binding_nested_vlan_ops = {
	.name = "nested-vlan",
	.needs_bridge = false,
	.subports = true,
	.pod_side = true,
	.new = nv_new,
	.free = nv_free,
	.plug = nv_plug,
	.wait_ready = nv_wait_ready,
	.unplug = nv_unplug,
	.check = nv_check,
	.park = &nv_park_ops,
};
