/* SPDX-License-Identifier: Apache-2.0 */
/* Filling pools in the background: ports made in one bulk request per
 * batch, parked (pre-wired) all at once (in one backend call where the
 * driver can) and then waited for all at once;
 * and the thread that tells the backend which container uses a pool port,
 * in order, off the ADD/DEL path. */
#include <stdio.h>

#include "log.h"
#include "pool-private.h"
#include "time-util.h"

/* The parked entries of @es the backend does not report up within
 * port_up_timeout are torn down; their port name is cleared. */
static void wait_backend_up(struct pool_mgr *m, struct entry *es, unsigned n)
{
	_cleanup_free_ const char **ids = calloc(n, sizeof(*ids));
	_cleanup_free_ bool *ok = calloc(n, sizeof(*ok));
	_cleanup_free_ unsigned *idx = calloc(n, sizeof(*idx));
	size_t k = 0;

	if (!ids || !ok || !idx)
		return;
	for (unsigned i = 0; i < n; i++)
		if (es[i].prewired) {
			idx[k] = i;
			ids[k++] = es[i].port.name;
		}
	if (!k)
		return;
	if (m->b->ops->ports_wait_up)
		m->b->ops->ports_wait_up(m->b, ids, k, m->pp.port_up_timeout_ms, ok);
	else
		for (size_t j = 0; j < k; j++)
			ok[j] = m->b->ops->port_wait_up(m->b, ids[j], m->pp.port_up_timeout_ms,
							NULL) == 0;
	for (size_t j = 0; j < k; j++) {
		struct entry *e = &es[idx[j]];

		if (ok[j])
			continue;
		log_warn("event=prewire-failed port=%s: the backend did not report it up",
			 e->port.name);
		destroy_entry_resources(m, e);
		e->port.name[0] = 0;
	}
}

/* Park @n fresh entries in one go (binding_park_many: nested-vlan puts
 * them on the trunk in one backend call), all or none: if it fails, they
 * are all torn down and their port names cleared. */
static void park_batch(struct pool_mgr *m, const struct kuryr_network *net, struct entry *es,
		       unsigned n)
{
	_cleanup_free_ struct kuryr_port *ports = calloc(n, sizeof(*ports));
	_cleanup_free_ struct binding_state *st = calloc(n, sizeof(*st));
	_cleanup_free_ char *err = NULL;
	int r = -ENOMEM;

	if (n == 0)
		return;
	if (ports && st) {
		for (unsigned i = 0; i < n; i++)
			ports[i] = es[i].port;
		r = binding_park_many(m->pp.prewire, ports, n, net, st, &err);
	}
	if (r < 0)
		log_warn("event=prewire-failed ports=%u first=%s: %s", n, es[0].port.name,
			 err ? err : strerror(-r));
	for (unsigned i = 0; i < n; i++) {
		if (r == 0) {
			es[i].parked = st[i];
			continue;
		}
		destroy_entry_resources(m, &es[i]);
		es[i].port.name[0] = 0;
	}
}

/* Park @n fresh entries: plug them all (in one go where the driver can),
 * then wait for OVN to install them all. Entries that fail are torn down
 * and their port name cleared. */
static void park(struct pool_mgr *m, const struct kuryr_network *net, struct entry *es, unsigned n)
{
	if (binding_parks_many(m->pp.prewire))
		park_batch(m, net, es, n);
	else
		for (unsigned i = 0; i < n; i++) {
			_cleanup_free_ char *err = NULL;
			struct entry *e = &es[i];

			if (binding_park(m->pp.prewire, &e->port, net, &e->parked, &err) < 0) {
				log_warn("event=prewire-failed port=%s: %s", e->port.name,
					 err ? err : "");
				destroy_entry_resources(m, e);
				e->port.name[0] = 0;
			}
		}
	for (unsigned i = 0; i < n; i++) {
		_cleanup_free_ char *err = NULL;
		struct entry *e = &es[i];
		int r = -ETIMEDOUT;

		if (!e->port.name[0])
			continue;
		/* Wait in slices so a stopping kuryrd is not held up; what is
		 * left half-made is for the next start's recovery to judge. */
		for (int waited = 0; waited < m->pp.port_up_timeout_ms && r == -ETIMEDOUT;
		     waited += 200) {
			if (stopping(m)) {
				r = -ECANCELED;
				break;
			}
			r = binding_wait_ready(m->pp.prewire, &e->parked, 200, &err);
		}
		if (r < 0)
			binding_cancel(m->pp.prewire, &e->parked);
		if (r == -ECANCELED) {
			e->port.name[0] = 0;
			continue;
		}
		if (r < 0) {
			log_warn("event=prewire-failed port=%s: not installed (%s)", e->port.name,
				 strerror(-r));
			e->prewired = true; /* so its devices go too */
			destroy_entry_resources(m, e);
			e->port.name[0] = 0;
			continue;
		}
		e->prewired = true;
	}
	/* Ready means ready for the backend too (Neutron: ACTIVE), asked for
	 * the whole batch at once. */
	if (m->pp.wait_backend_up)
		wait_backend_up(m, es, n);
}

