/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "json-util.h"
#include "log.h"
#include "nl/nl.h"
#include "pool.h"
#include "time-util.h"

enum entry_state {
	E_READY,
	E_IN_USE,
	E_DRAINING,
};

struct entry {
	struct entry *next;
	struct pool_entry e;
	enum entry_state st;
};

struct pool {
	struct pool *next;
	char key[POOL_KEY_MAX]; /* see pool_key() */
	struct entry *entries;
	unsigned ready, in_use, draining, creating;
	unsigned long hits, misses, refills, refill_errors;
	double refill_seconds;
	/* "pool free" in progress: no refill, and entries coming back (from
	 * containers or from a refill in flight) are destroyed. Cleared by the
	 * next use of the network. */
	bool freeing;
};

/* A pool port's user to record in the backend, in the background. */
struct note_job {
	struct note_job *next;
	char port[64];
	char device_id[257];
};

/* A pod-side device to delete in the background. */
struct drain_job {
	struct drain_job *next;
	int netns_fd; /* -1: the pod's netns was already gone */
	char tmpname[16];
	char port[64];
};

struct pool_mgr {
	struct pool_params pp;
	char *holding_netns, *host;
	struct backend *b;
	struct binding_ovs *ovs;
	struct store *st;
	int hold_fd;
	pthread_mutex_t hold_lock; /* guards hold_sock */
	struct nl_sock *hold_sock; /* inside the holding netns */

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wake;  /* refill thread */
	pthread_cond_t drain_wake;
	struct pool *pools;
	struct drain_job *jobs;
	bool stop;
	pthread_t refill_thread, drain_thread, note_thread;
	bool threads_started;
	struct note_job *notes, **notes_tail; /* FIFO: a port's last note wins */
	pthread_cond_t note_wake;
};

/* ---- bookkeeping (under m->lock) ---- */

/* ---- keys ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pool_key(char out[POOL_KEY_MAX], const char *network, const char *project,
	     const char *const *sgs, const char *qos)
{
	const char *sorted[17];
	char groups[POOL_KEY_MAX] = "-"; /* "-": the node's default groups */
	size_t n = 0, len = 0;
	int w;

	project = project ? project : "";
	qos = qos ? qos : "";
	if (strchr(network, '|') || strpbrk(project, "|,") || strpbrk(qos, "|,"))
		return -EINVAL;
	if (!sgs && !*project && !*qos) {
		w = snprintf(out, POOL_KEY_MAX, "%s", network);
		return w >= POOL_KEY_MAX ? -E2BIG : 0;
	}
	for (; sgs && sgs[n]; n++) {
		if (n >= ELEMENTSOF(sorted) || strpbrk(sgs[n], "|,") || streq(sgs[n], "-"))
			return -EINVAL;
		sorted[n] = sgs[n];
	}
	if (sgs) {
		qsort(sorted, n, sizeof(*sorted), cmp_str);
		groups[0] = 0;
		for (size_t i = 0; i < n; i++) {
			if (i && streq(sorted[i], sorted[i - 1]))
				continue; /* a group named twice is one group */
			w = snprintf(groups + len, sizeof(groups) - len, "%s%s", len ? "," : "",
				     sorted[i]);
			if (w < 0 || (size_t)w >= sizeof(groups) - len)
				return -E2BIG;
			len += (size_t)w;
		}
	}
	w = snprintf(out, POOL_KEY_MAX, "%s|%s|%s|%s", network, project, groups, qos);
	return w >= POOL_KEY_MAX ? -E2BIG : 0;
}

/* A key's parts: the network; and, for a key with choices, the project,
 * the groups (NULL-terminated in @sgs, pointing into @buf; *ret_sgs NULL
 * when the key leaves them to the node's defaults) and the QoS policy. */
struct key_parts {
	char buf[POOL_KEY_MAX];
	const char *network, *project, *qos;
	const char *sgs[18];
	bool has_sgs;
};

