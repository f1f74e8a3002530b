/* SPDX-License-Identifier: Apache-2.0 */
/* Undoing an attachment from its row, with the driver that plugged it;
 * and, at start, rolling back what a previous run left half-done.
 *
 * Without the pod's netns (a restart's rollback, GC, a DEL whose netns is
 * gone) the pod's device is removed from the host side: a veth's host end
 * takes its peer along, a pre-wired stub its macvlan; that pool entry is
 * then destroyed rather than returned. kuryrd never opens a netns path a
 * caller gave it to find out.
 *
 * A port moved to another node since it was plugged here (port_move) is
 * that node's: only what this node plugged goes, and the row. A port
 * moved here by an ADD that did not finish goes back to its node. */
#include <stdio.h>

#include "cni/cni.h"
#include "daemon-private.h"
#include "log.h"
#include "nl/nl.h"

void attachment_binding(const struct attachment *a, int netns_fd, struct kuryr_port *port,
			struct kuryr_network *net, struct binding_req *req,
			struct binding_state *st)
{
	char ip[48];
	uint8_t len = 0;

	*port = (struct kuryr_port){ 0 };
	*net = (struct kuryr_network){ .mtu = a->mtu };
	snprintf(port->name, sizeof(port->name), "%s", a->port);
	str_copy(port->network, a->network, sizeof(port->network));
	snprintf(port->mac, sizeof(port->mac), "%s", a->mac);
	if (addr_split(a->address, ip, sizeof(ip), &len) == 0) {
		snprintf(port->ip, sizeof(port->ip), "%s", ip);
		port->prefixlen = len;
	}
	if (addr_split(a->address6, ip, sizeof(ip), &len) == 0 && *ip) {
		snprintf(port->ip6, sizeof(port->ip6), "%s", ip);
		port->prefixlen6 = len;
	}
	str_copy(net->name, a->network, sizeof(net->name));
	snprintf(net->gateway, sizeof(net->gateway), "%s", a->gateway);
	snprintf(net->gateway6, sizeof(net->gateway6), "%s", a->gateway6);
	*req = (struct binding_req){ .port = port,
				     .net = net,
				     .netns_fd = netns_fd,
				     .ifname = a->ifname,
				     .device_id = a->container_id };
	*st = (struct binding_state){ 0 };
	snprintf(st->driver, sizeof(st->driver), "%s", a->binding);
	snprintf(st->host_ifname, sizeof(st->host_ifname), "%s", a->host_ifname);
	snprintf(st->data, sizeof(st->data), "%s", a->binding_data);
}

/* Whether the port of finished attachment @a is on another node now, in
 * *ret_moved. Nested drivers' ports are bound where their VM is, never
 * here: never "moved". A port that is gone has not moved; one the backend
 * cannot say of fails the teardown (to be retried): deleting it blind
 * could delete a port another node now uses. */
static int port_moved_away(struct kuryrd *d, const struct attachment *a, bool *ret_moved,
			   char **reterr_msg)
{
	struct binding *drv = kuryrd_binding(d, a->binding);
	_cleanup_free_ char *err = NULL;
	struct kuryr_port p;
	int r;

	*ret_moved = false;
	if (a->state != ATTACH_DONE || !*a->port || !d->backend->ops->port_move || !drv ||
	    binding_subports(drv) || binding_unbound(drv))
		return 0;
	r = d->backend->ops->port_get(d->backend, a->port, &p, &err);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot tell whether port %s is still this node's: %s",
			   a->port, err ? err : strerror(-r));
		return r;
	}
	*ret_moved = *p.host && !streq(p.host, d->cfg.host);
	return 0;
}

/* What this node plugged for @a, through the driver that plugged it. */
static int unplug(struct kuryrd *d, const struct attachment *a, int netns_fd, char **reterr_msg)
{
	struct kuryr_network net;
	struct kuryr_port port;
	struct binding_state st;
	struct binding_req req;
	struct binding *drv;

	if (!*a->binding)
		return 0;
	drv = kuryrd_binding(d, a->binding);
	if (!drv) {
		set_errmsg(reterr_msg, "binding driver %s is not on this node", a->binding);
		return -EOPNOTSUPP;
	}
	attachment_binding(a, netns_fd, &port, &net, &req, &st);
	return binding_unplug(drv, &req, &st, reterr_msg);
}

