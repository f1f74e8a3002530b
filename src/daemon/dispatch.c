/* SPDX-License-Identifier: Apache-2.0 */
/* Requests, by op, through one table; and the one place that says how a
 * failure (-errno from a backend, a driver or the store) is told to the
 * caller: a CNI error code for kuryr-cni, an HTTP-like code for kuryrctl. */
#include <stdio.h>

#include "cni/cni.h"
#include "daemon-private.h"
#include "json-util.h"
#include "proto/proto.h"

json_t *reply_ok(json_t *result)
{
	return json_pack("{s:o}", "result", result ? result : json_null());
}

json_t *reply_error(int code, const char *msg, const char *details)
{
	return proto_error(code, msg, details);
}

/* The backend error contract (backend/backend.h), and the drivers'. */
static const struct {
	int err;
	int cni;
	int ctl;
} errno_codes[] = {
	{ -ENOTCONN, CNI_ERR_TRY_AGAIN, 503 },	       /* backend unreachable */
	{ -ETIMEDOUT, CNI_ERR_TRY_AGAIN, 504 },	       /* did not finish in time */
	{ -EAGAIN, CNI_ERR_TRY_AGAIN, 503 },	       /* the backend said so (429, 503) */
	{ -ENOENT, CNI_ERR_INVALID_CONFIG, 404 },      /* no such object */
	{ -ESRCH, CNI_ERR_INVALID_CONFIG, 404 },       /* a named group, policy or subnet */
	{ -ENOTUNIQ, CNI_ERR_INVALID_CONFIG, 409 },    /* a name that matches several */
	{ -EINVAL, KURYR_ERR_ADDRESS, 400 },	       /* a bad argument (IP, MAC, ...) */
	{ -EEXIST, KURYR_ERR_ADDRESS, 409 },	       /* a name or address taken */
	{ -EBUSY, KURYR_ERR_BACKEND, 409 },	       /* still in use */
	{ -EALREADY, CNI_ERR_INVALID_CONFIG, 409 },    /* a port moved where it is */
	{ -EADDRINUSE, KURYR_ERR_IFNAME_EXISTS, 409 }, /* CNI_IFNAME taken in the pod */
	{ -EPROTONOSUPPORT, KURYR_ERR_DATAPATH, 502 }, /* bound in a way we cannot plug */
	{ -EDQUOT, KURYR_ERR_BACKEND, 409 },	       /* quota exceeded */
	{ -EACCES, KURYR_ERR_BACKEND, 403 },	       /* refused us */
	{ -EOPNOTSUPP, CNI_ERR_INVALID_CONFIG, 501 },  /* the backend cannot do that */
};

int cni_code_of(int r)
{
	for (size_t i = 0; i < ELEMENTSOF(errno_codes); i++)
		if (errno_codes[i].err == r)
			return errno_codes[i].cni;
	return KURYR_ERR_BACKEND;
}

json_t *reply_cni_errno(int r, const char *msg, const char *details)
{
	return reply_error(cni_code_of(r), msg, details ? details : strerror(-r));
}

json_t *reply_ctl_errno(int r, const char *msg, const char *details)
{
	int code = 503;

	for (size_t i = 0; i < ELEMENTSOF(errno_codes); i++)
		if (errno_codes[i].err == r)
			code = errno_codes[i].ctl;
	return reply_error(code, msg, details ? details : strerror(-r));
}

/* ---- CNI requests ---- */

