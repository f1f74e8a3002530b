/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrd's request handling: the CNI verbs, the operator's verbs, crash
 * recovery, the socket server and /metrics. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "backend/backend.h"
#include "build-config.h"
#include "binding/binding.h"
#include "cni/cni.h"
#include "daemon.h"
#include "json-util.h"
#include "log.h"
#include "nl/nl.h"
#include "pool/pool.h"
#include "proto/proto.h"
#include "store/store.h"
#include "time-util.h"

/* Requests on the same (container, ifname) are serialised on one of these. */
#define LOCK_STRIPES 64

static const double add_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				      0.1,   0.25,   0.5,   1,	  2.5,	 5 };

struct metrics {
	atomic_ulong requests[6][2]; /* op x {ok, error} */
	atomic_ulong add_bucket[ELEMENTSOF(add_buckets) + 1];
	atomic_ulong add_sum_us;
	atomic_ulong add_count;
};

enum metric_op {
	M_ADD,
	M_DEL,
	M_CHECK,
	M_STATUS,
	M_GC,
	M_OTHER
};
static const char *const metric_op_names[] = { "add", "del", "check", "status", "gc", "other" };

struct kuryrd {
	struct kuryr_config cfg;
	struct backend *backend;
	struct binding_ovs *ovs;
	struct store *store;
	struct pool_mgr *pool; /* NULL: pools switched off */
	pthread_mutex_t stripes[LOCK_STRIPES];
	sem_t workers;
	struct MHD_Daemon *http;
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
};

/* ---- helpers ---- */

static json_t *error_reply(int code, const char *msg, const char *details)
{
	return proto_error(code, msg, details);
}