static void key_split(const char *key, struct key_parts *k)
{
	char *f[4] = { 0 }, *save = NULL, *tok;
	int n = 0;

	*k = (struct key_parts){ 0 };
	snprintf(k->buf, sizeof(k->buf), "%s", key);
	for (char *p = k->buf; n < 4; n++) {
		f[n] = p;
		p = strchr(p, '|');
		if (!p)
			break;
		*p++ = 0;
	}
	k->network = f[0];
	k->project = f[1] ? f[1] : "";
	k->qos = f[3] ? f[3] : "";
	if (f[2] && !streq(f[2], "-")) {
		size_t i = 0;

		k->has_sgs = true;
		for (tok = strtok_r(f[2], ",", &save); tok && i + 1 < ELEMENTSOF(k->sgs);
		     tok = strtok_r(NULL, ",", &save))
			k->sgs[i++] = tok;
	}
}

/* Does pool @key belong to @network? */
static bool key_of_network(const char *key, const char *network)
{
	size_t l = strlen(network);

	return strncmp(key, network, l) == 0 && (key[l] == 0 || key[l] == '|');
}

static struct pool *pool_find(struct pool_mgr *m, const char *key, bool create)
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

static struct entry *entry_find(struct pool_mgr *m, const char *port, struct pool **ret_pool)
{
	for (struct pool *p = m->pools; p; p = p->next)
		for (struct entry *e = p->entries; e; e = e->next)
			if (streq(e->e.port, port)) {
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

static void entry_set_state(struct pool *p, struct entry *e, enum entry_state st)
{
	count(p, e->st, -1);
	e->st = st;
	count(p, st, +1);
}

static int entry_add(struct pool_mgr *m, struct pool *p, const struct pool_entry *pe,
		     enum entry_state st)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->e = *pe;
	e->st = st;
	e->next = p->entries;
	p->entries = e;
	count(p, st, +1);
	return 0;
}

static void entry_remove(struct pool *p, struct entry *e)
{
	for (struct entry **pp = &p->entries; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	count(p, e->st, -1);
	free(e);
}

/* Entries beyond ports_pool_max are not kept when they come back. */
static bool over_max(struct pool_mgr *m, struct pool *p)
{
	if (p->freeing)
		return true;
	return m->pp.max > 0 &&
	       p->ready + p->in_use + p->draining + p->creating > (unsigned)m->pp.max;
}

static bool stopping(struct pool_mgr *m)
{
	bool stop;

	pthread_mutex_lock(&m->lock);
	stop = m->stop;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

/* ---- devices ---- */

static int hold_link(struct pool_mgr *m, const char *name, struct nl_link_info *ret)
{
	int r;

	pthread_mutex_lock(&m->hold_lock);
	if (!m->hold_sock)
		r = nl_sock_open_netns(m->hold_fd, &m->hold_sock);
	else
		r = 0;
	if (r == 0)
		r = nl_link_get(m->hold_sock, name, ret);
	pthread_mutex_unlock(&m->hold_lock);
	return r;
}

static void hold_del(struct pool_mgr *m, const char *name)
{
	pthread_mutex_lock(&m->hold_lock);
	if (m->hold_sock || nl_sock_open_netns(m->hold_fd, &m->hold_sock) == 0)
		(void)nl_link_del(m->hold_sock, name, NULL);
	pthread_mutex_unlock(&m->hold_lock);
}

/* Everything an entry owns: the veth pair (host end, stub, and with the
 * stub any macvlan still stacked on it in some pod), the backend port. */
static void destroy_entry_resources(struct pool_mgr *m, const struct pool_entry *e)
{
	_cleanup_free_ char *err = NULL;
	int r;

	if (*e->host_ifname)
		(void)binding_ovs_unplug_veth(m->ovs, e->host_ifname, NULL);
	if (*e->stub)
		hold_del(m, e->stub);
	r = m->b->ops->port_delete(m->b, e->port, &err);
	if (r < 0 && r != -ENOENT)
		log_warn("event=pool-destroy-failed port=%s: %s", e->port, err ? err : "");
}

/* Tear down the pre-wired entries of @es the backend does not report up
 * within port_up_timeout. */
static void wait_backend_up(struct pool_mgr *m, struct pool_entry *es, unsigned n)
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
			ids[k++] = es[i].port;
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
		struct pool_entry *e = &es[idx[j]];

		if (ok[j])
			continue;
		log_warn("event=prewire-failed port=%s: the backend did not report it up", e->port);
		destroy_entry_resources(m, e);
		e->prewired = false;
		e->port[0] = 0;
	}
}

/* Pre-wire @n fresh ports: veths with the stub in the holding netns, host
 * ends on the bridge, then wait for OVN to install them all. Entries that
 * fail are torn down and their .port cleared. */
static void prewire(struct pool_mgr *m, struct pool_entry *es, unsigned n)
{
	struct ovs_watch **w = calloc(n, sizeof(*w));
	_cleanup_free_ char *err = NULL;
	int r;

	if (!w) {
		for (unsigned i = 0; i < n; i++)
			destroy_entry_resources(m, &es[i]), es[i].port[0] = 0;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct pool_entry *e = &es[i];

		backend_ifname("kc", e->port, e->host_ifname);
		backend_ifname("ks", e->port, e->stub);
		r = binding_ovs_watch_new(m->ovs, e->host_ifname, &w[i]);
		if (r == 0)
			r = binding_ovs_plug_veth(
			    m->ovs,
			    &(struct veth_plug){ .port = e->port,
						 .host_ifname = e->host_ifname,
						 .device_id = m->host,
						 .netns_fd = m->hold_fd,
						 .ifname = e->stub,
						 .mac = e->mac,
						 .mtu = e->mtu },
			    e->host_mac, &err);
		if (r < 0) {
			log_warn("event=prewire-failed port=%s: %s", e->port,
				 err ? err : strerror(-r));
			binding_ovs_watch_free(m->ovs, w[i]);
			w[i] = NULL;
			e->host_ifname[0] = 0;
			destroy_entry_resources(m, e);
			e->port[0] = 0;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct pool_entry *e = &es[i];
		struct nl_link_info li;

		if (!w[i])
			continue;
		/* Wait in slices so a stopping kuryrd is not held up; what is
		 * left half-made is for the next start's recovery to judge. */
		r = -ETIMEDOUT;
		for (int waited = 0; waited < m->pp.port_up_timeout_ms && r == -ETIMEDOUT;
		     waited += 200) {
			if (stopping(m)) {
				r = -ECANCELED;
				break;
			}
			r = binding_ovs_watch_wait(m->ovs, w[i], 200);
		}
		binding_ovs_watch_free(m->ovs, w[i]);
		w[i] = NULL;
		if (r == -ECANCELED) {
			e->port[0] = 0;
			continue;
		}
		if (r == 0)
			r = hold_link(m, e->stub, &li);
		if (r < 0) {
			log_warn("event=prewire-failed port=%s: not installed (%s)", e->port,
				 strerror(-r));
			destroy_entry_resources(m, e);
			e->port[0] = 0;
			continue;
		}
		e->stub_ifindex = li.ifindex;
		e->prewired = true;
	}
	free(w);
	/* Ready means ready for the backend too (Neutron: ACTIVE), asked for
	 * the whole batch at once. */
	if (m->b->ops->wait_active_on_add)
		wait_backend_up(m, es, n);
}

/* Create @n entries for @network outside the lock; add them as ready. */
static int refill(struct pool_mgr *m, const char *key, unsigned n, char **reterr_msg)
{
	struct key_parts k;
	_cleanup_free_ struct kuryr_port *ports = calloc(n, sizeof(*ports));
	_cleanup_free_ struct pool_entry *es = calloc(n, sizeof(*es));
	struct kuryr_network net;
	struct timespec t0, t1;
	struct pool *p;
	unsigned ok = 0;
	int r;

	if (!ports || !es)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
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
					 .pool_key = key },
		    n, ports, reterr_msg);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		snprintf(es[i].port, sizeof(es[i].port), "%s", ports[i].name);
		snprintf(es[i].network, sizeof(es[i].network), "%s", k.network);
		snprintf(es[i].key, sizeof(es[i].key), "%s", key);
		snprintf(es[i].mac, sizeof(es[i].mac), "%s", ports[i].mac);
		snprintf(es[i].ip, sizeof(es[i].ip), "%s", ports[i].ip);
		es[i].prefixlen = ports[i].prefixlen;
		snprintf(es[i].gateway, sizeof(es[i].gateway), "%s", net.gateway);
		es[i].info = net.info;
		es[i].mtu = net.mtu;
	}
	if (m->pp.prewire && !stopping(m))
		prewire(m, es, n);
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_mutex_lock(&m->lock);
	p = pool_find(m, key, true);
	if (p) {
		for (unsigned i = 0; r == 0 && i < n; i++)
			if (es[i].port[0] && !p->freeing && entry_add(m, p, &es[i], E_READY) == 0) {
				es[i].port[0] = 0; /* kept */
				ok++;
			}
		p->refills++;
		p->refill_seconds +=
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (r < 0 || ok < n)
			p->refill_errors++;
	}
	pthread_mutex_unlock(&m->lock);
	/* Entries not kept (the pool is being freed) go again. */
	for (unsigned i = 0; r == 0 && i < n; i++)
		if (es[i].port[0]) {
			destroy_entry_resources(m, &es[i]);
			ok++;
		}
	if (r == 0 && ok < n) {
		set_errmsg(reterr_msg, "%u of %u pool entries could not be prepared", n - ok, n);
		r = -EIO;
	}
	return r;
}

