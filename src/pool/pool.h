/* SPDX-License-Identifier: Apache-2.0 */
/* Port pools: per network, a set of backend ports created ahead of time
 * (in batches, in the background) so that ADD makes no synchronous backend
 * call. With pre-wiring an entry is more than a port: a veth pair whose
 * host end is already on the bridge and installed by OVN, whose other end
 * (the stub) waits in a holding namespace with the port's MAC. ADD then
 * creates a passthru macvlan on the stub directly inside the pod's netns;
 * DEL renames and downs it at once and deletes it in the background, after
 * which the entry is ready again.
 *
 * Pool ports are marked in the backend (owner "pool", device_id = this
 * node), so a restarted kuryrd adopts what is intact and deletes the rest.
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
	bool prewire;
	int min;		/* ports_pool_min */
	int max;		/* ports_pool_max, 0: no limit */
	int batch;		/* ports_pool_batch */
	int update_ms;		/* ports_pool_update_frequency */
	int port_up_timeout_ms; /* how long a pre-wired port may take to install */
	const char *holding_netns;
	const char *host; /* this node, marks our pool ports */
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

struct pool_entry {
	char port[64];
	char network[128];
	char key[POOL_KEY_MAX];
	char mac[18];
	char ip[48];
	uint8_t prefixlen;
	char gateway[48]; /* the network's, so a hit needs no backend call */
	struct kuryr_subnet_info info;
	uint32_t mtu;
	bool prewired;
	char host_ifname[16]; /* pre-wired: host end, on the bridge */
	char host_mac[18];
	char stub[16]; /* pre-wired: other end, in the holding netns */
	int stub_ifindex;
};

/* Open (or create) the holding namespace, adopt intact pool ports of this
 * node that are not in use by a row of @st, delete broken ones, start the
 * refill and drain threads. */
int pool_mgr_new(const struct pool_params *pp, struct backend *b, struct binding_ovs *ovs,
		 struct store *st, struct pool_mgr **ret, char **reterr_msg);
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
/* Tear an entry down for good (backend port, devices) and forget it. */
void pool_destroy(struct pool_mgr *m, const struct pool_entry *e);

/* Pre-wired ADD: a passthru macvlan on the stub, created inside @netns_fd
 * as @ifname, with the entry's MAC, address and default route, up.
 * -EADDRINUSE if @ifname is taken there. On failure nothing is left in the
 * pod and the entry is as before. */
int pool_attach(struct pool_mgr *m, const struct pool_entry *e, int netns_fd, const char *ifname,
		char **reterr_msg);

/* DEL of an attachment that holds a pool entry (row @a): the pod's device
 * is renamed and downed now and deleted in the background, in @netns_fd
 * (borrowed; the container's netns, never opened from a->netns); then the
 * entry is ready again (or destroyed above ports_pool_max). A port-only
 * entry's veth is unplugged first. A pre-wired entry released without a
 * netns (-1) is destroyed, and the pod's device with its stub. */
int pool_release(struct pool_mgr *m, const struct attachment *a, int netns_fd, char **reterr_msg);

/* Fill pool @key (a network's name: its default pool) to ports_pool_min
 * now; returns when done. */
int pool_populate(struct pool_mgr *m, const char *key, char **reterr_msg);
/* Destroy every ready entry of @network's pools (NULL: all networks). */
int pool_free_ready(struct pool_mgr *m, const char *network, char **reterr_msg);

/* [{network, key, ready, in_use, draining, creating, hits, misses, prewire}] */
json_t *pool_list_json(struct pool_mgr *m, const char *network);
/* Prometheus text for /metrics. */
void pool_write_metrics(struct pool_mgr *m, FILE *f);