static json_t *ok_reply(json_t *result)
{
	return json_pack("{s:o}", "result", result ? result : json_null());
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static pthread_mutex_t *stripe(struct kuryrd *d, const char *cid, const char *ifname)
{
	uint32_t h = 2166136261u;

	for (const char *p = cid; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (const char *p = ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return &d->stripes[h % LOCK_STRIPES];
}

/* A backend failure: unreachable means "try again later". */
static int backend_code(int r)
{
	switch (r) {
	case -ECONNRESET:
	case -ECONNREFUSED:
	case -ENOTCONN:
	case -EPIPE:
	case -ETIMEDOUT:
	case -ENOENT:
	case -EAGAIN: /* the backend said so (429, 503) */
		return CNI_ERR_TRY_AGAIN;
	default:
		return KURYR_ERR_BACKEND;
	}
}

/* Undo whatever an attachment row says exists. Each step tolerates the
 * piece being gone already, so this is safe to repeat. @netns_fd: the
 * container's netns as the DEL passed it (borrowed), -1 if none. */
static int attachment_teardown(struct kuryrd *d, const struct attachment *a, int netns_fd,
			       char **reterr_msg)
{
	int r;

	/* A finished attachment on a pool entry hands the entry back. */
	if (a->pooled && d->pool && a->state == ATTACH_DONE) {
		r = pool_release(d->pool, a, netns_fd, reterr_msg);
		if (r < 0)
			return r;
		return store_delete(d->store, a->container_id, a->ifname);
	}

	if (*a->host_ifname) {
		r = binding_ovs_unplug_veth(d->ovs, a->host_ifname, reterr_msg);
		if (r < 0)
			return r;
	}
	if (*a->port) {
		r = d->backend->ops->port_delete(d->backend, a->port, reterr_msg);
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return store_delete(d->store, a->container_id, a->ifname);
}

/* ---- janitor ---- */

#define SWEEP_WINDOW_MS (5 * 60 * 1000)
#define SWEEP_EVERY_MS	10000

static void reap_leftover_ports(struct kuryrd *d);

/* A port create failed without an answer (timeout, connection lost):
 * Neutron may still make the port. */
static void janitor_sweep_soon(struct kuryrd *d)
{
	pthread_mutex_lock(&d->jlock);
	d->sweep_until_ms = now_us() / 1000 + SWEEP_WINDOW_MS;
	if (!d->next_sweep_ms)
		d->next_sweep_ms = now_us() / 1000 + SWEEP_EVERY_MS;
	pthread_mutex_unlock(&d->jlock);
}

static void janitor_kick(struct kuryrd *d)
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
		pthread_mutex_t *l = stripe(d, rows[i].container_id, rows[i].ifname);
		struct attachment a;

		if (rows[i].state == ATTACH_DONE || rows[i].pooled)
			continue;
		/* An ADD in flight holds the lock; after it the row is done or
		 * gone, or its own rollback failed and it is ours. */
		pthread_mutex_lock(l);
		if (store_get(d->store, rows[i].container_id, rows[i].ifname, &a) == 0 &&
		    a.state != ATTACH_DONE && !a.pooled) {
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

static void *janitor_thread(void *arg)
{
	struct kuryrd *d = arg;

	pthread_mutex_lock(&d->jlock);
	while (!d->jstop) {
		struct timespec ts;

		uint64_t now;
		bool pass, sweep;

		timespec_deadline_ms(&ts, 2000);
		pthread_cond_timedwait(&d->jwake, &d->jlock, &ts);
		if (d->jstop)
			continue;
		now = now_us() / 1000;
		pass = d->jpending;
		sweep = d->next_sweep_ms && now >= d->next_sweep_ms;
		if (sweep)
			d->next_sweep_ms = now < d->sweep_until_ms ? now + SWEEP_EVERY_MS : 0;
		d->jpending = false;
		pthread_mutex_unlock(&d->jlock);
		if (pass && janitor_pass(d))
			janitor_kick(d);
		if (sweep)
			reap_leftover_ports(d);
		pthread_mutex_lock(&d->jlock);
	}
	pthread_mutex_unlock(&d->jlock);
	return NULL;
}

/* ---- CNI verbs ---- */

struct cni_req {
	const char *op;
	const char *version;
	const char *cid;
	const char *ifname;
	const char *netns; /* for logs and the store: never opened */
	int netns_fd;	   /* the netns kuryr-cni passed (borrowed), -1: none */
	const char *network;
	json_t *conf;
};

static json_t *parse_cni(json_t *req, struct cni_req *c)
{
	json_t *env = json_object_get(req, "env");

	*c = (struct cni_req){ .netns_fd = -1 };
	c->op = json_object_get_str(req, "op");
	c->conf = json_object_get(req, "config");
	if (!json_is_object(c->conf))
		return error_reply(CNI_ERR_DECODE, "request has no network configuration", NULL);
	c->version = json_object_get_str(c->conf, "cniVersion");
	if (!cni_version_supported(c->version))
		return error_reply(CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI version", NULL);
	c->network = json_object_get_str(c->conf, "network");
	if (!c->network)
		c->network = json_object_get_str(c->conf, "name");
	if (!c->network)
		return error_reply(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
				   "neither \"network\" nor \"name\" is set");
	c->cid = json_object_get_str(env, "CNI_CONTAINERID");
	c->ifname = json_object_get_str(env, "CNI_IFNAME");
	c->netns = json_object_get_str(env, "CNI_NETNS");
	return NULL;
}

static json_t *check_ids(const struct cni_req *c)
{
	_cleanup_free_ char *err = NULL;

	if (cni_container_id_check(c->cid, &err) < 0)
		return error_reply(CNI_ERR_INVALID_ENV, "invalid CNI_CONTAINERID", err);
	if (cni_ifname_check(c->ifname, &err) < 0)
		return error_reply(CNI_ERR_INVALID_ENV, "invalid CNI_IFNAME", err);
	return NULL;
}

/* runtimeConfig "ips" and "mac" (CNI conventions) ask for fixed addresses. */
static json_t *requested_addresses(json_t *conf, char ip[48], char mac[18])
{
	json_t *rc = json_object_get(conf, "runtimeConfig");
	json_t *ips = json_object_get(rc, "ips"), *m = json_object_get(rc, "mac");

	*ip = 0;
	*mac = 0;
	if (ips && (!json_is_array(ips) || json_array_size(ips) > 1))
		return error_reply(CNI_ERR_INVALID_CONFIG, "invalid runtimeConfig.ips",
				   "expected an array of at most one IPv4 address");
	if (json_array_size(ips) == 1) {
		const char *s = json_string_value(json_array_get(ips, 0));
		const char *slash;

		if (!s || strlen(s) >= 48)
			return error_reply(CNI_ERR_INVALID_CONFIG, "invalid runtimeConfig.ips",
					   "the address is not a string");
		slash = strchr(s, '/');
		snprintf(ip, 48, "%.*s", slash ? (int)(slash - s) : (int)strlen(s), s);
	}
	if (m) {
		if (!json_is_string(m) || strlen(json_string_value(m)) != 17)
			return error_reply(CNI_ERR_INVALID_CONFIG, "invalid runtimeConfig.mac",
					   "expected \"xx:xx:xx:xx:xx:xx\"");
		snprintf(mac, 18, "%s", json_string_value(m));
	}
	return NULL;
}

/* The CNI result's "dns": the netconf's own if it has one (CNI
 * convention), else the subnet's name servers. */
static json_t *result_dns(const struct cni_req *c, const struct kuryr_subnet_info *info)
{
	json_t *dns = json_object_get(c->conf, "dns"), *ns;

	if (json_is_object(dns) && json_object_size(dns))
		return json_incref(dns);
	ns = json_array();
	for (unsigned i = 0; info && i < info->n_dns; i++)
		json_array_append_new(ns, json_string(info->dns[i]));
	if (!json_array_size(ns)) {
		json_decref(ns);
		return json_object();
	}
	return json_pack("{s:o}", "nameservers", ns);
}

/* Per-container Neutron port options from the netconf: "security_groups"
 * (names or ids), "qos_policy", "project". Such ports come from pools of
 * their own (see pool_key()). */
struct port_choice {
	const char *sgs[17];
	bool has_sgs;
	const char *qos;
	const char *project;
};

static json_t *port_choice_parse(struct kuryrd *d, json_t *conf, struct port_choice *pc)
{
	json_t *sgs = json_object_get(conf, "security_groups");
	json_t *qos = json_object_get(conf, "qos_policy");
	json_t *proj = json_object_get(conf, "project");
	json_t *v;
	size_t i;

	*pc = (struct port_choice){ 0 };
	if (!sgs && !qos && !proj)
		return NULL;
	if (!streq(d->backend->ops->name, "neutron"))
		return error_reply(CNI_ERR_UNSUPPORTED_FIELD, "unsupported field",
				   "security_groups, qos_policy and project need backend neutron");
	if (sgs) {
		if (!json_is_array(sgs) || json_array_size(sgs) >= ELEMENTSOF(pc->sgs))
			return error_reply(CNI_ERR_INVALID_CONFIG, "invalid security_groups",
					   "expected an array of at most 16 names or ids");
		json_array_foreach(sgs, i, v) {
			if (!json_is_string(v) || !*json_string_value(v))
				return error_reply(CNI_ERR_INVALID_CONFIG,
						   "invalid security_groups",
						   "each security group is a non-empty string");
			pc->sgs[i] = json_string_value(v);
		}
		pc->has_sgs = true;
	}
	if (qos && (!json_is_string(qos) || !*json_string_value(qos)))
		return error_reply(CNI_ERR_INVALID_CONFIG, "invalid qos_policy",
				   "expected a QoS policy name or id");
	if (proj && (!json_is_string(proj) || !*json_string_value(proj)))
		return error_reply(CNI_ERR_INVALID_CONFIG, "invalid project",
				   "expected a project id");
	pc->qos = json_string_value(qos);
	pc->project = json_string_value(proj);
	return NULL;
}

static json_t *add_result(const struct cni_req *c, const struct attachment *a, const char *host_mac,
			  const struct kuryr_subnet_info *info)
{
	struct cni_attach_result res = { 0 };
	_cleanup_json_ json_t *dns = result_dns(c, info);
	json_t *r, *routes;

	snprintf(res.host_ifname, sizeof(res.host_ifname), "%s", a->host_ifname);
	snprintf(res.host_mac, sizeof(res.host_mac), "%s", host_mac);
	snprintf(res.ifname, sizeof(res.ifname), "%s", c->ifname);
	snprintf(res.mac, sizeof(res.mac), "%s", a->mac);
	snprintf(res.sandbox, sizeof(res.sandbox), "%s", c->netns);
	res.mtu = a->mtu;
	res.ip.family = AF_INET;
	snprintf(res.ip.address, sizeof(res.ip.address), "%s", a->address);
	snprintf(res.ip.gateway, sizeof(res.ip.gateway), "%s", a->gateway);
	log_info("event=add container=%.12s ifname=%s netns=%s network=%s port=%s ip=%s pool=%s",
		 c->cid, c->ifname, c->netns, a->network, a->port, a->address,
		 a->pooled == 2 ? "prewired"
		 : a->pooled	? "port"
				: "miss");
	r = cni_result_new(c->version, &res, dns);
	routes = json_object_get(r, "routes");
	for (unsigned i = 0; info && i < info->n_routes; i++)
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", info->routes[i].dst,
							"gw", info->routes[i].gw));
	return ok_reply(r);
}

/* ADD from a pool entry: no backend call. NULL asks the caller to fall
 * back to creating a port (the entry was unusable and is destroyed). */
static json_t *add_from_pool(struct kuryrd *d, const struct cni_req *c, const struct pool_entry *e,
			     int nsfd)
{
	_cleanup_free_ char *err = NULL;
	struct ovs_watch *watch = NULL;
	struct attachment a = { .mtu = e->mtu, .state = ATTACH_PORT };
	char host_mac[18] = "";
	int r;

	snprintf(a.container_id, sizeof(a.container_id), "%s", c->cid);
	snprintf(a.ifname, sizeof(a.ifname), "%s", c->ifname);
	snprintf(a.netns, sizeof(a.netns), "%s", c->netns);
	snprintf(a.network, sizeof(a.network), "%s", e->network);
	snprintf(a.port, sizeof(a.port), "%s", e->port);
	snprintf(a.mac, sizeof(a.mac), "%s", e->mac);
	snprintf(a.address, sizeof(a.address), "%s/%u", e->ip, e->prefixlen);
	snprintf(a.gateway, sizeof(a.gateway), "%s", e->gateway);
	if (e->prewired) {
		snprintf(a.host_ifname, sizeof(a.host_ifname), "%s", e->host_ifname);
		snprintf(a.stub, sizeof(a.stub), "%s", e->stub);
		a.pooled = 2;
	} else {
		backend_ifname("kc", e->port, a.host_ifname);
		a.pooled = 1;
	}
	/* Recorded first: a crash from here on destroys the entry on restart. */
	r = store_insert(d->store, &a);
	if (r < 0) {
		pool_give_back(d->pool, e);
		return error_reply(CNI_ERR_IO, "cannot record the attachment", strerror(-r));
	}

	if (e->prewired) {
		r = pool_attach(d->pool, e, nsfd, c->ifname, &err);
		snprintf(host_mac, sizeof(host_mac), "%s", e->host_mac);
	} else {
		r = binding_ovs_watch_new(d->ovs, a.host_ifname, &watch);
		if (r == 0)
			r = binding_ovs_plug_veth(d->ovs,
						  &(struct veth_plug){ .port = e->port,
								       .host_ifname = a.host_ifname,
								       .device_id = c->cid,
								       .netns_fd = nsfd,
								       .ifname = c->ifname,
								       .mac = e->mac,
								       .mtu = e->mtu,
								       .family = AF_INET,
								       .ip = e->ip,
								       .prefixlen = e->prefixlen,
								       .gateway = e->gateway,
								       .info = &e->info },
						  host_mac, &err);
		if (r == 0) {
			r = binding_ovs_watch_wait(d->ovs, watch, d->cfg.port_up_timeout_ms);
			if (r < 0) {
				set_errmsg(&err, "OVN did not install port %s within %d ms",
					   e->port, d->cfg.port_up_timeout_ms);
				(void)binding_ovs_unplug_veth(d->ovs, a.host_ifname, NULL);
			}
		}
		binding_ovs_watch_free(d->ovs, watch);
	}
	if (r == -EADDRINUSE || r == -ETIMEDOUT || (r < 0 && !e->prewired)) {
		/* The entry itself is fine: back to the pool. */
		pool_give_back(d->pool, e);
		store_delete(d->store, c->cid, c->ifname);
		log_warn("event=add-failed container=%.12s ifname=%s network=%s: %s", c->cid,
			 c->ifname, c->network, err ? err : "");
		if (r == -EADDRINUSE)
			return error_reply(KURYR_ERR_IFNAME_EXISTS, "interface name taken", err);
		if (r == -ETIMEDOUT)
			return error_reply(CNI_ERR_TRY_AGAIN, "port did not come up", err);
		return error_reply(KURYR_ERR_DATAPATH, "cannot plug the port", err);
	}
	if (r < 0) {
		log_warn("event=pool-entry-unusable port=%s: %s", e->port, err ? err : "");
		pool_destroy(d->pool, e);
		store_delete(d->store, c->cid, c->ifname);
		return NULL;
	}
	a.state = ATTACH_DONE;
	r = store_update(d->store, &a);
	if (r < 0) {
		/* Not recorded as done: give nothing out, destroy the entry. */
		if (e->prewired)
			(void)pool_release(d->pool, &a, nsfd, NULL);
		pool_destroy(d->pool, e);
		store_delete(d->store, c->cid, c->ifname);
		return error_reply(CNI_ERR_IO, "cannot record the attachment", strerror(-r));
	}
	pool_note_user(d->pool, e->port, c->cid);
	return add_result(c, &a, host_mac, &e->info);
}

static json_t *add_locked(struct kuryrd *d, const struct cni_req *c)
{
	_cleanup_free_ char *err = NULL;
	const int nsfd = c->netns_fd;
	struct attachment a = { 0 };
	struct kuryr_network net;
	struct kuryr_port port;
	struct ovs_watch *watch = NULL;
	struct cni_attach_result res = { 0 };
	char want_ip[48], want_mac[18], port_name[37];
	struct port_choice pc;
	char key[POOL_KEY_MAX];
	bool pooled;
	json_t *reply;
	int r;

	reply = requested_addresses(c->conf, want_ip, want_mac);
	if (reply)
		return reply;
	reply = port_choice_parse(d, c->conf, &pc);
	if (reply)
		return reply;
	if (store_get(d->store, c->cid, c->ifname, &a) == 0) {
		if (a.state == ATTACH_DONE)
			return error_reply(KURYR_ERR_ALREADY_ATTACHED,
					   "container is already attached",
					   "DEL the attachment before adding it again");
		/* A failed ADD whose rollback could not finish: finish it. */
		r = attachment_teardown(d, &a, -1, &err);
		if (r < 0)
			return error_reply(CNI_ERR_TRY_AGAIN,
					   "cannot roll back an earlier failed ADD", err);
	}
	if (strlen(c->netns) >= sizeof(a.netns))
		return error_reply(CNI_ERR_INVALID_ENV, "invalid CNI_NETNS", "path too long");

	/* Ports with fixed addresses never come from a pool; the others from
	 * the pool of their network and project, groups and QoS policy. */
	pooled = d->pool && !*want_ip && !*want_mac &&
		 pool_key(key, c->network, pc.project, pc.has_sgs ? pc.sgs : NULL, pc.qos) == 0;
	if (pooled) {
		struct pool_entry e;

		if (pool_take(d->pool, key, &e) == 0) {
			reply = add_from_pool(d, c, &e, nsfd);
			if (reply)
				return reply;
		}
	}

	r = d->backend->ops->network_get(d->backend, c->network, &net, &err);
	if (r == -ENOENT && !d->backend->ops->connected(d->backend))
		return error_reply(CNI_ERR_TRY_AGAIN, "network backend unreachable", err);
	if (r == -ENOENT)
		return error_reply(CNI_ERR_INVALID_CONFIG, "unknown network", err);
	if (r < 0)
		return error_reply(backend_code(r), "network backend failed", err);

	if (pooled && pool_key(key, net.name, pc.project, pc.has_sgs ? pc.sgs : NULL, pc.qos) == 0)
		pool_want(d->pool, key, true);

	/* Record the intent before creating anything, so a crash at any
	 * later point can be rolled back from this row. */
	backend_random_uuid(port_name);
	a = (struct attachment){ .mtu = net.mtu, .state = ATTACH_INTENT };
	snprintf(a.container_id, sizeof(a.container_id), "%s", c->cid);
	snprintf(a.ifname, sizeof(a.ifname), "%s", c->ifname);
	snprintf(a.netns, sizeof(a.netns), "%s", c->netns);
	snprintf(a.network, sizeof(a.network), "%s", net.name);
	snprintf(a.port, sizeof(a.port), "%s", port_name);
	backend_ifname("kc", port_name, a.host_ifname);
	snprintf(a.gateway, sizeof(a.gateway), "%s", net.gateway);
	r = store_insert(d->store, &a);
	if (r < 0)
		return error_reply(CNI_ERR_IO, "cannot record the attachment", strerror(-r));

	r = d->backend->ops->port_create(
	    d->backend,
	    &(struct port_spec){ .network = net.name,
				 .net = &net,
				 .name = port_name,
				 .mac = *want_mac ? want_mac : NULL,
				 .ip = *want_ip ? want_ip : NULL,
				 .owner = PORT_OWNER_CONTAINER,
				 .device_id = c->cid,
				 .ifname = c->ifname,
				 .security_groups = pc.has_sgs ? pc.sgs : NULL,
				 .qos_policy = pc.qos,
				 .project = pc.project },
	    &port, &err);
	if (r < 0) {
		reply =
		    error_reply(r == -EINVAL || r == -EEXIST ? KURYR_ERR_ADDRESS
				: r == -EPROTONOSUPPORT	     ? KURYR_ERR_DATAPATH
				: r == -ESRCH		     ? CNI_ERR_INVALID_CONFIG
				: r == -EDQUOT		     ? KURYR_ERR_BACKEND
							     : backend_code(r),
				r == -EDQUOT ? "quota exceeded" : "cannot create the port", err);
		if (r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ECONNRESET)
			janitor_sweep_soon(d);
		goto rollback;
	}
	a.state = ATTACH_PORT;
	/* From now on the port by the backend's own id (Neutron's differs
	 * from the name kuryrd gave it). */
	snprintf(a.port, sizeof(a.port), "%s", port.name);
	snprintf(a.mac, sizeof(a.mac), "%s", port.mac);
	snprintf(a.address, sizeof(a.address), "%s/%u", port.ip, port.prefixlen);
	r = store_update(d->store, &a);
	if (r < 0) {
		reply = error_reply(CNI_ERR_IO, "cannot record the attachment", strerror(-r));
		goto rollback;
	}

	r = binding_ovs_watch_new(d->ovs, a.host_ifname, &watch);
	if (r >= 0)
		r = binding_ovs_plug_veth(d->ovs,
					  &(struct veth_plug){ .port = port.name,
							       .host_ifname = a.host_ifname,
							       .device_id = c->cid,
							       .netns_fd = nsfd,
							       .ifname = c->ifname,
							       .mac = port.mac,
							       .mtu = net.mtu,
							       .family = AF_INET,
							       .ip = port.ip,
							       .prefixlen = port.prefixlen,
							       .gateway = net.gateway,
							       .info = &net.info },
					  res.host_mac, &err);
	if (r == -EADDRINUSE) {
		reply = error_reply(KURYR_ERR_IFNAME_EXISTS, "interface name taken", err);
		goto rollback;
	}
	if (r < 0) {
		/* The switch's database unreachable is worth a retry. */
		reply = error_reply(backend_code(r) == CNI_ERR_TRY_AGAIN ? CNI_ERR_TRY_AGAIN
									 : KURYR_ERR_DATAPATH,
				    "cannot plug the port", err);
		goto rollback;
	}
	a.state = ATTACH_PLUGGED;
	r = store_update(d->store, &a);
	if (r < 0) {
		reply = error_reply(CNI_ERR_IO, "cannot record the attachment", strerror(-r));
		goto rollback;
	}
	r = binding_ovs_watch_wait(d->ovs, watch, d->cfg.port_up_timeout_ms);
	if (r < 0) {
		set_errmsg(&err, "OVN did not install port %s within %d ms (%s)", port.name,
			   d->cfg.port_up_timeout_ms, strerror(-r));
		reply = error_reply(CNI_ERR_TRY_AGAIN, "port did not come up", err);
		goto rollback;
	}
	binding_ovs_watch_free(d->ovs, TAKE_PTR(watch));
	if (d->backend->ops->wait_active_on_add) {
		r = d->backend->ops->port_wait_up(d->backend, port.name, d->cfg.port_up_timeout_ms,
						  &err);
		if (r < 0) {
			reply = error_reply(backend_code(r), "port did not become active", err);
			goto rollback;
		}
	}
	a.state = ATTACH_DONE;
	r = store_update(d->store, &a);
	if (r < 0) {
		reply = error_reply(CNI_ERR_IO, "cannot record the attachment", strerror(-r));
		goto rollback;
	}

	return add_result(c, &a, res.host_mac, &net.info);

rollback:
	binding_ovs_watch_free(d->ovs, watch);
	{
		_cleanup_free_ char *rerr = NULL;

		if (attachment_teardown(d, &a, -1, &rerr) < 0) {
			log_err("event=add-rollback-failed container=%.12s ifname=%s port=%s: %s",
				c->cid, c->ifname, a.port, rerr ? rerr : "");
			janitor_kick(d);
		}
	}
	log_warn("event=add-failed container=%.12s ifname=%s network=%s: %s", c->cid, c->ifname,
		 c->network, err ? err : "");
	return reply;
}

static json_t *handle_add(struct kuryrd *d, const struct cni_req *c)
{
	pthread_mutex_t *l;
	uint64_t t0 = now_us(), dt;
	json_t *reply;
	size_t i;

	if (!c->netns || !*c->netns)
		return error_reply(CNI_ERR_INVALID_ENV, "CNI_NETNS is not set", NULL);
	if (c->netns_fd < 0)
		return error_reply(CNI_ERR_INVALID_ENV, "invalid CNI_NETNS",
				   "CNI_NETNS was not passed as a descriptor");
	l = stripe(d, c->cid, c->ifname);
	pthread_mutex_lock(l);
	reply = add_locked(d, c);
	pthread_mutex_unlock(l);
	dt = now_us() - t0;
	for (i = 0; i < ELEMENTSOF(add_buckets) && (double)dt / 1e6 > add_buckets[i]; i++)
		;
	atomic_fetch_add(&d->m.add_bucket[i], 1);
	atomic_fetch_add(&d->m.add_sum_us, dt);
	atomic_fetch_add(&d->m.add_count, 1);
	return reply;
}

static json_t *del_one(struct kuryrd *d, const char *cid, const char *ifname, int netns_fd)
{
	_cleanup_free_ char *err = NULL;
	pthread_mutex_t *l = stripe(d, cid, ifname);
	struct attachment a;
	json_t *reply = NULL;
	int r;

	pthread_mutex_lock(l);
	r = store_get(d->store, cid, ifname, &a);
	if (r == 0) {
		r = attachment_teardown(d, &a, netns_fd, &err);
		if (r < 0)
			reply = error_reply(CNI_ERR_TRY_AGAIN, "cannot remove the attachment", err);
		else
			log_info("event=del container=%.12s ifname=%s port=%s", cid, ifname,
				 a.port);
	} else if (r != -ENOENT)
		reply = error_reply(CNI_ERR_IO, "cannot read the attachment store", strerror(-r));
	pthread_mutex_unlock(l);
	return reply;
}

static json_t *handle_del(struct kuryrd *d, const struct cni_req *c)
{
	/* DEL of something we never attached succeeds (CNI: idempotent). */
	return del_one(d, c->cid, c->ifname, c->netns_fd) ?: ok_reply(NULL);
}

struct check_addr {
	const char *want;
	bool found;
};

static int check_addr_cb(int family, const void *addr, uint8_t len, void *userdata)
{
	struct check_addr *ca = userdata;
	char s[INET6_ADDRSTRLEN], full[64];

	inet_ntop(family, addr, s, sizeof(s));
	snprintf(full, sizeof(full), "%s/%u", s, len);
	if (streq(full, ca->want))
		ca->found = true;
	return 0;
}

static json_t *handle_check(struct kuryrd *d, const struct cni_req *c)
{
	_cleanup_free_ char *err = NULL;
	const int nsfd = c->netns_fd;
	struct nl_sock *ns = NULL;
	struct nl_link_info li;
	struct kuryr_port port;
	struct attachment a;
	struct check_addr ca;
	json_t *prev, *ips;
	char mac[18];
	int r;

	if (nsfd < 0)
		return error_reply(CNI_ERR_INVALID_ENV, "invalid CNI_NETNS",
				   "CNI_NETNS was not passed as a descriptor");
	if (store_get(d->store, c->cid, c->ifname, &a) < 0 || a.state != ATTACH_DONE)
		return error_reply(CNI_ERR_UNKNOWN_CONTAINER, "unknown container",
				   "no attachment for this container and ifname");
	r = nl_sock_open_netns(nsfd, &ns);
	if (r == 0)
		r = nl_link_get(ns, c->ifname, &li);
	if (r < 0) {
		nl_sock_free(ns);
		return error_reply(KURYR_ERR_DATAPATH, "interface missing in the container",
				   c->ifname);
	}
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", li.mac[0], li.mac[1], li.mac[2],
		 li.mac[3], li.mac[4], li.mac[5]);
	ca = (struct check_addr){ .want = a.address };
	nl_addr_foreach(ns, li.ifindex, AF_INET, check_addr_cb, &ca);
	nl_sock_free(ns);
	if (!streq(mac, a.mac) || !li.up || li.mtu != a.mtu)
		return error_reply(KURYR_ERR_DATAPATH, "interface changed in the container",
				   "MAC, MTU or link state differ from the attachment");
	if (!ca.found)
		return error_reply(KURYR_ERR_DATAPATH, "address missing in the container",
				   a.address);
	r = d->backend->ops->port_get(d->backend, a.port, &port, &err);
	if (r < 0)
		return error_reply(r == -ENOENT ? KURYR_ERR_BACKEND : backend_code(r),
				   "backend port missing", err);
	prev = json_object_get(c->conf, "prevResult");
	ips = json_object_get(prev, "ips");
	if (prev) {
		bool match = false;

		for (size_t i = 0; i < json_array_size(ips); i++)
			if (streq_ptr(json_object_get_str(json_array_get(ips, i), "address"),
				      a.address))
				match = true;
		if (!match)
			return error_reply(KURYR_ERR_DATAPATH, "prevResult does not match",
					   "the attachment's address is not in prevResult.ips");
	}
	return ok_reply(NULL);
}

static json_t *handle_status(struct kuryrd *d)
{
	if (!d->backend->ops->connected(d->backend))
		return error_reply(CNI_ERR_NOT_AVAILABLE, "network backend unreachable",
				   d->cfg.nb_connection);
	if (!binding_ovs_connected(d->ovs))
		return error_reply(CNI_ERR_NOT_AVAILABLE, "Open vSwitch database unreachable",
				   d->cfg.ovs_db);
	return ok_reply(NULL);
}

struct gc_ctx {
	struct kuryrd *d;
	const char *network;
	json_t *valid;
	json_t *error;
	unsigned removed;
};

static int gc_cb(const struct attachment *a, void *userdata)
{
	struct gc_ctx *g = userdata;
	json_t *reply;

	if (!streq(a->network, g->network))
		return 0;
	for (size_t i = 0; i < json_array_size(g->valid); i++) {
		json_t *v = json_array_get(g->valid, i);

		if (streq_ptr(json_object_get_str(v, "containerID"), a->container_id) &&
		    streq_ptr(json_object_get_str(v, "ifname"), a->ifname))
			return 0;
	}
	reply = del_one(g->d, a->container_id, a->ifname, -1);
	if (reply) {
		if (!g->error)
			g->error = reply;
		else
			json_decref(reply);
	} else
		g->removed++;
	return 0;
}

static json_t *handle_gc(struct kuryrd *d, const struct cni_req *c)
{
	struct gc_ctx g = { .d = d, .network = c->network };
	int r;

	g.valid = json_object_get(c->conf, "cni.dev/valid-attachments");
	if (g.valid && !json_is_array(g.valid))
		return error_reply(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
				   "cni.dev/valid-attachments is not an array");
	r = store_foreach(d->store, gc_cb, &g);
	if (r < 0)
		return error_reply(CNI_ERR_IO, "cannot read the attachment store", strerror(-r));
	if (g.removed)
		log_info("event=gc network=%s removed=%u", c->network, g.removed);
	return g.error ?: ok_reply(NULL);
}

/* ---- operator verbs ---- */

static json_t *network_json(const struct kuryr_network *n)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "name", n->name, "id", n->id, "subnet",
			 n->cidr, "gateway", n->gateway, "mtu", (int)n->mtu, "ports",
			 (int)n->nports);
}

static json_t *port_json(const struct kuryr_port *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "name", p->name, "network",
			 p->network, "mac", p->mac, "ip", p->ip, "up", p->up, "owner",
			 p->owner == PORT_OWNER_VM     ? "vm"
			 : p->owner == PORT_OWNER_POOL ? "pool"
						       : "container",
			 "device_id", p->device_id, "ifname", p->ifname);
}

