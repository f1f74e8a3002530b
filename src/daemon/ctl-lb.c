/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's verbs on load balancers, their pools and members, for
 * backends that have them (BACKEND_CAP_LOADBALANCERS). What is the same on
 * every backend is checked here: numbers, that the VIP's network is on a
 * router (a router's port answers ARP for a VIP), and that a member is on
 * the load balancer's network or a network its router reaches. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon-private.h"
#include "json-util.h"
#include "log.h"
#include "net-util.h"

static json_t *no_lbs(struct kuryrd *d)
{
	_cleanup_free_ char *m =
	    strdup_printf("this node's backend %s has no load balancers", d->backend->ops->name);

	return reply_error(501, "not supported", m ? m : "load balancers");
}

/* A number in @lo..@hi from args[@key] (absent: @def); false if it is not. */
static bool arg_uint(json_t *args, const char *key, unsigned lo, unsigned hi, unsigned def,
		     unsigned *ret)
{
	json_t *v = json_object_get(args, key);
	long long n;

	if (!v) {
		*ret = def;
		return true;
	}
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v)) {
		char *end;

		n = strtoll(json_string_value(v), &end, 10);
		if (*end || !*json_string_value(v))
			return false;
	} else
		return false;
	if (n < lo || n > hi)
		return false;
	*ret = (unsigned)n;
	return true;
}

