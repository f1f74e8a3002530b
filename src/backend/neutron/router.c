/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": routers (an interface on a network's pod subnet, a
 * gateway on an external network) and floating IPs. Neutron's L3 plugin
 * does the rest; with ML2/OVN that is a Logical_Router with a port per
 * interface, a SNAT row for its subnets, a dnat_and_snat row per floating
 * IP, and the gateway port scheduled on the chassis that may host one
 * (ovn-cms-options enable-chassis-as-gw and a mapping for the physical
 * network). What Neutron would refuse with a message that names only ids,
 * or would not refuse at all, is refused here first. */
#include <stdio.h>

#include "neutron-private.h"

#define ROUTER_INTERFACE "network:router_interface"

/* Field @field of the @k with id @id, for people: asked of Neutron once
 * per reply (@cache: id -> value), the id where it has none or is gone.
 * NULL for a NULL @id. Borrowed from @cache. */
static const char *field_of(struct neutron_backend *nb, json_t *cache, const struct kind *k,
			    const char *id, const char *field)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *res = NULL;
	const char *v;

	if (!id)
		return NULL;
	v = json_object_get_str(cache, id);
	if (v)
		return v;
	if (asprintf(&path, "%s/%s?fields=%s", k->collection, id, field) >= 0 &&
	    neutron_api(nb, "GET", path, NULL, &res, NULL) == 0)
		v = json_object_get_str(json_object_get(res, k->one), field);
	json_object_set_new(cache, id, json_string(v && *v ? v : id));
	return json_object_get_str(cache, id);
}

static const char *name_of(struct neutron_backend *nb, json_t *cache, const struct kind *k,
			   const char *id)
{
	return field_of(nb, cache, k, id, "name");
}

/* An interface's subnet goes by its CIDR, as backend ovn shows it. */
static const struct kind subnet_kind = { "subnet", "/subnets", "subnets", "subnet", -ESRCH, true };

static int router_json(struct neutron_backend *nb, json_t *rt, json_t *names, json_t **ret,
		       char **reterr_msg)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *ports = NULL, *ifs = json_array();
	json_t *info = json_object_get(rt, "external_gateway_info"), *gw, *p, *ip;
	size_t i, j;
	int r;

	if (!ifs || asprintf(&path,
			     "/ports?device_id=%s&device_owner=" ROUTER_INTERFACE
			     "&fields=id&fields=network_id&fields=fixed_ips",
			     json_object_get_str(rt, "id") ?: "") < 0)
		return -ENOMEM;
	r = neutron_list_all(nb, path, "ports", &ports, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(ports, i, p) {
		const char *net =
		    name_of(nb, names, &neutron_kind_network, json_object_get_str(p, "network_id"));

		json_array_foreach(json_object_get(p, "fixed_ips"), j, ip)
			json_array_append_new(
			    ifs, json_pack("{s:s?, s:s?, s:s?}", "network", net, "subnet",
					   field_of(nb, names, &subnet_kind,
						    json_object_get_str(ip, "subnet_id"), "cidr"),
					   "ip", json_object_get_str(ip, "ip_address")));
	}
	gw = json_null();
	if (json_is_object(info)) {
		json_t *first = json_array_get(json_object_get(info, "external_fixed_ips"), 0);

		gw = json_pack("{s:s?, s:s?, s:b}", "network",
			       name_of(nb, names, &neutron_kind_network,
				       json_object_get_str(info, "network_id")),
			       "ip", json_object_get_str(first, "ip_address"), "snat",
			       json_is_true(json_object_get(info, "enable_snat")));
	}
	*ret =
	    json_pack("{s:s?, s:s?, s:O, s:o}", "id", json_object_get_str(rt, "id"), "name",
		      json_object_get_str(rt, "name"), "interfaces", ifs, "external_gateway", gw);
	return *ret ? 0 : -ENOMEM;
}

static int find_router(struct neutron_backend *nb, const char *ref, json_t **ret, char **reterr_msg)
{
	char scope[SCOPE_MAX];

	neutron_scope_of(nb, NULL, scope);
	return neutron_lookup(nb, &neutron_kind_router, ref, scope, ret, reterr_msg);
}

