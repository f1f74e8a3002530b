/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": load balancers through Octavia v2 with its OVN
 * provider (no amphorae: OVN's own Load_Balancer rows do the work), over
 * octavia.c's session.
 *
 * Mapping:
 *   load balancer -> Octavia load balancer, provider "ovn", its VIP on the
 *                    network's IPv4 subnet (the VIP port is Octavia's).
 *   pool          -> an Octavia listener (protocol, port) with its Octavia
 *                    pool (algorithm "source-ip-port" as SOURCE_IP_PORT,
 *                    the only one the provider has: others get its 501),
 *                    both named after ours; the pool's
 *                    description keeps the members' default port,
 *                    "kuryr:member_port=N"; the check an Octavia health
 *                    monitor (TCP or UDP-CONNECT), as many probes to come
 *                    back as to go (max_retries_down = max_retries).
 *   member        -> Octavia member on its network's subnet, named after
 *                    its owner (a following node's attachment) if any.
 *
 * Pools are named without their load balancer (kuryrctl's verbs), so a
 * pool's name is looked up among all of them. Octavia's lists are read in
 * one page (its pagination_max_limit, 1000 by default).
 *
 * The OVN provider probes members from a port of device_owner
 * "network:distributed" with an address on the member's subnet (OVN's
 * ip_port_mappings: member=port:source address); Neutron makes one (the
 * metadata port) only with ML2/OVN's metadata on, and without it the
 * health monitor goes to ERROR ("No port on network ... available for
 * health monitoring"). So before a check is made, and before a member on
 * another network joins a pool with a check, such a port is made where
 * there is none: "kuryr-lb-hm-<network id>" (admin may set the owner; it
 * becomes an OVN localport). One of ours goes again once no load balancer
 * needs it any more (lb_delete, best effort): none has its VIP on that
 * network, nor a member there in a pool with a check. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>

#include "neutron-private.h"
#include "time-util.h"

#define HM_OWNER	"network:distributed"
#define HM_PREFIX	"kuryr-lb-hm-"
#define MEMBER_PORT_TAG "kuryr:member_port="
#define DELETE_POLL_MAX 400

/* A kind of Octavia object users name: by id, else by a unique name. */
struct lb_kind {
	const char *what;	/* "load balancer" */
	const char *collection; /* "/loadbalancers" */
	const char *key;	/* "loadbalancers" */
	const char *one;	/* "loadbalancer" */
};

static const struct lb_kind kind_lb = { "load balancer", "/loadbalancers", "loadbalancers",
					"loadbalancer" };
static const struct lb_kind kind_pool = { "pool", "/pools", "pools", "pool" };

/* The @k that @ref names: 0 with a new reference in *ret, -ENOENT if none,
 * -ENOTUNIQ naming every candidate if several have the name. */
static int find(struct neutron_backend *nb, const struct lb_kind *k, const char *ref, json_t **ret,
		char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *e = NULL, *ids = NULL;
	_cleanup_json_ json_t *res = NULL;
	json_t *o, *found = NULL;
	size_t i, n = 0;
	int r;

	if (!ref || !*ref) {
		set_errmsg(reterr_msg, "no %s named", k->what);
		return -EINVAL;
	}
	if (uuid_is_valid(ref)) {
		path = strdup_printf("%s/%s", k->collection, ref);
		if (!path)
			return -ENOMEM;
		r = octavia_api(nb, "GET", path, NULL, octavia_deadline(nb), &res, reterr_msg);
		o = json_object_get(res, k->one);
		if (r == 0 && json_is_object(o) &&
		    !streq_ptr(json_object_get_str(o, "provisioning_status"), "DELETED")) {
			*ret = json_incref(o);
			return 0;
		}
		/* Only a 404 means "no such id" (then try the names: a name
		 * may look like an id). */
		if (r < 0 && r != -ENOENT)
			return r;
		if (reterr_msg) {
			free(*reterr_msg);
			*reterr_msg = NULL;
		}
		json_decref(TAKE_PTR(res));
		free(TAKE_PTR(path));
	}
	e = neutron_escape(ref);
	if (!e || asprintf(&path, "%s?name=%s", k->collection, e) < 0)
		return -ENOMEM;
	r = octavia_api(nb, "GET", path, NULL, octavia_deadline(nb), &res, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(json_object_get(res, k->key), i, o) {
		if (!streq_ptr(json_object_get_str(o, "name"), ref) ||
		    streq_ptr(json_object_get_str(o, "provisioning_status"), "DELETED"))
			continue;
		if (neutron_ids_append(&ids, o) < 0)
			return -ENOMEM;
		found = o;
		n++;
	}
	if (n == 0) {
		set_errmsg(reterr_msg, "%s \"%s\" does not exist", k->what, ref);
		return -ENOENT;
	}
	if (n > 1) {
		set_errmsg(reterr_msg,
			   "More than one %s exists with the name \"%s\": %s; use an ID", k->what,
			   ref, ids);
		return -ENOTUNIQ;
	}
	*ret = json_incref(found);
	return 0;
}

/* 0 if no @k has the name @name, -EEXIST if one or more have. */
static int name_free(struct neutron_backend *nb, const struct lb_kind *k, const char *name,
		     char **reterr_msg)
{
	_cleanup_json_ json_t *o = NULL;
	int r = find(nb, k, name, &o, NULL);

	if (r == -ENOENT)
		return 0;
	if (r == 0 || r == -ENOTUNIQ) {
		set_errmsg(reterr_msg, "a %s named \"%s\" exists already", k->what, name);
		return -EEXIST;
	}
	/* Could not tell: ask again for the message. */
	return find(nb, k, name, &o, reterr_msg) == -ENOENT ? 0 : r;
}

static const char *first_id(json_t *o, const char *key)
{
	return json_object_get_str(json_array_get(json_object_get(o, key), 0), "id");
}

/* "ONLINE" -> "online" ...: what a member's probes say, as the backend
 * contract words it. */
static const char *health_of(const char *operating_status)
{
	if (streq_ptr(operating_status, "ONLINE"))
		return "online";
	if (streq_ptr(operating_status, "ERROR") || streq_ptr(operating_status, "OFFLINE"))
		return "offline";
	if (streq_ptr(operating_status, "NO_MONITOR"))
		return "";
	return "unknown";
}

static json_t *member_json(json_t *m)
{
	return json_pack("{s:s?, s:s?, s:I, s:s, s:s}", "id", json_object_get_str(m, "id"),
			 "address", json_object_get_str(m, "address"), "port",
			 json_integer_value(json_object_get(m, "protocol_port")), "owner",
			 json_object_get_str(m, "name") ?: "", "health",
			 health_of(json_object_get_str(m, "operating_status")));
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void upper(char *out, const char *s, size_t size)
{
	str_copy(out, s, size);
	for (; *out; out++)
		*out = (char)toupper((unsigned char)*out);
}

/* Every member of pool @pool_id, as Octavia lists them, in *ret. */
static int members_of(struct neutron_backend *nb, const char *pool_id, json_t **ret,
		      char **reterr_msg)
{
	_cleanup_free_ char *path = strdup_printf("/pools/%s/members", pool_id);
	_cleanup_json_ json_t *res = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	r = octavia_api(nb, "GET", path, NULL, octavia_deadline(nb), &res, reterr_msg);
	if (r < 0)
		return r;
	*ret = json_incref(json_object_get(res, "members"));
	if (!*ret)
		*ret = json_array();
	return *ret ? 0 : -ENOMEM;
}

/* Our pool from Octavia's pool @p (its listener and check read too), its
 * load balancer named @lb_name (NULL: read it). */
static int pool_json(struct neutron_backend *nb, json_t *p, const char *lb_name, json_t **ret,
		     char **reterr_msg)
{
	_cleanup_json_ json_t *lis = NULL, *hm = NULL, *members = NULL, *lb = NULL, *out = NULL;
	_cleanup_json_ json_t *list = json_array();
	const char *pid = json_object_get_str(p, "id"), *lis_id = first_id(p, "listeners");
	const char *hm_id = json_object_get_str(p, "healthmonitor_id");
	const char *desc = json_object_get_str(p, "description");
	json_int_t port = 0, member_port = 0;
	char proto[16], alg[32];
	json_t *m, *check;
	size_t i;
	int r;

	if (!list || !pid)
		return -ENOMEM;
	if (!lb_name) {
		const char *lb_id = first_id(p, "loadbalancers");
		_cleanup_free_ char *path = strdup_printf("/loadbalancers/%s", lb_id ?: "");

		if (!path)
			return -ENOMEM;
		if (lb_id &&
		    octavia_api(nb, "GET", path, NULL, octavia_deadline(nb), &lb, NULL) == 0)
			lb_name = json_object_get_str(json_object_get(lb, "loadbalancer"), "name");
		if (!lb_name || !*lb_name)
			lb_name = lb_id ?: "";
	}
	if (lis_id) {
		_cleanup_free_ char *path = strdup_printf("/listeners/%s", lis_id);

		if (!path)
			return -ENOMEM;
		r = octavia_api(nb, "GET", path, NULL, octavia_deadline(nb), &lis, reterr_msg);
		if (r < 0)
			return r;
		port = json_integer_value(
		    json_object_get(json_object_get(lis, "listener"), "protocol_port"));
	}
	if (desc && strstr(desc, MEMBER_PORT_TAG))
		member_port =
		    strtol(strstr(desc, MEMBER_PORT_TAG) + strlen(MEMBER_PORT_TAG), NULL, 10);
	if (!member_port)
		member_port = port;
	check = json_null();
	if (hm_id) {
		_cleanup_free_ char *path = strdup_printf("/healthmonitors/%s", hm_id);
		json_t *h;
		char type[32];

		if (!path)
			return -ENOMEM;
		r = octavia_api(nb, "GET", path, NULL, octavia_deadline(nb), &hm, reterr_msg);
		if (r < 0)
			return r;
		h = json_object_get(hm, "healthmonitor");
		str_copy(type, json_object_get_str(h, "type"), sizeof(type));
		lower(type);
		check = json_pack("{s:s, s:I, s:I, s:I}", "type", type, "delay",
				  json_integer_value(json_object_get(h, "delay")), "timeout",
				  json_integer_value(json_object_get(h, "timeout")), "max_retries",
				  json_integer_value(json_object_get(h, "max_retries")));
	}
	r = members_of(nb, pid, &members, reterr_msg);
	if (r < 0) {
		json_decref(check);
		return r;
	}
	json_array_foreach(members, i, m)
		json_array_append_new(list, member_json(m));
	str_copy(proto, json_object_get_str(p, "protocol"), sizeof(proto));
	lower(proto);
	str_copy(alg, json_object_get_str(p, "lb_algorithm"), sizeof(alg));
	lower(alg);
	for (char *c = alg; *c; c++)
		if (*c == '_')
			*c = '-';
	out = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:I, s:I, s:o, s:O}", "id", pid, "name",
			json_object_get_str(p, "name"), "loadbalancer", lb_name, "protocol", proto,
			"algorithm", alg, "port", port, "member_port", member_port, "check", check,
			"members", list);
	if (!out)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

/* The name backend "neutron" gives network @id (its id where it has none). */
static char *network_name(struct neutron_backend *nb, const char *id)
{
	_cleanup_free_ char *path = strdup_printf("/networks/%s?fields=name", id ?: "");
	_cleanup_json_ json_t *res = NULL;
	const char *n = NULL;

	if (path && id && neutron_api(nb, "GET", path, NULL, &res, NULL) == 0)
		n = json_object_get_str(json_object_get(res, "network"), "name");
	return strdup(n && *n ? n : id ? id : "");
}

static int lb_json(struct neutron_backend *nb, json_t *lb, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *pools = json_array(), *out = NULL;
	_cleanup_free_ char *net = network_name(nb, json_object_get_str(lb, "vip_network_id"));
	const char *name = json_object_get_str(lb, "name");
	json_t *ref;
	size_t i;
	int r;

	if (!pools || !net)
		return -ENOMEM;
	json_array_foreach(json_object_get(lb, "pools"), i, ref) {
		_cleanup_free_ char *path =
		    strdup_printf("/pools/%s", json_object_get_str(ref, "id") ?: "");
		_cleanup_json_ json_t *res = NULL, *p = NULL;

		if (!path)
			return -ENOMEM;
		r = octavia_api(nb, "GET", path, NULL, octavia_deadline(nb), &res, reterr_msg);
		if (r == -ENOENT)
			continue; /* deleted meanwhile */
		if (r < 0)
			return r;
		r = pool_json(nb, json_object_get(res, "pool"), name && *name ? name : NULL, &p,
			      reterr_msg);
		if (r < 0)
			return r;
		json_array_append(pools, p);
	}
	out = json_pack("{s:s?, s:s?, s:s, s:s?, s:s?, s:s?, s:s?, s:O}", "id",
			json_object_get_str(lb, "id"), "name", name, "network", net, "vip",
			json_object_get_str(lb, "vip_address"), "vip_port",
			json_object_get_str(lb, "vip_port_id"), "status",
			json_object_get_str(lb, "provisioning_status"), "operating_status",
			json_object_get_str(lb, "operating_status"), "pools", pools);
	if (!out)
		return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

/* ---- the health checks' source port ---- */

/* A network:distributed port with an address on @subnet_id of network
 * @net_id, made (ours, HM_PREFIX<net id>) if there is none. */
static int hm_port_ensure(struct neutron_backend *nb, const char *net_id, const char *subnet_id,
			  char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *name = NULL;
	_cleanup_json_ json_t *ports = NULL, *res = NULL, *port = NULL;
	json_t *p, *ip;
	size_t i, j;
	int r;

	if (!net_id || !*net_id || !subnet_id || !*subnet_id)
		return 0;
	if (asprintf(&path, "/ports?network_id=%s&device_owner=" HM_OWNER, net_id) < 0)
		return -ENOMEM;
	r = neutron_list_all(nb, path, "ports", &ports, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(ports, i, p)
		json_array_foreach(json_object_get(p, "fixed_ips"), j, ip)
			if (streq_ptr(json_object_get_str(ip, "subnet_id"), subnet_id))
				return 0;
	name = strdup_printf(HM_PREFIX "%s", net_id);
	port = json_pack("{s:s, s:s, s:s, s:[{s:s}]}", "name", name, "network_id", net_id,
			 "device_owner", HM_OWNER, "fixed_ips", "subnet_id", subnet_id);
	if (!name || !port)
		return -ENOMEM;
	if (*nb->project)
		json_object_set_new(port, "project_id", json_string(nb->project));
	r = neutron_api(nb, "POST", "/ports", json_pack("{s:O}", "port", port), &res, reterr_msg);
	if (r < 0)
		set_errmsg(reterr_msg,
			   "cannot make the health checks' source port (device_owner " HM_OWNER
			   ") on network %s: %s",
			   net_id, reterr_msg && *reterr_msg ? *reterr_msg : strerror(-r));
	return r;
}

/* The network subnet @subnet_id is on, cached in @cache; NULL if unknown. */
static const char *subnet_network(struct neutron_backend *nb, json_t *cache, const char *subnet_id)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *res = NULL;
	const char *v;

	if (!subnet_id)
		return NULL;
	if ((v = json_object_get_str(cache, subnet_id)))
		return v;
	if (asprintf(&path, "/subnets/%s?fields=network_id", subnet_id) < 0 ||
	    neutron_api(nb, "GET", path, NULL, &res, NULL) < 0)
		return NULL;
	v = json_object_get_str(json_object_get(res, "subnet"), "network_id");
	if (!v)
		return NULL;
	json_object_set_new(cache, subnet_id, json_string(v));
	return json_object_get_str(cache, subnet_id);
}

/* Delete our health check ports that no load balancer needs any more (see
 * the top). Best effort: on any doubt a port stays. */
static void hm_ports_gc(struct neutron_backend *nb)
{
	_cleanup_json_ json_t *ports = NULL, *lbs = NULL, *pools = NULL, *used = json_object(),
			      *subnets = json_object();
	json_t *o, *m;
	size_t i, j;

	if (!used || !subnets ||
	    neutron_list_all(nb, "/ports?device_owner=" HM_OWNER "&fields=id&fields=name", "ports",
			     &ports, NULL) < 0)
		return;
	json_array_foreach(ports, i, o)
		if (strncmp(json_object_get_str(o, "name") ?: "", HM_PREFIX, strlen(HM_PREFIX)) ==
		    0)
			break;
	if (i == json_array_size(ports))
		return;
	if (octavia_api(nb, "GET", "/loadbalancers", NULL, octavia_deadline(nb), &lbs, NULL) < 0 ||
	    octavia_api(nb, "GET", "/pools", NULL, octavia_deadline(nb), &pools, NULL) < 0)
		return;
	json_array_foreach(json_object_get(lbs, "loadbalancers"), i, o) {
		const char *net = json_object_get_str(o, "vip_network_id");

		if (net)
			json_object_set_new(used, net, json_true());
	}
	json_array_foreach(json_object_get(pools, "pools"), i, o) {
		_cleanup_json_ json_t *members = NULL;

		if (!json_object_get_str(o, "healthmonitor_id"))
			continue;
		if (members_of(nb, json_object_get_str(o, "id"), &members, NULL) < 0)
			return;
		json_array_foreach(members, j, m) {
			const char *net =
			    subnet_network(nb, subnets, json_object_get_str(m, "subnet_id"));

			if (!net)
				return;
			json_object_set_new(used, net, json_true());
		}
	}
	json_array_foreach(ports, i, o) {
		const char *name = json_object_get_str(o, "name") ?: "";

		if (strncmp(name, HM_PREFIX, strlen(HM_PREFIX)) != 0 ||
		    json_object_get(used, name + strlen(HM_PREFIX)))
			continue;
		(void)neutron_api_delete(nb, "/ports", json_object_get_str(o, "id"), NULL);
	}
}

/* ---- load balancers ---- */

static bool is_ip(const char *s, int family)
{
	unsigned char buf[16];

	return s && inet_pton(family, s, buf) == 1;
}

/* DELETE load balancer @id with all under it, and wait until it is gone. */
static int lb_delete_id(struct neutron_backend *nb, const char *id, char **reterr_msg)
{
	_cleanup_free_ char *del = strdup_printf("/loadbalancers/%s?cascade=true", id);
	_cleanup_free_ char *get = strdup_printf("/loadbalancers/%s", id);
	uint64_t deadline = octavia_deadline(nb);
	long pause = 20;
	int r;

	if (!del || !get)
		return -ENOMEM;
	for (;;) {
		r = octavia_api(nb, "DELETE", del, NULL, deadline, NULL, reterr_msg);
		/* Locked by a change in progress: wait for it. */
		if (r != -EBUSY || now_ms() + (uint64_t)pause >= deadline)
			break;
		msleep(pause);
		if (pause < 400)
			pause *= 2;
	}
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	pause = 20;
	for (int i = 0; i < DELETE_POLL_MAX; i++) {
		_cleanup_json_ json_t *res = NULL;

		r = octavia_api(nb, "GET", get, NULL, deadline, &res, reterr_msg);
		if (r == -ENOENT ||
		    (r == 0 && streq_ptr(json_object_get_str(json_object_get(res, "loadbalancer"),
							     "provisioning_status"),
					 "DELETED"))) {
			if (reterr_msg) {
				free(*reterr_msg);
				*reterr_msg = NULL;
			}
			return 0;
		}
		if (r < 0)
			return r;
		if (now_ms() + (uint64_t)pause >= deadline)
			break;
		msleep(pause);
		if (pause < 400)
			pause *= 2;
	}
	set_errmsg(reterr_msg, "Octavia's load balancer %s is not gone after the timeout", id);
	return -ETIMEDOUT;
}

int neutron_lb_create(struct backend *b, const struct lb_spec *spec, json_t **ret,
		      char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *body = NULL, *res = NULL, *lb = NULL;
	const char *project = spec->project && *spec->project ? spec->project : nb->project;
	struct kuryr_network net;
	const char *id;
	int r;

	if (!spec->name || !*spec->name) {
		set_errmsg(reterr_msg, "a load balancer needs a name");
		return -EINVAL;
	}
	if (spec->vip && *spec->vip && !is_ip(spec->vip, AF_INET)) {
		set_errmsg(reterr_msg, "VIP \"%s\" is not an IPv4 address", spec->vip);
		return -EINVAL;
	}
	if (!nb->lb) {
		set_errmsg(reterr_msg, "no load-balancer endpoint: set [octavia] endpoint_override "
				       "or register Octavia in Keystone");
		return -EOPNOTSUPP;
	}
	if (spec->net)
		net = *spec->net;
	else {
		r = neutron_network_find(nb, spec->network, &net, NULL, reterr_msg);
		if (r < 0)
			return r == -ENOENT ? -ESRCH : r;
	}
	if (!*net.subnet_id) {
		set_errmsg(reterr_msg, "network %s has no IPv4 subnet for a VIP", net.name);
		return -EINVAL;
	}
	r = name_free(nb, &kind_lb, spec->name, reterr_msg);
	if (r < 0)
		return r;
	body = json_pack("{s:{s:s, s:s, s:s, s:s}}", "loadbalancer", "name", spec->name,
			 "vip_subnet_id", net.subnet_id, "provider", "ovn", "description", "kuryr");
	if (!body)
		return -ENOMEM;
	if (spec->vip && *spec->vip)
		json_object_set_new(json_object_get(body, "loadbalancer"), "vip_address",
				    json_string(spec->vip));
	/* Without Keystone Octavia takes the project from the body only. */
	if (*project)
		json_object_set_new(json_object_get(body, "loadbalancer"), "project_id",
				    json_string(project));
	r = octavia_api(nb, "POST", "/loadbalancers", TAKE_PTR(body), octavia_deadline(nb), &res,
			reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "loadbalancer"), "id");
	if (!id) {
		set_errmsg(reterr_msg, "Octavia made a load balancer without an id");
		return -EBADMSG;
	}
	r = octavia_wait_active(nb, id, octavia_deadline(nb), reterr_msg);
	if (r == 0)
		r = find(nb, &kind_lb, id, &lb, reterr_msg);
	if (r == 0)
		r = lb_json(nb, lb, ret, reterr_msg);
	if (r < 0)
		/* Nothing half-made: an LB that never became ACTIVE goes. */
		(void)lb_delete_id(nb, id, NULL);
	return r;
}

int neutron_lb_get(struct backend *b, const char *ref, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *lb = NULL;
	int r = find(nb, &kind_lb, ref, &lb, reterr_msg);

	return r < 0 ? r : lb_json(nb, lb, ret, reterr_msg);
}

int neutron_lb_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL, *out = json_array();
	json_t *lb;
	size_t i;
	int r;

	if (!out)
		return -ENOMEM;
	r = octavia_api(nb, "GET", "/loadbalancers", NULL, octavia_deadline(nb), &res, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(json_object_get(res, "loadbalancers"), i, lb) {
		json_t *one = NULL;

		if (streq_ptr(json_object_get_str(lb, "provisioning_status"), "DELETED") ||
		    streq_ptr(json_object_get_str(lb, "provisioning_status"), "PENDING_DELETE"))
			continue;
		r = lb_json(nb, lb, &one, reterr_msg);
		if (r < 0)
			return r;
		json_array_append_new(out, one);
	}
	*ret = TAKE_PTR(out);
	return 0;
}

int neutron_lb_delete(struct backend *b, const char *ref, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *lb = NULL;
	int r = find(nb, &kind_lb, ref, &lb, reterr_msg);

	if (r < 0)
		return r;
	r = lb_delete_id(nb, json_object_get_str(lb, "id"), reterr_msg);
	if (r == 0)
		hm_ports_gc(nb);
	return r;
}

/* ---- pools ---- */

/* ovn-octavia-provider 3.0 (Debian 12's) keeps one NB Load_Balancer per
 * protocol for a load balancer, and a listener added to one that has a
 * health check fails inside the provider after Octavia locked the load
 * balancer: it stays PENDING_UPDATE for good (nothing but Octavia's
 * database unlocks it). So a pool beside a checked pool of its protocol
 * is refused before anything is made. */
static int provider_allows(struct neutron_backend *nb, json_t *lb, const char *proto,
			   char **reterr_msg)
{
	json_t *ref;
	size_t i;

	json_array_foreach(json_object_get(lb, "pools"), i, ref) {
		_cleanup_free_ char *path =
		    strdup_printf("/pools/%s", json_object_get_str(ref, "id") ?: "");
		_cleanup_json_ json_t *res = NULL;
		json_t *p;
		int r;

		if (!path)
			return -ENOMEM;
		r = octavia_api(nb, "GET", path, NULL, octavia_deadline(nb), &res, reterr_msg);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		p = json_object_get(res, "pool");
		if (streq_ptr(json_object_get_str(p, "protocol"), proto) &&
		    json_object_get_str(p, "healthmonitor_id")) {
			set_errmsg(reterr_msg,
				   "Octavia's OVN provider cannot add a %s pool to load balancer "
				   "%s beside pool %s, which has a health check (it would lock "
				   "the load balancer for good): use another load balancer",
				   proto, json_object_get_str(lb, "name") ?: "",
				   json_object_get_str(p, "name") ?: "");
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/* Octavia's health monitor type for our check type. */
static void check_type(const char *check, char *out, size_t size)
{
	upper(out, check, size);
}

int neutron_lb_pool_create(struct backend *b, const struct lb_pool_spec *spec, json_t **ret,
			   char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *lb = NULL, *lis = NULL, *pool = NULL, *hm = NULL, *body = NULL;
	_cleanup_free_ char *desc = NULL;
	const char *lb_id, *lis_id = NULL, *pool_id = NULL;
	unsigned member_port = spec->member_port ? spec->member_port : spec->port;
	char proto[16], type[32], alg[32];
	int r;

	if (!spec->name || !*spec->name || !spec->protocol || !*spec->protocol) {
		set_errmsg(reterr_msg, "a pool needs a name and a protocol");
		return -EINVAL;
	}
	if (spec->port < 1 || spec->port > 65535 || member_port > 65535) {
		set_errmsg(reterr_msg, "port %u is out of range (1-65535)",
			   spec->port < 1 || spec->port > 65535 ? spec->port : member_port);
		return -EINVAL;
	}
	if (spec->check && (!spec->delay || !spec->timeout || !spec->max_retries)) {
		set_errmsg(reterr_msg, "a health check needs a delay, a timeout and max retries");
		return -EINVAL;
	}
	r = find(nb, &kind_lb, spec->lb, &lb, reterr_msg);
	if (r < 0)
		return r;
	lb_id = json_object_get_str(lb, "id");
	r = name_free(nb, &kind_pool, spec->name, reterr_msg);
	if (r < 0)
		return r;
	upper(proto, spec->protocol, sizeof(proto));
	/* "source-ip-port" -> SOURCE_IP_PORT; what the provider lacks is
	 * its 501. */
	upper(alg, spec->algorithm ? spec->algorithm : "source-ip-port", sizeof(alg));
	for (char *c = alg; *c; c++)
		if (*c == '-')
			*c = '_';
	r = provider_allows(nb, lb, proto, reterr_msg);
	if (r < 0)
		return r;
	if (spec->check) {
		check_type(spec->check, type, sizeof(type));
		r = hm_port_ensure(nb, json_object_get_str(lb, "vip_network_id"),
				   json_object_get_str(lb, "vip_subnet_id"), reterr_msg);
		if (r < 0)
			return r;
	}
	body = json_pack("{s:{s:s, s:s, s:s, s:i}}", "listener", "name", spec->name,
			 "loadbalancer_id", lb_id, "protocol", proto, "protocol_port", spec->port);
	r = octavia_change(nb, lb_id, "POST", "/listeners", TAKE_PTR(body), octavia_deadline(nb),
			   &lis, reterr_msg);
	lis_id = json_object_get_str(json_object_get(lis, "listener"), "id");
	if (r < 0)
		goto undo;
	desc = strdup_printf(MEMBER_PORT_TAG "%u", member_port);
	body = json_pack("{s:{s:s, s:s, s:s, s:s, s:s}}", "pool", "name", spec->name, "listener_id",
			 lis_id, "protocol", proto, "lb_algorithm", alg, "description", desc ?: "");
	r = octavia_change(nb, lb_id, "POST", "/pools", TAKE_PTR(body), octavia_deadline(nb), &pool,
			   reterr_msg);
	pool_id = json_object_get_str(json_object_get(pool, "pool"), "id");
	if (r < 0)
		goto undo;
	if (spec->check) {
		/* Back after as many answered probes as failed ones took it
		 * out. */
		body = json_pack("{s:{s:s, s:s, s:i, s:i, s:i, s:i}}", "healthmonitor", "pool_id",
				 pool_id, "type", type, "delay", (int)spec->delay, "timeout",
				 (int)spec->timeout, "max_retries", (int)spec->max_retries,
				 "max_retries_down", (int)spec->max_retries);
		r = octavia_change(nb, lb_id, "POST", "/healthmonitors", TAKE_PTR(body),
				   octavia_deadline(nb), &hm, reterr_msg);
		if (r < 0)
			goto undo;
	}
	return neutron_lb_pool_get(b, pool_id, ret, reterr_msg);

undo:
	/* Nothing half-made: the pool (with its check) and the listener go. */
	if (pool_id) {
		_cleanup_free_ char *path = strdup_printf("/pools/%s", pool_id);

		if (path)
			(void)octavia_change(nb, lb_id, "DELETE", path, NULL, octavia_deadline(nb),
					     NULL, NULL);
	}
	if (lis_id) {
		_cleanup_free_ char *path = strdup_printf("/listeners/%s", lis_id);

		if (path)
			(void)octavia_change(nb, lb_id, "DELETE", path, NULL, octavia_deadline(nb),
					     NULL, NULL);
	}
	return r;
}

int neutron_lb_pool_get(struct backend *b, const char *ref, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	int r = find(nb, &kind_pool, ref, &p, reterr_msg);

	return r < 0 ? r : pool_json(nb, p, NULL, ret, reterr_msg);
}

int neutron_lb_pool_delete(struct backend *b, const char *ref, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	_cleanup_free_ char *pp = NULL, *lp = NULL;
	const char *lb_id, *lis_id;
	int r = find(nb, &kind_pool, ref, &p, reterr_msg);

	if (r < 0)
		return r;
	lb_id = first_id(p, "loadbalancers");
	lis_id = first_id(p, "listeners");
	if (!lb_id) {
		set_errmsg(reterr_msg, "pool %s is on no load balancer", ref);
		return -EIO;
	}
	/* The pool takes its members and check with it; then its listener. */
	pp = strdup_printf("/pools/%s", json_object_get_str(p, "id"));
	if (!pp)
		return -ENOMEM;
	r = octavia_change(nb, lb_id, "DELETE", pp, NULL, octavia_deadline(nb), NULL, reterr_msg);
	if (r < 0 && r != -ENOENT)
		return r;
	if (!lis_id)
		return 0;
	lp = strdup_printf("/listeners/%s", lis_id);
	if (!lp)
		return -ENOMEM;
	r = octavia_change(nb, lb_id, "DELETE", lp, NULL, octavia_deadline(nb), NULL, reterr_msg);
	return r == -ENOENT ? 0 : r;
}

/* ---- members ---- */

/* The member of @members that @ref names: its id, "IP" (the only one with
 * that address) or "IP:PORT" ("[IPv6]:PORT"). */
static int member_find(json_t *members, const char *pool, const char *ref, json_t **ret,
		       char **reterr_msg)
{
	_cleanup_free_ char *ids = NULL;
	char ip[64] = "";
	long port = 0;
	json_t *m, *found = NULL;
	unsigned n = 0;
	size_t i;

	json_array_foreach(members, i, m)
		if (streq_ptr(json_object_get_str(m, "id"), ref)) {
			*ret = m;
			return 0;
		}
	if (ref[0] == '[' && strchr(ref, ']')) {
		const char *end = strchr(ref, ']');

		snprintf(ip, sizeof(ip), "%.*s", (int)(end - ref - 1), ref + 1);
		port = end[1] == ':' ? strtol(end + 2, NULL, 10) : 0;
	} else if (strchr(ref, ':') && strchr(ref, ':') == strrchr(ref, ':')) {
		snprintf(ip, sizeof(ip), "%.*s", (int)(strchr(ref, ':') - ref), ref);
		port = strtol(strchr(ref, ':') + 1, NULL, 10);
	} else
		str_copy(ip, ref, sizeof(ip));
	json_array_foreach(members, i, m) {
		if (!streq_ptr(json_object_get_str(m, "address"), ip) ||
		    (port && json_integer_value(json_object_get(m, "protocol_port")) != port))
			continue;
		if (neutron_ids_append(&ids, m) < 0)
			return -ENOMEM;
		found = m;
		n++;
	}
	if (n == 0) {
		set_errmsg(reterr_msg, "pool %s has no member %s", pool, ref);
		return -ENOENT;
	}
	if (n > 1) {
		set_errmsg(reterr_msg,
			   "pool %s has more than one member at %s: %s; use an ID or IP:PORT", pool,
			   ref, ids);
		return -ENOTUNIQ;
	}
	*ret = found;
	return 0;
}

int neutron_lb_member_add(struct backend *b, const struct lb_member_spec *spec, json_t **ret,
			  char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL, *members = NULL, *lb = NULL, *res = NULL, *body = NULL;
	_cleanup_free_ char *path = NULL, *lb_path = NULL;
	const char *lb_id, *desc, *subnet = NULL;
	bool v6 = spec->address && strchr(spec->address, ':');
	long port = spec->port;
	json_t *m, *member;
	size_t i;
	int r;

	if (!is_ip(spec->address, v6 ? AF_INET6 : AF_INET)) {
		set_errmsg(reterr_msg, "member address \"%s\" is not an IP address",
			   spec->address ? spec->address : "");
		return -EINVAL;
	}
	if (spec->port > 65535) {
		set_errmsg(reterr_msg, "port %u is out of range (1-65535)", spec->port);
		return -EINVAL;
	}
	r = find(nb, &kind_pool, spec->pool, &p, reterr_msg);
	if (r < 0)
		return r;
	lb_id = first_id(p, "loadbalancers");
	if (!lb_id) {
		set_errmsg(reterr_msg, "pool %s is on no load balancer", spec->pool);
		return -EIO;
	}
	if (!port) {
		_cleanup_json_ json_t *lis = NULL;

		desc = json_object_get_str(p, "description");
		if (desc && strstr(desc, MEMBER_PORT_TAG))
			port = strtol(strstr(desc, MEMBER_PORT_TAG) + strlen(MEMBER_PORT_TAG), NULL,
				      10);
		if (!port) {
			_cleanup_free_ char *lpath =
			    strdup_printf("/listeners/%s", first_id(p, "listeners") ?: "");

			if (!lpath)
				return -ENOMEM;
			r = octavia_api(nb, "GET", lpath, NULL, octavia_deadline(nb), &lis,
					reterr_msg);
			if (r < 0)
				return r;
			port = (long)json_integer_value(
			    json_object_get(json_object_get(lis, "listener"), "protocol_port"));
		}
	}
	r = members_of(nb, json_object_get_str(p, "id"), &members, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(members, i, m)
		if (streq_ptr(json_object_get_str(m, "address"), spec->address) &&
		    json_integer_value(json_object_get(m, "protocol_port")) == port) {
			set_errmsg(reterr_msg, "pool %s has member %s:%ld already (%s)", spec->pool,
				   spec->address, port, json_object_get_str(m, "id") ?: "?");
			return -EEXIST;
		}
	if (spec->net)
		subnet = v6 ? spec->net->subnet6_id : spec->net->subnet_id;
	if (subnet && !*subnet)
		subnet = NULL;
	/* A checked pool probes the member from its own subnet. */
	if (subnet && json_object_get_str(p, "healthmonitor_id")) {
		lb_path = strdup_printf("/loadbalancers/%s", lb_id);
		if (!lb_path)
			return -ENOMEM;
		r = octavia_api(nb, "GET", lb_path, NULL, octavia_deadline(nb), &lb, reterr_msg);
		if (r < 0)
			return r;
		if (!streq_ptr(
			json_object_get_str(json_object_get(lb, "loadbalancer"), "vip_subnet_id"),
			subnet)) {
			r = hm_port_ensure(nb, spec->net->id, subnet, reterr_msg);
			if (r < 0)
				return r;
		}
	}
	body = json_pack("{s:{s:s, s:I}}", "member", "address", spec->address, "protocol_port",
			 (json_int_t)port);
	if (!body)
		return -ENOMEM;
	member = json_object_get(body, "member");
	if (subnet)
		json_object_set_new(member, "subnet_id", json_string(subnet));
	if (spec->owner && *spec->owner)
		json_object_set_new(member, "name", json_string(spec->owner));
	path = strdup_printf("/pools/%s/members", json_object_get_str(p, "id"));
	if (!path)
		return -ENOMEM;
	r = octavia_change(nb, lb_id, "POST", path, TAKE_PTR(body), octavia_deadline(nb), &res,
			   reterr_msg);
	if (r < 0 && json_object_get_str(json_object_get(res, "member"), "id")) {
		/* Nothing half-made: a member its load balancer never took
		 * goes again. */
		_cleanup_free_ char *del = strdup_printf(
		    "%s/%s", path, json_object_get_str(json_object_get(res, "member"), "id"));

		if (del)
			(void)octavia_change(nb, lb_id, "DELETE", del, NULL, octavia_deadline(nb),
					     NULL, NULL);
	}
	if (r < 0)
		return r;
	*ret = member_json(json_object_get(res, "member"));
	return *ret ? 0 : -ENOMEM;
}

int neutron_lb_member_remove(struct backend *b, const char *pool, const char *ref,
			     char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL, *members = NULL;
	_cleanup_free_ char *path = NULL;
	const char *lb_id;
	json_t *m;
	int r;

	if (!ref || !*ref) {
		set_errmsg(reterr_msg, "no member named");
		return -EINVAL;
	}
	r = find(nb, &kind_pool, pool, &p, reterr_msg);
	if (r < 0)
		return r;
	lb_id = first_id(p, "loadbalancers");
	r = members_of(nb, json_object_get_str(p, "id"), &members, reterr_msg);
	if (r < 0)
		return r;
	r = member_find(members, pool, ref, &m, reterr_msg);
	if (r < 0)
		return r;
	path = strdup_printf("/pools/%s/members/%s", json_object_get_str(p, "id"),
			     json_object_get_str(m, "id"));
	if (!path || !lb_id)
		return -ENOMEM;
	return octavia_change(nb, lb_id, "DELETE", path, NULL, octavia_deadline(nb), NULL,
			      reterr_msg);
}
