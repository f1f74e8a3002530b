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
	struct nested_binding nb;
	/* Under nb.lock: the trunk, once found, and the ids its subports
	 * have. */
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
	if (!env->backend || !env->backend->ops->trunk_subport ||
	    !env->backend->ops->trunk_subports_add || !env->backend->ops->trunk_by_parent_mac) {
		set_errmsg(reterr_msg, "binding driver nested-vlan needs a backend with trunks");
		return -EOPNOTSUPP;
	}
	return nested_binding_new(&binding_nested_vlan_ops, sizeof(struct nested_vlan), env, ret);
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

/* ---- the trunk and its ids ---- */

/* Find the trunk the NIC with MAC @mac is the parent of, and read its
 * subports' ids; the trunk as read in *ret_trunk if asked for. Under
 * nv->nb.lock. */
static int trunk_find(struct nested_vlan *nv, const char *mac, json_t **ret_trunk,
		      char **reterr_msg)
{
	_cleanup_json_ json_t *t = NULL;
	_cleanup_free_ char *err = NULL;
	json_t *sp;
	size_t i;
	int r;

	r = nv->nb.backend->ops->trunk_by_parent_mac(nv->nb.backend, mac, &t, &err);
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
	r = nested_link_get(host, nv->nb.link, &link, reterr_msg);
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

	pthread_mutex_lock(&nv->nb.lock);
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
	pthread_mutex_unlock(&nv->nb.lock);
	if (r == -ENOSPC)
		set_errmsg(reterr_msg, "trunk %s has no %zu VLAN ids left", trunk, n);
	return r;
}

static void vlans_put(struct nested_vlan *nv, const unsigned *ids, size_t n)
{
	pthread_mutex_lock(&nv->nb.lock);
	for (size_t i = 0; i < n; i++)
		vlan_mark(nv, ids[i], false);
	pthread_mutex_unlock(&nv->nb.lock);
}

static void vlan_put(struct nested_vlan *nv, unsigned id)
{
	vlans_put(nv, &id, 1);
}

/* Read the trunk's ids again on the next allocation. */
static void trunk_forget_ids(struct nested_vlan *nv)
{
	pthread_mutex_lock(&nv->nb.lock);
	nv->known = false;
	pthread_mutex_unlock(&nv->nb.lock);
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

	if (nv->nb.backend->ops->trunk_get(nv->nb.backend, trunk, &t, NULL) < 0)
		return;
	pthread_mutex_lock(&nv->nb.lock);
	for (i = 0; i < n; i++)
		vlan_mark(nv, ids[i], false);
	json_array_foreach(json_object_get(t, "subports"), i, sp)
		vlan_mark(nv, (unsigned)json_integer_value(json_object_get(sp, "vlan")), true);
	pthread_mutex_unlock(&nv->nb.lock);
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
		r = nv->nb.backend->ops->trunk_subports_add(nv->nb.backend, trunk, ports, ids, n,
							    &err);
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
	r = nv->nb.backend->ops->trunk_subport(nv->nb.backend, trunk, false, port, 0, &err);
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

struct vlan_create {
	int netns_fd;
	unsigned vlan;
	uint32_t mtu;
};

static int vlan_create(struct nested_plug *np, const char *tmp, void *ctx, char **reterr_msg)
{
	const struct vlan_create *c = ctx;
	_cleanup_free_ char *err = NULL;
	int r;

	r = nl_vlan_add(np->host, tmp, np->link.ifindex, c->netns_fd, c->vlan, np->mac, c->mtu,
			&err);
	if (r < 0)
		set_errmsg(reterr_msg, "cannot create VLAN %u of %s in the container netns: %s",
			   c->vlan, np->link.name, err ? err : strerror(-r));
	return r;
}

static int nv_plug(struct binding *b, const struct binding_req *req, struct binding_state *st,
		   char **reterr_msg)
{
	struct nested_vlan *nv = to_nv(b);
	const struct kuryr_port *p = req->port;
	struct vlan_create c = { .mtu = req->net ? req->net->mtu : 0 };
	struct nested_plug np;
	struct nl_link_info dev;
	bool parked = is_parked(st), added = false;
	int r;

	r = nested_plug_begin(&nv->nb, req, &np, reterr_msg);
	if (r < 0)
		return r;
	c.netns_fd = req->netns_fd;
	if (parked)
		c.vlan = (unsigned)strtoul(st->data + strlen(PARKED_PREFIX), NULL, 10);
	else
		added = (r = subport_add(nv, p->name, &c.vlan, reterr_msg)) == 0;
	if (r == 0)
		r = nested_pod_device_add(&np, req, vlan_create, &c, st, &dev, reterr_msg);
	if (r < 0) {
		if (added && subport_remove(nv, p->name, NULL) == 0)
			vlan_put(nv, c.vlan);
		goto out;
	}
	/* A parked subport is installed: announce now (a new one, once
	 * ready: binding_announce()). */
	if (parked) {
		int r2 = pod_announce(np.pod, req, &dev);

		if (r2 < 0 && r2 != -EINVAL)
			log_warn("event=announce-failed port=%s: %s", p->name, strerror(-r2));
		st->announced = true;
	} else
		snprintf(st->data, sizeof(st->data), "%u", c.vlan);
out:
	nested_plug_done(&np);
	return r;
}

/* Ready once the host's ovn-controller has bound the subport (Neutron:
 * ACTIVE, which kuryrd waits for after every driver's plug). */
static int nv_wait_ready(struct binding *b, struct binding_state *st, int timeout_ms,
			 char **reterr_msg)
{
	struct nested_vlan *nv = to_nv(b);

	if (timeout_ms < 0 || !*st->port ||
	    (nv->nb.backend->ops->caps & BACKEND_CAP_ACTIVE_AFTER_PLUG))
		return 0;
	return nv->nb.backend->ops->port_wait_up(nv->nb.backend, st->port, timeout_ms, reterr_msg);
}

/* The pod's device, if the pod is there and it is ours; then the
 * subport. */
static int nv_unplug(struct binding *b, const struct binding_req *req,
		     const struct binding_state *st, char **reterr_msg)
{
	struct nested_vlan *nv = to_nv(b);
	int r;

	r = nested_pod_device_del(req, "vlan", reterr_msg);
	if (r < 0)
		return r;
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
	    (!t && nv->nb.backend->ops->trunk_get(nv->nb.backend, trunk, &t, NULL) < 0))
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
	.free = nested_binding_free,
	.plug = nv_plug,
	.wait_ready = nv_wait_ready,
	.unplug = nv_unplug,
	.check = nv_check,
	.park = &nv_park_ops,
};
