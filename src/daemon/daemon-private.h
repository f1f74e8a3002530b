/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrd's insides, shared by its files:
 *   daemon.c    start and stop (kuryrd_new, kuryrd_free)
 *   dispatch.c  the request table, and how errors are told to callers
 *   cni.c       the CNI verbs: ADD (one function per step), DEL, CHECK,
 *               STATUS, GC
 *   teardown.c  undoing an attachment; recovery at start
 *   janitor.c   retried rollbacks and the leftover-port sweep
 *   ctl-*.c     the operator's verbs (networks, ports and VMs; trunks,
 *               security groups and QoS; pools, attachments and status)
 *   server.c    the unix socket      metrics.c  /metrics over HTTP
 *   docker*.c   Docker's libnetwork remote driver (docker-private.h)
 * Not for use outside src/daemon/. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "backend/backend.h"
#include "binding/binding.h"
#include "binding/bridge.h"
#include "config.h"
#include "daemon.h"
#include "macro.h"
#include "pool/pool.h"
#include "store/store.h"

/* Requests on the same (container, ifname) are serialised on one of these. */
#define LOCK_STRIPES 64

enum metric_op {
	M_ADD,
	M_DEL,
	M_CHECK,
	M_STATUS,
	M_GC,
	M_OTHER,
	M_N
};

#define ADD_BUCKETS 12

struct metrics {
	atomic_ulong requests[M_N][2]; /* op x {ok, error} */
	atomic_ulong add_bucket[ADD_BUCKETS + 1];
	atomic_ulong add_sum_us;
	atomic_ulong add_count;
};

struct kuryrd {
	struct kuryr_config cfg;
	struct backend *backend;
	struct bridge *bridge;
	/* Binding drivers by name (binding_drivers[] order); NULL where this
	 * node has none. node_binding plugs containers on ports of their
	 * own and port-only pool entries. */
	struct binding *bindings[8];
	struct binding *node_binding;
	struct binding *park_binding; /* the one that parks pool entries, or NULL */
	struct store *store;
	struct pool_mgr *pool; /* NULL: pools switched off */
	pthread_mutex_t stripes[LOCK_STRIPES];
	struct MHD_Daemon *http;
	struct docker *docker; /* NULL: [docker] enabled = false */
	struct metrics m;
	/* The janitor retries rollbacks that failed (the backend was
	 * unreachable), so a failed ADD leaves nothing behind for long. */
	pthread_mutex_t jlock;
	pthread_cond_t jwake;
	bool jstop, jpending, jstarted;
	pthread_t janitor;
	/* After a create whose outcome was lost, the port may still appear:
	 * sweep for leftovers every SWEEP_EVERY_MS until this (monotonic ms). */
	uint64_t sweep_until_ms, next_sweep_ms;
	uint64_t next_docker_sweep_ms;
	/* lb-follow.c: a membership change waits (backends without
	 * BACKEND_CAP_LB_FAST), and when the records are next looked at. */
	bool lb_pending;
	uint64_t next_lb_sweep_ms;
	char host[256]; /* [DEFAULT] host when kuryr.conf leaves it out */
};

/* daemon.c */

/* The driver named @name on this node, or NULL. */
struct binding *kuryrd_binding(struct kuryrd *d, const char *name);
/* Pools and attachment rows know a network by its name: that of the
 * network @ref names (by name or id), or @ref if the backend cannot say. */
const char *kuryrd_network_name(struct kuryrd *d, const char *ref, struct kuryr_network *buf);
pthread_mutex_t *kuryrd_stripe(struct kuryrd *d, const char *cid, const char *ifname);

/* dispatch.c: replies */

json_t *reply_ok(json_t *result);
json_t *reply_error(int code, const char *msg, const char *details);
/* A failure of the backend or a driver (-errno @r) told to a CNI caller:
 * the error code its errno stands for. */
json_t *reply_cni_errno(int r, const char *msg, const char *details);
int cni_code_of(int r);
/* The same for an operator (HTTP-like codes: 400, 404, 409, 501, 503). */
json_t *reply_ctl_errno(int r, const char *msg, const char *details);

/* The parsed CNI part of a request. */
struct cni_req {
	const char *op;
	const char *version;
	const char *cid;
	const char *ifname;
	const char *netns; /* the runtime's path: for logs and the store only */
	int netns_fd;	   /* the runtime's netns, passed with the request; -1 */
	const char *network;
	json_t *conf;
	/* The device is handed over to its user (dockerd moves it into the
	 * container and gives it its addresses): binding_req.handed_over. */
	bool handed_over;
};