static json_t *backend_error(int r, const char *what, const char *err)
{
	return error_reply(r == -ENOENT || r == -ESRCH ? 404
			   : r == -EEXIST	       ? 409
			   : r == -EBUSY	       ? 409
			   : r == -EINVAL	       ? 400
						       : 503,
			   what, err);
}

static json_t *ctl_network(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	struct kuryr_network n;
	int r;

	if (streq(verb, "network.list")) {
		_cleanup_free_ struct kuryr_network *nets = NULL;
		size_t count = 0;
		json_t *a;

		r = ops->network_list(d->backend, &nets, &count, &err);
		if (r < 0)
			return backend_error(r, "cannot list networks", err);
		a = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(a, network_json(&nets[i]));
		return ok_reply(a);
	}
	if (!name)
		return error_reply(400, "missing argument", "name");
	if (streq(verb, "network.create")) {
		json_t *mtu = json_object_get(args, "mtu");

		r = ops->network_create(
		    d->backend,
		    &(struct network_spec){ .name = name,
					    .cidr = json_object_get_str(args, "subnet"),
					    .gateway = json_object_get_str(args, "gateway"),
					    .mtu = (uint32_t)json_integer_value(mtu) },
		    &n, &err);
		if (r < 0)
			return backend_error(r, "cannot create the network", err);
		log_info("event=network-create network=%s subnet=%s", n.name, n.cidr);
		/* Warm this node's pool now, so the first container hits it. */
		if (d->pool)
			pool_want(d->pool, n.name, false);
		return ok_reply(network_json(&n));
	}
	if (streq(verb, "network.show")) {
		r = ops->network_get(d->backend, name, &n, &err);
		return r < 0 ? backend_error(r, "cannot show the network", err)
			     : ok_reply(network_json(&n));
	}
	/* This node's idle pool ports would keep the network busy. */
	if (d->pool)
		(void)pool_free_ready(d->pool, name, NULL);
	r = ops->network_delete(d->backend, name, &err);
	if (r < 0)
		return backend_error(r, "cannot delete the network", err);
	log_info("event=network-delete network=%s", name);
	return ok_reply(NULL);
}

