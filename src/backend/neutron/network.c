/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": networks, with the IPv4 subnet their ports take
 * addresses from, its DNS servers and host routes; external networks
 * (flat provider networks with router:external) for routers' gateways and
 * floating IPs. */
#include <stdio.h>

#include "neutron-private.h"

/* The subnet's DNS servers and host routes (as many as fit). */
static void subnet_info(json_t *sub, struct kuryr_subnet_info *info)
{
	json_t *v;
	size_t i;

	*info = (struct kuryr_subnet_info){ 0 };
	json_array_foreach(json_object_get(sub, "dns_nameservers"), i, v) {
		if (info->n_dns < KURYR_MAX_DNS && json_is_string(v))
			str_copy(info->dns[info->n_dns++], json_string_value(v),
				 sizeof(info->dns[0]));
	}
	json_array_foreach(json_object_get(sub, "host_routes"), i, v) {
		struct kuryr_route *rt = &info->routes[info->n_routes];
		const char *dst = json_object_get_str(v, "destination");
		const char *gw = json_object_get_str(v, "nexthop");

		if (info->n_routes >= KURYR_MAX_ROUTES || !dst || !gw || strchr(dst, ':'))
			continue;
		str_copy(rt->dst, dst, sizeof(rt->dst));
		str_copy(rt->gw, gw, sizeof(rt->gw));
		info->n_routes++;
	}
}

/* Network @net and its first IPv4 subnet (or pod_subnet), whose id goes
 * to @ret_subnet_id (40 bytes, may be NULL; "" without a subnet). */
static int fill_network(struct neutron_backend *nb, json_t *net, struct kuryr_network *ret,
			char *ret_subnet_id, char **reterr_msg)
{
	_cleanup_json_ json_t *subs = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *sub;
	int r;

	*ret = (struct kuryr_network){ 0 };
	str_copy(ret->name, json_object_get_str(net, "name"), sizeof(ret->name));
	str_copy(ret->id, json_object_get_str(net, "id"), sizeof(ret->id));
	ret->mtu = (uint32_t)json_integer_value(json_object_get(net, "mtu"));
	if (!ret->mtu)
		ret->mtu = KURYR_DEFAULT_MTU;
	ret->external = json_is_true(json_object_get(net, "router:external"));
	str_copy(ret->physical_network, json_object_get_str(net, "provider:physical_network"),
		 sizeof(ret->physical_network));
	if (asprintf(&path, "/subnets?network_id=%s&ip_version=4", ret->id) < 0)
		return -ENOMEM;
	r = neutron_api(nb, "GET", path, NULL, &subs, reterr_msg);
	if (r < 0)
		return r;
	/* [neutron_defaults] pod_subnet (id or name) where the network has
	 * it, else the first IPv4 subnet. */
	sub = json_array_get(json_object_get(subs, "subnets"), 0);
	if (*nb->pod_subnet) {
		_cleanup_free_ char *ids = NULL;
		json_t *s, *by_id = NULL, *named = NULL;
		unsigned n_named = 0;
		size_t i;

		json_array_foreach(json_object_get(subs, "subnets"), i, s) {
			if (streq_ptr(json_object_get_str(s, "id"), nb->pod_subnet))
				by_id = s;
			else if (streq_ptr(json_object_get_str(s, "name"), nb->pod_subnet)) {
				if (neutron_ids_append(&ids, s) < 0)
					return -ENOMEM;
				named = s;
				n_named++;
			}
		}
		if (!by_id && n_named > 1) {
			set_errmsg(reterr_msg,
				   "More than one subnet of network %s exists with the name "
				   "\"%s\": %s; use an ID ([neutron_defaults] pod_subnet)",
				   ret->name, nb->pod_subnet, ids);
			return -ENOTUNIQ;
		}
		if (by_id || named) {
			sub = by_id ?: named;
			str_copy(ret->subnet_id, json_object_get_str(sub, "id"),
				 sizeof(ret->subnet_id));
		}
	}
	str_copy(ret->cidr, json_object_get_str(sub, "cidr"), sizeof(ret->cidr));
	str_copy(ret->gateway, json_object_get_str(sub, "gateway_ip"), sizeof(ret->gateway));
	subnet_info(sub, &ret->info);
	if (ret_subnet_id)
		str_copy(ret_subnet_id, json_object_get_str(sub, "id"), 40);
	return 0;
}

int neutron_network_find(struct neutron_backend *nb, const char *name, struct kuryr_network *ret,
			 char subnet_id[40], char **reterr_msg)
{
	_cleanup_json_ json_t *net = NULL;
	char scope[SCOPE_MAX];
	int r;

	neutron_scope_of(nb, NULL, scope);
	r = neutron_lookup(nb, &neutron_kind_network, name, scope, &net, reterr_msg);
	if (r < 0)
		return r;
	return fill_network(nb, net, ret, subnet_id, reterr_msg);
}

