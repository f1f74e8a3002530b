/* SPDX-License-Identifier: Apache-2.0 */
/* The pools' bookkeeping and the calls the daemon makes: take, give back,
 * release, populate, free, list; and the manager's start and stop. */
#include <fcntl.h>
#include <stdio.h>

#include "json-util.h"
#include "log.h"
#include "pool-private.h"
#include "time-util.h"

/* ---- bookkeeping (under m->lock) ---- */

struct pool *pool_find(struct pool_mgr *m, const char *key, bool create)
{
	struct pool *p;

	for (p = m->pools; p; p = p->next)
		if (streq(p->key, key))
			return p;
	if (!create)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->key, sizeof(p->key), "%s", key);
	p->next = m->pools;
	m->pools = p;
	return p;
}

struct entry *entry_find(struct pool_mgr *m, const char *port, struct pool **ret_pool)
{
	for (struct pool *p = m->pools; p; p = p->next)
		for (struct entry *e = p->entries; e; e = e->next)
			if (streq(e->port.name, port)) {
				if (ret_pool)
					*ret_pool = p;
				return e;
			}
	return NULL;
}

static void count(struct pool *p, enum entry_state st, int delta)
{
	unsigned *c = st == E_READY ? &p->ready : st == E_IN_USE ? &p->in_use : &p->draining;

	*c = (unsigned)((int)*c + delta);
}

void entry_set_state(struct pool *p, struct entry *e, enum entry_state st)
{
	count(p, e->st, -1);
	e->st = st;
	count(p, st, +1);
}

int entry_add(struct pool *p, const struct entry *proto, enum entry_state st)
{
	struct entry *e = malloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	*e = *proto;
	e->st = st;
	e->next = p->entries;
	p->entries = e;
	count(p, st, +1);
	return 0;
}