struct port_array {
	struct kuryr_port *ports;
	size_t n;
};

static int claim_pool_port(const struct attachment *a, void *userdata)
{
	struct port_array *pa = userdata;

	if (!a->pooled)
		return 0;
	for (size_t i = 0; i < pa->n; i++)
		if (pa->ports[i].owner == PORT_OWNER_POOL && streq(pa->ports[i].name, a->port)) {
			pa->ports[i].owner = PORT_OWNER_CONTAINER;
			snprintf(pa->ports[i].device_id, sizeof(pa->ports[i].device_id), "%s",
				 a->container_id);
			snprintf(pa->ports[i].ifname, sizeof(pa->ports[i].ifname), "%s", a->ifname);
		}
	return 0;
}

static json_t *ctl_port(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	struct kuryr_port p;
	int r;

	if (streq(verb, "port.list")) {
		_cleanup_free_ struct kuryr_port *ports = NULL;
		size_t count = 0;
		json_t *a;

		r = ops->port_list(d->backend, json_object_get_str(args, "network"), &ports, &count,
				   &err);
		if (r < 0)
			return backend_error(r, "cannot list ports", err);
		/* A pool hit does not touch the backend, so a pool port in use
		 * shows its container from this node's attachment store. */
		if (d->pool)
			(void)store_foreach(d->store, claim_pool_port,
					    &(struct port_array){ ports, count });
		a = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(a, port_json(&ports[i]));
		return ok_reply(a);
	}
	if (streq(verb, "port.create")) {
		const char *net = json_object_get_str(args, "network");

		if (!net)
			return error_reply(400, "missing argument", "network");
		r = ops->port_create(d->backend,
				     &(struct port_spec){
					 .network = net,
					 .name = name,
					 .mac = json_object_get_str(args, "mac"),
					 .ip = json_object_get_str(args, "ip"),
					 .owner = PORT_OWNER_VM,
					 .device_id = json_object_get_str(args, "device_id"),
				     },
				     &p, &err);
		if (r < 0)
			return backend_error(r, "cannot create the port", err);
		log_info("event=port-create port=%s network=%s ip=%s", p.name, net, p.ip);
		return ok_reply(port_json(&p));
	}
	if (!name)
		return error_reply(400, "missing argument", "name");
	if (streq(verb, "port.show")) {
		r = ops->port_get(d->backend, name, &p, &err);
		return r < 0 ? backend_error(r, "cannot show the port", err)
			     : ok_reply(port_json(&p));
	}
	r = ops->port_get(d->backend, name, &p, &err);
	if (r < 0)
		return backend_error(r, "cannot delete the port", err);
	if (p.owner == PORT_OWNER_CONTAINER)
		return error_reply(409, "cannot delete the port",
				   "it belongs to a container: DEL the container instead");
	if (p.owner == PORT_OWNER_POOL)
		return error_reply(409, "cannot delete the port",
				   "it belongs to a port pool: use kuryrctl pool free");
	r = ops->port_delete(d->backend, name, &err);
	if (r < 0)
		return backend_error(r, "cannot delete the port", err);
	return ok_reply(NULL);
}