int neutron_network_get(struct backend *b, const char *name, struct kuryr_network *ret,
			char **reterr_msg)
{
	return neutron_network_find(to_neutron(b), name, ret, NULL, reterr_msg);
}

int neutron_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
			 char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ struct kuryr_network *out = NULL;
	json_t *nets;
	size_t n = 0;
	int r;

	r = neutron_list_all(nb,
			     "/networks?fields=id&fields=name&fields=mtu&fields=router:external"
			     "&fields=provider:physical_network",
			     "networks", &res, reterr_msg);
	if (r < 0)
		return r;
	nets = res;
	out = calloc(json_array_size(nets) + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(nets); i++) {
		_cleanup_free_ char *why = NULL;

		r = fill_network(nb, json_array_get(nets, i), &out[n], NULL, &why);
		/* One network's ambiguous pod_subnet does not hide the rest:
		 * it is listed without a subnet. */
		if (r < 0 && r != -ENOTUNIQ) {
			if (reterr_msg)
				*reterr_msg = TAKE_PTR(why);
			return r;
		}
		n++;
	}
	*ret = TAKE_PTR(out);
	*ret_n = n;
	return 0;
}

int neutron_network_create(struct backend *b, const struct network_spec *spec,
			   struct kuryr_network *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL, *sres = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *existing = NULL;
	char scope[SCOPE_MAX];
	const char *id;
	json_t *body, *sub;
	int r;

	/* One IPv4 subnet per network here for now (IPv6 subnets, slaac
	 * and dhcpv6-stateful, are to come). */
	if (spec->cidr6 || !spec->cidr) {
		set_errmsg(reterr_msg, "the neutron backend makes networks with one IPv4 "
				       "subnet only, for now");
		return -EINVAL;
	}
	/* Not another of that name where names resolve (one shared with
	 * the project counts): it would make the name ambiguous. */
	neutron_scope_of(nb, NULL, scope);
	r = neutron_by_name(nb, &neutron_kind_network, spec->name, scope, &existing, NULL);
	if (r == 0 || r == -ENOTUNIQ) {
		set_errmsg(reterr_msg, "network \"%s\" already exists", spec->name);
		return -EEXIST;
	}
	body = json_pack("{s:{s:s}}", "network", "name", spec->name);
	if (*nb->project)
		json_object_set_new(json_object_get(body, "network"), "project_id",
				    json_string(nb->project));
	if (spec->mtu)
		json_object_set_new(json_object_get(body, "network"), "mtu",
				    json_integer(spec->mtu));
	/* The way out: a flat network on the physical network the nodes'
	 * bridge_mappings put on a provider bridge, which routers' gateways
	 * and floating IPs take their addresses from. */
	if (spec->external) {
		json_t *n = json_object_get(body, "network");

		json_object_set_new(n, "router:external", json_true());
		json_object_set_new(n, "provider:network_type", json_string("flat"));
		json_object_set_new(
		    n, "provider:physical_network",
		    json_string(spec->physical_network ? spec->physical_network : ""));
	}
	r = neutron_api(nb, "POST", "/networks", body, &res, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "network"), "id");
	sub = json_pack("{s:{s:s, s:s, s:i, s:s}}", "subnet", "network_id", id ? id : "", "cidr",
			spec->cidr ? spec->cidr : "", "ip_version", 4, "name", spec->name);
	if (*nb->project)
		json_object_set_new(json_object_get(sub, "subnet"), "project_id",
				    json_string(nb->project));
	if (spec->gateway)
		json_object_set_new(json_object_get(sub, "subnet"), "gateway_ip",
				    *spec->gateway ? json_string(spec->gateway) : json_null());
	r = neutron_api(nb, "POST", "/subnets", sub, &sres, reterr_msg);
	if (r == 0)
		r = neutron_tag_after(nb, "/networks", id, reterr_msg);
	if (r == 0)
		r = neutron_tag_after(nb, "/subnets",
				      json_object_get_str(json_object_get(sres, "subnet"), "id"),
				      reterr_msg);
	if (r < 0) {
		/* No half-made network (its subnet goes with it). */
		if (asprintf(&path, "/networks/%s", id ? id : "") >= 0)
			(void)neutron_api(nb, "DELETE", path, NULL, NULL, NULL);
		return r;
	}
	return fill_network(nb, json_object_get(res, "network"), ret, NULL, reterr_msg);
}

int neutron_network_delete(struct backend *b, const char *name, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_free_ char *path = NULL;
	struct kuryr_network n;
	int r;

	r = neutron_network_get(b, name, &n, reterr_msg);
	if (r < 0)
		return r;
	if (asprintf(&path, "/networks/%s", n.id) < 0)
		return -ENOMEM;
	r = neutron_api(nb, "DELETE", path, NULL, NULL, reterr_msg);
	return r == -EEXIST ? -EBUSY : r;
}