/* Create @n entries for pool @key outside the lock; add them as ready. */
static int refill(struct pool_mgr *m, const char *key, unsigned n, char **reterr_msg)
{
	_cleanup_free_ struct kuryr_port *ports = calloc(n, sizeof(*ports));
	_cleanup_free_ struct entry *es = calloc(n, sizeof(*es));
	struct kuryr_network net;
	struct key_parts k;
	uint64_t t0 = now_us();
	struct pool *p;
	unsigned ok = 0;
	int r;

	if (!ports || !es)
		return -ENOMEM;
	key_split(key, &k);
	r = m->b->ops->network_get(m->b, k.network, &net, reterr_msg);
	if (r == 0)
		r = m->b->ops->port_create_bulk(
		    m->b,
		    &(struct port_spec){ .network = k.network,
					 .net = &net,
					 .owner = PORT_OWNER_POOL,
					 .device_id = m->host,
					 .security_groups = k.has_sgs ? k.sgs : NULL,
					 .qos_policy = *k.qos ? k.qos : NULL,
					 .project = *k.project ? k.project : NULL,
					 .pool_key = key,
					 .subport = m->pp.subports,
					 .unbound = m->pp.unbound },
		    n, ports, reterr_msg);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		es[i].port = ports[i];
		snprintf(es[i].port.network, sizeof(es[i].port.network), "%s", k.network);
	}
	if (m->pp.prewire && !stopping(m))
		park(m, &net, es, n);
out:
	pthread_mutex_lock(&m->lock);
	p = pool_find(m, key, true);
	if (p) {
		if (r == 0)
			p->net = net;
		for (unsigned i = 0; r == 0 && i < n; i++)
			if (es[i].port.name[0] && !p->freeing &&
			    entry_add(p, &es[i], E_READY) == 0) {
				es[i].port.name[0] = 0; /* kept */
				ok++;
			}
		p->refills++;
		p->refill_seconds += (double)(now_us() - t0) / 1e6;
		if (r < 0 || ok < n)
			p->refill_errors++;
	}
	pthread_mutex_unlock(&m->lock);
	/* Entries not kept (the pool is being freed) go again. */
	for (unsigned i = 0; r == 0 && i < n; i++)
		if (es[i].port.name[0]) {
			destroy_entry_resources(m, &es[i]);
			ok++;
		}
	if (r == 0 && ok < n) {
		set_errmsg(reterr_msg, "%u of %u pool entries could not be prepared", n - ok, n);
		r = -EIO;
	}
	return r;
}

int fill(struct pool_mgr *m, const char *key, char **reterr_msg)
{
	struct pool *p;
	unsigned n;
	int r = 0;

	while (!m->stop && (p = pool_find(m, key, false)) && (n = deficit(m, p)) > 0) {
		p->creating += n;
		pthread_mutex_unlock(&m->lock);
		r = refill(m, key, n, reterr_msg);
		pthread_mutex_lock(&m->lock);
		p = pool_find(m, key, false);
		if (p)
			p->creating -= n;
		if (r < 0)
			break;
	}
	return r;
}

void *refill_thread(void *arg)
{
	struct pool_mgr *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		struct timespec dl;
		char key[POOL_KEY_MAX];
		bool again = false;

		for (struct pool *p = m->pools; p && !m->stop; p = p->next) {
			_cleanup_free_ char *err = NULL;

			if (p->creating || p->refill_failed || deficit(m, p) == 0)
				continue;
			snprintf(key, sizeof(key), "%s", p->key);
			if (fill(m, key, &err) < 0) {
				log_warn("event=pool-refill-failed pool=%s: %s", key,
					 err ? err : "");
				p = pool_find(m, key, false);
				if (p)
					p->refill_failed = true;
			}
			again = true; /* the list may have changed while unlocked */
			break;
		}
		if (again)
			continue;
		/* Every pool had its go: those that failed get the next. */
		for (struct pool *p = m->pools; p; p = p->next)
			p->refill_failed = false;
		timespec_deadline_ms(&dl, m->pp.update_ms);
		pthread_cond_timedwait(&m->wake, &m->lock, &dl);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

void pool_note_user(struct pool_mgr *m, const char *port, const char *device_id)
{
	struct note_job *j;

	if (!m->b->ops->port_set_device || !(j = calloc(1, sizeof(*j))))
		return;
	snprintf(j->port, sizeof(j->port), "%s", port);
	snprintf(j->device_id, sizeof(j->device_id), "%s", device_id);
	pthread_mutex_lock(&m->lock);
	*m->notes_tail = j;
	m->notes_tail = &j->next;
	pthread_cond_signal(&m->note_wake);
	pthread_mutex_unlock(&m->lock);
}

/* Writes the notes in order; what is left at stop is dropped (a restart
 * clears the user of every ready entry). */
void *note_thread(void *arg)
{
	struct pool_mgr *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		_cleanup_free_ struct note_job *j = m->notes;
		_cleanup_free_ char *err = NULL;
		int r;

		if (!j) {
			pthread_cond_wait(&m->note_wake, &m->lock);
			continue;
		}
		m->notes = j->next;
		if (!m->notes)
			m->notes_tail = &m->notes;
		pthread_mutex_unlock(&m->lock);
		/* A port deleted meanwhile has nobody to record. */
		r = m->b->ops->port_set_device(m->b, j->port, j->device_id, &err);
		if (r < 0 && r != -ENOENT)
			log_warn("event=pool-note-failed port=%s: %s", j->port, err ? err : "");
		pthread_mutex_lock(&m->lock);
	}
	while (m->notes) {
		struct note_job *j = m->notes;

		m->notes = j->next;
		free(j);
	}
	m->notes_tail = &m->notes;
	pthread_mutex_unlock(&m->lock);
	return NULL;
}