/* trunk.create {port, name?}, trunk.show|delete {trunk},
 * trunk.add-subport {trunk, port, vlan}, trunk.remove-subport {trunk, port} */
static json_t *ctl_trunk(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *trunk = json_object_get_str(args, "trunk");
	const char *port = json_object_get_str(args, "port");
	json_t *t = NULL;
	int r;

	if (!ops->trunk_create)
		return error_reply(501, "not supported",
				   "trunks need backend neutron (this node runs backend ovn)");
	if (streq(verb, "trunk.create")) {
		if (!port)
			return error_reply(400, "missing argument", "port");
		r = ops->trunk_create(d->backend, port, json_object_get_str(args, "name"), &t,
				      &err);
		if (r < 0)
			return backend_error(r, "cannot create the trunk", err);
		log_info("event=trunk-create trunk=%s port=%s", json_object_get_str(t, "id"), port);
		return ok_reply(t);
	}
	if (!trunk)
		return error_reply(400, "missing argument", "trunk");
	if (streq(verb, "trunk.show")) {
		r = ops->trunk_get(d->backend, trunk, &t, &err);
		return r < 0 ? backend_error(r, "cannot show the trunk", err) : ok_reply(t);
	}
	if (streq(verb, "trunk.delete")) {
		r = ops->trunk_delete(d->backend, trunk, &err);
		return r < 0 ? backend_error(r, "cannot delete the trunk", err) : ok_reply(NULL);
	}
	if (!port)
		return error_reply(400, "missing argument", "port");
	if (streq(verb, "trunk.add-subport")) {
		json_t *vlan = json_object_get(args, "vlan");

		if (!json_is_integer(vlan))
			return error_reply(400, "missing argument", "vlan");
		r = ops->trunk_subport(d->backend, trunk, true, port,
				       (unsigned)json_integer_value(vlan), &err);
	} else if (streq(verb, "trunk.remove-subport"))
		r = ops->trunk_subport(d->backend, trunk, false, port, 0, &err);
	else
		return error_reply(400, "unknown request", verb);
	if (r < 0)
		return backend_error(r, "cannot change the trunk's subports", err);
	r = ops->trunk_get(d->backend, trunk, &t, &err);
	return r < 0 ? backend_error(r, "cannot show the trunk", err) : ok_reply(t);
}