void entry_remove(struct pool *p, struct entry *e)
{
	for (struct entry **pp = &p->entries; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	count(p, e->st, -1);
	free(e);
}

bool over_max(struct pool_mgr *m, struct pool *p)
{
	if (p->freeing)
		return true;
	return m->pp.max > 0 &&
	       p->ready + p->in_use + p->draining + p->creating > (unsigned)m->pp.max;
}

unsigned deficit(struct pool_mgr *m, struct pool *p)
{
	unsigned have = p->ready + p->creating, n;

	if (p->freeing)
		return 0;
	if (have >= (unsigned)m->pp.min)
		return 0;
	/* One backend bulk request of ports_pool_batch at a time (upstream's
	 * meaning), however short the pool is: a bulk POST of hundreds of
	 * ports would hold Neutron for minutes. */
	n = (unsigned)m->pp.batch;
	if (m->pp.max > 0) {
		unsigned all = p->ready + p->in_use + p->draining + p->creating;

		n = all >= (unsigned)m->pp.max ? 0 : n < m->pp.max - all ? n : m->pp.max - all;
	}
	return n;
}

bool stopping(struct pool_mgr *m)
{
	bool stop;

	pthread_mutex_lock(&m->lock);
	stop = m->stop;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

void destroy_entry_resources(struct pool_mgr *m, const struct entry *e)
{
	_cleanup_free_ char *err = NULL;
	int r;

	if (e->prewired && m->pp.prewire)
		binding_unpark(m->pp.prewire, e->port.name);
	else if (*e->parked.driver && m->pp.plug)
		/* A port-only entry a container still has: its veth. */
		(void)binding_unplug(m->pp.plug,
				     &(struct binding_req){ .port = &e->port, .netns_fd = -1 },
				     &(struct binding_state){ .host_ifname = { 0 } }, NULL);
	r = m->b->ops->port_delete(m->b, e->port.name, &err);
	if (r < 0 && r != -ENOENT)
		log_warn("event=pool-destroy-failed port=%s: %s", e->port.name, err ? err : "");
}

/* ---- public ---- */

int pool_take(struct pool_mgr *m, const char *key, struct pool_entry *ret)
{
	struct pool *p;
	int r = -ENOENT;

	pthread_mutex_lock(&m->lock);
	p = pool_find(m, key, false);
	if (p) {
		for (struct entry *e = p->entries; e; e = e->next)
			if (e->st == E_READY && (e->prewired || !m->pp.prewire)) {
				entry_set_state(p, e, E_IN_USE);
				snprintf(ret->key, sizeof(ret->key), "%s", p->key);
				ret->port = e->port;
				ret->net = p->net;
				ret->prewired = e->prewired;
				ret->parked = e->parked;
				r = 0;
				break;
			}
		if (r == 0)
			p->hits++;
		else
			p->misses++;
		/* Refill as soon as the pool runs below its minimum. */
		if (deficit(m, p) > 0 && !p->creating)
			pthread_cond_signal(&m->wake);
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

void pool_want(struct pool_mgr *m, const char *key, bool count_miss)
{
	struct pool *p;

	pthread_mutex_lock(&m->lock);
	p = pool_find(m, key, false);
	if (!p || p->freeing) {
		if (!p) {
			p = pool_find(m, key, true);
			if (p && count_miss)
				p->misses++;
		}
		if (p)
			p->freeing = false;
		pthread_cond_signal(&m->wake);
	}
	pthread_mutex_unlock(&m->lock);
}

void pool_give_back(struct pool_mgr *m, const struct pool_entry *pe)
{
	struct entry *e;
	struct pool *p;

	pthread_mutex_lock(&m->lock);
	e = entry_find(m, pe->port.name, &p);
	if (e && e->st == E_IN_USE)
		entry_set_state(p, e, E_READY);
	pthread_mutex_unlock(&m->lock);
}

/* Forget the entry of @port and tear it down; @proto when it is no longer
 * known (a lost entry). */
static void destroy_port(struct pool_mgr *m, const char *port, const struct entry *proto)
{
	struct entry doomed = *proto;
	struct entry *e;
	struct pool *p;

	pthread_mutex_lock(&m->lock);
	e = entry_find(m, port, &p);
	if (e) {
		doomed = *e;
		entry_remove(p, e);
	}
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	destroy_entry_resources(m, &doomed);
}

void pool_destroy(struct pool_mgr *m, const struct pool_entry *pe)
{
	destroy_port(
	    m, pe->port.name,
	    &(struct entry){ .port = pe->port, .prewired = pe->prewired, .parked = pe->parked });
}

/* The entry of @port is back from a container: ready again, or destroyed
 * if the pool no longer wants it. */
static void entry_returned(struct pool_mgr *m, const char *port, bool broken)
{
	struct entry doomed;
	bool destroy = false;
	struct entry *e;
	struct pool *p;

	pthread_mutex_lock(&m->lock);
	e = entry_find(m, port, &p);
	if (e && e->st != E_READY) {
		if (broken || over_max(m, p)) {
			doomed = *e;
			destroy = true;
			entry_remove(p, e);
		} else
			entry_set_state(p, e, E_READY);
	}
	pthread_mutex_unlock(&m->lock);
	if (destroy)
		destroy_entry_resources(m, &doomed);
}

void pool_forget(struct pool_mgr *m, const struct attachment *a)
{
	struct entry *e;
	struct pool *p;

	pthread_mutex_lock(&m->lock);
	e = entry_find(m, a->port, &p);
	if (e)
		entry_remove(p, e);
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	/* A pre-wired entry's stub takes the pod's macvlan with it. */
	if (a->pooled == ATTACH_POOL_PREWIRED && m->pp.prewire)
		binding_unpark(m->pp.prewire, a->port);
}

int pool_release(struct pool_mgr *m, const struct attachment *a, int netns_fd, char **reterr_msg)
{
	struct binding_state st = { 0 };
	struct binding_req req;
	struct drain_job *j;
	struct entry e;
	struct entry *found;
	struct pool *p;
	int r;

	pthread_mutex_lock(&m->lock);
	found = entry_find(m, a->port, &p);
	if (found)
		e = *found;
	pthread_mutex_unlock(&m->lock);
	snprintf(st.driver, sizeof(st.driver), "%s", a->binding);
	snprintf(st.host_ifname, sizeof(st.host_ifname), "%s", a->host_ifname);
	snprintf(st.data, sizeof(st.data), "%s", a->binding_data);
	if (!found || a->state != ATTACH_DONE || (e.prewired && netns_fd < 0)) {
		/* Not ours any more (pools switched off, a lost entry), never
		 * finished, or its pod's device out of reach: the entry goes. */
		struct entry gone = { .prewired = a->pooled == ATTACH_POOL_PREWIRED, .parked = st };

		snprintf(gone.port.name, sizeof(gone.port.name), "%s", a->port);
		destroy_port(m, a->port, &gone);
		return 0;
	}

	pool_note_user(m, a->port, "");
	req = (struct binding_req){
		.port = &e.port, .netns_fd = netns_fd, .ifname = a->ifname, .device_id = ""
	};
	if (!e.prewired) {
		/* Port-only: the veth goes, the port stays. */
		r = binding_unplug(m->pp.plug, &req, &st, reterr_msg);
		if (r < 0)
			return r;
		entry_returned(m, a->port, false);
		return 0;
	}

	/* Pre-wired: out of the pod's way now, deleted in the background
	 * (the RCU grace period is paid there, off the DEL path). */
	r = binding_detach(m->pp.prewire, &req, &st, NULL);
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	/* Only a device already gone needs no unplug: one a detach could
	 * not move (or a driver without detach) is deleted in the
	 * background too, and the entry goes if it will not. */
	j->netns_fd = r != -ENODEV ? fcntl(netns_fd, F_DUPFD_CLOEXEC, 3) : -1;
	snprintf(j->ifname, sizeof(j->ifname), "%s", a->ifname);
	j->port = e.port;
	j->st = st;
	pthread_mutex_lock(&m->lock);
	found = entry_find(m, a->port, &p);
	if (found && found->st == E_IN_USE)
		entry_set_state(p, found, E_DRAINING);
	pthread_mutex_unlock(&m->lock);
	drain_queue(m, j);
	return 0;
}

void drain_done(struct pool_mgr *m, const char *port, bool broken)
{
	entry_returned(m, port, broken);
}

int pool_populate(struct pool_mgr *m, const char *key, char **reterr_msg)
{
	struct kuryr_network net;
	struct key_parts k;
	struct pool *p;
	int r;

	/* Refuse a network that does not exist before making a pool for it. */
	key_split(key, &k);
	r = m->b->ops->network_get(m->b, k.network, &net, reterr_msg);
	if (r < 0)
		return r;
	pthread_mutex_lock(&m->lock);
	p = pool_find(m, key, true);
	if (!p)
		r = -ENOMEM;
	else {
		p->freeing = false;
		/* A refill already in flight (the refill thread's) counts
		 * towards the minimum: wait for it, so that "populated" means
		 * ready entries, then top up. */
		for (int waited = 0; waited < 1200; waited++) {
			r = fill(m, key, reterr_msg);
			p = pool_find(m, key, false);
			if (r < 0 || !p || !p->creating)
				break;
			pthread_mutex_unlock(&m->lock);
			msleep(50);
			pthread_mutex_lock(&m->lock);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

int pool_free_ready(struct pool_mgr *m, const char *network, char **reterr_msg)
{
	/* Stop refills first, so nothing new lands while we delete. */
	pthread_mutex_lock(&m->lock);
	for (struct pool *p = m->pools; p; p = p->next)
		if (!network || key_of_network(p->key, network))
			p->freeing = true;
	pthread_mutex_unlock(&m->lock);

	for (int waited = 0;; waited++) {
		struct entry doomed;
		bool found = false, busy = false;

		pthread_mutex_lock(&m->lock);
		for (struct pool *p = m->pools; p && !found; p = p->next) {
			if (network && !key_of_network(p->key, network))
				continue;
			busy |= p->creating > 0;
			for (struct entry *e = p->entries; e; e = e->next)
				if (e->st == E_READY) {
					doomed = *e;
					entry_remove(p, e);
					found = true;
					break;
				}
		}
		pthread_mutex_unlock(&m->lock);
		if (found) {
			destroy_entry_resources(m, &doomed);
			continue;
		}
		/* A refill in flight destroys what it made once it sees the
		 * flag; wait for it (bounded) so the caller sees the end state. */
		if (!busy || waited > 600)
			break;
		msleep(50);
	}

	/* Pools left with nothing are dropped; in-use entries keep theirs
	 * until their containers go (and are destroyed then). */
	pthread_mutex_lock(&m->lock);
	for (struct pool **pp = &m->pools; *pp;) {
		struct pool *p = *pp;

		if ((!network || key_of_network(p->key, network)) && !p->entries && !p->creating) {
			*pp = p->next;
			free(p);
		} else
			pp = &p->next;
	}
	pthread_mutex_unlock(&m->lock);
	(void)reterr_msg;
	return 0;
}

json_t *pool_list_json(struct pool_mgr *m, const char *network)
{
	json_t *a = json_array();

	pthread_mutex_lock(&m->lock);
	for (struct pool *p = m->pools; p; p = p->next) {
		struct key_parts k;

		if (network && !key_of_network(p->key, network))
			continue;
		key_split(p->key, &k);
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:I, s:I, s:b}", "network",
				 k.network, "key", p->key, "ready", (int)p->ready, "in_use",
				 (int)p->in_use, "draining", (int)p->draining, "creating",
				 (int)p->creating, "hits", (json_int_t)p->hits, "misses",
				 (json_int_t)p->misses, "prewire", m->pp.prewire != NULL));
	}
	pthread_mutex_unlock(&m->lock);
	return a;
}

void pool_write_metrics(struct pool_mgr *m, FILE *f)
{
	static const char *const states[] = { "ready", "in_use", "draining", "creating" };

	fprintf(f, "# HELP kuryr_pool_ports Pool entries by network and state.\n"
		   "# TYPE kuryr_pool_ports gauge\n");
	pthread_mutex_lock(&m->lock);
	for (struct pool *p = m->pools; p; p = p->next) {
		unsigned v[] = { p->ready, p->in_use, p->draining, p->creating };

		for (size_t i = 0; i < ELEMENTSOF(v); i++)
			fprintf(f, "kuryr_pool_ports{network=\"%s\",state=\"%s\"} %u\n", p->key,
				states[i], v[i]);
	}
	fprintf(f, "# HELP kuryr_pool_hits_total ADDs served from a pool.\n"
		   "# TYPE kuryr_pool_hits_total counter\n");
	for (struct pool *p = m->pools; p; p = p->next)
		fprintf(f, "kuryr_pool_hits_total{network=\"%s\"} %lu\n", p->key, p->hits);
	fprintf(f, "# HELP kuryr_pool_misses_total ADDs that found the pool empty.\n"
		   "# TYPE kuryr_pool_misses_total counter\n");
	for (struct pool *p = m->pools; p; p = p->next)
		fprintf(f, "kuryr_pool_misses_total{network=\"%s\"} %lu\n", p->key, p->misses);
	fprintf(f, "# HELP kuryr_pool_refill_seconds Time spent refilling pools.\n"
		   "# TYPE kuryr_pool_refill_seconds summary\n");
	for (struct pool *p = m->pools; p; p = p->next)
		fprintf(f,
			"kuryr_pool_refill_seconds_sum{network=\"%s\"} %.6f\n"
			"kuryr_pool_refill_seconds_count{network=\"%s\"} %lu\n",
			p->key, p->refill_seconds, p->key, p->refills);
	pthread_mutex_unlock(&m->lock);
}

/* ---- start and stop ---- */

static void stop_threads(struct pool_mgr *m, int started)
{
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_broadcast(&m->wake);
	pthread_cond_broadcast(&m->drain_wake);
	pthread_cond_broadcast(&m->note_wake);
	pthread_mutex_unlock(&m->lock);
	if (started > 0)
		pthread_join(m->refill_thread, NULL);
	if (started > 1)
		pthread_join(m->drain_thread, NULL); /* finishes queued unplugs */
	if (started > 2)
		pthread_join(m->note_thread, NULL);
}

int pool_mgr_new(const struct pool_params *pp, struct backend *b, struct store *st,
		 struct pool_mgr **ret, char **reterr_msg)
{
	struct pool_mgr *m = calloc(1, sizeof(*m));
	int r, started = 0;

	if (!m)
		return -ENOMEM;
	m->pp = *pp;
	m->b = b;
	m->st = st;
	pthread_mutex_init(&m->lock, NULL);
	cond_init_monotonic(&m->wake);
	pthread_cond_init(&m->drain_wake, NULL);
	pthread_cond_init(&m->note_wake, NULL);
	m->notes_tail = &m->notes;
	m->host = strdup(pp->host);
	if (!m->host) {
		r = -ENOMEM;
		goto fail;
	}
	m->pp.host = m->host;
	r = recover(m, reterr_msg);
	if (r < 0)
		goto fail;
	r = -EAGAIN;
	if (pthread_create(&m->refill_thread, NULL, refill_thread, m) != 0)
		goto fail;
	started++;
	if (pthread_create(&m->drain_thread, NULL, drain_thread, m) != 0)
		goto fail_threads;
	started++;
	if (pthread_create(&m->note_thread, NULL, note_thread, m) != 0)
		goto fail_threads;
	m->threads_started = true;
	*ret = m;
	return 0;
fail_threads:
	stop_threads(m, started);
fail:
	pool_mgr_free(m);
	return r;
}

void pool_mgr_free(struct pool_mgr *m)
{
	if (!m)
		return;
	if (m->threads_started)
		stop_threads(m, 3);
	while (m->notes) {
		struct note_job *j = m->notes;

		m->notes = j->next;
		free(j);
	}
	/* Entries stay as they are (ports, stubs, host ends): the next start
	 * adopts them. Only the memory goes. */
	while (m->pools) {
		struct pool *p = m->pools;

		m->pools = p->next;
		while (p->entries) {
			struct entry *e = p->entries;

			p->entries = e->next;
			free(e);
		}
		free(p);
	}
	pthread_cond_destroy(&m->wake);
	pthread_cond_destroy(&m->drain_wake);
	pthread_cond_destroy(&m->note_wake);
	pthread_mutex_destroy(&m->lock);
	free(m->host);
	free(m);
}