/* The router @net is on ("" if none) into @out. */
static int router_of(struct kuryrd *d, const struct kuryr_network *net, char out[64],
		     char **reterr_msg)
{
	const struct backend_ops *ops = d->backend->ops;
	_cleanup_json_ json_t *routers = NULL;
	size_t i, k;
	json_t *rt, *itf;
	int r;

	out[0] = 0;
	if (!(ops->caps & BACKEND_CAP_ROUTERS))
		return 0;
	r = ops->router_list(d->backend, &routers, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(routers, i, rt)
		json_array_foreach(json_object_get(rt, "interfaces"), k, itf) {
			const char *n = json_object_get_str(itf, "network") ?: "";

			if (streq(n, net->name) || streq(n, net->id)) {
				str_copy(out, json_object_get_str(rt, "id") ?: "", 64);
				return 0;
			}
		}
	return 0;
}

static bool ip4_in_cidr(const char *ip, const char *cidr)
{
	struct in_addr a;
	uint32_t net;
	uint8_t len;

	return *cidr && inet_pton(AF_INET, ip, &a) == 1 && cidr4_parse(cidr, &net, &len) == 0 &&
	       ip4_in_subnet(ntohl(a.s_addr), net, len);
}

static json_t *lb_create(struct kuryrd *d, json_t *args)
{
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "loadbalancer");
	const char *network = json_object_get_str(args, "network");
	const char *vip = json_object_get_str(args, "vip");
	_cleanup_free_ char *err = NULL;
	struct kuryr_network net;
	char router[64];
	json_t *out = NULL;
	int r;

	if (!network || !*network)
		return reply_error(400, "missing argument", "network");
	if (vip) {
		struct in_addr a;

		if (inet_pton(AF_INET, vip, &a) != 1)
			return reply_error(400, "invalid argument", "--vip is an IPv4 address");
	}
	r = ops->network_get(d->backend, network, &net, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot create the load balancer", err);
	if (vip && !ip4_in_cidr(vip, net.cidr)) {
		_cleanup_free_ char *m =
		    strdup_printf("--vip %s is not a host address of network %s (%s)", vip,
				  net.name, *net.cidr ? net.cidr : "no IPv4 subnet");

		return reply_error(400, "invalid argument", m);
	}
	r = router_of(d, &net, router, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot create the load balancer", err);
	if (!*router) {
		_cleanup_free_ char *m = strdup_printf(
		    "network %s is on no router, and a VIP is answered for by a router's port: "
		    "add it to one first (kuryrctl router add-subnet ROUTER %s)",
		    net.name, net.name);

		return reply_error(400, "cannot create the load balancer", m);
	}
	r = ops->lb_create(
	    d->backend,
	    &(struct lb_spec){ .name = name, .network = network, .net = &net, .vip = vip }, &out,
	    &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot create the load balancer", err);
	log_info("event=lb-create lb=%s id=%s vip=%s network=%s", name,
		 json_object_get_str(out, "id"), json_object_get_str(out, "vip"), net.name);
	return reply_ok(out);
}

static json_t *pool_create(struct kuryrd *d, json_t *args)
{
	const struct backend_ops *ops = d->backend->ops;
	struct lb_pool_spec s = {
		.lb = json_object_get_str(args, "loadbalancer"),
		.name = json_object_get_str(args, "pool"),
		.protocol = json_object_get_str(args, "protocol"),
		.algorithm = json_object_get_str(args, "algorithm"),
		.check = json_object_get_str(args, "health_check"),
	};
	_cleanup_free_ char *err = NULL;
	json_t *out = NULL;
	int r;

	if (!s.name || !*s.name)
		return reply_error(400, "missing argument", "pool");
	if (!s.protocol)
		return reply_error(400, "missing argument", "--protocol tcp|udp|sctp");
	if (!json_object_get(args, "port"))
		return reply_error(400, "missing argument", "--port N");
	if (!arg_uint(args, "port", 1, 65535, 0, &s.port))
		return reply_error(400, "invalid argument", "--port is a port number, 1..65535");
	if (!arg_uint(args, "member_port", 1, 65535, 0, &s.member_port))
		return reply_error(400, "invalid argument",
				   "--member-port is a port number, 1..65535");
	if (!arg_uint(args, "delay", 1, 3600, 5, &s.delay) ||
	    !arg_uint(args, "timeout", 1, 3600, 3, &s.timeout) ||
	    !arg_uint(args, "max_retries", 1, 10, 3, &s.max_retries))
		return reply_error(400, "invalid argument",
				   "--delay and --timeout are seconds (1..3600), --max-retries "
				   "1..10");
	if (!s.check && (json_object_get(args, "delay") || json_object_get(args, "timeout") ||
			 json_object_get(args, "max_retries")))
		return reply_error(400, "invalid argument",
				   "--delay, --timeout and --max-retries go with --health-check");
	if (s.check && s.timeout > s.delay)
		return reply_error(400, "invalid argument",
				   "--timeout is at most --delay: a probe ends before the next");
	r = ops->lb_pool_create(d->backend, &s, &out, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot create the pool", err);
	log_info("event=lb-pool-create lb=%s pool=%s id=%s %s/%u", s.lb, s.name,
		 json_object_get_str(out, "id"), s.protocol, s.port);
	return reply_ok(out);
}

/* The member @args name, with its network and port: by backend port, by
 * a container on this node, or by address on one of the networks. */
struct member_ref {
	char address[48];
	char port[64];
	struct kuryr_network net;
};

static json_t *member_resolve(struct kuryrd *d, json_t *args, const struct kuryr_network *lbnet,
			      struct member_ref *m)
{
	const struct backend_ops *ops = d->backend->ops;
	const char *address = json_object_get_str(args, "address");
	const char *container = json_object_get_str(args, "container");
	const char *port = json_object_get_str(args, "port");
	_cleanup_free_ char *err = NULL;
	int r;

	if (!!address + !!container + !!port != 1)
		return reply_error(400, "missing argument",
				   "give one of --address IP, --container ID, --port PORT");
	if (port) {
		struct kuryr_port p;

		r = ops->port_get(d->backend, port, &p, &err);
		if (r == 0)
			r = ops->network_get(d->backend, p.network, &m->net, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot add the member", err);
		if (!*p.ip)
			return reply_error(400, "cannot add the member",
					   "the port has no IPv4 address");
		str_copy(m->address, p.ip, sizeof(m->address));
		str_copy(m->port, p.name, sizeof(m->port));
		return NULL;
	}
	if (container) {
		_cleanup_free_ struct attachment *rows = NULL;
		const struct attachment *pick = NULL;
		size_t n = 0;
		unsigned found = 0;

		r = store_list(d->store, &rows, &n);
		if (r < 0)
			return reply_ctl_errno(r, "cannot read the attachments", NULL);
		for (size_t i = 0; i < n; i++) {
			if (!streq(rows[i].container_id, container) || !*rows[i].address ||
			    rows[i].state != ATTACH_DONE)
				continue;
			found++;
			if (!pick || streq(rows[i].network, lbnet->name))
				pick = &rows[i];
		}
		if (!pick) {
			_cleanup_free_ char *msg = strdup_printf(
			    "container %s has no IPv4 attachment on this node", container);

			return reply_error(404, "cannot add the member", msg);
		}
		if (found > 1 && !streq(pick->network, lbnet->name)) {
			_cleanup_free_ char *msg = strdup_printf(
			    "container %s has several attachments, none on network %s: give "
			    "--address",
			    container, lbnet->name);

			return reply_error(409, "cannot add the member", msg);
		}
		addr_split(pick->address, m->address, sizeof(m->address), &(uint8_t){ 0 });
		str_copy(m->port, pick->port, sizeof(m->port));
		r = ops->network_get(d->backend, pick->network, &m->net, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot add the member", err) : NULL;
	}
	{
		_cleanup_free_ struct kuryr_network *nets = NULL;
		_cleanup_free_ struct kuryr_port *ports = NULL;
		const struct kuryr_network *pick = NULL;
		struct in_addr a;
		size_t n = 0;

		if (inet_pton(AF_INET, address, &a) != 1)
			return reply_error(400, "invalid argument", "--address is an IPv4 address");
		if (ip4_in_cidr(address, lbnet->cidr))
			pick = lbnet;
		else {
			r = ops->network_list(d->backend, &nets, &n, &err);
			if (r < 0)
				return reply_ctl_errno(r, "cannot add the member", err);
			for (size_t i = 0; i < n && !pick; i++)
				if (ip4_in_cidr(address, nets[i].cidr) && !nets[i].external)
					pick = &nets[i];
		}
		if (!pick) {
			_cleanup_free_ char *msg =
			    strdup_printf("%s is on none of the backend's networks", address);

			return reply_error(400, "cannot add the member", msg);
		}
		m->net = *pick;
		str_copy(m->address, address, sizeof(m->address));
		m->port[0] = 0;
		n = 0;
		if (ops->port_list(d->backend, m->net.name, &ports, &n, NULL) == 0)
			for (size_t i = 0; i < n; i++)
				if (streq(ports[i].ip, address))
					str_copy(m->port, ports[i].name, sizeof(m->port));
		return NULL;
	}
}

/* The load balancer of pool @pool and its network. */
static json_t *pool_network(struct kuryrd *d, const char *pool, struct kuryr_network *ret)
{
	const struct backend_ops *ops = d->backend->ops;
	_cleanup_json_ json_t *p = NULL, *lb = NULL;
	_cleanup_free_ char *err = NULL;
	int r;

	r = ops->lb_pool_get(d->backend, pool, &p, &err);
	if (r == 0)
		r = ops->lb_get(d->backend, json_object_get_str(p, "loadbalancer") ?: "", &lb,
				&err);
	if (r == 0)
		r = ops->network_get(d->backend, json_object_get_str(lb, "network") ?: "", ret,
				     &err);
	return r < 0 ? reply_ctl_errno(r, "cannot add the member", err) : NULL;
}

/* Whether a member on @m reaches the load balancer on @lbnet: the same
 * network, or both on one router. */
static json_t *member_routed(struct kuryrd *d, const struct kuryr_network *lbnet,
			     const struct kuryr_network *m)
{
	_cleanup_free_ char *err = NULL, *msg = NULL;
	char r1[64], r2[64];
	int r;

	if (streq(lbnet->id, m->id))
		return NULL;
	r = router_of(d, lbnet, r1, &err);
	if (r == 0)
		r = router_of(d, m, r2, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot add the member", err);
	if (*r1 && streq(r1, r2))
		return NULL;
	msg = strdup_printf("the member is on network %s, which no router connects to the load "
			    "balancer's network %s",
			    m->name, lbnet->name);
	return reply_error(400, "cannot add the member", msg);
}

static int member_add_call(struct kuryrd *d, const char *pool, const char *address,
			   const char *port, const struct kuryr_network *net, unsigned member_port,
			   const char *owner, json_t **ret, char **reterr_msg)
{
	return d->backend->ops->lb_member_add(
	    d->backend,
	    &(struct lb_member_spec){ .pool = pool,
				      .address = address,
				      .port = member_port,
				      .net = net,
				      .backend_port = port && *port ? port : NULL,
				      .owner = owner },
	    ret, reterr_msg);
}

static json_t *member_add(struct kuryrd *d, json_t *args)
{
	const char *pool = json_object_get_str(args, "pool");
	_cleanup_free_ char *err = NULL;
	struct kuryr_network lbnet;
	struct member_ref m;
	unsigned mport;
	json_t *out = NULL, *reply;
	int r;

	if (!pool || !*pool)
		return reply_error(400, "missing argument", "pool");
	if (!arg_uint(args, "member_port", 1, 65535, 0, &mport))
		return reply_error(400, "invalid argument",
				   "--member-port is a port number, 1..65535");
	reply = pool_network(d, pool, &lbnet);
	if (!reply)
		reply = member_resolve(d, args, &lbnet, &m);
	if (!reply)
		reply = member_routed(d, &lbnet, &m.net);
	if (reply)
		return reply;
	r = member_add_call(d, pool, m.address, m.port, &m.net, mport, "", &out, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot add the member", err);
	log_info("event=lb-member-add pool=%s member=%s", pool, json_object_get_str(out, "id"));
	return reply_ok(out);
}

/* loadbalancer.create|show|delete {loadbalancer, ...}, loadbalancer.list {},
 * loadbalancer.pool-create {loadbalancer, pool, protocol, port, ...},
 * loadbalancer.pool-delete {pool}, loadbalancer.member-add {pool, ...},
 * loadbalancer.member-remove {pool, member}, loadbalancer.member-list {pool} */
json_t *ctl_loadbalancer(struct kuryrd *d, const char *verb, json_t *args)
{
	const struct backend_ops *ops = d->backend->ops;
	const char *lb = json_object_get_str(args, "loadbalancer");
	const char *pool = json_object_get_str(args, "pool");
	_cleanup_free_ char *err = NULL;
	json_t *out = NULL;
	int r;

	if (!(ops->caps & BACKEND_CAP_LOADBALANCERS))
		return no_lbs(d);
	if (streq(verb, "loadbalancer.list")) {
		r = ops->lb_list(d->backend, &out, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot list the load balancers", err)
			     : reply_ok(out);
	}
	if (streq(verb, "loadbalancer.pool-delete") || streq(verb, "loadbalancer.member-add") ||
	    streq(verb, "loadbalancer.member-remove") || streq(verb, "loadbalancer.member-list") ||
	    streq(verb, "loadbalancer.pool-show")) {
		const char *member = json_object_get_str(args, "member");

		if (!pool || !*pool)
			return reply_error(400, "missing argument", "pool");
		if (streq(verb, "loadbalancer.member-add"))
			return member_add(d, args);
		if (streq(verb, "loadbalancer.pool-delete")) {
			r = ops->lb_pool_delete(d->backend, pool, &err);
			if (r < 0)
				return reply_ctl_errno(r, "cannot delete the pool", err);
			log_info("event=lb-pool-delete pool=%s", pool);
			return reply_ok(NULL);
		}
		if (streq(verb, "loadbalancer.member-remove")) {
			if (!member || !*member)
				return reply_error(400, "missing argument", "member");
			r = ops->lb_member_remove(d->backend, pool, member, &err);
			if (r < 0)
				return reply_ctl_errno(r, "cannot remove the member", err);
			log_info("event=lb-member-remove pool=%s member=%s", pool, member);
			return reply_ok(NULL);
		}
		r = ops->lb_pool_get(d->backend, pool, &out, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot read the pool", err);
		if (streq(verb, "loadbalancer.member-list")) {
			json_t *members = json_incref(json_object_get(out, "members"));

			json_decref(out);
			return reply_ok(members);
		}
		return reply_ok(out);
	}
	if (!lb || !*lb)
		return reply_error(400, "missing argument", "loadbalancer");
	if (streq(verb, "loadbalancer.create"))
		return lb_create(d, args);
	if (streq(verb, "loadbalancer.pool-create"))
		return pool_create(d, args);
	if (streq(verb, "loadbalancer.delete")) {
		r = ops->lb_delete(d->backend, lb, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot delete the load balancer", err);
		log_info("event=lb-delete lb=%s", lb);
		return reply_ok(NULL);
	}
	r = ops->lb_get(d->backend, lb, &out, &err);
	return r < 0 ? reply_ctl_errno(r, "cannot read the load balancer", err) : reply_ok(out);
}
