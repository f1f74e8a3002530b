/* SPDX-License-Identifier: Apache-2.0 */
/* Adoption at start: this node's pool ports in the backend become entries
 * again (ready if intact and free, in use if an attachment row holds
 * them); broken ones, and stubs whose port is gone, are deleted. */
#include <stdio.h>

#include "log.h"
#include "pool-private.h"

/* Adopt one pool port found in the backend, or tear it down; @parked is
 * what the parking driver said of its entry (binding_parked(), 0 without
 * one) and @parked_st the entry's state if parked. */
static void recover_port(struct pool_mgr *m, const struct kuryr_port *kp,
			 const struct attachment *rows, size_t n_rows, int parked,
			 const struct binding_state *parked_st)
{
	struct entry e = { .port = *kp };
	const struct attachment *row = NULL;
	struct kuryr_network net;
	enum entry_state st = E_READY;
	char key[POOL_KEY_MAX];
	struct pool *p;

	/* The pool it was made for, if the backend kept that and it still
	 * names this network (a renamed network's ports join its default
	 * pool). */
	snprintf(key, sizeof(key), "%s",
		 *kp->pool_key && key_of_network(kp->pool_key, kp->network) ? kp->pool_key
									    : kp->network);
	for (size_t i = 0; i < n_rows; i++)
		if (streq(rows[i].port, kp->name))
			row = &rows[i];
	if (m->b->ops->network_get(m->b, kp->network, &net, NULL) < 0 ||
	    kuryr_port_prefixes(&e.port, &net) < 0 || (!*net.cidr && !*net.cidr6))
		goto destroy;
	if (row) {
		/* In use by a container: keep it as it is. */
		e.prewired = row->pooled == ATTACH_POOL_PREWIRED;
		if (e.prewired && parked)
			e.parked = *parked_st;
		else {
			snprintf(e.parked.driver, sizeof(e.parked.driver), "%s", row->binding);
			snprintf(e.parked.host_ifname, sizeof(e.parked.host_ifname), "%s",
				 row->host_ifname);
			snprintf(e.parked.data, sizeof(e.parked.data), "%s", row->binding_data);
		}
		st = E_IN_USE;
	} else if (m->pp.prewire) {
		/* A stub still under a container's macvlan (a DEL renamed it
		 * and crashed before deleting it) is not free. */
		if (parked != PARKED_FREE)
			goto destroy;
		e.parked = *parked_st;
		e.prewired = true;
	} else {
		/* Port-only pools keep the port and drop any devices. */
		struct binding *pw = m->pp.plug;

		(void)binding_unplug(pw, &(struct binding_req){ .port = kp, .netns_fd = -1 },
				     &(struct binding_state){ 0 }, NULL);
	}
	pthread_mutex_lock(&m->lock);
	p = pool_find(m, key, true);
	if (p) {
		p->net = net;
		entry_add(p, &e, st);
	}
	pthread_mutex_unlock(&m->lock);
	/* Its container went while kuryrd was away. */
	if (!row && *kp->device_id && !streq(kp->device_id, m->host))
		pool_note_user(m, kp->name, "");
	return;
destroy:
	log_info("event=pool-recover-delete port=%s network=%s", kp->name, kp->network);
	e.prewired = m->pp.prewire != NULL;
	destroy_entry_resources(m, &e);
}

/* Whether @kp is one of this node's pool ports. */
static bool ours(struct pool_mgr *m, const struct kuryr_port *kp)
{
	return kp->owner == PORT_OWNER_POOL && streq(*kp->host ? kp->host : kp->device_id, m->host);
}

/* What the parking driver says of the entries of this node's pool ports
 * @ports[0..n) (parked[i], st[i]; 0 for ports not ours), asked of all of
 * them at once: nested-vlan then reads the trunk once, not once a port. */
static int parked_all(struct pool_mgr *m, const struct kuryr_port *ports, size_t n, int *parked,
		      struct binding_state *st)
{
	_cleanup_free_ const char **names = calloc(n, sizeof(*names));
	_cleanup_free_ size_t *at = calloc(n, sizeof(*at));
	_cleanup_free_ int *states = calloc(n, sizeof(*states));
	_cleanup_free_ struct binding_state *sts = calloc(n, sizeof(*sts));
	size_t k = 0;

	if (!names || !at || !states || !sts)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ours(m, &ports[i])) {
			at[k] = i;
			names[k++] = ports[i].name;
		}
	if (k == 0)
		return 0;
	binding_parked_many(m->pp.prewire, names, k, states, sts);
	for (size_t j = 0; j < k; j++) {
		parked[at[j]] = states[j];
		st[at[j]] = sts[j];
	}
	return 0;
}

int recover(struct pool_mgr *m, char **reterr_msg)
{
	_cleanup_free_ struct kuryr_port *ports = NULL;
	_cleanup_free_ struct attachment *rows = NULL;
	_cleanup_free_ char(*stubs)[IF_NAMESIZE] = NULL;
	_cleanup_free_ int *parked = NULL;
	_cleanup_free_ struct binding_state *st = NULL;
	size_t n = 0, n_rows = 0, n_stubs = 0;
	int r;

	r = m->b->ops->port_list(m->b, NULL, &ports, &n, reterr_msg);
	if (r < 0)
		return r;
	r = store_list(m->st, &rows, &n_rows);
	if (r < 0)
		return r;
	if (m->pp.prewire) {
		r = binding_stubs(m->pp.prewire, &stubs, &n_stubs);
		if (r < 0) {
			set_errmsg(reterr_msg, "cannot list the holding netns: %s", strerror(-r));
			return r;
		}
	}
	parked = calloc(n + 1, sizeof(*parked));
	st = calloc(n + 1, sizeof(*st));
	if (!parked || !st)
		return -ENOMEM;
	if (m->pp.prewire && n > 0) {
		r = parked_all(m, ports, n, parked, st);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++) {
		const struct kuryr_port *kp = &ports[i];
		char stub[IF_NAMESIZE];

		if (!ours(m, kp))
			continue;
		binding_ifname(BINDING_PREFIX_STUB, kp->name, stub);
		for (size_t j = 0; j < n_stubs; j++)
			if (streq(stubs[j], stub))
				stubs[j][0] = 0; /* claimed */
		recover_port(m, kp, rows, n_rows, parked[i], &st[i]);
	}
	/* Stubs whose port is gone. */
	for (size_t j = 0; j < n_stubs; j++)
		if (stubs[j][0])
			binding_drop_stub(m->pp.prewire, stubs[j]);
	return 0;
}