static json_t *parse_cni(json_t *req, int netns_fd, struct cni_req *c)
{
	json_t *env = json_object_get(req, "env");

	*c = (struct cni_req){ .netns_fd = netns_fd };
	c->op = json_object_get_str(req, "op");
	c->conf = json_object_get(req, "config");
	if (!json_is_object(c->conf))
		return reply_error(CNI_ERR_DECODE, "request has no network configuration", NULL);
	c->version = json_object_get_str(c->conf, "cniVersion");
	if (!cni_version_supported(c->version))
		return reply_error(CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI version", NULL);
	c->network = json_object_get_str(c->conf, "network");
	if (!c->network)
		c->network = json_object_get_str(c->conf, "name");
	if (!c->network)
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
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
		return reply_error(CNI_ERR_INVALID_ENV, "invalid CNI_CONTAINERID", err);
	if (cni_ifname_check(c->ifname, &err) < 0)
		return reply_error(CNI_ERR_INVALID_ENV, "invalid CNI_IFNAME", err);
	return NULL;
}

/* A descriptor that came with the request is checked once, here: kuryrd
 * does all namespace work on it and never opens a path a caller gave. */
static json_t *check_netns(const struct cni_req *c)
{
	_cleanup_free_ char *err = NULL;

	if (c->netns_fd >= 0 && cni_netns_check(c->netns_fd, &err) < 0)
		return reply_error(CNI_ERR_INVALID_ENV, "invalid CNI_NETNS", err);
	return NULL;
}

struct cni_op {
	const char *name;
	json_t *(*handle)(struct kuryrd *d, const struct cni_req *c);
	enum metric_op metric;
	bool per_container; /* names a container and interface */
};

static const struct cni_op cni_ops[] = {
	{ "add", cni_add, M_ADD, true },       { "del", cni_del, M_DEL, true },
	{ "check", cni_check, M_CHECK, true }, { "status", cni_status, M_STATUS, false },
	{ "gc", cni_gc, M_GC, false },
};

/* ---- operator requests: "GROUP.VERB" ---- */

struct ctl_op {
	const char *name;
	json_t *(*handle)(struct kuryrd *d, const char *verb, json_t *args);
};

static const struct ctl_op ctl_ops[] = {
	{ "network.create", ctl_network },
	{ "network.list", ctl_network },
	{ "network.show", ctl_network },
	{ "network.delete", ctl_network },
	{ "port.create", ctl_port },
	{ "port.list", ctl_port },
	{ "port.show", ctl_port },
	{ "port.delete", ctl_port },
	{ "port.set", ctl_port },
	{ "port.migrate", ctl_port },
	{ "vm.plug", ctl_vm },
	{ "vm.unplug", ctl_vm },
	{ "trunk.create", ctl_trunk },
	{ "trunk.show", ctl_trunk },
	{ "trunk.delete", ctl_trunk },
	{ "trunk.add-subport", ctl_trunk },
	{ "trunk.remove-subport", ctl_trunk },
	{ "security-group.create", ctl_security_group },
	{ "security-group.show", ctl_security_group },
	{ "security-group.delete", ctl_security_group },
	{ "security-group.list", ctl_security_group },
	{ "security-group.rule-add", ctl_security_group },
	{ "security-group.rule-delete", ctl_security_group },
	{ "security-group.rule-list", ctl_security_group },
	{ "qos.create", ctl_qos },
	{ "qos.list", ctl_qos },
	{ "qos.show", ctl_qos },
	{ "qos.delete", ctl_qos },
	{ "router.create", ctl_router },
	{ "router.list", ctl_router },
	{ "router.show", ctl_router },
	{ "router.delete", ctl_router },
	{ "router.add-subnet", ctl_router },
	{ "router.remove-subnet", ctl_router },
	{ "router.set", ctl_router },
	{ "floating-ip.create", ctl_floating_ip },
	{ "floating-ip.list", ctl_floating_ip },
	{ "floating-ip.delete", ctl_floating_ip },
	{ "loadbalancer.create", ctl_loadbalancer },
	{ "loadbalancer.list", ctl_loadbalancer },
	{ "loadbalancer.show", ctl_loadbalancer },
	{ "loadbalancer.delete", ctl_loadbalancer },
	{ "loadbalancer.pool-create", ctl_loadbalancer },
	{ "loadbalancer.pool-show", ctl_loadbalancer },
	{ "loadbalancer.pool-delete", ctl_loadbalancer },
	{ "loadbalancer.member-add", ctl_loadbalancer },
	{ "loadbalancer.member-remove", ctl_loadbalancer },
	{ "loadbalancer.member-list", ctl_loadbalancer },
	{ "pool.list", ctl_pool },
	{ "pool.show", ctl_pool },
	{ "pool.populate", ctl_pool },
	{ "pool.free", ctl_pool },
	{ "attachment.list", ctl_attachment },
	{ "daemon.status", ctl_status },
};

json_t *kuryrd_handle(struct kuryrd *d, json_t *req, int netns_fd)
{
	const char *op = json_object_get_str(req, "op");

	if (!op)
		return reply_error(CNI_ERR_DECODE, "request has no \"op\"", NULL);
	for (size_t i = 0; i < ELEMENTSOF(cni_ops); i++) {
		const struct cni_op *o = &cni_ops[i];
		struct cni_req c;
		json_t *reply;

		if (!streq(op, o->name))
			continue;
		reply = parse_cni(req, netns_fd, &c);
		if (!reply && o->per_container)
			reply = check_ids(&c);
		if (!reply && o->per_container)
			reply = check_netns(&c);
		if (!reply)
			reply = o->handle(d, &c);
		metrics_count_request(d, o->metric, json_object_get(reply, "error") != NULL);
		return reply;
	}
	for (size_t i = 0; i < ELEMENTSOF(ctl_ops); i++)
		if (streq(op, ctl_ops[i].name))
			return ctl_ops[i].handle(d, op, json_object_get(req, "args"));
	return reply_error(400, "unknown request", op);
}