/* A decimal in [lo, hi] from string @s: 0, or -EINVAL. */
static int parse_uint(const char *s, long lo, long hi, long *ret)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*ret = strtol(s, &end, 10);
	return *end || errno || *ret < lo || *ret > hi ? -EINVAL : 0;
}

/* security-group.create|show|delete {name}, security-group.rule-add {name,
 * direction?, protocol?, port? ("N" or "N:M"), remote_ip?};
 * qos.create {name, max_kbps, max_burst_kbps?}, qos.delete {name} */
static json_t *ctl_policy(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	json_t *out = NULL;
	int r;

	if (!ops->sg_create)
		return error_reply(501, "not supported",
				   "security groups and QoS policies need backend neutron");
	if (!name || !*name)
		return error_reply(400, "missing argument", "name");
	if (streq(verb, "security-group.create")) {
		r = ops->sg_create(d->backend, name, &out, &err);
		return r < 0 ? backend_error(r, "cannot create the security group", err)
			     : ok_reply(out);
	}
	if (streq(verb, "security-group.show")) {
		r = ops->sg_get(d->backend, name, &out, &err);
		return r < 0 ? backend_error(r, "cannot show the security group", err)
			     : ok_reply(out);
	}
	if (streq(verb, "security-group.delete")) {
		r = ops->sg_delete(d->backend, name, &err);
		return r < 0 ? backend_error(r, "cannot delete the security group", err)
			     : ok_reply(NULL);
	}
	if (streq(verb, "security-group.rule-add")) {
		const char *dir = json_object_get_str(args, "direction");
		const char *proto = json_object_get_str(args, "protocol");
		const char *port = json_object_get_str(args, "port");
		struct sg_rule rule = { .direction = dir ? dir : "ingress",
					.protocol = proto,
					.remote_ip_prefix =
					    json_object_get_str(args, "remote_ip") };
		long lo = 0, hi = 0;

		if (!streq(rule.direction, "ingress") && !streq(rule.direction, "egress"))
			return error_reply(400, "invalid argument",
					   "--direction is ingress or egress");
		if (proto && !streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "icmp"))
			return error_reply(400, "invalid argument",
					   "--protocol is tcp, udp or icmp");
		if (port) {
			_cleanup_free_ char *p = strdup(port);
			char *colon = p ? strchr(p, ':') : NULL;

			if (colon)
				*colon = 0;
			if (!p || parse_uint(p, 1, 65535, &lo) < 0 ||
			    parse_uint(colon ? colon + 1 : p, lo, 65535, &hi) < 0)
				return error_reply(400, "invalid argument",
						   "--port is N or N:M, within 1..65535");
			if (!proto || streq(proto, "icmp"))
				return error_reply(400, "invalid argument",
						   "--port needs --protocol tcp or udp");
		}
		rule.port_min = (int)lo;
		rule.port_max = (int)hi;
		r = ops->sg_rule_add(d->backend, name, &rule, &err);
		if (r < 0)
			return backend_error(r, "cannot add the rule", err);
		r = ops->sg_get(d->backend, name, &out, &err);
		return r < 0 ? backend_error(r, "cannot show the security group", err)
			     : ok_reply(out);
	}
	if (streq(verb, "qos.create")) {
		long kbps, burst = 0;

		if (parse_uint(json_object_get_str(args, "max_kbps"), 1, INT32_MAX, &kbps) < 0)
			return error_reply(400, "invalid argument",
					   "--max-kbps is a positive number of kbit/s");
		if (json_object_get(args, "max_burst_kbps") &&
		    parse_uint(json_object_get_str(args, "max_burst_kbps"), 0, INT32_MAX, &burst) <
			0)
			return error_reply(400, "invalid argument",
					   "--max-burst-kbps is a number of kbit");
		r = ops->qos_create(d->backend, name, (unsigned)kbps, (unsigned)burst, &out, &err);
		return r < 0 ? backend_error(r, "cannot create the QoS policy", err)
			     : ok_reply(out);
	}
	if (streq(verb, "qos.delete")) {
		r = ops->qos_delete(d->backend, name, &err);
		return r < 0 ? backend_error(r, "cannot delete the QoS policy", err)
			     : ok_reply(NULL);
	}
	return error_reply(400, "unknown request", verb);
}

static json_t *ctl_vm(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const char *tap = json_object_get_str(args, "tap");
	const char *port_name = json_object_get_str(args, "port");
	struct ovs_watch *w = NULL;
	struct kuryr_port p;
	int r;

	if (!tap)
		return error_reply(400, "missing argument", "tap");
	if (streq(verb, "vm.unplug")) {
		r = binding_ovs_unplug_port(d->ovs, tap, &err);
		return r < 0 ? backend_error(r, "cannot unplug", err) : ok_reply(NULL);
	}
	if (!port_name)
		return error_reply(400, "missing argument", "port");
	r = d->backend->ops->port_get(d->backend, port_name, &p, &err);
	if (r < 0)
		return backend_error(r, "cannot plug", err);
	if (p.owner != PORT_OWNER_VM)
		return error_reply(409, "cannot plug", "the port belongs to a container");
	r = binding_ovs_watch_new(d->ovs, tap, &w);
	if (r == 0)
		r = binding_ovs_plug_tap(d->ovs, tap, p.name, p.mac, p.device_id, &err);
	if (r < 0) {
		binding_ovs_watch_free(d->ovs, w);
		return backend_error(r, "cannot plug", err);
	}
	r = binding_ovs_watch_wait(d->ovs, w, d->cfg.port_up_timeout_ms);
	binding_ovs_watch_free(d->ovs, w);
	if (r == 0)
		r = d->backend->ops->port_wait_up(d->backend, p.name, d->cfg.port_up_timeout_ms,
						  &err);
	if (r < 0) {
		(void)binding_ovs_unplug_port(d->ovs, tap, NULL);
		return error_reply(504, "port did not come up", err ? err : strerror(-r));
	}
	r = d->backend->ops->port_get(d->backend, port_name, &p, &err);
	if (r < 0)
		return backend_error(r, "cannot show the port", err);
	log_info("event=vm-plug tap=%s port=%s", tap, p.name);
	return ok_reply(port_json(&p));
}

static json_t *ctl_pool(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const char *net = json_object_get_str(args, "network");
	int r;

	if (!d->pool)
		return error_reply(409, "pools are switched off", "[vif_pool] enabled = false");
	if (streq(verb, "pool.list"))
		return ok_reply(pool_list_json(d->pool, net));
	if (streq(verb, "pool.free")) { /* no network: every pool */
		r = pool_free_ready(d->pool, net, &err);
		if (r < 0)
			return backend_error(r, "cannot free the pool", err);
		return ok_reply(pool_list_json(d->pool, net));
	}
	if (!net)
		return error_reply(400, "missing argument", "network");
	if (streq(verb, "pool.show")) {
		json_t *a = pool_list_json(d->pool, net);
		json_t *one = json_incref(json_array_get(a, 0));

		json_decref(a);
		return one ? ok_reply(one) : error_reply(404, "no pool for this network", net);
	}
	if (streq(verb, "pool.populate")) {
		r = pool_populate(d->pool, net, &err);
		if (r < 0)
			return backend_error(r, "cannot populate the pool", err);
		return ok_reply(pool_list_json(d->pool, net));
	}
	return error_reply(400, "unknown request", verb);
}

static int attachment_json_cb(const struct attachment *a, void *userdata)
{
	json_array_append_new(userdata,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
					"container_id", a->container_id, "ifname", a->ifname,
					"netns", a->netns, "network", a->network, "port", a->port,
					"host_ifname", a->host_ifname, "mac", a->mac, "address",
					a->address, "state", attach_state_to_string(a->state),
					"created", (json_int_t)a->created));
	return 0;
}

static json_t *ctl_status(struct kuryrd *d)
{
	int n = store_count(d->store);

	return ok_reply(json_pack("{s:s, s:s, s:b, s:s, s:b, s:i}", "version", KURYR_VERSION,
				  "backend", d->backend->ops->name, "backend_connected",
				  d->backend->ops->connected(d->backend), "ovs_bridge",
				  d->cfg.ovs_bridge, "ovs_connected", binding_ovs_connected(d->ovs),
				  "attachments", n < 0 ? 0 : n));
}