/* A port moved here whose ADD did not finish: back to its node. */
static int give_back(struct kuryrd *d, const struct attachment *a, int netns_fd, char **reterr_msg)
{
	int r = unplug(d, a, netns_fd, reterr_msg);

	if (r < 0)
		return r;
	if (a->state >= ATTACH_PORT) {
		r = d->backend->ops->port_move(d->backend, a->port,
					       &(struct port_move){ .step = PORT_MOVE_CANCEL },
					       NULL, reterr_msg);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return store_delete(d->store, a->container_id, a->ifname);
}

/* A port gone to another node: this node's devices and row go, and the
 * members this node still owns (those the new node took over are its). */
static int let_go(struct kuryrd *d, const struct attachment *a, int netns_fd, char **reterr_msg)
{
	int r;

	lb_follow_leave(d, a);
	if (a->pooled == ATTACH_POOL_PREWIRED && d->pool) {
		pool_forget(d->pool, a);
		return store_delete(d->store, a->container_id, a->ifname);
	}
	r = unplug(d, a, netns_fd, reterr_msg);
	if (r < 0)
		return r;
	if (a->pooled == ATTACH_POOL_PORT && d->pool)
		pool_forget(d->pool, a);
	log_info("event=del-moved container=%.12s ifname=%s port=%s: the port is another "
		 "node's now",
		 a->container_id, a->ifname, a->port);
	return store_delete(d->store, a->container_id, a->ifname);
}

int attachment_teardown(struct kuryrd *d, const struct attachment *a, int netns_fd,
			char **reterr_msg)
{
	bool moved;
	int r;

	if (a->pooled == ATTACH_MOVED_IN && a->state != ATTACH_DONE)
		return give_back(d, a, netns_fd, reterr_msg);
	r = port_moved_away(d, a, &moved, reterr_msg);
	if (r < 0)
		return r;
	if (moved)
		return let_go(d, a, netns_fd, reterr_msg);
	/* Out of its pools first: no traffic for a container on its way. */
	lb_follow_leave(d, a);

	/* A pool entry goes back to its pool, or is destroyed there. The row
	 * goes first: once released the entry may serve another container,
	 * and a DEL retried because the row stayed would release it again
	 * (handing it out twice). A release that fails puts the row back. */
	if ((a->pooled == ATTACH_POOL_PORT || a->pooled == ATTACH_POOL_PREWIRED) && d->pool) {
		r = store_delete(d->store, a->container_id, a->ifname);
		if (r < 0) {
			set_errmsg(reterr_msg, "cannot remove the attachment row: %s",
				   strerror(-r));
			return r;
		}
		r = pool_release(d->pool, a, netns_fd, reterr_msg);
		if (r < 0)
			(void)store_insert(d->store, a);
		return r;
	}
	/* Pools off: an entry of an earlier run goes whole, devices with it. */
	if (a->pooled != ATTACH_OWN && a->pooled != ATTACH_MOVED_IN)
		netns_fd = -1;
	r = unplug(d, a, netns_fd, reterr_msg);
	if (r < 0)
		return r;
	if (*a->port) {
		r = d->backend->ops->port_delete(d->backend, a->port, reterr_msg);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return store_delete(d->store, a->container_id, a->ifname);
}

int attachment_discard(struct kuryrd *d, const char *cid, const char *ifname, int netns_fd,
		       char **reterr_msg)
{
	pthread_mutex_t *l = kuryrd_stripe(d, cid, ifname);
	struct attachment a;
	int r;

	pthread_mutex_lock(l);
	r = store_get(d->store, cid, ifname, &a);
	if (r == -ENOENT)
		r = 0;
	else if (r == 0 && (a.pooled == ATTACH_POOL_PORT || a.pooled == ATTACH_POOL_PREWIRED) &&
		 d->pool) {
		/* The pool forgets it (a pre-wired stub goes, and the device
		 * on it); a port-only entry's veth is ours to unplug. */
		if (a.pooled == ATTACH_POOL_PORT)
			r = unplug(d, &a, netns_fd, reterr_msg);
		if (r == 0) {
			pool_forget(d->pool, &a);
			r = d->backend->ops->port_delete(d->backend, a.port, reterr_msg);
			if (r == -ENOENT)
				r = 0;
		}
		if (r == 0)
			r = store_delete(d->store, cid, ifname);
	} else if (r == 0)
		r = attachment_teardown(d, &a, netns_fd, reterr_msg);
	pthread_mutex_unlock(l);
	return r;
}

json_t *attachment_del(struct kuryrd *d, const char *cid, const char *ifname, int netns_fd)
{
	_cleanup_free_ char *err = NULL;
	pthread_mutex_t *l = kuryrd_stripe(d, cid, ifname);
	struct attachment a;
	json_t *reply = NULL;
	int r;

	pthread_mutex_lock(l);
	r = store_get(d->store, cid, ifname, &a);
	if (r == 0) {
		r = attachment_teardown(d, &a, netns_fd, &err);
		if (r < 0)
			reply = reply_error(CNI_ERR_TRY_AGAIN, "cannot remove the attachment", err);
		else
			log_info("event=del container=%.12s ifname=%s port=%s", cid, ifname,
				 a.port);
	} else if (r != -ENOENT)
		reply = reply_error(CNI_ERR_IO, "cannot read the attachment store", strerror(-r));
	pthread_mutex_unlock(l);
	return reply;
}

bool device_here(const char *ifname)
{
	_cleanup_(nl_sock_freep) struct nl_sock *s = NULL;
	struct nl_link_info li;

	return nl_sock_open(&s) == 0 && nl_link_get(s, ifname, &li) == 0;
}

bool attachment_gone(struct kuryrd *d, const struct attachment *a)
{
	struct binding *drv = kuryrd_binding(d, a->binding);
	struct kuryr_network net;
	struct kuryr_port port;
	struct binding_state st;
	struct binding_req req;

	if (!drv)
		return false;
	/* A Docker endpoint's device waits in kuryrd's netns until dockerd
	 * takes it, and is back after Leave: there, down, it holds no stub
	 * promiscuous, and is not gone for that. */
	if (!strncmp(a->container_id, "docker:", 7) && device_here(a->ifname))
		return false;
	attachment_binding(a, -1, &port, &net, &req, &st);
	return binding_check(drv, &req, &st, NULL) == -ENODEV;
}

/* A half-done ADD rolled back without its pod's netns, by a driver whose
 * pod device only that netns reaches (nested-vlan): the row stays, without
 * its port (deleted), so that the DEL or the retried ADD that brings the
 * netns removes the device too. A row kept so once goes for good the
 * next time. */
static void keep_for_pod(struct kuryrd *d, const struct attachment *a)
{
	struct binding *drv = kuryrd_binding(d, a->binding);
	struct attachment k = *a;

	if (!drv || !drv->ops->pod_side || !*a->port || a->state == ATTACH_DONE)
		return;
	k.port[0] = 0;
	k.state = ATTACH_INTENT;
	if (store_insert(d->store, &k) == 0)
		log_info("event=recover-keep container=%.12s ifname=%s: the pod's device waits "
			 "for its netns",
			 a->container_id, a->ifname);
}

int recover_attachments(struct kuryrd *d, char **reterr_msg)
{
	_cleanup_free_ struct attachment *rows = NULL;
	size_t n = 0;
	int r;

	r = store_list(d->store, &rows, &n);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot read the attachment store: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		const struct attachment *a = &rows[i];
		_cleanup_free_ char *err = NULL;

		if (a->state == ATTACH_DONE && !attachment_gone(d, a))
			continue;
		/* An ADD that never answered (the runtime saw a failure and
		 * will retry), or a container that is gone: roll it back.
		 * Pools do not exist yet here, so a pool entry is destroyed,
		 * not returned. */
		r = attachment_teardown(d, a, -1, &err);
		if (r == 0)
			keep_for_pod(d, a);
		if (r < 0) {
			log_err("event=recover-failed container=%.12s ifname=%s port=%s: %s",
				a->container_id, a->ifname, a->port, err ? err : strerror(-r));
			janitor_kick(d);
		} else
			log_info(
			    "event=recover-rollback container=%.12s ifname=%s port=%s state=%s",
			    a->container_id, a->ifname, a->port, attach_state_to_string(a->state));
	}
	return 0;
}