/* A network named in a request about something else: missing is -ESRCH. */
static int find_network(struct neutron_backend *nb, const char *ref, struct kuryr_network *ret,
			char subnet_id[40], char **reterr_msg)
{
	int r = neutron_network_find(nb, ref, ret, subnet_id, reterr_msg);

	return r == -ENOENT ? -ESRCH : r;
}

/* A refusal before Neutron is asked: the request names an external
 * network that is none. */
static int not_external(const char *network, char **reterr_msg)
{
	set_errmsg(reterr_msg,
		   "network \"%s\" is not external (network create --external "
		   "--physical-network NAME makes one)",
		   network);
	return -EINVAL;
}

int neutron_router_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL, *names = json_object();
	json_t *body;
	const char *id;
	int r;

	if (!names)
		return -ENOMEM;
	if (neutron_name_taken(nb, &neutron_kind_router, name)) {
		set_errmsg(reterr_msg, "router \"%s\" already exists", name);
		return -EEXIST;
	}
	body = json_pack("{s:s}", "name", name);
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = neutron_api(nb, "POST", "/routers", json_pack("{s:o}", "router", body), &res,
			reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "router"), "id");
	r = neutron_tag_after(nb, "/routers", id, reterr_msg);
	if (r < 0) {
		(void)neutron_api_delete(nb, "/routers", id, NULL);
		return r;
	}
	return router_json(nb, json_object_get(res, "router"), names, ret, reterr_msg);
}

int neutron_router_get(struct backend *b, const char *router, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *rt = NULL, *names = json_object();
	int r;

	if (!names)
		return -ENOMEM;
	r = find_router(nb, router, &rt, reterr_msg);
	if (r < 0)
		return r;
	return router_json(nb, rt, names, ret, reterr_msg);
}

int neutron_router_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *all = NULL, *names = json_object(), *out = json_array();
	_cleanup_free_ char *path = NULL, *esc = NULL;
	char scope[SCOPE_MAX];
	json_t *rt;
	size_t i;
	int r;

	/* Admin credentials see every project's routers: ours are the
	 * scope's. */
	neutron_scope_of(nb, NULL, scope);
	esc = neutron_escape(scope);
	if (!names || !out || !esc ||
	    asprintf(&path, "/routers?%s%s", *scope ? "project_id=" : "", esc) < 0)
		return -ENOMEM;
	r = neutron_list_all(nb, path, "routers", &all, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(all, i, rt) {
		json_t *one;

		r = router_json(nb, rt, names, &one, reterr_msg);
		if (r < 0)
			return r;
		json_array_append_new(out, one);
	}
	*ret = TAKE_PTR(out);
	return 0;
}

int neutron_router_delete(struct backend *b, const char *router, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *rt = NULL;
	int r;

	r = find_router(nb, router, &rt, reterr_msg);
	if (r < 0)
		return r;
	r = neutron_api_delete(nb, "/routers", json_object_get_str(rt, "id"), reterr_msg);
	/* 409 RouterInUse: it still has interfaces. */
	if (r == -EEXIST) {
		set_errmsg(reterr_msg,
			   "router \"%s\" still has interfaces: remove its subnets first", router);
		return -EBUSY;
	}
	return r;
}

/* The router whose interface is on subnet @subnet: its id in @ret_router,
 * "" if none. */
static int subnet_router(struct neutron_backend *nb, const char *subnet, char ret_router[40],
			 char **reterr_msg)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *res = NULL;
	int r;

	if (asprintf(&path,
		     "/ports?device_owner=" ROUTER_INTERFACE
		     "&fixed_ips=subnet_id%%3D%s&fields=id&fields=device_id",
		     subnet) < 0)
		return -ENOMEM;
	r = neutron_api(nb, "GET", path, NULL, &res, reterr_msg);
	if (r < 0)
		return r;
	str_copy(ret_router,
		 json_object_get_str(json_array_get(json_object_get(res, "ports"), 0), "device_id"),
		 40);
	return 0;
}

