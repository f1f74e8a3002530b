/* SPDX-License-Identifier: Apache-2.0 */
/* The janitor thread: it retries rollbacks that failed (the backend was
 * unreachable), so a failed ADD leaves nothing behind for long, and sweeps
 * for container ports of this node that no attachment knows (their
 * container went while kuryrd was away, its state was lost, or a create
 * kuryrd gave up on finished after its ADD was rolled back), and for
 * Docker endpoints dockerd will not come back for (docker_sweep()). */
#include <stdio.h>

#include "daemon-private.h"
#include "log.h"
#include "time-util.h"

#define SWEEP_WINDOW_MS	      (5 * 60 * 1000)
#define SWEEP_EVERY_MS	      10000
#define DOCKER_SWEEP_EVERY_MS 30000

void janitor_sweep_soon(struct kuryrd *d)
{
	pthread_mutex_lock(&d->jlock);
	d->sweep_until_ms = now_ms() + SWEEP_WINDOW_MS;
	if (!d->next_sweep_ms)
		d->next_sweep_ms = now_ms() + SWEEP_EVERY_MS;
	pthread_mutex_unlock(&d->jlock);
}

void janitor_kick(struct kuryrd *d)
{
	pthread_mutex_lock(&d->jlock);
	d->jpending = true;
	pthread_mutex_unlock(&d->jlock);
}

/* Roll back every unfinished, unlocked attachment; true if one failed. */
static bool janitor_pass(struct kuryrd *d)
{
	_cleanup_free_ struct attachment *rows = NULL;
	bool failed = false;
	size_t n = 0;

	if (store_list(d->store, &rows, &n) < 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *err = NULL;
		pthread_mutex_t *l = kuryrd_stripe(d, rows[i].container_id, rows[i].ifname);
		struct attachment a;

		if (rows[i].state == ATTACH_DONE ||
		    (rows[i].pooled != ATTACH_OWN && rows[i].pooled != ATTACH_MOVED_IN))
			continue;
		/* An ADD in flight holds the lock; after it the row is done or
		 * gone, or its own rollback failed and it is ours. */
		pthread_mutex_lock(l);
		if (store_get(d->store, rows[i].container_id, rows[i].ifname, &a) == 0 &&
		    a.state != ATTACH_DONE && a.pooled == rows[i].pooled) {
			if (attachment_teardown(d, &a, -1, &err) < 0)
				failed = true;
			else
				log_info("event=rollback-retried container=%.12s ifname=%s port=%s",
					 a.container_id, a.ifname, a.port);
		}
		pthread_mutex_unlock(l);
	}
	return failed;
}

/* Whether an attachment of @rows uses port @p or its container. */
static bool known_port(const struct attachment *rows, size_t n, const struct kuryr_port *p)
{
	for (size_t i = 0; i < n; i++)
		if (streq(rows[i].port, p->name) ||
		    (*p->device_id && streq(rows[i].container_id, p->device_id)))
			return true;
	return false;
}

/* Ports are listed before the attachments are read, and every ADD records
 * its container before it creates a port, so a port of an ADD in flight
 * is never taken for a leftover. Only where the backend reports each
 * port's node. */
static void reap_leftover_ports(struct kuryrd *d)
{
	_cleanup_free_ struct kuryr_port *ports = NULL;
	_cleanup_free_ struct attachment *rows = NULL;
	_cleanup_free_ char *err = NULL;
	size_t n = 0, n_rows = 0;

	if (d->backend->ops->port_list(d->backend, NULL, &ports, &n, &err) < 0) {
		log_warn("event=leftover-scan-failed: %s", err ? err : "");
		return;
	}
	if (store_list(d->store, &rows, &n_rows) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct kuryr_port *p = &ports[i];

		/* Container ports whose container is gone; with pools switched
		 * off, also the idle pool ports an earlier run left (with their
		 * pre-wired veth and stub). */
		if (p->owner == PORT_OWNER_POOL && !d->pool) {
			if (!streq(*p->host ? p->host : p->device_id, d->cfg.host) ||
			    known_port(rows, n_rows, p))
				continue;
			if (d->park_binding)
				binding_unpark(d->park_binding, p->name);
		} else if (p->owner != PORT_OWNER_CONTAINER || !streq(p->host, d->cfg.host) ||
			   known_port(rows, n_rows, p))
			continue;
		free(err);
		err = NULL;
		if (d->backend->ops->port_delete(d->backend, p->name, &err) < 0)
			log_warn("event=leftover-delete-failed port=%s: %s", p->name,
				 err ? err : "");
		else
			log_info("event=leftover-deleted port=%s container=%.12s", p->name,
				 p->device_id);
	}
}

static void *janitor_thread(void *arg)
{
	struct kuryrd *d = arg;

	pthread_mutex_lock(&d->jlock);
	while (!d->jstop) {
		struct timespec ts;
		uint64_t now;
		bool pass, sweep, lb;

		timespec_deadline_ms(&ts, 2000);
		pthread_cond_timedwait(&d->jwake, &d->jlock, &ts);
		if (d->jstop)
			continue;
		now = now_ms();
		pass = d->jpending;
		sweep = d->next_sweep_ms && now >= d->next_sweep_ms;
		if (sweep)
			d->next_sweep_ms = now < d->sweep_until_ms ? now + SWEEP_EVERY_MS : 0;
		d->jpending = false;
		lb = lb_follow_due(d, now);
		pthread_mutex_unlock(&d->jlock);
		if (pass && janitor_pass(d))
			janitor_kick(d);
		if (sweep)
			reap_leftover_ports(d);
		if (lb)
			lb_follow_sweep(d);
		if (__atomic_load_n(&d->docker, __ATOMIC_ACQUIRE) &&
		    now >= d->next_docker_sweep_ms) {
			d->next_docker_sweep_ms = now + DOCKER_SWEEP_EVERY_MS;
			docker_sweep(d);
		}
		pthread_mutex_lock(&d->jlock);
	}
	pthread_mutex_unlock(&d->jlock);
	return NULL;
}

int janitor_start(struct kuryrd *d)
{
	if (pthread_create(&d->janitor, NULL, janitor_thread, d) != 0)
		return -EAGAIN;
	d->jstarted = true;
	return 0;
}

void janitor_stop(struct kuryrd *d)
{
	if (!d->jstarted)
		return;
	pthread_mutex_lock(&d->jlock);
	d->jstop = true;
	pthread_cond_signal(&d->jwake);
	pthread_mutex_unlock(&d->jlock);
	pthread_join(d->janitor, NULL);
	d->jstarted = false;
}
