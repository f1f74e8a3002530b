/* SPDX-License-Identifier: Apache-2.0 */
/* Containers that follow load balancer pools: a netconf's "lb_pools"
 * (pool names or ids) makes the container a member of each on ADD, and no
 * more on DEL, GC, or whatever undoes its attachment (teardown.c).
 *
 * A record ("lb_member", "CONTAINER/IFNAME": {"pools": [...]}) is written
 * before the first member is added, and each member is named by its owner,
 * "HOST/CONTAINER/IFNAME", in the backend: so whatever a crash cut short,
 * the janitor finds the members of an attachment that is gone by owner and
 * removes them (lb_follow_sweep), and adds those an attachment that is
 * there lacks.
 *
 * Where a member is in force when the backend call returns in a NB
 * transaction's time (BACKEND_CAP_LB_FAST, OVN's own), ADD and DEL change
 * the pools themselves: a member is reachable when ADD answers, an unknown
 * pool fails the ADD, and a pool hit makes these calls and no other. Where
 * a change takes the backend long (Octavia locks the load balancer for
 * each), ADD and DEL only write the record and wake the janitor, which
 * makes the change beside them. */
#include <stdio.h>

#include "cni/cni.h"
#include "daemon-private.h"
#include "json-util.h"
#include "log.h"
#include "net-util.h"

#define LB_RECORD	  "lb_member"
#define LB_POOLS_MAX	  16
#define LB_SWEEP_EVERY_MS 30000

json_t *lb_follow_parse(json_t *conf, json_t **ret_pools)
{
	json_t *pools = json_object_get(conf, "lb_pools"), *p;
	size_t i;

	*ret_pools = NULL;
	if (!pools || json_is_null(pools))
		return NULL;
	if (!json_is_array(pools) || json_array_size(pools) > LB_POOLS_MAX)
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid lb_pools",
				   "a list of at most 16 pool names or ids");
	json_array_foreach(pools, i, p)
		if (!json_is_string(p) || !*json_string_value(p))
			return reply_error(CNI_ERR_INVALID_CONFIG, "invalid lb_pools",
					   "each pool is a name or id");
	if (json_array_size(pools))
		*ret_pools = pools;
	return NULL;
}

static void record_id(const struct attachment *a, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", a->container_id, a->ifname);
}

static void owner_of(struct kuryrd *d, const struct attachment *a, char *out, size_t size)
{
	snprintf(out, size, "%s/%s/%s", d->cfg.host, a->container_id, a->ifname);
}

