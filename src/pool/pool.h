/* SPDX-License-Identifier: Apache-2.0 */
/* Port pools: per network, a set of backend ports created ahead of time
 * (in batches, in the background) so that ADD makes no synchronous backend
 * call. With pre-wiring an entry is more than a port: it is parked by the
 * binding driver "prewire" (a veth whose host end is on the bridge and
 * installed by OVN, whose stub waits in a holding netns), and ADD plugs
 * the pod onto it with that driver; DEL detaches the pod's device at once
 * and unplugs it in the background, after which the entry is ready again.
 *
 * Pool ports are marked in the backend (owner "pool", this node), so a
 * restarted kuryrd adopts what is intact and deletes the rest.
 * Thread-safe. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backend/backend.h"
#include "binding/binding.h"
#include "store/store.h"

struct pool_mgr;

struct pool_params {
	int min;		/* ports_pool_min */
	int max;		/* ports_pool_max, 0: no limit */
	int batch;		/* ports_pool_batch */
	int update_ms;		/* ports_pool_update_frequency */
	int port_up_timeout_ms; /* how long an entry may take to be ready */
	const char *host;	/* this node, marks our pool ports */
	/* Drivers: the one port-only entries are plugged with (the node's),
	 * and "prewire" to park entries (NULL: port-only pools). */
	struct binding *plug;
	struct binding *prewire;
	/* The backend reports ports up only some time after they are plugged
	 * (Neutron: ACTIVE): a parked entry is ready once it does. */
	bool wait_backend_up;
	/* Entries become subports of a trunk (port_spec.subport). */
	bool subports;
	/* Entries are bound nowhere (port_spec.unbound). */
	bool unbound;
};

/* A pool is per network and, for ports with their own project, security
 * groups or QoS policy, per such choice: its key is the network's name, or
 * "network|project|sg1,sg2|qos" with the groups sorted. */
#define POOL_KEY_MAX 256

/* The canonical key; @project/@qos may be NULL or "", @sgs NULL (the node's
 * default groups) or a NULL-terminated list. -E2BIG if it is too long,
 * -EINVAL if a name contains '|' or ','. */
int pool_key(char out[POOL_KEY_MAX], const char *network, const char *project,
	     const char *const *sgs, const char *qos);

/* What a hit hands out. */
struct pool_entry {
	char key[POOL_KEY_MAX];
	struct kuryr_port port;	     /* name, network, MAC, address */
	struct kuryr_network net;    /* MTU, gateway, host routes: no backend call */
	bool prewired;		     /* parked: plug with the "prewire" driver */
	struct binding_state parked; /* prewired: host end, stub, host MAC */
};

/* Adopt intact pool ports of this node that are not in use by a row of
 * @st, delete broken ones, start the refill, drain and note threads. */
int pool_mgr_new(const struct pool_params *pp, struct backend *b, struct store *st,
		 struct pool_mgr **ret, char **reterr_msg);
void pool_mgr_free(struct pool_mgr *m);

/* Take a ready entry of pool @key: 0, or -ENOENT on a miss (a refill is
 * then scheduled if the pool exists). */
int pool_take(struct pool_mgr *m, const char *key, struct pool_entry *ret);
/* Pool @key (whose network exists) is in use on this node: create it if it
 * does not exist yet (counting a miss if an ADD revealed it) and start
 * filling it. */
void pool_want(struct pool_mgr *m, const char *key, bool count_miss);
/* Record in the backend, in the background and in order, that container
 * @device_id ("": nobody) uses pool port @port. */
void pool_note_user(struct pool_mgr *m, const char *port, const char *device_id);
/* Give an untouched entry back (an ADD failed before using it). */
void pool_give_back(struct pool_mgr *m, const struct pool_entry *e);
/* Tear an entry down for good (devices, backend port) and forget it. */
void pool_destroy(struct pool_mgr *m, const struct pool_entry *e);

/* DEL of attachment @a, which holds a pool entry; @netns_fd is the pod's
 * (-1: none). A finished attachment hands the entry back: a pre-wired one
 * is detached from the pod now and unplugged in the background, then ready
 * again (or destroyed above ports_pool_max); a port-only one is unplugged
 * now. Without the pod's netns, or for an unfinished attachment, the entry
 * is destroyed. */
int pool_release(struct pool_mgr *m, const struct attachment *a, int netns_fd, char **reterr_msg);

/* DEL of attachment @a, whose pool port has moved to another node since
 * (port_move): the entry is forgotten, a pre-wired one's stub destroyed
 * (and the pod's device with it); the port is the other node's now. A
 * port-only entry's veth is the caller's to unplug. */
void pool_forget(struct pool_mgr *m, const struct attachment *a);

/* Fill pool @key (a network's name: its default pool) to ports_pool_min
 * now; returns when done. */
int pool_populate(struct pool_mgr *m, const char *key, char **reterr_msg);
/* Destroy every ready entry of @network's pools (NULL: all networks). */
int pool_free_ready(struct pool_mgr *m, const char *network, char **reterr_msg);

/* [{network, key, ready, in_use, draining, creating, hits, misses, prewire}] */
json_t *pool_list_json(struct pool_mgr *m, const char *network);
/* Prometheus text for /metrics. */
void pool_write_metrics(struct pool_mgr *m, FILE *f);