static int routed_elsewhere(struct neutron_backend *nb, json_t *names, const char *network,
			    const char *cidr, const char *holder, char **reterr_msg)
{
	set_errmsg(reterr_msg, "network \"%s\" (subnet %s) is routed by another router, \"%s\"",
		   network, cidr, name_of(nb, names, &neutron_kind_router, holder));
	return -EBUSY;
}

/* One interface of router @rt (id @id) on @n's subnet @sub (@cidr, with
 * gateway @gw): add or remove it. */
static int subnet_interface(struct neutron_backend *nb, json_t *names, const char *router,
			    const char *id, const char *network, const char *sub, const char *cidr,
			    const char *gw, bool add, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL;
	char holder[40];
	int r;

	if (add) {
		/* Neutron says only that the gateway address is taken. */
		r = subnet_router(nb, sub, holder, reterr_msg);
		if (r < 0)
			return r;
		if (streq(holder, id)) {
			set_errmsg(reterr_msg, "network \"%s\" is on router \"%s\" already",
				   network, router);
			return -EBUSY;
		}
		if (*holder)
			return routed_elsewhere(nb, names, network, cidr, holder, reterr_msg);
	}
	if (asprintf(&path, "/routers/%s/%s", id,
		     add ? "add_router_interface" : "remove_router_interface") < 0)
		return -ENOMEM;
	r = neutron_api(nb, "PUT", path, json_pack("{s:s}", "subnet_id", sub), NULL, reterr_msg);
	if (add && r == -EINVAL) {
		/* A PUT is retried: one whose first answer was lost finds
		 * the interface made ("Router already has a port"). */
		if (subnet_router(nb, sub, holder, NULL) == 0 && streq(holder, id)) {
			if (reterr_msg) {
				free(*reterr_msg);
				*reterr_msg = NULL;
			}
			return 0;
		}
	}
	if (r == -ENOENT && !add) {
		set_errmsg(reterr_msg, "router \"%s\" has no interface on network \"%s\"", router,
			   network);
		return -ENOENT;
	}
	/* 409 IpAddressAlreadyAllocated (add: the subnet's gateway address
	 * is another port's), RouterInterfaceInUseByFloatingIP (remove). */
	if (r == -EEXIST && add) {
		/* Another router took the subnet meanwhile, or a port holds
		 * the address. */
		if (subnet_router(nb, sub, holder, NULL) == 0 && *holder && !streq(holder, id))
			return routed_elsewhere(nb, names, network, cidr, holder, reterr_msg);
		set_errmsg(reterr_msg,
			   "the gateway address of network \"%s\" (%s) is another port's", network,
			   gw);
		return -EBUSY;
	}
	if (r == -EEXIST) {
		set_errmsg(reterr_msg,
			   "floating IPs reach network \"%s\" through router \"%s\": delete "
			   "them first",
			   network, router);
		return -EBUSY;
	}
	return r;
}

/* A router interface per subnet of the network (one per family, as on
 * backend ovn): added together, the IPv4 one taken back if the IPv6 one
 * fails; removed together. */
