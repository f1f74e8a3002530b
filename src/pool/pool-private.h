/* SPDX-License-Identifier: Apache-2.0 */
/* The pool manager's insides, shared by its files: pool.c (bookkeeping
 * and the public calls), key.c (pool keys), refill.c (the refill and note
 * threads), drain.c (background unplugs) and recover.c (adoption at
 * start). Not for use outside src/pool/.
 *
 * One lock, m->lock, guards the pools, their entries and counters and the
 * job queues; no backend or binding call is ever made with it held. */
#pragma once

#include <pthread.h>

#include "pool.h"

enum entry_state {
	E_READY,
	E_IN_USE,
	E_DRAINING,
};

struct entry {
	struct entry *next;
	enum entry_state st;
	bool prewired;
	struct kuryr_port port;
	struct binding_state parked;
};

struct pool {
	struct pool *next;
	char key[POOL_KEY_MAX]; /* see pool_key() */
	/* The network as the last refill (or recovery) read it: what a hit
	 * hands out with an entry. */
	struct kuryr_network net;
	struct entry *entries;
	unsigned ready, in_use, draining, creating;
	unsigned long hits, misses, refills, refill_errors;
	double refill_seconds;
	/* "pool free" in progress: no refill, and entries coming back (from
	 * containers or from a refill in flight) are destroyed. Cleared by the
	 * next use of the network. */
	bool freeing;
	/* Its last refill failed: the refill thread leaves it until its next
	 * wait is over (a wake-up or the update period), not in a loop. */
	bool refill_failed;
};

/* A pool port's user to record in the backend, in the background. */
struct note_job {
	struct note_job *next;
	char port[64];
	char device_id[257];
};

/* A detached pod device to unplug in the background. */
struct drain_job {
	struct drain_job *next;
	int netns_fd; /* a dup of the pod's */
	char ifname[16];
	struct kuryr_port port;
	struct binding_state st;
};

struct pool_mgr {
	struct pool_params pp;
	char *host;
	struct backend *b;
	struct store *st;

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wake;  /* refill thread */
	pthread_cond_t drain_wake;
	pthread_cond_t note_wake;
	struct pool *pools;
	struct drain_job *jobs;
	struct note_job *notes, **notes_tail; /* FIFO: a port's last note wins */
	bool stop;
	pthread_t refill_thread, drain_thread, note_thread;
	bool threads_started;
};

/* key.c */

/* A key's parts: the network; and, for a key with choices, the project,
 * the groups (NULL-terminated, pointing into buf; has_sgs false when the
 * key leaves them to the node's defaults) and the QoS policy. */
struct key_parts {
	char buf[POOL_KEY_MAX];
	const char *network, *project, *qos;
	const char *sgs[18];
	bool has_sgs;
};

void key_split(const char *key, struct key_parts *k);
/* Does pool @key belong to @network? */
bool key_of_network(const char *key, const char *network);

/* pool.c: bookkeeping, with m->lock held. */

struct pool *pool_find(struct pool_mgr *m, const char *key, bool create);
struct entry *entry_find(struct pool_mgr *m, const char *port, struct pool **ret_pool);
int entry_add(struct pool *p, const struct entry *proto, enum entry_state st);
void entry_remove(struct pool *p, struct entry *e);
void entry_set_state(struct pool *p, struct entry *e, enum entry_state st);
/* Entries beyond ports_pool_max are not kept when they come back. */
bool over_max(struct pool_mgr *m, struct pool *p);
/* How many entries @p should get now. */
unsigned deficit(struct pool_mgr *m, struct pool *p);

/* pool.c, without the lock */

bool stopping(struct pool_mgr *m);
/* Everything an entry owns: its devices (parked or plugged) and its
 * backend port. */
void destroy_entry_resources(struct pool_mgr *m, const struct entry *e);

/* refill.c */

void *refill_thread(void *arg);
void *note_thread(void *arg);
/* Fill pool @key while it is short; called with the lock held, returns
 * with it held. */
int fill(struct pool_mgr *m, const char *key, char **reterr_msg);

/* drain.c */

void *drain_thread(void *arg);
/* Queue @j (owned from now on). */
void drain_queue(struct pool_mgr *m, struct drain_job *j);
/* pool.c: a drain job is done; @broken if the pod's device would not go
 * (passthru allows one macvlan: the stub stays taken). */
void drain_done(struct pool_mgr *m, const char *port, bool broken);

/* recover.c */

int recover(struct pool_mgr *m, char **reterr_msg);