/* How many entries @p should get now (under the lock). */
static unsigned deficit(struct pool_mgr *m, struct pool *p)
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

/* Fill pool @key while it is short; called with the lock held, returns
 * with it held. */
static int fill(struct pool_mgr *m, const char *key, char **reterr_msg)
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

static void *refill_thread(void *arg)
{
	struct pool_mgr *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		struct timespec dl;
		char key[POOL_KEY_MAX];
		bool again = false;

		for (struct pool *p = m->pools; p && !m->stop; p = p->next) {
			_cleanup_free_ char *err = NULL;

			if (p->creating || deficit(m, p) == 0)
				continue;
			snprintf(key, sizeof(key), "%s", p->key);
			if (fill(m, key, &err) < 0)
				log_warn("event=pool-refill-failed pool=%s: %s", key,
					 err ? err : "");
			again = true; /* the list may have changed while unlocked */
			break;
		}
		if (again)
			continue;
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
static void *note_thread(void *arg)
{
	struct pool_mgr *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		_cleanup_free_ struct note_job *j = m->notes;
		_cleanup_free_ char *err = NULL;

		if (!j) {
			pthread_cond_wait(&m->note_wake, &m->lock);
			continue;
		}
		m->notes = j->next;
		if (!m->notes)
			m->notes_tail = &m->notes;
		pthread_mutex_unlock(&m->lock);
		if (m->b->ops->port_set_device(m->b, j->port, j->device_id, &err) < 0 &&
		    !strstr(err ? err : "", "404"))
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

static void *drain_thread(void *arg)
{
	struct pool_mgr *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->stop || m->jobs) {
		struct drain_job *jobs;

		if (!m->jobs) {
			pthread_cond_wait(&m->drain_wake, &m->lock);
			continue;
		}
		jobs = m->jobs;
		m->jobs = NULL;
		pthread_mutex_unlock(&m->lock);
		while (jobs) {
			struct drain_job *j = jobs;
			struct pool_entry doomed = { 0 };
			bool destroy = false, busy = false;
			struct entry *e;
			struct pool *p;

			jobs = j->next;
			if (j->netns_fd >= 0) {
				struct nl_sock *s = NULL;
				int r;

				/* The RCU grace period is paid here, off the ADD/DEL
				 * path. A device that is already gone is fine; one
				 * that would not go keeps the stub taken (passthru
				 * allows one macvlan), so the entry is destroyed. */
				r = nl_sock_open_netns(j->netns_fd, &s);
				if (r == 0)
					r = nl_link_del(s, j->tmpname, NULL);
				busy = r < 0 && r != -ENODEV;
				nl_sock_free(s);
				close(j->netns_fd);
			}
			pthread_mutex_lock(&m->lock);
			e = entry_find(m, j->port, &p);
			if (e && e->st == E_DRAINING) {
				if (busy || over_max(m, p)) {
					doomed = e->e;
					destroy = true;
					entry_remove(p, e);
				} else
					entry_set_state(p, e, E_READY);
			}
			pthread_mutex_unlock(&m->lock);
			if (destroy)
				destroy_entry_resources(m, &doomed);
			free(j);
		}
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
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
			if (e->st == E_READY && (e->e.prewired || !m->pp.prewire)) {
				entry_set_state(p, e, E_IN_USE);
				*ret = e->e;
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
	e = entry_find(m, pe->port, &p);
	if (e && e->st == E_IN_USE)
		entry_set_state(p, e, E_READY);
	pthread_mutex_unlock(&m->lock);
}

void pool_destroy(struct pool_mgr *m, const struct pool_entry *pe)
{
	struct entry *e;
	struct pool *p;

	pthread_mutex_lock(&m->lock);
	e = entry_find(m, pe->port, &p);
	if (e)
		entry_remove(p, e);
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	destroy_entry_resources(m, pe);
}

int pool_attach(struct pool_mgr *m, const struct pool_entry *e, int netns_fd, const char *ifname,
		char **reterr_msg)
{
	struct nl_sock *pod = NULL;
	struct nl_link_info li;
	uint8_t mac[6], ip[4];
	int r;

	if (backend_parse_mac(e->mac, mac) < 0 || inet_pton(AF_INET, e->ip, ip) != 1) {
		set_errmsg(reterr_msg, "pool entry %s has a bad MAC or IP", e->port);
		return -EINVAL;
	}

	/* The macvlan is born in the pod: no move, no grace period. */
	pthread_mutex_lock(&m->hold_lock);
	r = m->hold_sock ? 0 : nl_sock_open_netns(m->hold_fd, &m->hold_sock);
	if (r == 0)
		r = nl_macvlan_passthru_add(m->hold_sock, ifname, e->stub_ifindex, netns_fd, mac,
					    e->mtu, reterr_msg);
	pthread_mutex_unlock(&m->hold_lock);
	if (r == -EEXIST) {
		set_errmsg(reterr_msg, "a device named %s already exists in the container netns",
			   ifname);
		return -EADDRINUSE;
	}
	if (r < 0)
		return r;

	r = nl_sock_open_netns(netns_fd, &pod);
	if (r == 0)
		r = nl_link_get(pod, ifname, &li);
	if (r == 0)
		r = nl_addr_add(pod, li.ifindex, AF_INET, ip, e->prefixlen, reterr_msg);
	if (r == 0)
		r = nl_link_set_up(pod, li.ifindex, true, reterr_msg);
	if (r == 0)
		r = binding_pod_routes(pod, li.ifindex, e->gateway, &e->info, reterr_msg);
	if (r < 0 && pod)
		(void)nl_link_del(pod, ifname, NULL); /* leave the stub free again */
	nl_sock_free(pod);
	return r;
}

int pool_release(struct pool_mgr *m, const struct attachment *a, int netns_fd, char **reterr_msg)
{
	struct drain_job *j;
	struct entry *e;
	struct pool *p;
	struct pool_entry pe;
	int r;

	pthread_mutex_lock(&m->lock);
	e = entry_find(m, a->port, &p);
	if (e)
		pe = e->e;
	pthread_mutex_unlock(&m->lock);
	if (!e) {
		/* Not ours any more (pools switched off, or a lost entry):
		 * tear everything down the plain way. */
		struct pool_entry gone = { 0 };

		snprintf(gone.port, sizeof(gone.port), "%s", a->port);
		snprintf(gone.host_ifname, sizeof(gone.host_ifname), "%s", a->host_ifname);
		snprintf(gone.stub, sizeof(gone.stub), "%s", a->stub);
		destroy_entry_resources(m, &gone);
		return 0;
	}

	if (pe.prewired && netns_fd < 0) {
		/* The pod's macvlan is out of reach: its stub goes, which takes
		 * the macvlan along (a macvlan dies with its lower device),
		 * and so does the entry. */
		pool_destroy(m, &pe);
		return 0;
	}
	pool_note_user(m, a->port, "");
	if (!pe.prewired) {
		/* Port-only: the veth goes, the port stays. */
		r = binding_ovs_unplug_veth(m->ovs, a->host_ifname, reterr_msg);
		if (r < 0)
			return r;
		pthread_mutex_lock(&m->lock);
		e = entry_find(m, a->port, &p);
		if (e && over_max(m, p)) {
			entry_remove(p, e);
			pthread_mutex_unlock(&m->lock);
			destroy_entry_resources(m, &pe);
			return 0;
		}
		if (e)
			entry_set_state(p, e, E_READY);
		pthread_mutex_unlock(&m->lock);
		return 0;
	}

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	snprintf(j->port, sizeof(j->port), "%s", a->port);
	/* The drain job outlives the request: its own descriptor. */
	j->netns_fd = fcntl(netns_fd, F_DUPFD_CLOEXEC, 3);
	if (j->netns_fd < 0) {
		r = -errno;
		set_errmsg(reterr_msg, "cannot keep the container netns: %s", strerror(errno));
		free(j);
		return r;
	}
	{
		struct nl_sock *s = NULL;
		struct nl_link_info li;
		char mac[18];

		/* Out of the way at once: a private name and no address (which
		 * takes its routes along), so an ADD with the same name, address
		 * or default route in this netns can follow immediately. Not
		 * set down: on a passthru macvlan that costs an RCU grace period
		 * (~20 ms here), renaming a running device does not. The name
		 * derives from the port, so a DEL repeated after a crash between
		 * the rename and the deletion still finds the device. */
		backend_ifname("kd", a->port, j->tmpname);
		r = nl_sock_open_netns(j->netns_fd, &s);
		if (r == 0 && nl_link_get(s, a->ifname, &li) < 0)
			r = nl_link_get(s, j->tmpname, &li);
		if (r == 0) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", li.mac[0],
				 li.mac[1], li.mac[2], li.mac[3], li.mac[4], li.mac[5]);
			/* Only the device this entry made. */
			if (!streq(li.kind, "macvlan") || !streq(mac, pe.mac))
				r = -ENODEV;
		}
		if (r == 0 && !streq(li.name, j->tmpname))
			r = nl_link_set_name(s, li.ifindex, j->tmpname, reterr_msg);
		if (r == 0) {
			char ip[48];
			const char *slash = strchr(a->address, '/');
			uint8_t bin[4];

			snprintf(ip, sizeof(ip), "%.*s",
				 slash ? (int)(slash - a->address) : (int)strlen(a->address),
				 a->address);
			if (slash && inet_pton(AF_INET, ip, bin) == 1)
				(void)nl_addr_del(s, li.ifindex, AF_INET, bin,
						  (uint8_t)atoi(slash + 1), NULL);
		}
		nl_sock_free(s);
		if (r < 0) {
			/* Already gone, or not ours to touch: nothing to delete. */
			close(j->netns_fd);
			j->netns_fd = -1;
		}
	}
	pthread_mutex_lock(&m->lock);
	e = entry_find(m, a->port, &p);
	if (e && e->st == E_IN_USE)
		entry_set_state(p, e, E_DRAINING);
	j->next = m->jobs;
	m->jobs = j;
	pthread_cond_signal(&m->drain_wake);
	pthread_mutex_unlock(&m->lock);
	return 0;
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
			usleep(50000);
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
		struct pool_entry doomed;
		bool found = false, busy = false;

		pthread_mutex_lock(&m->lock);
		for (struct pool *p = m->pools; p && !found; p = p->next) {
			if (network && !key_of_network(p->key, network))
				continue;
			busy |= p->creating > 0;
			for (struct entry *e = p->entries; e; e = e->next)
				if (e->st == E_READY) {
					doomed = e->e;
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
		usleep(50000);
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
				 (json_int_t)p->misses, "prewire", m->pp.prewire));
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

/* ---- start, recovery, stop ---- */

/* The attachment store's rows (store_list()). */
struct rows_ctx {
	struct attachment *rows;
	size_t n;
};

struct stubs_ctx {
	char (*names)[IF_NAMESIZE];
	size_t n, cap;
};

static int collect_stub(const struct nl_link_info *l, void *userdata)
{
	struct stubs_ctx *c = userdata;

	if (strncmp(l->name, "ks", 2) != 0)
		return 0;
	if (c->n == c->cap) {
		char(*nn)[IF_NAMESIZE];

		c->cap = c->cap ? c->cap * 2 : 16;
		nn = realloc(c->names, c->cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		c->names = nn;
	}
	snprintf(c->names[c->n++], IF_NAMESIZE, "%s", l->name);
	return 0;
}

/* Fill e->host_mac from the host end in our own namespace. */
static int host_mac_of(struct pool_entry *e)
{
	struct nl_sock *host = NULL;
	struct nl_link_info hl;
	int r;

	r = nl_sock_open(&host);
	if (r == 0)
		r = nl_link_get(host, e->host_ifname, &hl);
	if (r == 0)
		snprintf(e->host_mac, sizeof(e->host_mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 hl.mac[0], hl.mac[1], hl.mac[2], hl.mac[3], hl.mac[4], hl.mac[5]);
	nl_sock_free(host);
	return r;
}

/* Adopt one pool port found in the backend, or tear it down. */
static void recover_port(struct pool_mgr *m, const struct kuryr_port *kp,
			 const struct rows_ctx *rows, struct stubs_ctx *stubs)
{
	struct pool_entry e = { 0 };
	struct kuryr_network net;
	struct nl_link_info li;
	const struct attachment *row = NULL;
	struct pool *p;
	bool intact = false;

	snprintf(e.port, sizeof(e.port), "%s", kp->name);
	snprintf(e.network, sizeof(e.network), "%s", kp->network);
	/* The pool it was made for, if the backend kept that and it still
	 * names this network (a renamed network's ports join its default
	 * pool). */
	snprintf(e.key, sizeof(e.key), "%s",
		 *kp->pool_key && key_of_network(kp->pool_key, kp->network) ? kp->pool_key
									    : kp->network);
	snprintf(e.mac, sizeof(e.mac), "%s", kp->mac);
	snprintf(e.ip, sizeof(e.ip), "%s", kp->ip);
	backend_ifname("kc", e.port, e.host_ifname);
	backend_ifname("ks", e.port, e.stub);
	for (size_t i = 0; i < rows->n; i++)
		if (streq(rows->rows[i].port, kp->name))
			row = &rows->rows[i];
	for (size_t i = 0; i < stubs->n; i++)
		if (streq(stubs->names[i], e.stub))
			stubs->names[i][0] = 0; /* claimed */
	if (m->b->ops->network_get(m->b, kp->network, &net, NULL) < 0)
		goto destroy;
	e.mtu = net.mtu;
	snprintf(e.gateway, sizeof(e.gateway), "%s", net.gateway);
	e.info = net.info;
	{
		uint32_t sub;

		if (backend_parse_cidr4(net.cidr, &sub, &e.prefixlen) < 0)
			goto destroy;
	}
	if (row) {
		/* In use by a container: keep it as it is. */
		e.prewired = row->pooled == 2;
		if (e.prewired && hold_link(m, e.stub, &li) == 0)
			e.stub_ifindex = li.ifindex;
		if (e.prewired)
			(void)host_mac_of(&e);
		else
			e.stub[0] = 0;
		pthread_mutex_lock(&m->lock);
		p = pool_find(m, e.key, true);
		if (p)
			entry_add(m, p, &e, E_IN_USE);
		pthread_mutex_unlock(&m->lock);
		return;
	}
	if (m->pp.prewire) {
		/* A stub still under a container's macvlan (a DEL renamed it
		 * and crashed before deleting it) holds promiscuous mode:
		 * ifi_flags do not show that, IFLA_PROMISCUITY does. */
		intact = hold_link(m, e.stub, &li) == 0 && li.promiscuity == 0 &&
			 binding_ovs_installed(m->ovs, e.host_ifname, NULL) == 1;
		if (intact) {
			e.stub_ifindex = li.ifindex;
			e.prewired = true;
			intact = host_mac_of(&e) == 0;
		}
	} else {
		/* Port-only pools keep the port and drop any devices. */
		(void)binding_ovs_unplug_veth(m->ovs, e.host_ifname, NULL);
		hold_del(m, e.stub);
		e.host_ifname[0] = e.stub[0] = 0;
		intact = true;
	}
	if (intact) {
		pthread_mutex_lock(&m->lock);
		p = pool_find(m, e.key, true);
		if (p)
			entry_add(m, p, &e, E_READY);
		pthread_mutex_unlock(&m->lock);
		/* Its container went while kuryrd was away. */
		if (*kp->device_id && !streq(kp->device_id, m->host))
			pool_note_user(m, e.port, "");
		return;
	}
destroy:
	log_info("event=pool-recover-delete port=%s network=%s", e.port, e.network);
	destroy_entry_resources(m, &e);
}

static int recover(struct pool_mgr *m, char **reterr_msg)
{
	_cleanup_free_ struct kuryr_port *ports = NULL;
	struct rows_ctx rows = { 0 };
	struct stubs_ctx stubs = { 0 };
	size_t n = 0;
	int r;

	r = m->b->ops->port_list(m->b, NULL, &ports, &n, reterr_msg);
	if (r < 0)
		return r;
	r = store_list(m->st, &rows.rows, &rows.n);
	if (r < 0)
		goto out;
	pthread_mutex_lock(&m->hold_lock);
	r = m->hold_sock ? 0 : nl_sock_open_netns(m->hold_fd, &m->hold_sock);
	if (r == 0)
		r = nl_link_foreach(m->hold_sock, collect_stub, &stubs);
	pthread_mutex_unlock(&m->hold_lock);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot list the holding netns %s: %s", m->holding_netns,
			   strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (ports[i].owner == PORT_OWNER_POOL &&
		    streq(*ports[i].host ? ports[i].host : ports[i].device_id, m->host))
			recover_port(m, &ports[i], &rows, &stubs);
	/* Stubs whose port is gone. */
	for (size_t i = 0; i < stubs.n; i++)
		if (stubs.names[i][0]) {
			char host[16];

			snprintf(host, sizeof(host), "kc%s", stubs.names[i] + 2);
			(void)binding_ovs_unplug_veth(m->ovs, host, NULL);
			hold_del(m, stubs.names[i]);
		}
out:
	free(rows.rows);
	free(stubs.names);
	return r;
}

int pool_mgr_new(const struct pool_params *pp, struct backend *b, struct binding_ovs *ovs,
		 struct store *st, struct pool_mgr **ret, char **reterr_msg)
{
	struct pool_mgr *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;
	int r;

	if (!m)
		return -ENOMEM;
	m->pp = *pp;
	m->b = b;
	m->ovs = ovs;
	m->st = st;
	m->hold_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->hold_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&m->drain_wake, NULL);
	pthread_cond_init(&m->note_wake, NULL);
	m->notes_tail = &m->notes;
	m->holding_netns = strdup(pp->holding_netns);
	m->host = strdup(pp->host);
	if (!m->holding_netns || !m->host) {
		r = -ENOMEM;
		goto fail;
	}
	m->pp.holding_netns = m->holding_netns;
	m->pp.host = m->host;
	r = nl_netns_create(m->holding_netns, &m->hold_fd);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open or create the holding netns %s: %s",
			   m->holding_netns, strerror(-r));
		goto fail;
	}
	r = recover(m, reterr_msg);
	if (r < 0)
		goto fail;
	if (pthread_create(&m->refill_thread, NULL, refill_thread, m) != 0) {
		r = -EAGAIN;
		goto fail;
	}
	if (pthread_create(&m->drain_thread, NULL, drain_thread, m) != 0) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_broadcast(&m->wake);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->refill_thread, NULL);
		r = -EAGAIN;
		goto fail;
	}
	if (pthread_create(&m->note_thread, NULL, note_thread, m) != 0) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_broadcast(&m->wake);
		pthread_cond_broadcast(&m->drain_wake);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->refill_thread, NULL);
		pthread_join(m->drain_thread, NULL);
		r = -EAGAIN;
		goto fail;
	}
	m->threads_started = true;
	*ret = m;
	return 0;
fail:
	pool_mgr_free(m);
	return r;
}

void pool_mgr_free(struct pool_mgr *m)
{
	if (!m)
		return;
	if (m->threads_started) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_broadcast(&m->wake);
		pthread_cond_broadcast(&m->drain_wake);
		pthread_cond_broadcast(&m->note_wake);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->refill_thread, NULL);
		pthread_join(m->drain_thread, NULL); /* finishes queued deletions */
		pthread_join(m->note_thread, NULL);
	}
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
	nl_sock_free(m->hold_sock);
	if (m->hold_fd >= 0)
		close(m->hold_fd);
	pthread_cond_destroy(&m->wake);
	pthread_cond_destroy(&m->drain_wake);
	pthread_cond_destroy(&m->note_wake);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->hold_lock);
	free(m->holding_netns);
	free(m->host);
	free(m);
}