int neutron_router_interface(struct backend *b, const char *router, bool add, const char *network,
			     char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *rt = NULL, *names = json_object();
	struct kuryr_network n;
	char sub[40];
	const char *id;
	int r;

	if (!names)
		return -ENOMEM;
	r = find_router(nb, router, &rt, reterr_msg);
	if (r == 0)
		r = find_network(nb, network, &n, sub, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(rt, "id") ?: "";
	if (!*sub && !*n.subnet6_id) {
		set_errmsg(reterr_msg, "network \"%s\" has no subnet", network);
		return -EINVAL;
	}
	/* As on backend ovn (Neutron would take it): the way out is the
	 * gateway, not an interface. */
	if (add && n.external) {
		set_errmsg(reterr_msg,
			   "network \"%s\" is external: a router reaches it through its gateway "
			   "(router set ROUTER --external-gateway %s)",
			   network, network);
		return -EINVAL;
	}
	if (add && ((*sub && !*n.gateway) || (*n.subnet6_id && !*n.gateway6))) {
		set_errmsg(reterr_msg,
			   "network \"%s\" has no %s gateway address for the router (network "
			   "create --gateway IP)",
			   network, *sub && !*n.gateway ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	if (*sub) {
		r = subnet_interface(nb, names, router, id, network, sub, n.cidr, n.gateway, add,
				     reterr_msg);
		if (r < 0)
			return r;
	}
	if (*n.subnet6_id) {
		_cleanup_free_ char *why = NULL;
		int r6 = subnet_interface(nb, names, router, id, network, n.subnet6_id, n.cidr6,
					  n.gateway6, add, &why);

		/* Removing: a network routed by IPv4 only before it had
		 * IPv6 is fine without an IPv6 interface. */
		if (r6 == -ENOENT && !add && *sub)
			r6 = 0;
		/* Adding: all or nothing. */
		if (r6 < 0 && add && *sub)
			(void)subnet_interface(nb, names, router, id, network, sub, n.cidr,
					       n.gateway, false, NULL);
		if (r6 < 0 && reterr_msg) {
			free(*reterr_msg);
			*reterr_msg = TAKE_PTR(why);
		}
		r = r6;
	}
	return r;
}

int neutron_router_gateway(struct backend *b, const char *router, const char *ext, bool snat,
			   char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *rt = NULL;
	_cleanup_free_ char *path = NULL;
	struct kuryr_network n = { 0 };
	json_t *info;
	int r;

	r = find_router(nb, router, &rt, reterr_msg);
	if (r == 0 && ext)
		r = find_network(nb, ext, &n, NULL, reterr_msg);
	if (r < 0)
		return r;
	if (ext && !n.external)
		return not_external(ext, reterr_msg);
	/* {} clears the gateway. enable_snat only when it is not Neutron's
	 * default: its policy lets only admins set it. */
	info = json_object();
	if (ext) {
		json_object_set_new(info, "network_id", json_string(n.id));
		if (!snat)
			json_object_set_new(info, "enable_snat", json_false());
	}
	if (asprintf(&path, "/routers/%s", json_object_get_str(rt, "id") ?: "") < 0) {
		json_decref(info);
		return -ENOMEM;
	}
	r = neutron_api(nb, "PUT", path,
			json_pack("{s:{s:o}}", "router", "external_gateway_info", info), NULL,
			reterr_msg);
	/* 409 RouterExternalGatewayInUseByFloatingIp. */
	if (r == -EEXIST) {
		set_errmsg(reterr_msg,
			   "floating IPs go through the gateway of router \"%s\": delete them "
			   "first",
			   router);
		return -EBUSY;
	}
	return r;
}

static json_t *fip_json(struct neutron_backend *nb, json_t *f, json_t *names)
{
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "id", json_object_get_str(f, "id"),
			 "ip", json_object_get_str(f, "floating_ip_address"), "network",
			 name_of(nb, names, &neutron_kind_network,
				 json_object_get_str(f, "floating_network_id")),
			 "port", json_object_get_str(f, "port_id"), "fixed_ip",
			 json_object_get_str(f, "fixed_ip_address"), "router",
			 json_object_get_str(f, "router_id"));
}

/* The floating IPs of the scope's project, all or those of @query
 * ("&port_id=..."), in *ret (an array of Neutron's). */
static int fips_of(struct neutron_backend *nb, const char *query, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *esc = NULL;
	char scope[SCOPE_MAX];

	neutron_scope_of(nb, NULL, scope);
	esc = neutron_escape(scope);
	if (!esc ||
	    asprintf(&path, "/floatingips?%s%s%s", *scope ? "project_id=" : "", esc, query) < 0)
		return -ENOMEM;
	return neutron_list_all(nb, path, "floatingips", ret, reterr_msg);
}

int neutron_fip_create(struct backend *b, const char *ext, const char *port, const char *ip,
		       json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL, *res = NULL, *has = NULL, *names = json_object();
	_cleanup_free_ char *query = NULL;
	struct kuryr_network n;
	const char *port_id, *id;
	json_t *body;
	int r;

	if (!names)
		return -ENOMEM;
	r = find_network(nb, ext, &n, NULL, reterr_msg);
	if (r < 0)
		return r;
	if (!n.external)
		return not_external(ext, reterr_msg);
	/* Neutron hands out its external subnet's gateway address too. */
	if (ip && streq(ip, n.gateway)) {
		set_errmsg(reterr_msg, "%s is the gateway of network \"%s\"", ip, ext);
		return -EINVAL;
	}
	r = neutron_find_port(nb, port, &p, reterr_msg);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	port_id = json_object_get_str(p, "id") ?: "";
	/* One per port and external network (Neutron's 409 would look like
	 * an address taken). */
	if (asprintf(&query, "&port_id=%s&floating_network_id=%s", port_id, n.id) < 0)
		return -ENOMEM;
	r = fips_of(nb, query, &has, reterr_msg);
	if (r < 0)
		return r;
	if (json_array_size(has) > 0) {
		set_errmsg(
		    reterr_msg, "port %s has floating IP %s on network \"%s\" already", port,
		    json_object_get_str(json_array_get(has, 0), "floating_ip_address") ?: "?", ext);
		return -EBUSY;
	}
	body = json_pack("{s:s, s:s}", "floating_network_id", n.id, "port_id", port_id);
	if (ip)
		json_object_set_new(body, "floating_ip_address", json_string(ip));
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = neutron_api(nb, "POST", "/floatingips", json_pack("{s:o}", "floatingip", body), &res,
			reterr_msg);
	/* 404 ExternalGatewayForFloatingIPNotFound. */
	if (r == -ENOENT) {
		set_errmsg(reterr_msg,
			   "port %s: its network reaches no router with a gateway on network "
			   "\"%s\" (router add-subnet, router set --external-gateway)",
			   port, ext);
		return -EINVAL;
	}
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "floatingip"), "id");
	r = neutron_tag_after(nb, "/floatingips", id, reterr_msg);
	if (r < 0) {
		(void)neutron_api_delete(nb, "/floatingips", id, NULL);
		return r;
	}
	*ret = fip_json(nb, json_object_get(res, "floatingip"), names);
	return *ret ? 0 : -ENOMEM;
}