static enum metric_op metric_op_of(const char *op)
{
	for (size_t i = 0; i < M_OTHER; i++)
		if (streq(op, metric_op_names[i]))
			return (enum metric_op)i;
	return M_OTHER;
}

json_t *kuryrd_handle(struct kuryrd *d, json_t *req, int netns_fd)
{
	const char *op = json_object_get_str(req, "op");
	json_t *args = json_object_get(req, "args");
	struct cni_req c;
	json_t *reply = NULL;

	if (!op)
		return error_reply(CNI_ERR_DECODE, "request has no \"op\"", NULL);
	if (streq(op, "add") || streq(op, "del") || streq(op, "check") || streq(op, "gc") ||
	    streq(op, "status")) {
		reply = parse_cni(req, &c);
		if (!reply && !streq(op, "gc") && !streq(op, "status"))
			reply = check_ids(&c);
		if (!reply && !streq(op, "gc") && !streq(op, "status") && netns_fd >= 0) {
			_cleanup_free_ char *err = NULL;

			/* Checked once here; the verbs then trust it. */
			if (cni_netns_check(netns_fd, &err) < 0)
				reply = error_reply(CNI_ERR_INVALID_ENV, "invalid CNI_NETNS", err);
			else
				c.netns_fd = netns_fd;
		}
		if (!reply) {
			if (streq(op, "add"))
				reply = handle_add(d, &c);
			else if (streq(op, "del"))
				reply = handle_del(d, &c);
			else if (streq(op, "check"))
				reply = handle_check(d, &c);
			else if (streq(op, "gc"))
				reply = handle_gc(d, &c);
			else
				reply = handle_status(d);
		}
		atomic_fetch_add(
		    &d->m.requests[metric_op_of(op)][json_object_get(reply, "error") ? 1 : 0], 1);
		return reply;
	}
	if (strncmp(op, "network.", 8) == 0 && (streq(op + 8, "create") || streq(op + 8, "list") ||
						streq(op + 8, "show") || streq(op + 8, "delete")))
		return ctl_network(d, op, args);
	if (strncmp(op, "port.", 5) == 0 && (streq(op + 5, "create") || streq(op + 5, "list") ||
					     streq(op + 5, "show") || streq(op + 5, "delete")))
		return ctl_port(d, op, args);
	if (streq(op, "vm.plug") || streq(op, "vm.unplug"))
		return ctl_vm(d, op, args);
	if (strncmp(op, "trunk.", 6) == 0)
		return ctl_trunk(d, op, args);
	if (strncmp(op, "security-group.", 15) == 0 || strncmp(op, "qos.", 4) == 0)
		return ctl_policy(d, op, args);
	if (strncmp(op, "pool.", 5) == 0)
		return ctl_pool(d, op, args);
	if (streq(op, "attachment.list")) {
		json_t *a = json_array();
		int r = store_foreach(d->store, attachment_json_cb, a);

		if (r < 0) {
			json_decref(a);
			return error_reply(500, "cannot read the attachment store", strerror(-r));
		}
		return ok_reply(a);
	}
	if (streq(op, "daemon.status"))
		return ctl_status(d);
	return error_reply(400, "unknown request", op);
}

/* ---- recovery ---- */

/* Whether the container of a finished attachment is still there, told
 * without opening its netns path (the runtime may have mounted it where
 * kuryrd cannot see it): a veth's host end goes when the pod's netns is
 * destroyed; a pre-wired stub stays in the holding netns, but the macvlan
 * on it goes, and with it the promiscuity the macvlan held on the stub.
 * When it cannot tell, it is: the runtime's DEL will come. */
static bool attachment_alive(struct kuryrd *d, const struct attachment *a)
{
	bool prewired = a->pooled == 2;
	_cleanup_free_ char *hold = NULL;
	_cleanup_close_ int hold_fd = -1;
	struct nl_sock *s = NULL;
	struct nl_link_info li;
	int r;

	if (prewired) {
		hold = strdup_printf("/run/netns/%s", d->cfg.holding_netns);
		r = hold ? nl_netns_open(hold, &hold_fd) : -ENOMEM;
		if (r == -ENOENT)
			return false; /* the stubs went with it */
		if (r == 0)
			r = nl_sock_open_netns(hold_fd, &s);
	} else
		r = nl_sock_open(&s);
	if (r == 0)
		r = nl_link_get(s, prewired ? a->stub : a->host_ifname, &li);
	nl_sock_free(s);
	if (r == -ENODEV)
		return false;
	return r < 0 || !prewired || li.promiscuity > 0;
}