/* cni.c */

json_t *cni_add(struct kuryrd *d, const struct cni_req *c);
json_t *cni_del(struct kuryrd *d, const struct cni_req *c);
json_t *cni_check(struct kuryrd *d, const struct cni_req *c);
json_t *cni_status(struct kuryrd *d, const struct cni_req *c);
json_t *cni_gc(struct kuryrd *d, const struct cni_req *c);

/* teardown.c */

/* A binding request and state for what attachment row @a recorded. */
void attachment_binding(const struct attachment *a, int netns_fd, struct kuryr_port *port,
			struct kuryr_network *net, struct binding_req *req,
			struct binding_state *st);
/* Undo whatever the row says exists (@netns_fd: the pod's, or -1), then
 * drop the row. Each step tolerates its piece being gone already. */
int attachment_teardown(struct kuryrd *d, const struct attachment *a, int netns_fd,
			char **reterr_msg);
/* DEL of (@cid, @ifname) under its stripe lock: NULL on success (nothing
 * to do included), an error reply otherwise. */
json_t *attachment_del(struct kuryrd *d, const char *cid, const char *ifname, int netns_fd);
/* Whether a finished attachment's container is gone, asked of its driver
 * from the host side (a veth's host end, a stub's macvlan, go with the
 * pod's netns). Only a definite "gone" counts. */
bool attachment_gone(struct kuryrd *d, const struct attachment *a);
/* Whether a device named @ifname is in kuryrd's own netns. */
bool device_here(const char *ifname);
/* Undo (@cid, @ifname) as a DEL does, except that a pool's port is
 * deleted rather than returned: its address is about to be given to
 * another port. */
int attachment_discard(struct kuryrd *d, const char *cid, const char *ifname, int netns_fd,
		       char **reterr_msg);
/* At start: roll back what a previous run left half-done, and attachments
 * whose container is gone. */
int recover_attachments(struct kuryrd *d, char **reterr_msg);

/* janitor.c */

int janitor_start(struct kuryrd *d);
void janitor_stop(struct kuryrd *d);
/* A rollback failed: retry it soon. */
void janitor_kick(struct kuryrd *d);
/* A port create failed without an answer: the port may still appear. */
void janitor_sweep_soon(struct kuryrd *d);

/* ctl-*.c: operator verbs, @args the request's "args" object */

json_t *ctl_network(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_port(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_vm(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_trunk(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_security_group(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_qos(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_router(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_floating_ip(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_pool(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_loadbalancer(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_attachment(struct kuryrd *d, const char *verb, json_t *args);
json_t *ctl_status(struct kuryrd *d, const char *verb, json_t *args);

/* docker.c: the Docker plugin socket, when [docker] enabled */

int docker_start(struct kuryrd *d, char **reterr_msg);
void docker_stop(struct kuryrd *d);
/* The janitor's: endpoints whose container went without dockerd telling
 * us, and addresses reserved long ago for an endpoint that never came. */
void docker_sweep(struct kuryrd *d);

/* lb-follow.c: containers that follow load balancer pools ("lb_pools") */

/* The netconf's "lb_pools" (borrowed; NULL: none) or an error reply. */
json_t *lb_follow_parse(json_t *conf, json_t **ret_pools);
/* ADD: attachment @a on @net joins @pools. On error nothing is left. */
int lb_follow_join(struct kuryrd *d, const struct attachment *a, const struct kuryr_network *net,
		   json_t *pools, char **reterr_msg);
/* Whatever undoes @a: out of its pools (or, failing that, the janitor's
 * to do). */
void lb_follow_leave(struct kuryrd *d, const struct attachment *a);
void lb_follow_kick(struct kuryrd *d);
/* The janitor's, under d->jlock: whether lb_follow_sweep() is due. */
bool lb_follow_due(struct kuryrd *d, uint64_t now);
void lb_follow_sweep(struct kuryrd *d);

/* metrics.c */

void metrics_count_request(struct kuryrd *d, enum metric_op op, bool error);
void metrics_observe_add(struct kuryrd *d, uint64_t us);
int metrics_start(struct kuryrd *d, char **reterr_msg);
void metrics_stop(struct kuryrd *d);