int neutron_fip_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *all = NULL, *names = json_object(), *out = json_array();
	json_t *f;
	size_t i;
	int r;

	if (!names || !out)
		return -ENOMEM;
	r = fips_of(nb, "", &all, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(all, i, f)
		json_array_append_new(out, fip_json(nb, f, names));
	*ret = TAKE_PTR(out);
	return 0;
}

int neutron_fip_delete(struct backend *b, const char *fip, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *found = NULL;
	_cleanup_free_ char *query = NULL, *esc = neutron_escape(fip), *ids = NULL;
	json_t *f;
	size_t i;
	int r;

	if (!esc)
		return -ENOMEM;
	if (uuid_is_valid(fip)) {
		r = neutron_api_delete(nb, "/floatingips", fip, reterr_msg);
		if (r == -ENOENT) {
			set_errmsg(reterr_msg, "floating IP %s does not exist", fip);
			return -ENOENT;
		}
		return r;
	}
	/* By address, among the project's. */
	if (asprintf(&query, "&floating_ip_address=%s", esc) < 0)
		return -ENOMEM;
	r = fips_of(nb, query, &found, reterr_msg);
	if (r < 0)
		return r;
	if (json_array_size(found) == 0) {
		set_errmsg(reterr_msg, "floating IP %s does not exist", fip);
		return -ENOENT;
	}
	if (json_array_size(found) > 1) {
		json_array_foreach(found, i, f)
			if (neutron_ids_append(&ids, f) < 0)
				return -ENOMEM;
		set_errmsg(reterr_msg, "More than one floating IP has address %s: %s; use an ID",
			   fip, ids);
		return -ENOTUNIQ;
	}
	return neutron_api_delete(nb, "/floatingips",
				  json_object_get_str(json_array_get(found, 0), "id"), reterr_msg);
}