/* Remove @owner's members of @pool: 0, also when the pool is gone. */
static int leave_pool(struct kuryrd *d, const char *pool, const char *owner, char **reterr_msg)
{
	const struct backend_ops *ops = d->backend->ops;
	_cleanup_json_ json_t *p = NULL;
	size_t i;
	json_t *m;
	int r;

	r = ops->lb_pool_get(d->backend, pool, &p, reterr_msg);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	json_array_foreach(json_object_get(p, "members"), i, m) {
		if (!streq(json_object_get_str(m, "owner") ?: "", owner))
			continue;
		r = ops->lb_member_remove(d->backend, json_object_get_str(p, "id"),
					  json_object_get_str(m, "id"), reterr_msg);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

/* Whether @pool has a member of @owner's (-errno if it cannot be read).
 * @seen (an object, or NULL) keeps the pools read so far by their
 * reference: one sweep reads each pool once, however many containers
 * follow it. */
static int has_member(struct kuryrd *d, json_t *seen, const char *pool, const char *owner,
		      char **reterr_msg)
{
	_cleanup_json_ json_t *p = json_incref(seen ? json_object_get(seen, pool) : NULL);
	size_t i;
	json_t *m;
	int r;

	if (!p) {
		r = d->backend->ops->lb_pool_get(d->backend, pool, &p, reterr_msg);
		if (r < 0)
			return r;
		if (seen)
			json_object_set(seen, pool, p);
	}
	json_array_foreach(json_object_get(p, "members"), i, m)
		if (streq(json_object_get_str(m, "owner") ?: "", owner))
			return 1;
	return 0;
}

/* @pool has a member at @ip already. If it is another follower's (a port
 * that moved here from another node keeps its address, and its member the
 * old node's owner), take it over: that node's DEL would take it out from
 * under the container. An operator's member (no owner) stays theirs. */
static int take_over(struct kuryrd *d, const struct lb_member_spec *spec, char **reterr_msg)
{
	const struct backend_ops *ops = d->backend->ops;
	_cleanup_json_ json_t *p = NULL, *m2 = NULL;
	const char *old = NULL, *mid = NULL;
	size_t i;
	json_t *m;
	int r;

	r = ops->lb_pool_get(d->backend, spec->pool, &p, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(json_object_get(p, "members"), i, m)
		if (streq(json_object_get_str(m, "address") ?: "", spec->address)) {
			old = json_object_get_str(m, "owner") ?: "";
			mid = json_object_get_str(m, "id");
			break;
		}
	if (!old || !mid || streq(old, spec->owner) || !strchr(old, '/'))
		return 0;
	r = ops->lb_member_remove(d->backend, json_object_get_str(p, "id"), mid, reterr_msg);
	if (r < 0 && r != -ENOENT)
		return r;
	log_info("event=lb-take-over pool=%s address=%s from=%s to=%s", spec->pool, spec->address,
		 old, spec->owner);
	r = ops->lb_member_add(d->backend, spec, &m2, reterr_msg);
	return r == -EEXIST ? 0 : r;
}

/* Make @a (on @net) a member of @pool unless it is one (@look: ask the
 * backend first, where adding again costs; through @seen, as above):
 * 0 or -errno. */
static int join_pool(struct kuryrd *d, const struct attachment *a, const struct kuryr_network *net,
		     const char *pool, const char *owner, bool look, json_t *seen,
		     char **reterr_msg)
{
	char ip[48];
	_cleanup_json_ json_t *m = NULL;
	struct lb_member_spec spec;
	int r;

	if (look) {
		r = has_member(d, seen, pool, owner, reterr_msg);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (addr_split(a->address, ip, sizeof(ip), &(uint8_t){ 0 }) < 0 || !*ip) {
		set_errmsg(reterr_msg, "the container has no IPv4 address for pool %s", pool);
		return -EINVAL;
	}
	spec = (struct lb_member_spec){
		.pool = pool, .address = ip, .net = net, .backend_port = a->port, .owner = owner
	};
	r = d->backend->ops->lb_member_add(d->backend, &spec, &m, reterr_msg);
	/* There already: a retried ADD's, an operator's, or a moved port's. */
	return r == -EEXIST ? take_over(d, &spec, reterr_msg) : r;
}

static bool fast(struct kuryrd *d)
{
	return d->backend->ops->caps & BACKEND_CAP_LB_FAST;
}

void lb_follow_kick(struct kuryrd *d)
{
	pthread_mutex_lock(&d->jlock);
	d->lb_pending = true;
	pthread_cond_signal(&d->jwake);
	pthread_mutex_unlock(&d->jlock);
}

int lb_follow_join(struct kuryrd *d, const struct attachment *a, const struct kuryr_network *net,
		   json_t *pools, char **reterr_msg)
{
	_cleanup_free_ char *value = NULL;
	char id[300], owner[600];
	size_t i;
	json_t *p;
	int r;

	if (!pools)
		return 0;
	if (!(d->backend->ops->caps & BACKEND_CAP_LOADBALANCERS)) {
		set_errmsg(reterr_msg, "backend %s has no load balancers for lb_pools",
			   d->backend->ops->name);
		return -EOPNOTSUPP;
	}
	record_id(a, id, sizeof(id));
	owner_of(d, a, owner, sizeof(owner));
	{
		_cleanup_json_ json_t *rec = json_pack("{s:O}", "pools", pools);

		value = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	}
	if (!value)
		return -ENOMEM;
	r = store_record_put(d->store, LB_RECORD, id, value);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot record the pools: %s", strerror(-r));
		return r;
	}
	if (!fast(d)) {
		lb_follow_kick(d);
		return 0;
	}
	json_array_foreach(pools, i, p) {
		r = join_pool(d, a, net, json_string_value(p), owner, false, NULL, reterr_msg);
		if (r < 0)
			break;
	}
	if (r < 0) {
		/* Nothing half-made: out of the pools it joined. */
		for (size_t k = 0; k < i; k++)
			(void)leave_pool(d, json_string_value(json_array_get(pools, k)), owner,
					 NULL);
		store_record_delete(d->store, LB_RECORD, id);
		return r;
	}
	log_info("event=lb-join container=%.12s ifname=%s pools=%s", a->container_id, a->ifname,
		 value);
	return 0;
}

/* Out of every pool of record @value; 0 when done. */
static int leave_all(struct kuryrd *d, const char *value, const char *owner, char **reterr_msg)
{
	_cleanup_json_ json_t *rec = json_loads(value, 0, NULL);
	size_t i;
	json_t *p;
	int r;

	json_array_foreach(json_object_get(rec, "pools"), i, p) {
		r = leave_pool(d, json_string_value(p), owner, reterr_msg);
		if (r < 0)
			return r;
	}
	return 0;
}

void lb_follow_leave(struct kuryrd *d, const struct attachment *a)
{
	_cleanup_free_ char *value = NULL, *err = NULL;
	char id[300], owner[600];

	record_id(a, id, sizeof(id));
	if (store_record_get(d->store, LB_RECORD, id, &value) < 0)
		return;
	if (!fast(d)) {
		/* The row is about to go: the janitor finds the record alone. */
		lb_follow_kick(d);
		return;
	}
	owner_of(d, a, owner, sizeof(owner));
	if (leave_all(d, value, owner, &err) < 0) {
		log_warn("event=lb-leave-failed container=%.12s ifname=%s: %s (the janitor "
			 "retries)",
			 a->container_id, a->ifname, err ? err : "");
		return;
	}
	store_record_delete(d->store, LB_RECORD, id);
	log_info("event=lb-leave container=%.12s ifname=%s", a->container_id, a->ifname);
}

/* One record: its attachment's members added if it is there, removed (and
 * the record dropped) if it is gone. */
static void sweep_one(struct kuryrd *d, const struct store_record *rec, json_t *seen)
{
	_cleanup_json_ json_t *v = json_loads(rec->value, 0, NULL);
	_cleanup_free_ char *err = NULL;
	char cid[300], owner[600];
	const char *slash = strrchr(rec->id, '/');
	struct attachment a;
	pthread_mutex_t *l;
	size_t i;
	json_t *p;

	if (!slash || (size_t)(slash - rec->id) >= sizeof(cid)) {
		store_record_delete(d->store, LB_RECORD, rec->id);
		return;
	}
	str_copy(cid, rec->id, (size_t)(slash - rec->id) + 1);
	snprintf(owner, sizeof(owner), "%s/%s", d->cfg.host, rec->id);
	l = kuryrd_stripe(d, cid, slash + 1);
	pthread_mutex_lock(l);
	if (store_get(d->store, cid, slash + 1, &a) == 0 && a.state == ATTACH_DONE) {
		struct kuryr_network net;

		if (d->backend->ops->network_get(d->backend, a.network, &net, &err) == 0)
			json_array_foreach(json_object_get(v, "pools"), i, p) {
				free(err);
				err = NULL;
				if (join_pool(d, &a, &net, json_string_value(p), owner, true, seen,
					      &err) < 0)
					log_warn("event=lb-join-failed container=%.12s pool=%s: %s",
						 cid, json_string_value(p), err ? err : "");
			}
	} else if (store_get(d->store, cid, slash + 1, &a) == -ENOENT) {
		if (leave_all(d, rec->value, owner, &err) == 0) {
			store_record_delete(d->store, LB_RECORD, rec->id);
			log_info("event=lb-leave container=%.12s ifname=%s", cid, slash + 1);
		} else
			log_warn("event=lb-leave-failed container=%.12s: %s", cid, err ? err : "");
	}
	pthread_mutex_unlock(l);
}

void lb_follow_sweep(struct kuryrd *d)
{
	_cleanup_json_ json_t *seen = json_object();
	struct store_record *recs = NULL;
	size_t n = 0;

	if (!(d->backend->ops->caps & BACKEND_CAP_LOADBALANCERS) || !seen ||
	    store_record_list(d->store, LB_RECORD, &recs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		sweep_one(d, &recs[i], seen);
	store_records_free(recs, n);
}

bool lb_follow_due(struct kuryrd *d, uint64_t now)
{
	bool due = d->lb_pending || now >= d->next_lb_sweep_ms;

	if (due) {
		d->lb_pending = false;
		d->next_lb_sweep_ms = now + LB_SWEEP_EVERY_MS;
	}
	return due;
}