static int recover_cb(const struct attachment *a, void *userdata)
{
	struct kuryrd *d = userdata;
	_cleanup_free_ char *err = NULL;
	int r;

	if (a->state == ATTACH_DONE && attachment_alive(d, a))
		return 0;
	/* An ADD that never answered (the runtime saw a failure and will
	 * retry), or a container whose netns is gone: roll it back. Pools do
	 * not exist yet here, so a pool entry is destroyed, not returned. */
	r = attachment_teardown(d, a, -1, &err);
	if (r < 0) {
		log_err("event=recover-failed container=%.12s ifname=%s port=%s: %s",
			a->container_id, a->ifname, a->port, err ? err : strerror(-r));
		janitor_kick(d);
	} else
		log_info("event=recover-rollback container=%.12s ifname=%s port=%s state=%s",
			 a->container_id, a->ifname, a->port, attach_state_to_string(a->state));
	return 0;
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

/* Container ports bound to this node whose container no attachment knows
 * (it went while kuryrd was away, kuryrd's state was lost, or a create
 * kuryrd gave up on finished after its ADD was rolled back): delete them.
 * Ports are listed before the attachments are read, and every ADD records
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
		 * pre-wired veth, whose stub end goes with it). */
		if (p->owner == PORT_OWNER_POOL && !d->pool) {
			char host_ifname[16];

			if (!streq(*p->host ? p->host : p->device_id, d->cfg.host) ||
			    known_port(rows, n_rows, p))
				continue;
			backend_ifname("kc", p->name, host_ifname);
			(void)binding_ovs_unplug_veth(d->ovs, host_ifname, NULL);
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

/* ---- lifecycle ---- */

int kuryrd_new(const struct kuryr_config *cfg, struct kuryrd **ret, char **reterr_msg)
{
	/* [neutron_defaults] ovs_bridge, upstream's name, wins on Neutron. */
	const char *bridge = streq(cfg->backend, "neutron") && *cfg->neutron_ovs_bridge
				 ? cfg->neutron_ovs_bridge
				 : cfg->ovs_bridge;
	struct kuryrd *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	for (size_t i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_init(&d->stripes[i], NULL);
	sem_init(&d->workers, 0, (unsigned)cfg->workers);
	pthread_mutex_init(&d->jlock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&d->jwake, &ca);
		pthread_condattr_destroy(&ca);
	}
	r = store_open(cfg->state_dir, &d->store, reterr_msg);
	if (r < 0)
		goto fail;
	if (streq(cfg->backend, "neutron")) {
		char *const *sgs = cfg->neutron_pod_security_groups;
		char *const *tags = cfg->neutron_resource_tags;

		r = backend_neutron_new(
		    &(struct neutron_opts){
			.auth = &d->cfg.neutron_auth,
			.project = cfg->neutron_project,
			.host = cfg->host,
			.timeout_ms = cfg->neutron_timeout_ms,
			.max_concurrent = cfg->neutron_max_concurrent_requests,
			.pod_subnet = cfg->neutron_pod_subnet,
			.security_groups = sgs && *sgs ? (const char *const *)sgs : NULL,
			.qos_policy = cfg->neutron_pod_qos_policy,
			.resource_tags = tags && *tags ? (const char *const *)tags : NULL,
			.bridge = bridge,
		    },
		    &d->backend, reterr_msg);
		if (r == 0) {
			_cleanup_free_ char *err = NULL;

			/* Refused credentials are a configuration error; an
			 * unreachable Keystone is retried at the first use. */
			r = backend_neutron_login(d->backend, &err);
			if (r == -EACCES) {
				set_errmsg(reterr_msg, "%s", err ? err : "Keystone refused us");
				goto fail;
			}
			if (r < 0)
				log_warn("event=keystone-unreachable: %s",
					 err ? err : strerror(-r));
			r = 0;
		}
	} else
		r = backend_ovn_new(cfg->nb_connection, &d->backend, reterr_msg);
	if (r < 0)
		goto fail;
	r = binding_ovs_new(cfg->ovs_db, bridge, &d->ovs, reterr_msg);
	if (r < 0)
		goto fail;
	r = store_foreach(d->store, recover_cb, d);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot read the attachment store: %s", strerror(-r));
		goto fail;
	}
	/* Leftover ports are looked for by the janitor's first pass, so an
	 * unreachable backend does not hold up the start. */
	d->next_sweep_ms = now_us() / 1000 + 1;
	if (cfg->pool_enabled) {
		r = pool_mgr_new(
		    &(struct pool_params){ .prewire = cfg->pool_prewire,
					   .min = cfg->pool_min,
					   .max = cfg->pool_max,
					   .batch = cfg->pool_batch,
					   .update_ms = cfg->pool_update_ms,
					   .port_up_timeout_ms = cfg->port_up_timeout_ms,
					   .holding_netns = cfg->holding_netns,
					   .host = cfg->host },
		    d->backend, d->ovs, d->store, &d->pool, reterr_msg);
		if (r < 0)
			goto fail;
	}
	if (pthread_create(&d->janitor, NULL, janitor_thread, d) != 0) {
		r = -EAGAIN;
		set_errmsg(reterr_msg, "cannot start the janitor thread");
		goto fail;
	}
	d->jstarted = true;
	*ret = d;
	return 0;
fail:
	kuryrd_free(d);
	return r;
}

void kuryrd_free(struct kuryrd *d)
{
	if (!d)
		return;
	if (d->http)
		MHD_stop_daemon(d->http);
	if (d->jstarted) {
		pthread_mutex_lock(&d->jlock);
		d->jstop = true;
		pthread_cond_signal(&d->jwake);
		pthread_mutex_unlock(&d->jlock);
		pthread_join(d->janitor, NULL);
	}
	pthread_mutex_destroy(&d->jlock);
	pthread_cond_destroy(&d->jwake);
	pool_mgr_free(d->pool); /* before what its threads use */
	binding_ovs_free(d->ovs);
	backend_free(d->backend);
	store_free(d->store);
	for (size_t i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_destroy(&d->stripes[i]);
	sem_destroy(&d->workers);
	free(d);
}

/* ---- serving ---- */

struct conn {
	struct kuryrd *d;
	int fd;
};

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *req = NULL, *reply = NULL;
	_cleanup_close_ int netns_fd = -1;
	int r;

	r = proto_recv_fd(c->fd, 5000, &req, &netns_fd, &err);
	if (r < 0)
		reply = error_reply(CNI_ERR_DECODE, "cannot read the request",
				    err ? err : strerror(-r));
	else
		reply = kuryrd_handle(c->d, req, netns_fd);
	r = proto_send(c->fd, reply);
	if (r < 0)
		log_warn("event=reply-failed error=\"%s\"", strerror(-r));
	close(c->fd);
	sem_post(&c->d->workers);
	free(c);
	return NULL;
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_size, void **ptr)
{
	struct kuryrd *d = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	unsigned long cum = 0;
	int n;

	if (!streq(method, "GET"))
		return MHD_NO;
	if (!streq(url, "/metrics")) {
		static const char nf[] = "not found: try /metrics\n";

		resp = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf,
						       MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	fprintf(f, "# HELP kuryr_cni_requests_total CNI requests served, by verb and outcome.\n"
		   "# TYPE kuryr_cni_requests_total counter\n");
	for (size_t i = 0; i < ELEMENTSOF(metric_op_names); i++)
		for (int e = 0; e < 2; e++)
			fprintf(f, "kuryr_cni_requests_total{op=\"%s\",result=\"%s\"} %lu\n",
				metric_op_names[i], e ? "error" : "ok",
				atomic_load(&d->m.requests[i][e]));
	n = store_count(d->store);
	fprintf(f,
		"# HELP kuryr_attachments Containers attached on this node.\n"
		"# TYPE kuryr_attachments gauge\nkuryr_attachments %d\n"
		"# HELP kuryr_add_duration_seconds Time to answer a CNI ADD.\n"
		"# TYPE kuryr_add_duration_seconds histogram\n",
		n < 0 ? 0 : n);
	for (size_t i = 0; i <= ELEMENTSOF(add_buckets); i++) {
		cum += atomic_load(&d->m.add_bucket[i]);
		if (i < ELEMENTSOF(add_buckets))
			fprintf(f, "kuryr_add_duration_seconds_bucket{le=\"%g\"} %lu\n",
				add_buckets[i], cum);
		else
			fprintf(f, "kuryr_add_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	}
	fprintf(f, "kuryr_add_duration_seconds_sum %.6f\nkuryr_add_duration_seconds_count %lu\n",
		(double)atomic_load(&d->m.add_sum_us) / 1e6, atomic_load(&d->m.add_count));
	if (d->pool)
		pool_write_metrics(d->pool, f);
	if (d->backend->ops->write_metrics)
		d->backend->ops->write_metrics(d->backend, f);
	fclose(f);
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int start_http(struct kuryrd *d, char **reterr_msg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon;
	unsigned port;

	if (!*d->cfg.metrics_address)
		return 0;
	colon = strrchr(d->cfg.metrics_address, ':');
	if (!colon || (size_t)(colon - d->cfg.metrics_address) >= sizeof(host) ||
	    sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535) {
		set_errmsg(reterr_msg, "metrics_address \"%s\" is not IPv4:PORT",
			   d->cfg.metrics_address);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - d->cfg.metrics_address),
		 d->cfg.metrics_address);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		set_errmsg(reterr_msg, "metrics_address \"%s\" is not IPv4:PORT",
			   d->cfg.metrics_address);
		return -EINVAL;
	}
	sa.sin_port = htons((uint16_t)port);
	d->http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
				   (uint16_t)port, NULL, NULL, http_handler, d,
				   MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
	if (!d->http) {
		set_errmsg(reterr_msg, "cannot serve metrics on %s", d->cfg.metrics_address);
		return -EADDRINUSE;
	}
	return 0;
}

static int listen_socket(const char *path, char **reterr_msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int fd = -1;
	char *slash;

	if (!dir)
		return -ENOMEM;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_errmsg(reterr_msg, "socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			int r = -errno;

			set_errmsg(reterr_msg, "cannot create %s: %s", dir, strerror(errno));
			return r;
		}
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	/* Root only: the socket hands out network access to any netns. */
	{
		mode_t old = umask(0177);
		int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));

		umask(old);
		if (r < 0) {
			r = -errno;
			set_errmsg(reterr_msg, "cannot bind %s: %s", path, strerror(errno));
			return r;
		}
	}
	if (listen(fd, 256) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int kuryrd_serve(struct kuryrd *d, char **reterr_msg)
{
	_cleanup_close_ int lfd = -1, sfd = -1;
	struct pollfd p[2];
	sigset_t mask;
	int r;

	r = start_http(d, reterr_msg);
	if (r < 0)
		return r;
	lfd = listen_socket(d->cfg.socket, reterr_msg);
	if (lfd < 0)
		return lfd;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return -errno;
	log_info("event=ready socket=%s backend=%s nb=%s ovs=%s bridge=%s metrics=%s",
		 d->cfg.socket, d->backend->ops->name, d->cfg.nb_connection, d->cfg.ovs_db,
		 d->cfg.ovs_bridge, *d->cfg.metrics_address ? d->cfg.metrics_address : "off");
	p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		pthread_attr_t attr;
		pthread_t t;
		struct conn *c;
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		*c = (struct conn){ .d = d, .fd = fd };
		/* At most cfg.workers requests at once; the rest queue here. */
		sem_wait(&d->workers);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		if (pthread_create(&t, &attr, conn_thread, c) != 0) {
			sem_post(&d->workers);
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&attr);
	}
	/* Let requests in flight finish. */
	for (int i = 0; i < d->cfg.workers; i++)
		sem_wait(&d->workers);
	(void)unlink(d->cfg.socket);
	log_info("event=stopped");
	return 0;
}
